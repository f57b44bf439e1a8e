package faq

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// How the matcher is measured
//
// Six labelled sets live in testdata (format in each file's header):
//
//   - heldout.yaml: 300 questions (240 in scope, 60 out-of-scope near
//     misses) written by people who never saw faq.yaml or the matcher, from
//     the entry IDs and their meaning alone. Nobody looks at it while tuning;
//     it is evaluated once per change that is kept. TestHeldOut gates on it.
//   - dev.yaml: 300 more by the same kind of writers (one writer entirely,
//     and the other half of a writer shared with the held-out set). Misses
//     here may be studied and the FAQ examples and constants tuned on it,
//     so its figures are reported, not gated.
//   - heldout2.yaml and dev2.yaml: 214 and 206 more, written in session 5
//     by two new writers in voices the earlier sets lacked (Indigenous
//     migrants writing Spanish as a second language, Caribbean Spanish,
//     non-native English of refugees, border code-switching, hurried
//     fragments), every other question of each writer, entry and language
//     to each half. The matcher of that day scored 94.7% top-1 and 79.1%
//     rejection on heldout2 before anything was changed.
//   - project.yaml and project-heldout.yaml: the project's first labelled
//     sets, written next to the first matcher. Reported, with a low gate
//     against regressions.
//
// Metrics, as the bot acts on a result:
//   - top-1 in scope: the entry answered is the labelled one (or its `alt`,
//     for a message that asks two things). "Did you mean…?" is a miss here.
//   - top-3 in scope: the labelled entry is the answer or among the first
//     three candidates (what "Did you mean…?" offers).
//   - rejection: an out-of-scope question gets no answer (ID ""). A "Did you
//     mean…?" for it counts as rejected: it answers nothing, and the member
//     chooses (or asks the team).
// Targets (issue 12): top-1 ≥ 90%, top-3 ≥ 97%, rejection ≥ 90%, each
// language ≥ 85% top-1.

// labelled is one labelled question of testdata/*.yaml.
type labelled struct {
	Q    string `yaml:"q"`
	Lang string `yaml:"lang"`
	Want string `yaml:"want"`
	Alt  string `yaml:"alt"`
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
		ids := make([]string, len(r.Candidates))
		for i, c := range r.Candidates {
			ids[i] = c.ID
		}
		return "unsure(" + strings.Join(ids, "|") + ")"
	default:
		return r.ID
	}
}

type tally struct{ n, ok int }

func (t *tally) add(ok bool) {
	t.n++
	if ok {
		t.ok++
	}
}

func (t tally) pct() float64 { return pct(t.ok, t.n) }

func (t tally) String() string { return fmt.Sprintf("%5.1f%% (%d/%d)", t.pct(), t.ok, t.n) }

type accuracy struct {
	top1, top3, rejection, greetings tally
	top1Lang                         map[string]*tally
	misses                           []string
}

func measure(t testing.TB, m *Matcher, qs []labelled) accuracy {
	a := accuracy{top1Lang: map[string]*tally{"en": {}, "es": {}}}
	for _, q := range qs {
		r := m.Match(q.Lang, q.Q)
		got := outcome(r)
		var ok bool
		switch q.Want {
		case "":
			ok = r.ID == "" && !r.Greeting
			a.rejection.add(ok)
		case wantGreeting:
			ok = r.Greeting
			a.greetings.add(ok)
		default:
			for _, id := range []string{q.Want, q.Alt} {
				if id != "" && m.classOf(id) < 0 {
					t.Errorf("label %q of %q is not an FAQ entry", id, q.Q)
				}
			}
			ok = r.ID != "" && (r.ID == q.Want || r.ID == q.Alt)
			a.top1.add(ok)
			if l := a.top1Lang[q.Lang]; l != nil {
				l.add(ok)
			}
			in3 := ok
			for _, c := range r.Candidates {
				in3 = in3 || c.ID == q.Want || c.ID == q.Alt
			}
			a.top3.add(in3)
		}
		if !ok {
			want := q.Want
			if want == "" {
				want = "(none)"
			}
			if q.Alt != "" {
				want += "|" + q.Alt
			}
			var cands []string
			for _, c := range r.Candidates {
				cands = append(cands, fmt.Sprintf("%s=%.2f", c.ID, c.Score))
			}
			a.misses = append(a.misses, fmt.Sprintf("[%s] %s  want=%s got=%s  %s oos=%.2f",
				q.Lang, q.Q, want, orNone(got), strings.Join(cands, " "), r.OutOfScope))
		}
	}
	return a
}

