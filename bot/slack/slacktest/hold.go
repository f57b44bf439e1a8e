package slacktest

import "sync"

// HoldNext makes the next call of method run as usual (a chat.postMessage
// stores its message, observers see it) and then wait before answering
// until release is called: a call in flight, whose effect has landed but
// whose answer the client has not got yet. release may be called more than
// once; a client that gives up stops waiting.
func (s *Server) HoldNext(method string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	if s.holds == nil {
		s.holds = map[string][]chan struct{}{}
	}
	s.holds[method] = append(s.holds[method], ch)
	s.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// takeHoldLocked pops the next hold of method, or nil.
func (s *Server) takeHoldLocked(method string) chan struct{} {
	q := s.holds[method]
	if len(q) == 0 {
		return nil
	}
	s.holds[method] = q[1:]
	return q[0]
}
