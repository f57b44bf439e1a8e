package slacktest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"bridgebot/bot/internal/fakeserver"
)

// clone deep-copies a message so snapshots never alias server state.
func (m *Message) clone() Message {
	c := *m
	c.Blocks = slices.Clone(m.Blocks)
	c.BlockSet = cloneBlocks(m.BlockSet)
	c.Attachments = slices.Clone(m.Attachments)
	c.Metadata = slices.Clone(m.Metadata)
	c.Params = fakeserver.CloneValues(m.Params)
	c.Reactions = slices.Clone(m.Reactions)
	c.UserReactions = slices.Clone(m.UserReactions)
	c.Files = slices.Clone(m.Files)
	return c
}

func cloneBlocks(bs []Block) []Block {
	return fakeserver.Map(bs, func(b Block) Block {
		b.Fields = slices.Clone(b.Fields)
		b.Elements = slices.Clone(b.Elements)
		return b
	})
}

// Messages returns every message of a channel (the bot's posts and file
// shares, and the staff's and other bots' messages from the builders), roots
// and replies, in ts order, each in its current state. Deleted messages are
// included with Deleted set, so indexes are stable.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channel[channel]
	if ch == nil {
		return nil
	}
	out := make([]Message, 0, len(ch.msgs))
	for _, m := range ch.msgs {
		out = append(out, m.clone())
	}
	return out
}

// BotMessages is Messages restricted to what the bot posted.
func (s *Server) BotMessages(channel string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.FromBot {
			out = append(out, m)
		}
	}
	return out
}

// Message returns one message by ts.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channel[channel]; ch != nil {
		if m := ch.byTS[ts]; m != nil {
			return m.clone(), true
		}
	}
	return Message{}, false
}

// Thread returns the root threadTS and its replies, in ts order (deleted
// ones flagged, not dropped).
func (s *Server) Thread(channel, threadTS string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.TS == threadTS || m.ThreadTS == threadTS {
			out = append(out, m)
		}
	}
	return out
}

// Ephemerals returns the ephemeral messages sent in a channel (through
// chat.postEphemeral or a response_url), in order.
func (s *Server) Ephemerals(channel string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ephemeral
	for _, e := range s.ephemerals {
		if e.Channel == channel {
			e.Blocks = slices.Clone(e.Blocks)
			e.BlockSet = cloneBlocks(e.BlockSet)
			e.Params = fakeserver.CloneValues(e.Params)
			out = append(out, e)
		}
	}
	return out
}

// WaitFor waits until cond holds, re-checking it after every change of the
// server's state; on timeout it fails the test. cond runs without the
// server's lock and may call its methods.
func (s *Server) WaitFor(tb testing.TB, timeout time.Duration, cond func() bool) {
	tb.Helper()
	s.changes.WaitFor(tb, timeout, cond)
}

// WaitMessage waits until some message in the channel, already there or yet
// to come, matches in its current state (so an update can satisfy it), and
// returns the first match. A nil match accepts any message the bot posted.
// On timeout it fails the test with a dump of the channel.
func (s *Server) WaitMessage(tb testing.TB, channel string, timeout time.Duration, match func(Message) bool) Message {
	tb.Helper()
	if match == nil {
		match = func(m Message) bool { return m.FromBot }
	}
	found, ok := fakeserver.AwaitFirst(s.changes, timeout, func() []Message { return s.Messages(channel) }, match)
	if !ok {
		tb.Fatalf("slacktest: no matching message in %s within %v; channel has:\n%s", channel, timeout, s.dump(channel))
	}
	return found
}

// WaitEphemeral waits for an ephemeral message in the channel that matches
// (nil: any) and returns it.
func (s *Server) WaitEphemeral(tb testing.TB, channel string, timeout time.Duration, match func(Ephemeral) bool) Ephemeral {
	tb.Helper()
	found, ok := fakeserver.AwaitFirst(s.changes, timeout, func() []Ephemeral { return s.Ephemerals(channel) }, match)
	if !ok {
		tb.Fatalf("slacktest: no matching ephemeral message in %s within %v", channel, timeout)
	}
	return found
}

func (s *Server) dump(channel string) string {
	msgs := s.Messages(channel)
	if len(msgs) == 0 {
		return "  (no messages)"
	}
	lines := make([]string, len(msgs))
	for i, m := range msgs {
		lines[i] = "  " + m.String()
	}
	return strings.Join(lines, "\n")
}
