package flows

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxText bounds a text answer when the step names no max, so a
// pasted essay never ends up in a name field.
const DefaultMaxText = 300

// State is a member's place in a flow. It is stored in the session between
// updates, so it must survive a JSON round trip and a restart.
type State struct {
	Flow    string   `json:"flow"`
	Step    string   `json:"step"`
	Answers Answers  `json:"answers,omitempty"`
	History []string `json:"history,omitempty"` // steps answered on the way here, for Back
	Editing bool     `json:"editing,omitempty"` // came from the review: go back to it once done
	Picking bool     `json:"picking,omitempty"` // on the review: choosing which answer to change
	Draft   []string `json:"draft,omitempty"`   // a multi step's toggles before Done
}

// Action is what a button asks the engine to do.
type Action string

// Button actions. Text input has no action.
const (
	ActPick    Action = "p" // choice, yesno (yes/no) and consent (agree/decline)
	ActToggle  Action = "t" // multi: flip one option
	ActDone    Action = "d" // multi: accept the toggled options
	ActSkip    Action = "s" // optional step: no answer
	ActBack    Action = "b" // previous step (or back to the review when editing)
	ActEdit    Action = "e" // review: change one answer
	ActChange  Action = "l" // review: list the answers to pick one to change
	ActConfirm Action = "c" // review: save
)

// Fixed values of yes/no and consent steps.
const (
	Yes     = "yes"
	No      = "no"
	Agree   = "agree"
	Decline = "decline"
)

// Input is one thing the member did: typed text or pressed a button.
type Input struct {
	Text   string
	Action Action // empty for text
	Value  string
}

// Outcome is the engine's verdict on an input.
type Outcome struct {
	State State
	// Notice is a message ID to show before the step's prompt: why the input
	// was not accepted (State is then unchanged) or what happened.
	Notice     string
	NoticeData map[string]any
	// Invalid means the input does not belong to the current step: a button
	// from an old message, or forged callback data. Nothing changed.
	Invalid bool
	// Toggled means a multi step's selection changed: re-draw in place.
	Toggled bool
	// Done means the member confirmed the review; State.Answers is final.
	Done bool
	// Brief means the Notice is enough to say with the step's buttons: its
	// prompt was just read (declining consent does not repeat the whole
	// consent text).
	Brief bool
}

// Start returns the state at the first step of the flow.
func Start(f *Flow) State {
	st := State{Flow: f.ID, Answers: Answers{}}
	st.Step = f.nextFrom(-1, st.Answers, false)
	st.Draft = nil
	return st
}

// StartReview opens the review of existing answers, which is how a member
// who already signed up sees and updates their sign-up.
func StartReview(f *Flow, answers Answers) State {
	st := State{Flow: f.ID, Answers: f.Prune(answers)}
	st.Step = f.ReviewStep().ID
	return f.Resume(st)
}

// Resume repairs a stored state against the flow as it is now: a deployment
// may have edited the flow while the member was away. An unknown or no
// longer applicable current step moves to the first unanswered one.
func (f *Flow) Resume(st State) State {
	if st.Answers == nil {
		st.Answers = Answers{}
	}
	s := f.Step(st.Step)
	if s != nil && s.applies(st.Answers) {
		return st
	}
	st.Step = f.nextFrom(-1, st.Answers, true)
	st.Draft = slices.Clone(st.Answers[st.Step])
	return st
}

// nextFrom returns the ID of the first applicable step after index i. With
// unansweredOnly it skips steps already answered and stops at the review.
func (f *Flow) nextFrom(i int, a Answers, unansweredOnly bool) string {
	for j := i + 1; j < len(f.Steps); j++ {
		s := f.Steps[j]
		if !s.applies(a) {
			continue
		}
		if unansweredOnly && s.Answerable() {
			if _, done := a[s.ID]; done {
				continue
			}
		}
		return s.ID
	}
	return f.Steps[len(f.Steps)-1].ID
}

