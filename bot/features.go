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
	ChatID     int64
	Lang       string
	FirstName  string
	Username   string
	SignedUp   bool
	Text       string
	Attachment *Attachment
	// New asks for a new thread even if one is active ("Ask our team").
	New bool
	// Topic is the FAQ entry closest to the question, for routing.
	Topic string
}

// Subscriptions keeps who wants announcements.
type Subscriptions interface {
	Subscribe(ctx context.Context, s Subscription) error
	Unsubscribe(ctx context.Context, chatID int64, reason string) (bool, error)
	IsSubscribed(ctx context.Context, chatID int64) (bool, error)
}

// Subscription is a member who opted in to announcements, with what an
// organizer may filter an audience by (from their sign-up, if any).
type Subscription struct {
	ChatID int64
	Lang   string
	Role   string
	Areas  []string
	Border string
}

// SignupNotifier is told about confirmed sign-ups (posted to staff).
type SignupNotifier interface {
	SignupConfirmed(ctx context.Context, s *Signup, updated bool) error
}

// Reasons for unsubscribing, kept for counts.
const (
	UnsubscribeStop    = "stop"
	UnsubscribeBlocked = "blocked"
)

// maxQuestion bounds a question kept in the session between "no answer
// found" and "send it to the team".
const maxQuestion = 3500

// later queues a side effect to run once the session is saved, so a retry
// after a concurrent update never performs it twice.
func (t *turn) later(name string, f func(ctx context.Context) error, failMsg string) {
	t.effects = append(t.effects, effect{name: name, run: f, failMsg: failMsg})
}

type effect struct {
	name    string
	run     func(ctx context.Context) error
	failMsg string // message ID for the member if it fails, "" to only log
}

// runEffects performs the queued side effects; a failure the member should
// know about replaces the reply with a kind message in their language.
func (e *Engine) runEffects(ctx context.Context, t *turn) {
	for _, ef := range t.effects {
		if err := ef.run(ctx); err != nil {
			e.log.Error("side effect failed", slog.String("effect", ef.name), slog.Int64("chat", t.u.ChatID), slog.Any("err", err))
			if ef.failMsg != "" {
				t.resp.Messages = []Message{{Text: t.tr.T(ef.failMsg, nil)}}
				return
			}
		}
	}
}

// subscription builds the announcement profile from the sign-up, if any.
func (t *turn) subscription() Subscription {
	s := Subscription{ChatID: t.u.ChatID, Lang: t.s.Lang}
	if t.signup != nil {
		a := t.signup.Answers
		s.Role = first(a["role"])
		s.Areas = a["areas"]
		s.Border = first(a["border"])
	}
	return s
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (t *turn) subscribe() {
	if t.e.subs == nil {
		t.menu("")
		return
	}
	sub := t.subscription()
	t.later("subscribe", func(ctx context.Context) error { return t.e.subs.Subscribe(ctx, sub) }, "error.unavailable")
	t.subscribed = ptr(true)
	t.menu(t.tr.T("sub.on", nil))
}

func (t *turn) unsubscribe() {
	if t.e.subs == nil {
		t.menu("")
		return
	}
	t.laterUnsubscribe("error.unavailable")
	t.menu(t.tr.T("sub.off", nil))
}

// laterUnsubscribe stops the member's announcements once the session is
// saved; failMsg is what they are told if that fails ("" to only log).
func (t *turn) laterUnsubscribe(failMsg string) {
	chat := t.u.ChatID
	t.subscribed = ptr(false)
	t.later("unsubscribe", func(ctx context.Context) error {
		_, err := t.e.subs.Unsubscribe(ctx, chat, UnsubscribeStop)
		return err
	}, failMsg)
}

func ptr[T any](v T) *T { return &v }

// isSubscribed reads the member's subscription for the menu's toggle.
func (t *turn) isSubscribed() bool {
	if t.subscribed != nil {
		return *t.subscribed
	}
	ok, err := t.e.subs.IsSubscribed(t.ctx, t.u.ChatID)
	if err != nil {
		t.e.log.Warn("could not read subscription", slog.Int64("chat", t.u.ChatID), slog.Any("err", err))
		return false
	}
	t.subscribed = &ok
	return ok
}

// --- Frequent questions ---

func (t *turn) faqList() {
	var rows [][]Button
	for _, en := range t.e.faq.Entries() {
		rows = append(rows, []Button{{Text: t.tr.T(en.TitleID, nil), Data: "q|" + en.ID}})
	}
	rows = append(rows, []Button{{Text: t.tr.T("menu.back", nil), Data: "m|menu"}})
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(faq.MsgListHeader, nil), Buttons: rows})
}

