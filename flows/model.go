// Package flows holds the conversation model: forms defined as data (YAML),
// the pure engine that moves a member through them, and the checks that keep
// a deployment's own flows from breaking the bot.
//
// Nothing here does I/O beyond reading the files it is handed, so every rule
// is table-tested without Telegram or Redis. The bot package owns sessions,
// transports and localization; it hands this package a State and an Input and
// gets back the next State plus what to show.
package flows

import "slices"

// Kind is what a step asks for and therefore which inputs it accepts.
type Kind string

// Step kinds. Each accepts a fixed set of inputs; anything else is re-asked.
const (
	KindText    Kind = "text"    // free text, optionally validated
	KindChoice  Kind = "choice"  // exactly one option
	KindMulti   Kind = "multi"   // toggle options, then Done
	KindYesNo   Kind = "yesno"   // two fixed buttons: yes / no
	KindConsent Kind = "consent" // agree is required to go on
	KindReview  Kind = "review"  // every answer, edit per answer, confirm
)

// Validators a text step may name.
const (
	ValidateEmail = "email"
	ValidatePhone = "phone"
)

// Flow is one form, e.g. the interest form for the institutes.
type Flow struct {
	ID    string
	Title string // message ID of the flow's name, shown in menus
	Steps []*Step

	File  string // where the flow was read from, for problem reports
	Line  int
	index map[string]int
}

// Step is one question of a flow.
type Step struct {
	ID       string
	Kind     Kind
	Prompt   string // message ID of the question
	Label    string // message ID of the short name shown on the review
	Help     string // optional message ID shown under the prompt
	Optional bool   // a Skip button is offered; skipping stores an empty answer
	Validate string // for text: "", "email" or "phone"
	Max      int    // for text: maximum length in characters
	Min      int    // for multi: minimum number of options (default 1)
	Options  []Option
	When     *Condition // the step applies only when this holds
	Decline  string     // for consent: message ID shown when the member declines
	Done     string     // for review: message ID of the thank-you after confirm

	Line int
}

// Option is one button of a choice or multi step.
type Option struct {
	Value string // stored as the answer; stable, used in exports and callbacks
	Label string // message ID of the button text

	Line int
}

// Condition makes a step conditional on an earlier answer, which is how a
// branch such as role "other" → "describe your role" is expressed.
type Condition struct {
	Step   string // an earlier step
	Equals string // its answer is exactly this option
	Has    string // for multi steps: this option is among the answers

	Line int
}

// Step returns the step with that ID, or nil.
func (f *Flow) Step(id string) *Step {
	i, ok := f.index[id]
	if !ok {
		return nil
	}
	return f.Steps[i]
}

// Option returns the option with that value, or nil.
func (s *Step) Option(value string) *Option {
	for i := range s.Options {
		if s.Options[i].Value == value {
			return &s.Options[i]
		}
	}
	return nil
}

// Answerable reports whether the step stores an answer (all but review).
func (s *Step) Answerable() bool { return s.Kind != KindReview }

// Editable reports whether the review offers to change the answer. Consent
// is not an answer to change: withdrawing it is deleting everything
// (/delete), which the list of answers to change says.
func (s *Step) Editable() bool { return s.Answerable() && s.Kind != KindConsent }

// applies reports whether the step is part of the form given the answers so
// far. Steps without a condition always apply.
func (s *Step) applies(answers Answers) bool {
	c := s.When
	if c == nil {
		return true
	}
	got := answers[c.Step]
	if c.Equals != "" {
		return len(got) == 1 && got[0] == c.Equals
	}
	for _, v := range got {
		if v == c.Has {
			return true
		}
	}
	return false
}

// Answers maps a step ID to the member's answer. Single answers are one
// element; multi steps keep the options in the order of the flow; a skipped
// optional step is present with no elements, so "skipped" and "not reached
// yet" stay distinguishable.
type Answers map[string][]string

// Clone returns a deep copy, so an engine step never mutates its input.
func (a Answers) Clone() Answers {
	out := make(Answers, len(a))
	for k, v := range a {
		out[k] = slices.Clone(v)
	}
	return out
}

// Applicable returns the answerable steps that apply given these answers, in
// flow order: what a review shows and what an export contains.
func (f *Flow) Applicable(a Answers) []*Step {
	var out []*Step
	for _, s := range f.Steps {
		if s.Answerable() && s.applies(a) {
			out = append(out, s)
		}
	}
	return out
}

// Prune drops answers to steps that no longer apply (a member changed role
// from "other" to "organizer": the description goes) and to unknown steps.
func (f *Flow) Prune(a Answers) Answers {
	out := Answers{}
	for _, s := range f.Applicable(a) {
		if v, ok := a[s.ID]; ok {
			out[s.ID] = slices.Clone(v)
		}
	}
	return out
}

// ReviewStep returns the flow's review step, or nil when it has none.
func (f *Flow) ReviewStep() *Step {
	for _, s := range f.Steps {
		if s.Kind == KindReview {
			return s
		}
	}
	return nil
}
