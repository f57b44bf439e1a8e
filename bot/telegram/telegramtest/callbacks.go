package telegramtest

import (
	"strconv"
	"testing"
	"time"
)

// CallbackAnswer is the bot's answerCallbackQuery for one callback query.
type CallbackAnswer struct {
	Text      string
	ShowAlert bool
	URL       string
	CacheTime int
}

// callbackState tracks one callback query until it is answered or expires.
type callbackState struct {
	created  time.Time
	answered bool
	answer   CallbackAnswer
}

// newQueryIDLocked returns a fresh id in Telegram's style (a long number).
func (s *Server) newQueryIDLocked() string {
	s.nextQuery++
	return strconv.FormatInt(4_000_000_000_000_000_000+int64(s.nextQuery)*7919, 10)
}

const queryTooOld = "query is too old and response timeout expired or query ID is invalid"

func (s *Server) handleAnswerCallbackQuery(c *call) (any, *apiError) {
	text := c.p.str("text")
	if utf16Len(text) > 200 {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	cb := s.callbacks[c.p.str("callback_query_id")]
	if cb == nil || cb.answered || s.now().Sub(cb.created) > s.cfg.callbackTTL {
		return nil, badRequest(queryTooOld)
	}
	cacheTime, _, _ := c.p.int("cache_time")
	cb.answered = true
	cb.answer = CallbackAnswer{Text: text, ShowAlert: c.p.bool("show_alert"), URL: c.p.str("url"), CacheTime: int(cacheTime)}
	return true, nil
}

// CallbackAnswer returns the bot's answer to a callback query, if any.
func (s *Server) CallbackAnswer(id string) (CallbackAnswer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cb := s.callbacks[id]; cb != nil && cb.answered {
		return cb.answer, true
	}
	return CallbackAnswer{}, false
}

// WaitCallbackAnswer waits until the bot answers the callback query and
// returns the answer; on timeout it fails the test.
func (s *Server) WaitCallbackAnswer(tb testing.TB, id string, timeout time.Duration) CallbackAnswer {
	tb.Helper()
	var ans CallbackAnswer
	if !s.changes.Await(timeout, func() (ok bool) { ans, ok = s.CallbackAnswer(id); return ok }) {
		tb.Fatalf("telegramtest: callback query %s not answered within %v", id, timeout)
	}
	return ans
}
