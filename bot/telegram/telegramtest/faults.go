package telegramtest

import "strings"

// fault is one injected failure of one call.
type fault struct {
	err  *apiError
	drop bool
}

// FailNext makes the next n calls of method (any case) fail with the given
// error_code and description, before the method runs (no side effects).
// retryAfter > 0 is sent as parameters.retry_after, as with Telegram's 429s.
// Faults queue up: FailNext twice fails 2 batches in order.
func (s *Server) FailNext(method string, n, code int, description string, retryAfter int) {
	s.addFaults(method, n, fault{err: &apiError{code: code, desc: description, retryAfter: retryAfter}})
}

// DropNext makes the next n calls of method get their connection closed with
// no answer, as a network failure would (the client sees an EOF error).
func (s *Server) DropNext(method string, n int) {
	s.addFaults(method, n, fault{drop: true})
}

func (s *Server) addFaults(method string, n int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.Add(strings.ToLower(method), n, f)
}

// takeFaultLocked pops the next fault for a method, if any.
func (s *Server) takeFaultLocked(method string) (fault, bool) {
	return s.faults.Take(strings.ToLower(method))
}

// SetDown simulates an outage behind a reverse proxy: while down, every API
// request (and file download) gets HTTP 502 with an HTML page, which the
// client cannot decode as JSON.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage.SetDown(down)
	s.changes.Notify()
}

// BlockChat makes sends to the chat fail with 403 "Forbidden: bot was
// blocked by the user", without queuing a my_chat_member update (use
// SetMemberStatus for the update a real block produces).
func (s *Server) BlockChat(chatID int64) { s.setChatFlag(chatID, func(c *chat) { c.blocked = true }) }

// UnblockChat undoes BlockChat.
func (s *Server) UnblockChat(chatID int64) {
	s.setChatFlag(chatID, func(c *chat) { c.blocked = false })
}

// DeactivateChat makes sends to the chat fail with 403 "Forbidden: user is
// deactivated", as for a deleted account.
func (s *Server) DeactivateChat(chatID int64) {
	s.setChatFlag(chatID, func(c *chat) { c.deactivated = true })
}

func (s *Server) setChatFlag(chatID int64, set func(*chat)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set(s.chatLocked(chatID))
	s.changes.Notify()
}
