package telegramtest

import (
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"bridgebot/bot/internal/fakeserver"
)

// Messages returns what the bot sent to a chat, in send order, each in its
// current state: edits applied, deleted ones kept with Deleted set, so
// indexes are stable (see WaitMessageAfter).
func (s *Server) Messages(chatID int64) []Message {
	return fakeserver.Locked(&s.mu, func() []Message { return s.messagesLocked(chatID, 0) })
}

func (s *Server) messagesLocked(chatID int64, from int) []Message {
	c := s.chats[chatID]
	if c == nil || from >= len(c.botMsgs) {
		return nil
	}
	out := make([]Message, 0, len(c.botMsgs)-from)
	for _, m := range c.botMsgs[max(from, 0):] {
		out = append(out, m.public())
	}
	return out
}

// MessageCount is len(Messages(chatID)), a cursor for WaitMessageAfter.
func (s *Server) MessageCount(chatID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		return len(c.botMsgs)
	}
	return 0
}

// Message returns one bot message of a chat by message_id.
func (s *Server) Message(chatID int64, messageID int) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		if m := c.msgs[messageID]; m != nil && m.fromBot {
			return m.public(), true
		}
	}
	return Message{}, false
}

// WaitMessage waits until some bot message in the chat, already there or
// yet to come, matches in its current state (so an edit can satisfy it),
// and returns the first match. A nil match accepts any message. On timeout
// it fails the test with a dump of the chat.
func (s *Server) WaitMessage(tb testing.TB, chatID int64, timeout time.Duration, match func(Message) bool) Message {
	tb.Helper()
	return s.WaitMessageAfter(tb, chatID, 0, timeout, match)
}

// WaitMessageAfter is WaitMessage restricted to messages sent after the
// first afterCount ones: take n := MessageCount(chat) before acting, then
// WaitMessageAfter(tb, chat, n, ...) waits for a new message.
func (s *Server) WaitMessageAfter(tb testing.TB, chatID int64, afterCount int, timeout time.Duration, match func(Message) bool) Message {
	tb.Helper()
	found, ok := fakeserver.AwaitFirst(s.changes, timeout, func() []Message { return s.messagesAfter(chatID, afterCount) }, match)
	if !ok {
		tb.Fatalf("telegramtest: no matching bot message in chat %d (after #%d) within %v; chat has:\n%s",
			chatID, afterCount, timeout, s.dump(chatID))
	}
	return found
}

// messagesAfter snapshots messages under the lock, so match runs unlocked
// and may call back into the server.
func (s *Server) messagesAfter(chatID int64, from int) []Message {
	return fakeserver.Locked(&s.mu, func() []Message { return s.messagesLocked(chatID, from) })
}

func (s *Server) dump(chatID int64) string {
	msgs := s.Messages(chatID)
	if len(msgs) == 0 {
		return "  (no messages)"
	}
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("  ")
		b.WriteString(m.String())
	}
	return b.String()
}

// WaitFor waits until cond holds, re-checking it after every change of the
// server's state; on timeout it fails the test. cond runs without the
// server's lock and may call its methods.
func (s *Server) WaitFor(tb testing.TB, timeout time.Duration, cond func() bool) {
	tb.Helper()
	s.changes.WaitFor(tb, timeout, cond)
}

// Calls counts the requests for a method (any case), failed ones included.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if strings.EqualFold(r.Method, method) {
			n++
		}
	}
	return n
}

// Request is one API call the server received, for assertions.
type Request struct {
	Method string     // canonical method name when known, else as requested
	Params url.Values // parameters from query string and body; "null" values dropped
	Files  map[string]string
	Status int // HTTP status answered; 0 while pending or if the client went away
	Time   time.Time
	// ViaWebhook: the bot made this call in its answer to a webhook
	// delivery, not as a request of its own (Status is then the outcome,
	// which Telegram does not tell the bot).
	ViaWebhook bool
}

func (r *Request) clone() Request {
	c := *r
	c.Params = fakeserver.CloneValues(r.Params)
	c.Files = maps.Clone(r.Files)
	return c
}

// Requests returns every API request received, in arrival order.
func (s *Server) Requests() []Request {
	return fakeserver.Locked(&s.mu, func() []Request { return fakeserver.Map(s.requests, (*Request).clone) })
}

// ChatActions returns the sendChatAction actions sent to a chat, in order.
func (s *Server) ChatActions(chatID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		return append([]string(nil), c.actions...)
	}
	return nil
}
