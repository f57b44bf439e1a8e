package slacktest

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"bridgebot/bot/internal/fakeserver"
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
	s.changes.Notify()
}

// SetDown simulates "Slack is down": while down, every Web API method
// (auth.test and apps.connections.open included), file upload and download
// answers HTTP 503 with an HTML page. Socket Mode connections already open
// stay open (see SocketDrop).
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage.SetDown(down)
	s.changes.Notify()
}

// ClearFaults drops every queued fault and FailFor window, and ends SetDown.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.Clear()
	s.failFor = map[string]failWindow{}
	s.outage.SetDown(false)
	s.changes.Notify()
}

func (s *Server) addFaults(method string, n int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.Add(method, n, f)
	s.changes.Notify()
}

// takeFaultLocked decides whether this call of method fails, and how.
func (s *Server) takeFaultLocked(method string) (fault, bool) {
	if s.outage.Down() {
		return fault{status: s.outage.Status}, true
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
	return s.faults.Take(method, AnyMethod)
}

// Calls counts the Web API calls of a method, failed ones included.
func (s *Server) Calls(method string) int {
	return fakeserver.Locked(&s.mu, func() int { return s.calls[method] })
}

// RateLimited counts the 429 answers served.
func (s *Server) RateLimited() int {
	return fakeserver.Locked(&s.mu, func() int { return s.ratelimit })
}

// Requests returns every Web API request received, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fakeserver.Map(s.requests, func(r *Request) Request {
		c := *r
		c.Params = fakeserver.CloneValues(r.Params)
		c.Body = append([]byte(nil), r.Body...)
		return c
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
