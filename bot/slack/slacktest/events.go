package slacktest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// EventOption adjusts the outer event_callback built by an event builder.
type EventOption func(*eventConfig)

type eventConfig struct {
	id   string
	time time.Time
}

// EventID sets the event_id (default: a fresh one per built event). Slack
// re-sends a failed delivery with the same event_id.
func EventID(id string) EventOption { return func(c *eventConfig) { c.id = id } }

// EventTime sets event_time (default: the server clock's now).
func EventTime(t time.Time) EventOption { return func(c *eventConfig) { c.time = t } }

// wrapEventLocked builds the outer event_callback around an inner event.
func (s *Server) wrapEventLocked(inner obj, opts []EventOption) []byte {
	var cfg eventConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.id == "" {
		s.eventN++
		cfg.id = fmt.Sprintf("Ev%010d", s.eventN)
	}
	if cfg.time.IsZero() {
		cfg.time = s.now()
	}
	outer := obj{
		"token":                 s.cfg.verifyToken,
		"team_id":               s.cfg.teamID,
		"context_team_id":       s.cfg.teamID,
		"context_enterprise_id": nil,
		"api_app_id":            s.cfg.appID,
		"event":                 inner,
		"type":                  "event_callback",
		"event_id":              cfg.id,
		"event_time":            cfg.time.Unix(),
		"authorizations": []obj{{
			"enterprise_id": nil, "team_id": s.cfg.teamID, "user_id": s.cfg.botUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-" + cfg.id,
	}
	b, err := json.Marshal(outer)
	if err != nil {
		panic("slacktest: marshal event: " + err.Error())
	}
	return b
}

func channelType(id string) string {
	switch {
	case strings.HasPrefix(id, "D"):
		return "im"
	case strings.HasPrefix(id, "G"):
		return "group"
	default:
		return "channel"
	}
}

// richText renders plain text as the rich_text block Slack attaches to
// messages typed in the client.
func richText(blockID, text string) []obj {
	return []obj{{
		"type": "rich_text", "block_id": blockID,
		"elements": []obj{{"type": "rich_text_section", "elements": []obj{{"type": "text", "text": text}}}},
	}}
}

func (s *Server) clientMsgIDLocked() string {
	s.seq++
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", s.seq*2654435761%0xffffffff, s.seq%0xffff, s.seq%0xfff, s.seq%0xfff, s.seq)
}

// staffMessageJSON is a message typed by a human in the Slack client.
func (s *Server) staffMessageJSON(m *Message, clientMsgID string) obj {
	o := s.messageJSON(m)
	o["client_msg_id"] = clientMsgID
	o["blocks"] = richText(clientMsgID[:5], m.Text)
	o["user_team"] = s.cfg.teamID
	o["source_team"] = s.cfg.teamID
	return o
}

func (s *Server) eventMessage(ch *channel, o obj, eventTS string) obj {
	o["channel"] = ch.id
	o["event_ts"] = eventTS
	o["channel_type"] = channelType(ch.id)
	return o
}

// messageEventLocked is the message event of m (object o) in ch, as Slack
// delivers it: thread_ts only for replies. It notifies the change.
func (s *Server) messageEventLocked(ch *channel, m *Message, o obj, opts []EventOption) []byte {
	inner := s.eventMessage(ch, o, m.TS)
	if !m.IsReply() {
		delete(inner, "thread_ts")
	}
	ev := s.wrapEventLocked(inner, opts)
	s.changes.Notify()
	return ev
}

// hiddenEventLocked is the hidden message event of subtype (message_changed,
// message_deleted) at evTS in ch, with fields. It notifies the change.
func (s *Server) hiddenEventLocked(ch *channel, subtype, evTS string, fields obj, opts []EventOption) []byte {
	fields["type"], fields["subtype"], fields["hidden"], fields["ts"] = "message", subtype, true, evTS
	ev := s.wrapEventLocked(s.eventMessage(ch, fields, evTS), opts)
	s.changes.Notify()
	return ev
}

// StaffReply simulates a staff member posting text, as a reply in the thread
// of threadTS ("" for a new top-level message). The message is stored in the
// channel's history (so StaffEdit, ReactionAdded and conversations.replies
// see it) and the message event is returned with the new message's ts.
func (s *Server) StaffReply(channel, threadTS, user, text string, opts ...EventOption) (eventJSON []byte, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	m := &Message{User: user, Text: text, ThreadTS: s.threadRootLocked(ch, threadTS)}
	if m.ThreadTS == "" {
		m.ThreadTS = threadTS // a thread the fake never saw: keep what the test asked for
	}
	s.addMessageLocked(ch, m)
	return s.messageEventLocked(ch, m, s.staffMessageJSON(m, s.clientMsgIDLocked()), opts), m.TS
}

// StaffEdit simulates a staff member editing their message ts: the stored
// message gets newText, and the message_changed event is returned (new
// message under "message", old one under "previous_message").
func (s *Server) StaffEdit(channel, ts, user, newText string, opts ...EventOption) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	m := ch.byTS[ts]
	if m == nil {
		m = &Message{Channel: ch.id, TS: ts, User: user}
	}
	cid := s.clientMsgIDLocked()
	prev := s.staffMessageJSON(m, cid)
	m.Text = newText
	m.Updates++
	evTS := s.nextTSLocked()
	cur := s.staffMessageJSON(m, cid)
	cur["edited"] = obj{"user": user, "ts": evTS}
	return s.hiddenEventLocked(ch, "message_changed", evTS, obj{"message": cur, "previous_message": prev}, opts)
}

// StaffDelete simulates a staff member deleting message ts: the stored
// message is flagged Deleted and the message_deleted event is returned.
func (s *Server) StaffDelete(channel, ts string, opts ...EventOption) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	prev := obj{"type": "message", "ts": ts}
	if m := ch.byTS[ts]; m != nil {
		prev = s.messageJSON(m)
		m.Deleted = true
	}
	return s.hiddenEventLocked(ch, "message_deleted", s.nextTSLocked(), obj{"deleted_ts": ts, "previous_message": prev}, opts)
}