// faqAnswer shows one answer, its action button, and asks whether it
// helped. In the middle of the form it shows the answer only, with a way
// back to the form.
func (t *turn) faqAnswer(id string) {
	en := t.e.faq.Entry(id)
	if en == nil {
		t.resp.Notice = t.tr.T("notice.stale", nil)
		return
	}
	if t.s.Form != nil {
		t.resp.Messages = append(t.resp.Messages, t.answerMessage(en, true))
		return
	}
	t.resp.Messages = append(t.resp.Messages, t.answerMessage(en, false))
	feedback := []Button{{Text: t.tr.T(faq.MsgFeedbackYes, nil), Data: "fb|y"}}
	if t.e.desk != nil {
		feedback = append(feedback, Button{Text: t.tr.T(faq.MsgFeedbackNo, nil), Data: "fb|n"})
	} else {
		feedback = append(feedback, Button{Text: t.tr.T("faq.feedback.no_desk", nil), Data: "fb|x"})
	}
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(faq.MsgFeedbackAsk, nil), Buttons: [][]Button{feedback}})
}

// answerMessage is an entry's answer with its action button; during the
// form the sign-up action is left out (the member is in it), and
// withContinue adds a way back to the form.
func (t *turn) answerMessage(en *faq.Entry, withContinue bool) Message {
	var rows [][]Button
	if b, ok := t.actionButton(en.Action); ok && (t.s.Form == nil || en.Action != faq.ActionSignup) {
		rows = append(rows, []Button{b})
	}
	if withContinue {
		rows = append(rows, []Button{{Text: t.tr.T("form.button.continue", nil), Data: "m|menu"}})
	}
	return Message{Text: t.tr.T(en.AnswerID, nil), Buttons: rows}
}

// actionButton is the button under an answer; actions whose feature is not
// running are left out (never a dead button).
func (t *turn) actionButton(a faq.Action) (Button, bool) {
	switch {
	case a == faq.ActionSignup:
		return Button{Text: t.tr.T(a.MessageID(), nil), Data: "m|signup"}, true
	case a == faq.ActionAsk && t.e.desk != nil:
		return Button{Text: t.tr.T(a.MessageID(), nil), Data: "m|ask"}, true
	case a == faq.ActionSubscribe && t.e.subs != nil:
		return Button{Text: t.tr.T(a.MessageID(), nil), Data: "m|sub"}, true
	}
	return Button{}, false
}

// clearAnswer is the least FAQ score at which a message is answered even
// though it could be something else: one added to an open question for the
// team, or typed in the middle of a text step of the form. Plain FAQ
// questions are answered from the matcher's own threshold.
const clearAnswer = 0.8

// freeText is a message typed outside any form. When the member has an open
// question for the team, a message that clearly asks something the FAQ
// answers is answered; anything else joins the question, and the member is
// told it did. Otherwise it is matched against the FAQ.
func (t *turn) freeText(text string) {
	var r faq.Result
	if t.e.matcher != nil {
		r = t.e.matcher.Match(t.s.Lang, text)
	}
	if t.deskActive() {
		if r.ID != "" && r.Score >= clearAnswer && looksLikeQuestion(text) {
			t.keepQuestion(text)
			t.faqAnswer(r.ID)
			return
		}
		t.relay(text, nil, false)
		t.say("ask.added", nil)
		return
	}
	if t.e.faq == nil {
		t.menu(t.tr.T("input.unknown_text", nil))
		return
	}
	if r.Greeting {
		t.menu(t.tr.T(faq.MsgGreeting, map[string]any{"Name": html.EscapeString(t.u.From.FirstName)}))
		return
	}
	t.answerQuestion(text, r)
}

// deskActive reports whether the member has a question thread their new
// messages join. If the desk's state cannot be read, the message is treated
// as a new one (it still reaches the team through "ask our team").
func (t *turn) deskActive() bool {
	if t.e.desk == nil {
		return false
	}
	active, err := t.e.desk.Active(t.ctx, t.u.ChatID)
	if err != nil {
		t.e.log.Warn("desk state unavailable", slog.Int64("chat", t.u.ChatID), slog.Any("err", err))
	}
	return active
}

// answerQuestion answers a question the matcher has looked at: the answer,
// "Did you mean…?", or a kind reply that says what the bot can and cannot
// do and where to go instead. Never a dead end.
func (t *turn) answerQuestion(text string, r faq.Result) {
	switch {
	case r.ID != "":
		t.keepQuestion(text)
		t.faqAnswer(r.ID)
	case r.Ambiguous && len(r.Candidates) > 0:
		t.keepQuestion(text)
		t.didYouMean(r.Candidates)
	default:
		t.noMatch(text, r.Legal)
	}
}

