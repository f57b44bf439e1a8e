package bot

import (
	"context"
	"errors"
	"html"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// Desk is the staff desk (Slack) as the engine sees it. Relay must be
// durable: once it returns nil the message will reach staff even if Slack
// is down for a while.
type Desk interface {
	// Active reports whether the member has a question thread their new
	// messages should join (open, or answered within the quiet time).
	Active(ctx context.Context, chatID int64) (bool, error)
	// Relay queues a member's message for staff.
	Relay(ctx context.Context, m DeskMessage) error
	// Forget drops the link between the member and their threads (/delete).
	Forget(ctx context.Context, chatID int64) error
}

// DeskMessage is a member's message for staff.
type DeskMessage struct {
	ChatID     int64       `json:"chat_id"`
	Lang       string      `json:"lang"`
	FirstName  string      `json:"first_name,omitempty"`
	Username   string      `json:"username,omitempty"`
	SignedUp   bool        `json:"signed_up,omitempty"`
	Text       string      `json:"text,omitempty"`
	Attachment *Attachment `json:"attachment,omitempty"`
	// New asks for a new thread even if one is active ("Ask our team").
	New bool `json:"new,omitempty"`
	// Topic is the FAQ entry closest to the question, for routing.
	Topic string `json:"topic,omitempty"`
	// Key identifies the relay within the chat ("{update}:{position}"): a
	// relay delivered again after a crash with the same key is dropped.
	Key string `json:"key,omitempty"`
	FAQContext
}

// maxQuestion bounds a question kept in the session between "no answer
// found" and "send it to the team".
const maxQuestion = 3500

// MaxRelayFile is the largest file relayed to staff: the Bot API lets a bot
// download files up to 20 MB, so a larger one could never arrive.
const MaxRelayFile = 20 << 20

// Effects of the staff desk.
const (
	effectRelay      EffectKind = "relay"       // a member's message for staff
	effectDeskForget EffectKind = "desk-forget" // drop the member's threads
)

// deskFeature is "Ask our team": members' questions go to staff, and their
// later messages join the question. A nil *deskFeature is a bot without
// the desk: nothing is offered, nothing is relayed.
type deskFeature struct{ d Desk }

func (*deskFeature) name() string { return "desk" }

func (*deskFeature) commands() []command {
	return []command{{rank: 50, en: "ask", es: "preguntar", aliases: []string{"team", "equipo"}, desc: "cmd.ask",
		run: func(t *turn, _ string) { t.e.desk.prompt(t) }}}
}

func (*deskFeature) namespaces() []string { return []string{nsAsk} }

func (d *deskFeature) button(t *turn, cb callbackData, _ int) {
	switch cb.arg(0) {
	case "send":
		d.relayKept(t)
	default:
		t.s.Question, t.s.Pending = "", pendingNone
		t.resumeOrMenu()
	}
}

func (d *deskFeature) menuActions() map[string]func(*turn) {
	return map[string]func(*turn){menuAsk: d.prompt}
}

func (*deskFeature) menuButtons(t *turn) ([]Button, [][]Button) {
	return []Button{{Text: t.tr.T("menu.ask", nil), Data: data(nsMenu, menuAsk)}}, nil
}

func (*deskFeature) effectKinds() []EffectKind { return []EffectKind{effectRelay, effectDeskForget} }

func (d *deskFeature) runEffect(ctx context.Context, ef Effect) error {
	switch ef.Kind {
	case effectRelay:
		if ef.Desk == nil {
			return errors.New("relay effect without a message")
		}
		return d.d.Relay(ctx, *ef.Desk)
	case effectDeskForget:
		return d.d.Forget(ctx, ef.ChatID)
	}
	return nil
}

func (*deskFeature) erase(t *turn) {
	t.later(Effect{Kind: effectDeskForget, FailMsg: "delete.failed"})
}

// active reports whether the member has a question thread their new
// messages join. If the desk's state cannot be read, the message is treated
// as a new one (it still reaches the team through "ask our team").
func (d *deskFeature) active(t *turn) bool {
	if d == nil {
		return false
	}
	active, err := d.d.Active(t.ctx, t.u.ChatID)
	if err != nil {
		t.e.log.Warn("desk state unavailable", slog.Int64("chat", t.u.ChatID), slog.Any("err", err))
	}
	return active
}

// prompt asks the member to write their question.
func (d *deskFeature) prompt(t *turn) {
	if d == nil {
		t.menu("")
		return
	}
	t.s.Pending = pendingAsk
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T("ask.prompt", nil), Buttons: [][]Button{
		{{Text: t.tr.T("ask.cancel", nil), Data: data(nsAsk, "no")}},
	}})
}

