package bot

import "bridgebot/flows/faq"

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
	// FormAbandoned: a member cancelled a form at step. (Forms left to
	// expire are not seen: Redis forgets them.)
	FormAbandoned(flow, step, lang string)
	// FAQ: how a typed question was answered.
	FAQ(outcome FAQOutcome, lang string)
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

// observe is the engine's observer, never nil.
func (e *Engine) observe() Observer {
	if e.obs == nil {
		return noObserver{}
	}
	return e.obs
}

// observeFAQ reports how freeText met r (greetings are not questions).
func (t *turn) observeFAQ(r faq.Result) {
	switch {
	case r.Greeting:
	case r.ID != "":
		t.observe().FAQ(FAQAnswered, t.s.Lang)
	case r.Ambiguous && len(r.Candidates) > 0:
		t.observe().FAQ(FAQDidYouMean, t.s.Lang)
	default:
		t.observe().FAQ(FAQUnmatched, t.s.Lang)
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
func (o *observed) FAQ(outcome FAQOutcome, lang string) {
	*o = append(*o, func(to Observer) { to.FAQ(outcome, lang) })
}
func (o *observed) FAQFeedback(helpful bool, lang string) {
	*o = append(*o, func(to Observer) { to.FAQFeedback(helpful, lang) })
}
func (o *observed) QuestionOpened(lang string) {
	*o = append(*o, func(to Observer) { to.QuestionOpened(lang) })
}

type noObserver struct{}

func (noObserver) FormStarted(string, string)              {}
func (noObserver) FormStepAnswered(string, string, string) {}
func (noObserver) FormCompleted(string, string)            {}
func (noObserver) FormAbandoned(string, string, string)    {}
func (noObserver) FAQ(FAQOutcome, string)                  {}
func (noObserver) FAQFeedback(bool, string)                {}
func (noObserver) QuestionOpened(string)                   {}
