package bot

import (
	"context"
	"log/slog"
	"time"
)

// Subscriptions keeps who wants announcements.
type Subscriptions interface {
	Subscribe(ctx context.Context, s Subscription) error
	Unsubscribe(ctx context.Context, chatID int64, reason string) (bool, error)
	IsSubscribed(ctx context.Context, chatID int64) (bool, error)
	// Subscription reads the member's subscription; ok is false when
	// they have none.
	Subscription(ctx context.Context, chatID int64) (s Subscription, ok bool, err error)
}

// Subscription is a member who opted in to announcements, with what an
// organizer may filter an audience by (from their sign-up, if any).
type Subscription struct {
	ChatID int64    `json:"chat_id"`
	Lang   string   `json:"lang"`
	Role   string   `json:"role,omitempty"`
	Areas  []string `json:"areas,omitempty"`
	Border string   `json:"border,omitempty"`
	// Since is when they first subscribed, kept across re-subscribing;
	// set by the store that keeps subscriptions (zero: now).
	Since time.Time `json:"since,omitzero"`
}

// The sign-up form's steps an announcement profile is built from; their
// options (flows/default/signup.yaml) are what audiences filter by.
const (
	StepRole   = "role"
	StepAreas  = "areas"
	StepBorder = "border"
)

// SignupNotifier is told about confirmed sign-ups (posted to staff).
type SignupNotifier interface {
	SignupConfirmed(ctx context.Context, s *Signup, updated bool) error
}

// Reasons for unsubscribing, kept for counts.
const (
	UnsubscribeStop    = "stop"    // the member asked (/stop)
	UnsubscribeBlocked = "blocked" // the member blocked the bot (403, my_chat_member kicked)
)

// Effects of announcements and sign-up posts.
const (
	effectSubscribe   EffectKind = "subscribe"
	effectUnsubscribe EffectKind = "unsubscribe"
	effectNotify      EffectKind = "notify-signup"
)

// subsState is what the rest of the bot asks of announcements: the
// running subsFeature, or noSubs for a bot without them.
type subsState interface {
	// isSubscribed reads the member's subscription (the menu's toggle).
	isSubscribed(t *turn) bool
	// blocked stops announcements to a member who blocked the bot.
	blocked(ctx context.Context, chatID int64) error
	// lang is the language of the member's subscription, "" when they
	// have none: a subscriber's choice outlives their idle session.
	lang(t *turn) string
}

// subsFeature is announcements: /subscribe, /stop, the menu toggle, the
// form's opt-in.
type subsFeature struct{ s Subscriptions }

func (*subsFeature) name() string { return "subscriptions" }

func (f *subsFeature) commands() []command {
	return []command{
		{rank: 60, en: "subscribe", es: "suscribir", aliases: []string{"suscribirme"}, desc: "cmd.subscribe",
			run: func(t *turn, _ string) { f.subscribe(t) }},
		{rank: 70, en: "stop", es: "baja", aliases: []string{"unsubscribe", "parar"}, desc: "cmd.stop",
			run: func(t *turn, _ string) { f.unsubscribe(t) }},
	}
}

func (f *subsFeature) menuActions() map[string]func(*turn) {
	return map[string]func(*turn){menuSub: f.subscribe, menuUnsub: f.unsubscribe}
}

func (f *subsFeature) menuButtons(t *turn) ([]Button, [][]Button) {
	if f.isSubscribed(t) {
		return nil, [][]Button{{{Text: t.tr.T("menu.unsubscribe", nil), Data: data(nsMenu, menuUnsub)}}}
	}
	return nil, [][]Button{{{Text: t.tr.T("menu.subscribe", nil), Data: data(nsMenu, menuSub)}}}
}

func (*subsFeature) effectKinds() []EffectKind {
	return []EffectKind{effectSubscribe, effectUnsubscribe}
}

func (f *subsFeature) runEffect(ctx context.Context, ef Effect) error {
	switch ef.Kind {
	case effectSubscribe:
		sub, err := payload(ef, ef.Subscription)
		if err != nil {
			return err
		}
		return f.s.Subscribe(ctx, sub)
	case effectUnsubscribe:
		_, err := f.s.Unsubscribe(ctx, ef.ChatID, ef.Reason)
		return err
	}
	return nil
}

// signupConfirmed follows the form's announcements answer.
func (f *subsFeature) signupConfirmed(t *turn, su *Signup, _ bool) {
	if first(su.Answers[announcementsStep]) == "yes" {
		sub := t.subscription()
		t.subscribed = ptr(true)
		t.later(Effect{Kind: effectSubscribe, Subscription: &sub})
		return
	}
	f.laterUnsubscribe(t, "")
}

