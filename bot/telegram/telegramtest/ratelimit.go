package telegramtest

import (
	"fmt"
	"math"
	"time"

	"bridgebot/bot/internal/fakeserver"
)

// window is a sliding one-second window of accepted messages. It also keeps
// the highest count ever seen, so tests can assert a bot stayed under a
// limit even when the fake does not enforce it.
type window struct {
	times []time.Time
	max   int
}

// trim forgets messages that left the window (t-1s, t].
func (w *window) trim(now time.Time) {
	i := 0
	for i < len(w.times) && now.Sub(w.times[i]) >= time.Second {
		i++
	}
	w.times = w.times[i:]
}

func (w *window) add(now time.Time) {
	w.times = append(w.times, now)
	w.max = max(w.max, len(w.times))
}

// retryAfter is the whole number of seconds until fewer than limit messages
// remain in the window, at least 1 as Telegram never says 0.
func (w *window) retryAfter(now time.Time, limit int) int {
	free := w.times[len(w.times)-limit].Add(time.Second)
	return max(1, int(math.Ceil(free.Sub(now).Seconds())))
}

func tooManyRequests(retryAfter int) *apiError {
	return &apiError{code: 429, desc: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), retryAfter: retryAfter}
}

// admitLocked applies the flood limits to one message for chat c and, if it
// may go, counts it.
func (s *Server) admitLocked(c *chat, paid bool) *apiError {
	now := s.now()
	s.global.trim(now)
	c.window.trim(now)
	limit := s.cfg.globalLimit
	if paid && limit > 0 {
		limit = s.cfg.paidLimit
	}
	if limit > 0 && len(s.global.times) >= limit {
		return tooManyRequests(s.global.retryAfter(now, limit))
	}
	if per := s.cfg.perChatLimit; per > 0 && len(c.window.times) >= per {
		return tooManyRequests(c.window.retryAfter(now, per))
	}
	s.global.add(now)
	c.window.add(now)
	c.accepted++
	s.accepted++
	return nil
}

// RateLimited is the number of 429 answers served, by the limiter or FailNext.
func (s *Server) RateLimited() int {
	return fakeserver.Locked(&s.mu, func() int { return s.rateLimited })
}

// Accepted is the number of messages the server accepted for a chat (sends
// and copies, not edits).
func (s *Server) Accepted(chatID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		return c.accepted
	}
	return 0
}

// AcceptedTotal is the number of messages accepted across all chats.
func (s *Server) AcceptedTotal() int {
	return fakeserver.Locked(&s.mu, func() int { return s.accepted })
}

// MaxPerSecond is the most messages accepted in any one-second window.
func (s *Server) MaxPerSecond() int {
	return fakeserver.Locked(&s.mu, func() int { return s.global.max })
}

// MaxPerSecondForChat is the most messages accepted for one chat in any
// one-second window.
func (s *Server) MaxPerSecondForChat(chatID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		return c.window.max
	}
	return 0
}
