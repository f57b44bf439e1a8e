package bot

import (
	"time"

	"bridgebot/flows/faq"
)

// Observer is told what members do, for metrics: the sign-up funnel, how
// the FAQ answered, questions opened for the team. Set it in
// Config.Observer (nil: nothing is observed). Calls are made once the
// turn that saw them is saved: a turn run again after a conflict (another
// replica moved the chat on, a cached session was refused) counts once;
// they carry flows, steps, languages and outcomes only, never a chat or
// anything a member wrote. Implementations must be quick and safe for
// concurrent use.
type Observer interface {
	// FormStarted: a member began a form (not resumed, not re-opened to
	// update a sign-up).
	FormStarted(flow, lang string)
	// FormStepAnswered: a step was answered or skipped (not Back, not a
	// multi-select toggle).
	FormStepAnswered(flow, step, lang string)
	// FormCompleted: a member confirmed a new sign-up.
	FormCompleted(flow, lang string)
	// FormAbandoned: a member cancelled a form at step, or deleted their
	// data in the middle of it. (Forms left to expire are not seen here:
	// FormLeft and FormArrived let a durable store tell them.)
	FormAbandoned(flow, step, lang string)
	// FormArrived: after a saved turn, a new sign-up's form (not an update
	// of a finished one) is at step, where it arrived at `at`; first is
	// true the first time this form is at step (not after Back, nor on the
	// way back from changing an answer).
	FormArrived(flow, step, lang string, at time.Time, first bool)
	// FormLeft: after a saved turn, that form is no longer at step, where
	// it had arrived at since; ended says why when the form is gone. A
	// form at a step since longer than the engine's FormTTL has expired:
	// it never leaves, so a store that balances arrivals against
	// departures per time of arrival can count expired forms per step.
	FormLeft(flow, step, lang string, since time.Time, ended FormEnd)
	// FAQ: how a typed question was answered; topic is the FAQ entry's ID
	// when it was answered, "" otherwise.
	FAQ(outcome FAQOutcome, topic, lang string)
	// FAQFeedback: "Did this answer your question?".
	FAQFeedback(helpful bool, lang string)
	// QuestionOpened: a question went to the team.
	QuestionOpened(lang string)
}

// FAQOutcome is how the FAQ met a typed question.
type FAQOutcome string

// FAQ outcomes.
const (
	FAQAnswered   FAQOutcome = "answered"
	FAQDidYouMean FAQOutcome = "did_you_mean"
	FAQUnmatched  FAQOutcome = "unmatched"
)

// FormEnd is why a form is gone.
type FormEnd string

// Form ends. FormMoved: the form is still there, at another step (or the
// same step, touched again).
const (
	FormMoved     FormEnd = ""
	FormConfirmed FormEnd = "confirmed"
	FormCancelled FormEnd = "cancelled"
	FormDeleted   FormEnd = "deleted" // the member deleted their data
)

// Observers is one Observer telling all of obs, in order.
func Observers(obs ...Observer) Observer { return observers(obs) }

type observers []Observer

func (o observers) each(f func(Observer)) {
	for _, x := range o {
		f(x)
	}
}

func (o observers) FormStarted(flow, lang string) {
	o.each(func(x Observer) { x.FormStarted(flow, lang) })
}

func (o observers) FormStepAnswered(flow, step, lang string) {
	o.each(func(x Observer) { x.FormStepAnswered(flow, step, lang) })
}

func (o observers) FormCompleted(flow, lang string) {
	o.each(func(x Observer) { x.FormCompleted(flow, lang) })
}

func (o observers) FormAbandoned(flow, step, lang string) {
	o.each(func(x Observer) { x.FormAbandoned(flow, step, lang) })
}

func (o observers) FormArrived(flow, step, lang string, at time.Time, first bool) {
	o.each(func(x Observer) { x.FormArrived(flow, step, lang, at, first) })
}

func (o observers) FormLeft(flow, step, lang string, since time.Time, ended FormEnd) {
	o.each(func(x Observer) { x.FormLeft(flow, step, lang, since, ended) })
}

func (o observers) FAQ(outcome FAQOutcome, topic, lang string) {
	o.each(func(x Observer) { x.FAQ(outcome, topic, lang) })
}

func (o observers) FAQFeedback(helpful bool, lang string) {
	o.each(func(x Observer) { x.FAQFeedback(helpful, lang) })
}

func (o observers) QuestionOpened(lang string) { o.each(func(x Observer) { x.QuestionOpened(lang) }) }

// observe is the engine's observer (noObserver when none is configured).
func (e *Engine) observe() Observer { return e.obs }

// observeFAQ reports how freeText met r (greetings are not questions).
func (t *turn) observeFAQ(r faq.Result) {
	switch {
	case r.Greeting:
	case r.ID != "":
		t.observe().FAQ(FAQAnswered, r.ID, t.s.Lang)
	case r.Ambiguous && len(r.Candidates) > 0:
		t.observe().FAQ(FAQDidYouMean, "", t.s.Lang)
	default:
		t.observe().FAQ(FAQUnmatched, "", t.s.Lang)
	}
}

// observe collects what the turn saw, reported once it is saved.
func (t *turn) observe() Observer { return &t.seen }

// observed is an Observer that keeps the calls for later (report).
type observed []func(Observer)

func (o *observed) report(to Observer) {
	for _, call := range *o {
		call(to)
	}
	*o = nil
}

func (o *observed) FormStarted(flow, lang string) {
	*o = append(*o, func(to Observer) { to.FormStarted(flow, lang) })
}
func (o *observed) FormStepAnswered(flow, step, lang string) {
	*o = append(*o, func(to Observer) { to.FormStepAnswered(flow, step, lang) })
}
func (o *observed) FormCompleted(flow, lang string) {
	*o = append(*o, func(to Observer) { to.FormCompleted(flow, lang) })
}
func (o *observed) FormAbandoned(flow, step, lang string) {
	*o = append(*o, func(to Observer) { to.FormAbandoned(flow, step, lang) })
}
func (o *observed) FormArrived(flow, step, lang string, at time.Time, first bool) {
	*o = append(*o, func(to Observer) { to.FormArrived(flow, step, lang, at, first) })
}
func (o *observed) FormLeft(flow, step, lang string, since time.Time, ended FormEnd) {
	*o = append(*o, func(to Observer) { to.FormLeft(flow, step, lang, since, ended) })
}
func (o *observed) FAQ(outcome FAQOutcome, topic, lang string) {
	*o = append(*o, func(to Observer) { to.FAQ(outcome, topic, lang) })
}
func (o *observed) FAQFeedback(helpful bool, lang string) {
	*o = append(*o, func(to Observer) { to.FAQFeedback(helpful, lang) })
}
func (o *observed) QuestionOpened(lang string) {
	*o = append(*o, func(to Observer) { to.QuestionOpened(lang) })
}

type noObserver struct{}

func (noObserver) FormStarted(string, string)                          {}
func (noObserver) FormStepAnswered(string, string, string)             {}
func (noObserver) FormCompleted(string, string)                        {}
func (noObserver) FormAbandoned(string, string, string)                {}
func (noObserver) FAQ(FAQOutcome, string, string)                      {}
func (noObserver) FormArrived(string, string, string, time.Time, bool) {}
func (noObserver) FormLeft(string, string, string, time.Time, FormEnd) {}
func (noObserver) FAQFeedback(bool, string)                            {}
func (noObserver) QuestionOpened(string)                               {}
