package flows

import (
	"strings"
	"testing"
)

// FuzzApply drives the interest form with a sequence of inputs — typed
// text and button actions with any value, as forged callback data could
// carry — and checks the engine never panics and always leaves a state on
// a step of the flow, with no answer the step could not hold.
func FuzzApply(f *testing.F) {
	fl, err := Load(Default())
	if err != nil {
		f.Fatal(err)
	}
	flow := fl[SignupFlow]
	f.Add("Ana\x00p organizer\x00t migration\x00t labor\x00d\x00s\x00b\x00p yes")
	f.Add("ana@example.org\x00e name\x00c\x00x")
	f.Add("\x00\x00p\x00t \x00d")
	f.Add("p agree\x00c\x00+52 656 123 4567")
	f.Fuzz(func(t *testing.T, script string) {
		if len(script) > 2000 {
			return
		}
		st := Start(flow)
		for _, line := range strings.Split(script, "\x00") {
			in := Input{Text: line}
			if a, v, ok := strings.Cut(line, " "); ok && len(a) == 1 || len(line) == 1 {
				in = Input{Action: Action(a), Value: v}
				if len(line) == 1 {
					in = Input{Action: Action(line)}
				}
			}
			out := Apply(flow, st, in)
			if out.Invalid && !equalStates(out.State, flow.Resume(st)) {
				t.Fatalf("an invalid input %+v changed the state", in)
			}
			st = out.State
			if flow.Step(st.Step) == nil {
				t.Fatalf("after %+v the state is on step %q, not in the flow", in, st.Step)
			}
			_ = Render(flow, st, echo{})
			if out.Done {
				st = StartReview(flow, st.Answers)
			}
		}
	})
}

func equalStates(a, b State) bool {
	return a.Step == b.Step && len(a.Answers) == len(b.Answers) && len(a.History) == len(b.History)
}

type echo struct{}

func (echo) T(id string, _ map[string]any) string { return id }
