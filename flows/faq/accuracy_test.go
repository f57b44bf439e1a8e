package faq

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// labelled is one labelled question of testdata/*.yaml.
type labelled struct {
	Q    string `yaml:"q"`
	Lang string `yaml:"lang"`
	Want string `yaml:"want"`
}

const wantGreeting = "greeting"

func loadLabelled(t testing.TB, path string) []labelled {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var qs []labelled
	if err := yaml.Unmarshal(data, &qs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return qs
}

func defaultMatcher(t testing.TB) *Matcher {
	t.Helper()
	f, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return NewMatcher(f)
}

// outcome classifies a result the way the bot acts on it.
func outcome(r Result) string {
	switch {
	case r.Greeting:
		return wantGreeting
	case r.Ambiguous:
		return "ambiguous(" + r.Candidates[0].ID + "|" + r.Candidates[1].ID + ")"
	default:
		return r.ID
	}
}

type accuracy struct {
	inScope, inScopeOK       int
	outScope, outScopeOK     int
	greetings, greetingsOK   int
	ambiguousWithRightAnswer int
	misses                   []string
}

func measure(t testing.TB, m *Matcher, qs []labelled) accuracy {
	var a accuracy
	for _, q := range qs {
		r := m.Match(q.Lang, q.Q)
		got := outcome(r)
		ok := got == q.Want
		switch q.Want {
		case "":
			a.outScope++
			if ok {
				a.outScopeOK++
			}
		case wantGreeting:
			a.greetings++
			if ok {
				a.greetingsOK++
			}
		default:
			if m.ids != nil && !containsString(m.ids, q.Want) {
				t.Errorf("label %q of %q is not an FAQ entry", q.Want, q.Q)
			}
			a.inScope++
			if ok {
				a.inScopeOK++
			} else if r.Ambiguous && (r.Candidates[0].ID == q.Want || r.Candidates[1].ID == q.Want) {
				a.ambiguousWithRightAnswer++
			}
		}
		if !ok {
			want := q.Want
			if want == "" {
				want = "(none)"
			}
			var cands []string
			for _, c := range r.Candidates {
				cands = append(cands, c.ID+"="+strings.TrimRight(strings.TrimRight(ftoa(c.Score), "0"), "."))
			}
			a.misses = append(a.misses, "["+q.Lang+"] "+q.Q+"  want="+want+" got="+orNone(got)+"  "+strings.Join(cands, " "))
		}
	}
	return a
}

func containsString(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func pct(n, d int) float64 {
	if d == 0 {
		return 100
	}
	return 100 * float64(n) / float64(d)
}

// Targets from the issue: ≥ 95% top-1 on in-scope questions, ≥ 90% correct
// rejection of out-of-scope ones. An ambiguous result ("Did you mean…?") is
// counted as a miss for in-scope questions and as a failed rejection for
// out-of-scope ones.
const (
	targetTop1      = 95.0
	targetRejection = 90.0
	targetGreeting  = 90.0
)

func TestAccuracy(t *testing.T) {
	m := defaultMatcher(t)
	qs := loadLabelled(t, "testdata/questions.yaml")
	a := measure(t, m, qs)
	top1 := pct(a.inScopeOK, a.inScope)
	rej := pct(a.outScopeOK, a.outScope)
	gr := pct(a.greetingsOK, a.greetings)
	t.Logf("labelled set: %d questions (%d in scope, %d out of scope, %d greetings)", len(qs), a.inScope, a.outScope, a.greetings)
	t.Logf("top-1 accuracy in scope:     %5.1f%% (%d/%d; %d more were a \"Did you mean\" that offered the right entry)", top1, a.inScopeOK, a.inScope, a.ambiguousWithRightAnswer)
	t.Logf("out-of-scope rejection:      %5.1f%% (%d/%d)", rej, a.outScopeOK, a.outScope)
	t.Logf("greetings recognized:        %5.1f%% (%d/%d)", gr, a.greetingsOK, a.greetings)
	for _, miss := range a.misses {
		t.Logf("miss: %s", miss)
	}
	if len(qs) < 160 || a.outScope < 50 {
		t.Errorf("labelled set too small: %d questions, %d out of scope (want ≥ 160, ≥ 50)", len(qs), a.outScope)
	}
	if top1 < targetTop1 {
		t.Errorf("top-1 accuracy %.1f%% < %.0f%%", top1, targetTop1)
	}
	if rej < targetRejection {
		t.Errorf("out-of-scope rejection %.1f%% < %.0f%%", rej, targetRejection)
	}
	if gr < targetGreeting {
		t.Errorf("greeting accuracy %.1f%% < %.0f%%", gr, targetGreeting)
	}
}

// TestHeldOut reports accuracy on questions written after tuning. It fails
// only far below the targets (it is small and measures generalization, not
// a tuned figure): 85% in scope, 80% rejection.
func TestHeldOut(t *testing.T) {
	m := defaultMatcher(t)
	qs := loadLabelled(t, "testdata/heldout.yaml")
	a := measure(t, m, qs)
	top1, rej, gr := pct(a.inScopeOK, a.inScope), pct(a.outScopeOK, a.outScope), pct(a.greetingsOK, a.greetings)
	t.Logf("held-out set: %d questions; top-1 in scope %.1f%% (%d/%d), rejection %.1f%% (%d/%d), greetings %.1f%% (%d/%d)",
		len(qs), top1, a.inScopeOK, a.inScope, rej, a.outScopeOK, a.outScope, gr, a.greetingsOK, a.greetings)
	for _, miss := range a.misses {
		t.Logf("miss: %s", miss)
	}
	if top1 < 85 || rej < 80 {
		t.Errorf("held-out accuracy too low: %.1f%% in scope, %.1f%% rejection", top1, rej)
	}
}
