package bot

import "bridgebot/flows/faq"

// Observer is told what members do, for metrics: the sign-up funnel, how
// the FAQ answered, questions opened for the team. Set it in
// Config.Observer (nil: nothing is observed). Calls are made while an
// update is handled, so an update that fails and is delivered again may
// be counted twice; they carry flows, steps, languages and outcomes only,
// never a chat or anything a member wrote. Implementations must be quick
// and safe for concurrent use.
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
		t.e.observe().FAQ(FAQAnswered, t.s.Lang)
	case r.Ambiguous && len(r.Candidates) > 0:
		t.e.observe().FAQ(FAQDidYouMean, t.s.Lang)
	default:
		t.e.observe().FAQ(FAQUnmatched, t.s.Lang)
	}
}

type noObserver struct{}

func (noObserver) FormStarted(string, string)              {}
func (noObserver) FormStepAnswered(string, string, string) {}
func (noObserver) FormCompleted(string, string)            {}
func (noObserver) FormAbandoned(string, string, string)    {}
func (noObserver) FAQ(FAQOutcome, string)                  {}
func (noObserver) FAQFeedback(bool, string)                {}
func (noObserver) QuestionOpened(string)                   {}