// Apply runs one input against a state. It never mutates st.
func Apply(f *Flow, st State, in Input) Outcome {
	st = f.Resume(st)
	st.Answers = st.Answers.Clone()
	st.History = slices.Clone(st.History)
	st.Draft = slices.Clone(st.Draft)
	s := f.Step(st.Step)
	invalid := Outcome{State: st, Invalid: true}
	reask := func(id string, data map[string]any) Outcome {
		return Outcome{State: st, Notice: id, NoticeData: data}
	}

	switch in.Action {
	case "":
		if s.Kind != KindText {
			return reask("form.error.use_buttons", nil)
		}
		v, problem, data := validateText(s, in.Text)
		if problem != "" {
			return reask(problem, data)
		}
		return f.advance(st, s, []string{v})
	case ActBack:
		if st.Picking {
			st.Picking = false
			return Outcome{State: st}
		}
		if st.Editing {
			st.Editing = false
			st.Step = f.ReviewStep().ID
			st.Draft = nil
			return Outcome{State: st}
		}
		if len(st.History) == 0 {
			return invalid
		}
		st.Step = st.History[len(st.History)-1]
		st.History = st.History[:len(st.History)-1]
		st.Draft = slices.Clone(st.Answers[st.Step])
		return Outcome{State: st}
	case ActSkip:
		if !s.Optional || s.Kind == KindReview {
			return invalid
		}
		return f.advance(st, s, []string{})
	case ActPick:
		switch s.Kind {
		case KindChoice:
			if s.Option(in.Value) == nil {
				return invalid
			}
		case KindYesNo:
			if in.Value != Yes && in.Value != No {
				return invalid
			}
		case KindConsent:
			switch in.Value {
			case Agree:
			case Decline:
				out := reask(s.Decline, nil)
				out.Brief = true
				return out
			default:
				return invalid
			}
		default:
			return invalid
		}
		return f.advance(st, s, []string{in.Value})
	case ActToggle:
		if s.Kind != KindMulti || s.Option(in.Value) == nil {
			return invalid
		}
		st.Draft = toggle(s, st.Draft, in.Value)
		return Outcome{State: st, Toggled: true}
	case ActDone:
		if s.Kind != KindMulti {
			return invalid
		}
		if len(st.Draft) < s.Min {
			return reask("form.error.choose_min", map[string]any{"Min": s.Min})
		}
		return f.advance(st, s, st.Draft)
	case ActChange:
		if s.Kind != KindReview {
			return invalid
		}
		st.Picking = true
		return Outcome{State: st}
	case ActEdit:
		t := f.Step(in.Value)
		if s.Kind != KindReview || t == nil || !t.Editable() || !t.applies(st.Answers) {
			return invalid
		}
		st.Step, st.Editing, st.Picking = t.ID, true, false
		st.Draft = slices.Clone(st.Answers[t.ID])
		return Outcome{State: st}
	case ActConfirm:
		if s.Kind != KindReview {
			return invalid
		}
		// An edit abandoned half way (role changed to "other", then Back) can
		// leave a required follow-up unanswered: send the member there.
		for _, t := range f.Applicable(st.Answers) {
			if _, ok := st.Answers[t.ID]; !ok {
				st.Step, st.Editing, st.Picking, st.Draft = t.ID, true, false, nil
				return Outcome{State: st, Notice: "form.error.missing"}
			}
		}
		st.Answers = f.Prune(st.Answers)
		return Outcome{State: st, Done: true}
	}
	return invalid
}

// advance stores the answer for s and moves on: to the next step, or when
// editing from the review, to the next follow-up the edit made necessary
// and then back to the review.
func (f *Flow) advance(st State, s *Step, answer []string) Outcome {
	st.Answers[s.ID] = answer
	st.Draft = nil
	i := f.index[s.ID]
	if st.Editing {
		st.Step = f.nextFrom(i, st.Answers, true)
		if f.Step(st.Step).Kind == KindReview {
			st.Editing = false
		}
	} else {
		st.History = append(st.History, s.ID)
		st.Step = f.nextFrom(i, st.Answers, false)
	}
	st.Draft = slices.Clone(st.Answers[st.Step])
	return Outcome{State: st}
}

// toggle flips value in the selection, keeping the flow's option order so
// exports and reviews read the same for everyone.
func toggle(s *Step, sel []string, value string) []string {
	on := map[string]bool{}
	for _, v := range sel {
		on[v] = true
	}
	on[value] = !on[value]
	out := []string{}
	for _, o := range s.Options {
		if on[o.Value] {
			out = append(out, o.Value)
		}
	}
	return out
}

var phoneRE = regexp.MustCompile(`^\+?[0-9]{7,15}$`)

// phoneProblem tells what is wrong with a typed phone number: "" when it
// is a number with its country code, "form.error.phone_country" when it
// looks like a number without one (the member is asked again with the
// Mexican and U.S. examples), "form.error.phone" when it is not a phone
// number. Spaces, dashes, dots and brackets are allowed anywhere; the
// country code is "+…", "00…", or written without the + for the two
// countries of the border (1 and ten digits, 52 and ten digits, or 52 1
// and ten digits).
func phoneProblem(v string) string {
	digits := strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -().", r) {
			return -1
		}
		return r
	}, v)
	if !phoneRE.MatchString(digits) {
		return "form.error.phone"
	}
	switch {
	case strings.HasPrefix(digits, "+"), strings.HasPrefix(digits, "00"):
		return ""
	case len(digits) == 11 && strings.HasPrefix(digits, "1"), len(digits) == 12 && strings.HasPrefix(digits, "52"),
		len(digits) == 13 && strings.HasPrefix(digits, "521"): // Mexico's former mobile "1"
		return ""
	}
	return "form.error.phone_country"
}

// validateText checks typed text against a text step and returns the value
// to store, or the message ID (and its data) that explains what is wrong.
func validateText(s *Step, text string) (string, string, map[string]any) {
	v := strings.TrimSpace(strings.ToValidUTF8(text, ""))
	if v == "" {
		if s.Optional {
			return "", "form.error.empty_optional", nil
		}
		return "", "form.error.empty", nil
	}
	limit := s.Max
	if limit == 0 {
		limit = DefaultMaxText
	}
	if n := utf8.RuneCountInString(v); n > limit {
		return "", "form.error.too_long", map[string]any{"Max": limit, "Length": n}
	}
	switch s.Validate {
	case ValidateEmail:
		addr, err := mail.ParseAddress(v)
		if err != nil || addr.Address != v || !strings.Contains(v[strings.LastIndex(v, "@"):], ".") || strings.ContainsFunc(v, unicode.IsSpace) {
			return "", "form.error.email", nil
		}
	case ValidatePhone:
		if problem := phoneProblem(v); problem != "" {
			return "", problem, nil
		}
	}
	return v, "", nil
}