func (a accuracy) report(t testing.TB, name string, n int, showMisses bool) {
	t.Logf("%s: %d questions", name, n)
	t.Logf("  top-1 in scope  %s   (en %s, es %s)", a.top1, a.top1Lang["en"], a.top1Lang["es"])
	t.Logf("  top-3 in scope  %s", a.top3)
	t.Logf("  rejection       %s", a.rejection)
	if a.greetings.n > 0 {
		t.Logf("  greetings       %s", a.greetings)
	}
	if showMisses {
		for _, miss := range a.misses {
			t.Logf("  miss: %s", miss)
		}
	}
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

// The targets of issue 12, gated on the held-out set.
const (
	targetTop1      = 90.0
	targetTop3      = 97.0
	targetRejection = 90.0
	targetPerLang   = 85.0
)

// heldOutSets are the sets nobody tuned on, each with the least it must
// hold to be worth a gate: heldout.yaml from session 3's writers and
// heldout2.yaml from session 5's, whose voices the matcher had never met.
var heldOutSets = []struct {
	path              string
	inScope, outScope int
}{
	{"testdata/heldout.yaml", 240, 60},
	{"testdata/heldout2.yaml", 160, 40},
}

// devSets may be studied while tuning: their figures are reported, not
// gated.
var devSets = []string{"testdata/dev.yaml", "testdata/dev2.yaml"}

// TestHeldOut gates on questions nobody tuned on. Its misses are not
// printed unless FAQ_SHOW_HELDOUT=1, so that reading the test output does
// not turn the set into a development set.
func TestHeldOut(t *testing.T) {
	m := defaultMatcher(t)
	for _, set := range heldOutSets {
		qs := loadLabelled(t, set.path)
		a := measure(t, m, qs)
		a.report(t, "held-out set ("+set.path+")", len(qs), os.Getenv("FAQ_SHOW_HELDOUT") != "")
		if a.top1.n < set.inScope || a.rejection.n < set.outScope {
			t.Errorf("%s too small: %d in scope, %d out of scope (want ≥ %d, ≥ %d)",
				set.path, a.top1.n, a.rejection.n, set.inScope, set.outScope)
		}
		gate := func(what string, got, want float64) {
			if got < want {
				t.Errorf("%s: %s %.1f%% < %.0f%%", set.path, what, got, want)
			}
		}
		gate("top-1 in scope", a.top1.pct(), targetTop1)
		gate("top-3 in scope", a.top3.pct(), targetTop3)
		gate("out-of-scope rejection", a.rejection.pct(), targetRejection)
		gate("top-1 in scope, English", a.top1Lang["en"].pct(), targetPerLang)
		gate("top-1 in scope, Spanish", a.top1Lang["es"].pct(), targetPerLang)
	}
}

// TestDev reports the development sets with their misses (they are the
// ones to study). It only fails far below the targets.
func TestDev(t *testing.T) {
	m := defaultMatcher(t)
	for _, path := range devSets {
		qs := loadLabelled(t, path)
		a := measure(t, m, qs)
		a.report(t, "development set ("+path+")", len(qs), testing.Verbose())
		if a.top1.pct() < 85 || a.rejection.pct() < 85 {
			t.Errorf("%s far below the targets", path)
		}
	}
}

// TestProjectSets reports the project's first labelled sets (written next
// to the first matcher) and guards against regressions on them.
func TestProjectSets(t *testing.T) {
	m := defaultMatcher(t)
	for _, path := range []string{"testdata/project.yaml", "testdata/project-heldout.yaml"} {
		qs := loadLabelled(t, path)
		a := measure(t, m, qs)
		a.report(t, path, len(qs), testing.Verbose())
		if a.top1.pct() < 85 || a.rejection.pct() < 80 || a.greetings.n > 0 && a.greetings.pct() < 90 {
			t.Errorf("%s: below the regression bar (85%% top-1, 80%% rejection, 90%% greetings)", path)
		}
	}
}
