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
// helped.
func (t *turn) faqAnswer(id string) {
	en := t.e.faq.Entry(id)
	if en == nil {
		t.resp.Notice = t.tr.T("notice.stale", nil)
		return
	}
	var rows [][]Button
	if b, ok := t.actionButton(en.Action); ok {
		rows = append(rows, []Button{b})
	}
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(en.AnswerID, nil), Buttons: rows})
	feedback := []Button{{Text: t.tr.T(faq.MsgFeedbackYes, nil), Data: "fb|y"}}
	if t.e.desk != nil {
		feedback = append(feedback, Button{Text: t.tr.T(faq.MsgFeedbackNo, nil), Data: "fb|n"})
	} else {
		feedback = append(feedback, Button{Text: t.tr.T("faq.feedback.no_desk", nil), Data: "fb|x"})
	}
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(faq.MsgFeedbackAsk, nil), Buttons: [][]Button{feedback}})
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

// freeText is a message typed outside any form: it joins an open question
// thread, or is matched against the FAQ.
func (t *turn) freeText(text string) {
	if t.e.desk != nil {
		active, err := t.e.desk.Active(t.ctx, t.u.ChatID)
		if err != nil {
			t.e.log.Warn("desk state unavailable", slog.Int64("chat", t.u.ChatID), slog.Any("err", err))
		}
		if active {
			t.relay(text, nil, false)
			return
		}
	}
	if t.e.faq == nil {
		t.menu(t.tr.T("input.unknown_text", nil))
		return
	}
	r := t.e.matcher.Match(t.s.Lang, text)
	switch {
	case r.Greeting:
		t.menu(t.tr.T(faq.MsgGreeting, map[string]any{"Name": html.EscapeString(t.u.From.FirstName)}))
	case r.ID != "":
		t.keepQuestion(text)
		t.faqAnswer(r.ID)
	case r.Ambiguous && len(r.Candidates) >= 2:
		t.keepQuestion(text)
		var rows [][]Button
		for _, c := range r.Candidates[:2] {
			if en := t.e.faq.Entry(c.ID); en != nil {
				rows = append(rows, []Button{{Text: t.tr.T(en.TitleID, nil), Data: "q|" + en.ID}})
			}
		}
		if t.e.desk != nil {
			rows = append(rows, []Button{{Text: t.tr.T("ask.none_of_these", nil), Data: "a|send"}})
		}
		t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(faq.MsgDidYouMean, nil), Buttons: rows})
	default:
		t.noMatch(text)
	}
}

// noMatch says no answer was found and, when the desk runs, offers to
// send the question itself to the team.
func (t *turn) noMatch(text string) {
	if t.e.desk == nil {
		t.menu(t.tr.T("faq.nomatch_no_desk", nil))
		return
	}
	t.keepQuestion(text)
	t.resp.Messages = append(t.resp.Messages, Message{
		Text: t.tr.T("ask.offer", map[string]any{"Question": html.EscapeString(t.s.Question)}),
		Buttons: [][]Button{
			{{Text: t.tr.T("ask.send", nil), Data: "a|send"}},
			{{Text: t.tr.T("faq.open", nil), Data: "m|faq"}, {Text: t.tr.T("ask.nothanks", nil), Data: "a|no"}},
		},
	})
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
		t.menu(t.tr.T("faq.feedback.sorry", nil))
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
