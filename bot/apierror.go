package bot

import (
	"errors"
	"fmt"
	"time"
)

// ErrChatNotFound is returned when the platform does not know the chat (it
// never existed, or the member deleted their account long ago). It is a
// kind of ErrRejected: errors.Is matches both.
var ErrChatNotFound = errors.New("chat not found")

// APIError is a platform's error answer to one request (for Telegram, its
// error_code and description), classified once by the adapter that
// received it. errors.Is tells what it means: ErrBlocked, ErrChatNotFound,
// ErrRejected (a refusal that retrying the same request cannot change), or
// none of them (the platform failing, or flood control: RetryAfter > 0).
type APIError struct {
	Code        int
	Description string
	RetryAfter  time.Duration // flood control: nothing may be sent for this long
	Kind        error         // ErrBlocked, ErrChatNotFound, ErrRejected or nil
	Err         error         // what the client library returned
}

func (e *APIError) Error() string {
	if e.Kind != nil {
		return e.Kind.Error() + ": " + e.Description
	}
	return fmt.Sprintf("platform error %d: %s", e.Code, e.Description)
}

// RetryAfter reports whether err is the platform's flood control (an
// *APIError with RetryAfter set) and how long nothing may be sent.
func RetryAfter(err error) (time.Duration, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}
	return 0, false
}

// Unwrap gives errors.Is and errors.As the kind (ErrChatNotFound also as
// ErrRejected) and the client library's error.
func (e *APIError) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Kind == ErrChatNotFound {
		out = append(out, ErrRejected)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}