// didYouMean offers the likely entries, the team and the whole list.
func (t *turn) didYouMean(cands []faq.Candidate) {
	var rows [][]Button
	for _, c := range cands {
		if en := t.e.faq.Entry(c.ID); en != nil {
			rows = append(rows, []Button{{Text: t.tr.T(en.TitleID, nil), Data: "q|" + en.ID}})
		}
	}
	if t.e.desk != nil {
		rows = append(rows, []Button{{Text: t.tr.T("ask.none_of_these", nil), Data: "a|send"}})
	}
	rows = append(rows, []Button{{Text: t.tr.T("faq.all", nil), Data: "m|faq"}})
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(faq.MsgDidYouMean, nil), Buttons: rows})
}

// noMatch says kindly that the bot can only answer questions about the
// institutes (and, for a legal question, that it cannot give legal advice),
// then offers the team when the desk runs, or the contact the organizers
// configured. Without either it points to the questions it can answer.
func (t *turn) noMatch(text string, legal bool) {
	lead := "faq.nomatch"
	if legal {
		lead = "faq.legal"
	}
	if t.e.desk != nil {
		t.keepQuestion(text)
		t.resp.Messages = append(t.resp.Messages, Message{
			Text: t.tr.T(lead, nil) + "\n\n" + t.tr.T("ask.offer", map[string]any{"Question": html.EscapeString(t.s.Question)}),
			Buttons: [][]Button{
				{{Text: t.tr.T("ask.send", nil), Data: "a|send"}},
				{{Text: t.tr.T("faq.open", nil), Data: "m|faq"}, {Text: t.tr.T("ask.nothanks", nil), Data: "a|no"}},
			},
		})
		return
	}
	if t.s.Form != nil {
		t.say(lead, nil)
		t.resp.Messages[len(t.resp.Messages)-1].Text += "\n\n" + t.contactText()
		t.showStep()
		return
	}
	t.menu(t.tr.T(lead, nil) + "\n\n" + t.contactText())
}

// contactText says how to reach the organizers without the staff desk: the
// contact they configured, or the questions the bot can answer.
func (t *turn) contactText() string {
	if t.e.contact != "" {
		return t.tr.T("contact.configured", map[string]any{"Contact": html.EscapeString(t.e.contact)})
	}
	return t.tr.T("contact.none", nil)
}

// keepQuestion remembers the member's question only when it can still be
// sent to the team; otherwise nothing is kept.
func (t *turn) keepQuestion(text string) {
	t.s.Question = ""
	if t.e.desk != nil {
		t.s.Question = clip(text)
	}
}

func clip(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, ""))
	if utf8.RuneCountInString(s) <= maxQuestion {
		return s
	}
	return string([]rune(s)[:maxQuestion])
}

// feedback handles "Did this answer your question?".
func (t *turn) feedback(v string) {
	switch v {
	case "y":
		t.s.Question = ""
		t.menu(t.tr.T(faq.MsgFeedbackThanks, nil))
	case "n":
		if t.s.Question != "" {
			t.relayQuestion()
			return
		}
		t.askPrompt()
	default:
		t.s.Question = ""
		t.menu(t.tr.T("faq.feedback.sorry", nil) + "\n\n" + t.contactText())
	}
}

// --- Ask our team ---

func (t *turn) askPrompt() {
	if t.e.desk == nil {
		t.menu("")
		return
	}
	t.s.Pending = "ask"
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T("ask.prompt", nil), Buttons: [][]Button{
		{{Text: t.tr.T("ask.cancel", nil), Data: "a|no"}},
	}})
}

// relayQuestion sends the question kept from an unmatched message.
func (t *turn) relayQuestion() {
	q := t.s.Question
	t.s.Question = ""
	if q == "" || t.e.desk == nil {
		t.askPrompt()
		return
	}
	t.relay(q, nil, true)
}

// relay passes a member's message to staff after the session is saved and
// confirms it; if the desk cannot take it, the member is told to resend.
func (t *turn) relay(text string, att *Attachment, isNew bool) {
	m := DeskMessage{
		ChatID: t.u.ChatID, Lang: t.s.Lang, FirstName: t.u.From.FirstName, Username: t.u.From.Username,
		SignedUp: t.signup != nil, Text: text, Attachment: att, New: isNew,
	}
	if t.e.matcher != nil && isNew && text != "" {
		if r := t.e.matcher.Match(t.s.Lang, text); len(r.Candidates) > 0 {
			m.Topic = r.Candidates[0].ID
		}
	}
	t.later("relay", func(ctx context.Context) error { return t.e.desk.Relay(ctx, m) }, "ask.failed")
	if isNew {
		t.say("ask.sent", nil)
		if t.s.Form != nil {
			t.showStep()
		}
	}
}

func (t *turn) askButton(v string) {
	switch v {
	case "send":
		t.relayQuestion()
	default:
		t.s.Question, t.s.Pending = "", ""
		t.resumeOrMenu()
	}
}
