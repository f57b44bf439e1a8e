package slacktest

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// AnyMethod makes FailNext, FailFor and ErrorNext apply to every Web API
// method. Faults for a specific method are used before AnyMethod ones.
const AnyMethod = "*"

// fault is one injected failure of one call.
type fault struct {
	status     int    // HTTP status; 200 with slackErr for ok:false answers
	retryAfter int    // Retry-After seconds for 429
	slackErr   string // ok:false error
	after      bool   // the method runs (its effects stay), then status is answered
}

type failWindow struct {
	until      time.Time
	status     int
	retryAfter int // 0: the seconds left in the window, rounded up
}

// FailNext makes the next n calls of method fail at the HTTP level, before
// the method runs (no side effects). Status 429 answers like Slack's rate
// limiter: a Retry-After header (when retryAfter > 0) and
// {"ok":false,"error":"ratelimited"}, which slack-go turns into
// *slack.RateLimitedError. Other statuses answer with an HTML page (500: an
// empty body), which slack-go reports as slack.StatusCodeError.
// Faults queue up: calling FailNext twice fails both batches, in order.
func (s *Server) FailNext(method string, n, status, retryAfter int) {
	s.addFaults(method, n, fault{status: status, retryAfter: retryAfter})
}

// FailAfterNext makes the next n calls of method run normally — a
// chat.postMessage stores its message, and events and observers see it —
// and then answer with an HTTP status error as FailNext does, as when
// Slack did the work but the answer was lost (a gateway timeout, a
// connection reset). The client cannot tell it apart from a failure before
// the method ran.
func (s *Server) FailAfterNext(method string, n, status int) {
	s.addFaults(method, n, fault{status: status, after: true})
}

// ErrorNext makes the next n calls of method answer HTTP 200 with
// {"ok":false,"error":slackError} (e.g. "channel_not_found",
// "not_in_channel"), before the method runs.
func (s *Server) ErrorNext(method string, n int, slackError string) {
	s.addFaults(method, n, fault{status: http.StatusOK, slackErr: slackError})
}

// FailFor makes every call of method fail like FailNext for the duration d
// (measured on the server's clock). A retryAfterSeconds of 0 sends the
// seconds left in the window, rounded up, as a 429's Retry-After.
func (s *Server) FailFor(method string, d time.Duration, status, retryAfterSeconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failFor[method] = failWindow{until: s.now().Add(d), status: status, retryAfter: retryAfterSeconds}
	s.notifyLocked()
}

// FailAll simulates "Slack is down": while on, every Web API method
// (auth.test and apps.connections.open included) answers HTTP 503 with an
// HTML page. Socket Mode connections already open stay open (see SocketDrop).
func (s *Server) FailAll(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = on
	s.notifyLocked()
}

// ClearFaults drops every queued fault, FailFor window and FailAll.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string][]fault{}
	s.failFor = map[string]failWindow{}
	s.down = false
	s.notifyLocked()
}

func (s *Server) addFaults(method string, n int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[method] = append(s.faults[method], f)
	}
	s.notifyLocked()
}

// takeFaultLocked decides whether this call of method fails, and how.
func (s *Server) takeFaultLocked(method string) (fault, bool) {
	if s.down {
		return fault{status: http.StatusServiceUnavailable}, true
	}
	now := s.now()
	for _, key := range []string{method, AnyMethod} {
		if w, ok := s.failFor[key]; ok {
			if now.Before(w.until) {
				ra := w.retryAfter
				if ra == 0 {
					ra = int(math.Ceil(w.until.Sub(now).Seconds()))
				}
				return fault{status: w.status, retryAfter: ra}, true
			}
			delete(s.failFor, key)
		}
	}
	for _, key := range []string{method, AnyMethod} {
		if q := s.faults[key]; len(q) > 0 {
			s.faults[key] = q[1:]
			return q[0], true
		}
	}
	return fault{}, false
}

// Calls counts the Web API calls of a method, failed ones included.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// RateLimited counts the 429 answers served.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ratelimit
}

// Requests returns every Web API request received, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
		out[i].Params = cloneValues(r.Params)
		out[i].Body = append([]byte(nil), r.Body...)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