// takeQuestion takes the message the member was asked for (pendingAsk).
func (d *deskFeature) takeQuestion(t *turn, text string, att *Attachment) bool {
	if d == nil {
		return false
	}
	t.s.Pending = pendingNone
	if strings.TrimSpace(text) == "" && att == nil {
		d.prompt(t)
		return true
	}
	d.relay(t, text, att, true)
	return true
}

// takeAttachment passes a photo, voice note or document to staff when the
// member was asked for a question or has one open.
func (d *deskFeature) takeAttachment(t *turn, a *Attachment, caption string) bool {
	if d == nil || a.Kind == "other" {
		return false
	}
	if a.Size > MaxRelayFile && (t.s.Pending == pendingAsk || t.s.Form == nil && d.active(t)) {
		t.s.Pending = pendingNone
		t.say("relay.file_too_big", map[string]any{"MB": MaxRelayFile >> 20})
		return true
	}
	if t.s.Pending == pendingAsk {
		return d.takeQuestion(t, caption, a)
	}
	if t.s.Form == nil && d.active(t) {
		d.relay(t, caption, a, false)
		return true
	}
	return false
}

// relayKept sends the question kept from an unmatched message.
func (d *deskFeature) relayKept(t *turn) {
	q := t.s.Question
	t.s.Question = ""
	if q == "" || d == nil {
		d.prompt(t)
		return
	}
	d.relay(t, q, nil, true)
}

// relay passes a member's message to staff after the session is saved and
// confirms it; if the desk cannot take it, the member is told to resend.
func (d *deskFeature) relay(t *turn, text string, att *Attachment, isNew bool) {
	text = t.clipped(text)
	m := DeskMessage{
		ChatID: t.u.ChatID, Lang: t.s.Lang, FirstName: t.u.From.FirstName, Username: t.u.From.Username,
		SignedUp: t.signup != nil, Text: text, Attachment: att, New: isNew,
	}
	m.FAQContext = t.faqContext(isNew)
	if isNew && text != "" {
		if r := t.e.faq.match(t.s.Lang, text); len(r.Candidates) > 0 {
			m.Topic = r.Candidates[0].ID
		}
	}
	t.later(Effect{Kind: effectRelay, Desk: &m, FailMsg: "ask.failed"})
	if isNew {
		t.observe().QuestionOpened(t.s.Lang)
		t.say("ask.sent", nil)
		if t.s.Form != nil {
			t.showStep()
		}
	}
}

// feedbackNo is the "No" of "Did this answer your question?": ask the
// team, or just no.
func (d *deskFeature) feedbackNo(t *turn) Button {
	if d == nil {
		return Button{Text: t.tr.T("faq.feedback.no_desk", nil), Data: data(nsFeedback, "x")}
	}
	return Button{Text: t.tr.T("faq.feedback.no", nil), Data: data(nsFeedback, "n")}
}

// noneOfThese is the row under "Did you mean…?" that asks the team.
func (d *deskFeature) noneOfThese(t *turn) [][]Button {
	if d == nil {
		return nil
	}
	return [][]Button{{{Text: t.tr.T("ask.none_of_these", nil), Data: data(nsAsk, "send")}}}
}

// offer tells the member, after lead, that the team can help, and keeps
// their question for the "Send it" button. Without the desk it offers
// nothing and reports false.
func (d *deskFeature) offer(t *turn, lead, text string) bool {
	if d == nil {
		return false
	}
	t.keepQuestion(text)
	t.resp.Messages = append(t.resp.Messages, Message{
		Text: lead + "\n\n" + t.tr.T("ask.offer", map[string]any{"Question": html.EscapeString(t.s.Question)}),
		Buttons: [][]Button{
			{{Text: t.tr.T("ask.send", nil), Data: data(nsAsk, "send")}},
			{{Text: t.tr.T("faq.open", nil), Data: data(nsMenu, menuFAQ)}, {Text: t.tr.T("ask.nothanks", nil), Data: data(nsAsk, "no")}},
		},
	})
	return true
}

// keepQuestion remembers the member's question only when it can still be
// sent to the team; otherwise nothing is kept.
func (t *turn) keepQuestion(text string) {
	if t.e.desk != nil {
		text = t.clipped(text)
	}
	t.s.Question = t.e.desk.keepable(text)
}

// clipped is text cut to what staff get, telling the member when it is cut.
func (t *turn) clipped(text string) string {
	c := clip(text)
	if c != strings.TrimSpace(strings.ToValidUTF8(text, "")) {
		t.say("relay.clipped", map[string]any{"Max": maxQuestion})
	}
	return c
}

// keepable is what of text is kept for the team: nothing without the desk.
func (d *deskFeature) keepable(text string) string {
	if d == nil {
		return ""
	}
	return clip(text)
}

func clip(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, ""))
	if utf8.RuneCountInString(s) <= maxQuestion {
		return s
	}
	return string([]rune(s)[:maxQuestion])
}