// languageChanged: announcements follow the member's language too.
func (f *subsFeature) languageChanged(t *turn) {
	if f.isSubscribed(t) {
		sub := t.subscription()
		t.later(Effect{Kind: effectSubscribe, Subscription: &sub})
	}
}

func (f *subsFeature) erase(t *turn) { f.laterUnsubscribe(t, "delete.failed") }

func (f *subsFeature) blocked(ctx context.Context, chatID int64) error {
	_, err := f.s.Unsubscribe(ctx, chatID, UnsubscribeBlocked)
	return err
}

func (f *subsFeature) subscribe(t *turn) {
	sub := t.subscription()
	t.later(Effect{Kind: effectSubscribe, Subscription: &sub, FailMsg: "error.unavailable"})
	t.subscribed = ptr(true)
	t.setAnnouncementsAnswer("yes")
	t.menu(t.tr.T("sub.on", nil))
}

func (f *subsFeature) unsubscribe(t *turn) {
	f.laterUnsubscribe(t, "error.unavailable")
	t.setAnnouncementsAnswer("no")
	t.menu(t.tr.T("sub.off", nil))
}

// announcementsStep is the form step whose answer is the subscription.
const announcementsStep = "announcements"

// setAnnouncementsAnswer keeps the sign-up's announcements answer (and a
// form being edited) in step with the subscription: one truth, so
// confirming an unchanged review never undoes a /stop or a /subscribe.
func (t *turn) setAnnouncementsAnswer(v string) {
	if t.signup != nil && first(t.signup.Answers[announcementsStep]) != v {
		if _, asked := t.signup.Answers[announcementsStep]; asked {
			up := *t.signup
			up.Answers = up.Answers.Clone()
			up.Answers[announcementsStep] = []string{v}
			t.change.Signup = &up
			t.signup = &up
		}
	}
	if t.s.Form != nil {
		if _, asked := t.s.Form.Answers[announcementsStep]; asked {
			t.s.Form.Answers = t.s.Form.Answers.Clone()
			t.s.Form.Answers[announcementsStep] = []string{v}
		}
	}
}

// laterUnsubscribe stops the member's announcements once the session is
// saved; failMsg is what they are told if that fails ("" to only log).
func (f *subsFeature) laterUnsubscribe(t *turn, failMsg string) {
	t.subscribed = ptr(false)
	t.later(Effect{Kind: effectUnsubscribe, Reason: UnsubscribeStop, FailMsg: failMsg})
}

func (f *subsFeature) isSubscribed(t *turn) bool {
	if t.subscribed != nil {
		return *t.subscribed
	}
	ok, err := f.s.IsSubscribed(t.ctx, t.u.ChatID)
	if err != nil {
		t.e.log.Warn("could not read subscription", slog.Int64("chat", t.u.ChatID), slog.Any("err", err))
		return false
	}
	t.subscribed = &ok
	return ok
}

func (f *subsFeature) lang(t *turn) string {
	sub, ok, err := f.s.Subscription(t.ctx, t.u.ChatID)
	if err != nil {
		t.e.log.Warn("could not read subscription", slog.Int64("chat", t.u.ChatID), slog.Any("err", err))
		return ""
	}
	t.subscribed = &ok
	if !ok {
		return ""
	}
	return sub.Lang
}

// subscription builds the announcement profile from the sign-up, if any.
func (t *turn) subscription() Subscription {
	s := Subscription{ChatID: t.u.ChatID, Lang: t.s.Lang}
	if t.signup != nil {
		a := t.signup.Answers
		s.Role = first(a[StepRole])
		s.Areas = a[StepAreas]
		s.Border = first(a[StepBorder])
	}
	return s
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func ptr[T any](v T) *T { return &v }

// noSubs is a bot without announcements: nobody is subscribed.
type noSubs struct{}

func (noSubs) isSubscribed(*turn) bool              { return false }
func (noSubs) blocked(context.Context, int64) error { return nil }
func (noSubs) lang(*turn) string                    { return "" }

// notifyFeature tells staff about confirmed sign-ups.
type notifyFeature struct{ n SignupNotifier }

func (notifyFeature) name() string { return "sign-up posts" }

func (notifyFeature) effectKinds() []EffectKind { return []EffectKind{effectNotify} }

func (f notifyFeature) runEffect(ctx context.Context, ef Effect) error {
	su, err := payload(ef, ef.Signup)
	if err != nil {
		return err
	}
	return f.n.SignupConfirmed(ctx, &su, ef.Updated)
}

func (notifyFeature) signupConfirmed(t *turn, su *Signup, updated bool) {
	t.later(Effect{Kind: effectNotify, Signup: su, Updated: updated})
}