// BotMessage simulates another app posting in the channel (subtype
// bot_message with a bot_id), e.g. to check the bot ignores bots. It is
// stored in the channel's history.
func (s *Server) BotMessage(channel, threadTS, botID, text string, opts ...EventOption) (eventJSON []byte, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	m := &Message{BotID: botID, Username: "Other Bot", Text: text, SubType: "bot_message", ThreadTS: s.threadRootLocked(ch, threadTS)}
	s.addMessageLocked(ch, m)
	return s.messageEventLocked(ch, m, s.messageJSON(m), opts), m.TS
}

// OwnMessageEvent builds the message event Slack delivers for a message the
// bot itself posted (channels the bot is in echo its own posts: user is the
// bot user, bot_id and app_id are set, blocks carry the bot's block_ids).
// A bot must recognise these and not relay them.
func (s *Server) OwnMessageEvent(channel, ts string, opts ...EventOption) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	m := ch.byTS[ts]
	if m == nil {
		s.report.Errorf("slacktest: OwnMessageEvent: no message %s in %s", ts, channel)
		m = &Message{Channel: ch.id, TS: ts, User: s.cfg.botUserID, BotID: s.cfg.botID, FromBot: true}
	}
	return s.messageEventLocked(ch, m, s.messageJSON(m), opts)
}

// StaffFileShare simulates a staff member uploading a file with a comment
// (text may be empty) into the thread of threadTS ("" for top level). The
// file is served at its url_private_download (Bearer bot token required)
// and the message_event with subtype file_share is returned with its ts.
func (s *Server) StaffFileShare(channel, threadTS, user, text, fileName string, data []byte, opts ...EventOption) (eventJSON []byte, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	f := s.newFileLocked(fileName, user, false)
	f.data = append([]byte(nil), data...)
	f.length, f.uploaded, f.completed = len(data), true, true
	f.channel = ch.id
	m := &Message{User: user, Text: text, SubType: "file_share", ThreadTS: s.threadRootLocked(ch, threadTS),
		Files: []FileRef{{ID: f.id, Name: f.name, Title: f.title}}}
	if m.ThreadTS == "" {
		m.ThreadTS = threadTS
	}
	s.addMessageLocked(ch, m)
	f.msgTS, f.threadTS, f.comment = m.TS, m.ThreadTS, text
	o := s.messageJSON(m)
	o["upload"] = false
	o["display_as_bot"] = false
	if text != "" {
		o["blocks"] = richText("fs"+f.id[len(f.id)-3:], text)
	}
	return s.messageEventLocked(ch, m, o, opts), m.TS
}

// ReactionAdded simulates a member adding a reaction to message ts; it is
// recorded in the message's UserReactions.
func (s *Server) ReactionAdded(channel, ts, user, name string, opts ...EventOption) []byte {
	return s.reactionEvent("reaction_added", channel, ts, user, name, opts)
}

// ReactionRemoved simulates a member removing their reaction.
func (s *Server) ReactionRemoved(channel, ts, user, name string, opts ...EventOption) []byte {
	return s.reactionEvent("reaction_removed", channel, ts, user, name, opts)
}

func (s *Server) reactionEvent(typ, channel, ts, user, name string, opts []EventOption) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	itemUser := ""
	if m := ch.byTS[ts]; m != nil {
		itemUser = m.User
		r := Reaction{User: user, Name: name}
		if typ == "reaction_added" {
			m.UserReactions = append(m.UserReactions, r)
		} else {
			for i, x := range m.UserReactions {
				if x == r {
					m.UserReactions = append(m.UserReactions[:i:i], m.UserReactions[i+1:]...)
					break
				}
			}
		}
	}
	inner := obj{
		"type": typ, "user": user, "reaction": name, "item_user": itemUser,
		"item":     obj{"type": "message", "channel": ch.id, "ts": ts},
		"event_ts": s.nextTSLocked(),
	}
	ev := s.wrapEventLocked(inner, opts)
	s.changes.Notify()
	return ev
}

// URLVerification builds the url_verification request Slack sends when the
// Request URL is configured; the bot must answer with the challenge.
func (s *Server) URLVerification(challenge string) []byte {
	b, _ := json.Marshal(obj{"token": s.cfg.verifyToken, "challenge": challenge, "type": "url_verification"})
	return b
}
