package bot

import "time"

// SetCrash makes the engine stop a turn at the points where crash returns
// true, as if the process died there ("after-save", "after-effect",
// "after-reply").
func SetCrash(e *Engine, crash func(point string) bool) { e.crash = crash }

// SetRecovery speeds up Recover for tests.
func SetRecovery(e *Engine, every, age time.Duration) { e.recoverEvery, e.recoverAge = every, age }

// ErrCrashed is what Handle returns when the crash hook stopped it.
var ErrCrashed = errCrashed
