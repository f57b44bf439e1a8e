package bot

import (
	"context"
	"html"
	"log/slog"
	"strings"
	"unicode/utf8"

	"bridgebot/flows/faq"
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

// staffDesk is what the rest of the turn asks of the staff desk: the
// running deskFeature, or noDesk for a bot without it.
type staffDesk interface {
	// takeQuestion takes the message the member was asked for
	// (pendingAsk); false if it is not taken.
	takeQuestion(t *turn, text string, att *Attachment) bool
	// takeAttachment passes a file to staff; false if it is not taken.
	takeAttachment(t *turn, a *Attachment, caption string) bool
	// takeFollowUp adds free text to the member's active question; false
	// when no question is active.
	takeFollowUp(t *turn, text string, r faq.Result) bool
	// takeEdit adds an edited message's new text to the member's active
	// question, marked as an edit; false when no question is active.
	takeEdit(t *turn, text string) bool
	// relayKept sends the question kept from an unmatched message.
	relayKept(t *turn)
	// offer offers the team after lead; false if it cannot.
	offer(t *turn, lead, text string) bool
	// keepQuestion keeps text for the "Send it" button, when it can be sent.
	keepQuestion(t *turn, text string)
	// feedbackNo is the "No" of "Did this answer your question?".
	feedbackNo(t *turn) Button
	// noneOfThese is the row under "Did you mean…?" that asks the team.
	noneOfThese(t *turn) [][]Button
}

// deskFeature is "Ask our team": members' questions go to staff, and their
// later messages join the question.
type deskFeature struct{ d Desk }

func (*deskFeature) name() string { return "desk" }

func (d *deskFeature) commands() []command {
	return []command{{rank: 50, en: "ask", es: "preguntar", aliases: []string{"team", "equipo"}, desc: "cmd.ask",
		run: func(t *turn, _ string) { d.prompt(t) }}}
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
		m, err := payload(ef, ef.Desk)
		if err != nil {
			return err
		}
		return d.d.Relay(ctx, m)
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
	active, err := d.d.Active(t.ctx, t.u.ChatID)
	if err != nil {
		t.e.log.Warn("desk state unavailable", slog.Int64("chat", t.u.ChatID), slog.Any("err", err))
	}
	return active
}

// prompt asks the member to write their question.
func (d *deskFeature) prompt(t *turn) {
	t.s.Pending = pendingAsk
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T("ask.prompt", nil), Buttons: [][]Button{
		{{Text: t.tr.T("ask.cancel", nil), Data: data(nsAsk, "no")}},
	}})
}

// takeQuestion takes the message the member was asked for (pendingAsk).
func (d *deskFeature) takeQuestion(t *turn, text string, att *Attachment) bool {
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
	if a.Kind == "other" {
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
	if q == "" {
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
	m.Key = t.entryID(len(t.effects)) // the entry it is recorded as
	t.later(Effect{Kind: effectRelay, Desk: &m, FailMsg: "ask.failed"})
	if isNew && t.u.MessageID != 0 {
		t.s.AskedFrom = t.u.MessageID // (a button sends the kept question: keepQuestion set it)
	}
	if isNew {
		t.observe().QuestionOpened(t.s.Lang)
		t.say("ask.sent", nil)
		if t.s.Form != nil {
			t.showStep()
		}
	}
}

// takeFollowUp handles a message typed while the member has an open
// question for the team: one that clearly asks something the FAQ answers
// (r) is answered; anything else joins the question, and the member is
// told it did.
func (d *deskFeature) takeFollowUp(t *turn, text string, r faq.Result) bool {
	if !d.active(t) {
		return false
	}
	if r.ID != "" && r.Score >= clearAnswer && looksLikeQuestion(text) {
		t.e.faq.reply(t, text, r)
		return true
	}
	d.relay(t, text, nil, false)
	t.say("ask.added", nil)
	return true
}

// editMark starts the text of an edited message relayed to staff: the
// same pencil Telegram shows, in no language.
const editMark = "✏️ "

func (d *deskFeature) takeEdit(t *turn, text string) bool {
	if t.u.MessageID != 0 && t.u.MessageID < t.s.AskedFrom {
		return false // from before the question: an old answer, not part of it
	}
	if !d.active(t) {
		return false
	}
	d.relay(t, editMark+text, nil, false)
	t.say("ask.edit_added", nil)
	return true
}

// feedbackNo is the "No" of "Did this answer your question?": ask the
// team.
func (d *deskFeature) feedbackNo(t *turn) Button {
	return Button{Text: t.tr.T("faq.feedback.no", nil), Data: data(nsFeedback, "n")}
}

// noneOfThese is the row under "Did you mean…?" that asks the team.
func (d *deskFeature) noneOfThese(t *turn) [][]Button {
	return [][]Button{{{Text: t.tr.T("ask.none_of_these", nil), Data: data(nsAsk, "send")}}}
}

// offer tells the member, after lead, that the team can help, and keeps
// their question for the "Send it" button.
func (d *deskFeature) offer(t *turn, lead, text string) bool {
	d.keepQuestion(t, text)
	t.resp.Messages = append(t.resp.Messages, Message{
		Text: lead + "\n\n" + t.tr.T("ask.offer", map[string]any{"Question": html.EscapeString(t.s.Question)}),
		Buttons: [][]Button{
			{{Text: t.tr.T("ask.send", nil), Data: data(nsAsk, "send")}},
			{{Text: t.tr.T("faq.open", nil), Data: data(nsMenu, menuFAQ)}, {Text: t.tr.T("ask.nothanks", nil), Data: data(nsAsk, "no")}},
		},
	})
	return true
}

// keepQuestion remembers the member's question (as much as staff get) for
// the "Send it" button.
func (d *deskFeature) keepQuestion(t *turn, text string) {
	t.s.Question = t.clipped(text)
	t.s.AskedFrom = t.u.MessageID // if it is sent, the question begins here
}

// clipped is text cut to what staff get, telling the member when it is cut.
func (t *turn) clipped(text string) string {
	c := clip(text)
	if c != strings.TrimSpace(strings.ToValidUTF8(text, "")) {
		t.say("relay.clipped", map[string]any{"Max": maxQuestion})
	}
	return c
}

// noDesk is a bot without the staff desk: nothing is offered, nothing is
// relayed, no question is kept.
type noDesk struct{}

func (noDesk) takeQuestion(*turn, string, *Attachment) bool   { return false }
func (noDesk) takeAttachment(*turn, *Attachment, string) bool { return false }
func (noDesk) takeFollowUp(*turn, string, faq.Result) bool    { return false }
func (noDesk) takeEdit(*turn, string) bool                    { return false }
func (noDesk) offer(*turn, string, string) bool               { return false }
func (noDesk) keepQuestion(t *turn, _ string)                 { t.s.Question = "" }
func (noDesk) noneOfThese(*turn) [][]Button                   { return nil }

// relayKept answers a "No" pressed under an answer given while the desk
// ran: the menu.
func (noDesk) relayKept(t *turn) {
	t.s.Question = ""
	t.menu("")
}

// feedbackNo is a plain "No": there is no team to ask.
func (noDesk) feedbackNo(t *turn) Button {
	return Button{Text: t.tr.T("faq.feedback.no_desk", nil), Data: data(nsFeedback, "x")}
}

func clip(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, ""))
	if utf8.RuneCountInString(s) <= maxQuestion {
		return s
	}
	return string([]rune(s)[:maxQuestion])
}
