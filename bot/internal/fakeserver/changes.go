package fakeserver

import (
	"sync"
	"time"
)

// Changes tells waiters that a server's state changed. The server calls
// Notify after every change, holding its own lock; waiters take Changed
// before checking a condition and wait on it, so no change can be missed.
// Changes has a lock of its own, always taken after the server's.
type Changes struct {
	name string // prefixes failure messages, e.g. "telegramtest"

	mu sync.Mutex
	ch chan struct{} // closed and replaced by Notify
}

// NewChanges returns the Changes of the fake called name.
func NewChanges(name string) *Changes {
	return &Changes{name: name, ch: make(chan struct{})}
}

// Notify wakes everyone waiting for a change.
func (c *Changes) Notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.ch)
	c.ch = make(chan struct{})
}

// Changed returns a channel that is closed at the next Notify.
func (c *Changes) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ch
}

// Await reports whether cond became true within timeout, checking it now
// and after every change. cond runs without any lock of Changes.
func (c *Changes) Await(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		changed := c.Changed()
		if cond() {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return cond()
		}
	}
}

// WaitFor is Await that fails the test on timeout.
func (c *Changes) WaitFor(tb Fataler, timeout time.Duration, cond func() bool) {
	tb.Helper()
	if !c.Await(timeout, cond) {
		tb.Fatalf("%s: condition not met within %v", c.name, timeout)
	}
}

// AwaitFirst waits until some item of list(), already there or yet to
// come, matches (a nil match accepts any), and returns the first match.
// list takes a snapshot; match runs unlocked and may call back into the
// server.
func AwaitFirst[T any](c *Changes, timeout time.Duration, list func() []T, match func(T) bool) (T, bool) {
	var found T
	ok := c.Await(timeout, func() bool {
		for _, v := range list() {
			if match == nil || match(v) {
				found = v
				return true
			}
		}
		return false
	})
	return found, ok
}
