package faq

import (
	"fmt"
	"os"
	"sort"
	"testing"
)

// looQuery is a leave-one-out query built from the FAQ's own examples.
type looQuery struct {
	lang, text, want string
	exclude          int32
}

// looSet returns each example of each entry (want = its entry) and each
// out-of-scope example (want = ""), plus a variant with a typo (one letter of
// the longest word dropped), each to be matched with its own doc excluded.
func looSet(m *Matcher, f *FAQ) []looQuery {
	var qs []looQuery
	d := int32(0)
	add := func(lang, text, want string) {
		if len(contentTerms(text)) == 0 {
			return
		}
		qs = append(qs, looQuery{lang, text, want, d}, looQuery{lang, typo(text), want, d})
		d++
	}
	// same order as newMatcher adds docs
	for _, lang := range Languages {
		for _, e := range f.Entries() {
			for _, x := range e.Examples[lang] {
				add(lang, x, e.ID)
			}
			for _, x := range e.Keywords[lang] {
				if len(contentTerms(x)) > 0 {
					d++ // keywords are docs but not queries
				}
			}
		}
		for _, x := range f.OutOfScope[lang] {
			add(lang, x, "")
		}
	}
	if int(d) != len(m.docs) {
		panic(fmt.Sprintf("doc count mismatch %d != %d", d, len(m.docs)))
	}
	return qs
}

func typo(s string) string {
	b := []byte(s)
	start, best, cur := 0, -1, 0
	bestLen := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == ' ' {
			if i-cur > bestLen {
				best, bestLen = cur, i-cur
			}
			cur = i + 1
		}
	}
	_ = start
	if best < 0 || bestLen < 5 {
		return s
	}
	i := best + bestLen/2
	return string(b[:i]) + string(b[i+1:])
}

func looScore(m *Matcher, qs []looQuery) (in, out float64) {
	var nin, okin, nout, okout int
	for _, q := range qs {
		r := m.match(q.lang, q.text, q.exclude)
		if q.want == "" {
			nout++
			if r.ID == "" && !r.Ambiguous {
				okout++
			}
		} else {
			nin++
			if r.ID == q.want {
				okin++
			}
		}
	}
	return pct(okin, nin), pct(okout, nout)
}

// TestTune explores the matcher constants by leave-one-out over the FAQ's
// own examples (FAQ_TUNE=1 go test -run TestTune -v). It never looks at the
// labelled set in testdata.
func TestTune(t *testing.T) {
	if os.Getenv("FAQ_TUNE") == "" {
		t.Skip("set FAQ_TUNE=1")
	}
	f, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		p       params
		in, out float64
	}
	var rows []row
	for _, th := range []float32{0.68, 0.72, 0.76} {
		for _, mg := range []float32{0.5, 0.6, 0.7, 0.8, 0.9} {
			for _, ec := range []float32{0.75, 0.9} {
				for _, cc := range []float32{0.2, 0.3, 0.4} {
					for _, uf := range []float32{1.1, 1.25, 1.4} {
						p := defaultParams
						p.threshold, p.margin, p.entryCredit, p.contextCredit, p.unknownFactor = th, mg, ec, cc, uf
						m := newMatcher(f, p)
						in, out := looScore(m, looSet(m, f))
						rows = append(rows, row{p, in, out})
					}
				}
			}
		}
	}
	obj := func(r row) float64 { return r.in + r.out }
	sort.Slice(rows, func(i, j int) bool { return obj(rows[i]) > obj(rows[j]) })
	m := newMatcher(f, defaultParams)
	in, out := looScore(m, looSet(m, f))
	t.Logf("current: in %.1f%% out %.1f%% (%d queries)", in, out, len(looSet(m, f)))
	for _, r := range rows[:25] {
		t.Logf("in %.1f%% out %.1f%%  th=%.2f margin=%.3f entry=%.2f context=%.2f unknown=%.2f",
			r.in, r.out, r.p.threshold, r.p.margin, r.p.entryCredit, r.p.contextCredit, r.p.unknownFactor)
	}
}
