package faq

import (
	"fmt"
	"os"
	"testing"
)

// TestCrossValidateExamples finds examples that may be filed under the
// wrong entry (FAQ_CROSSVAL=1 go test -run TestCrossValidateExamples -v):
// the FAQ's examples are split in five folds, a matcher is trained on the
// other four, and every example it answers confidently with another entry
// (or rejects) is printed. A misfiled example teaches the matcher the wrong
// answer for every question like it, and is hard to see by eye in a long
// file; most lines printed are honest overlaps to judge, not errors.
func TestCrossValidateExamples(t *testing.T) {
	if os.Getenv("FAQ_CROSSVAL") == "" {
		t.Skip("set FAQ_CROSSVAL=1")
	}
	f, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	const folds = 5
	for fold := range folds {
		held := &FAQ{Greetings: f.Greetings, OutOfScope: f.OutOfScope, Legal: f.Legal, Common: f.Common, byID: map[string]*Entry{}}
		type probe struct{ id, lang, text string }
		var probes []probe
		n := 0
		for _, e := range f.Entries() {
			c := *e
			c.Examples = map[string][]string{}
			for _, lang := range Languages {
				for _, x := range e.Examples[lang] {
					if n%folds == fold {
						probes = append(probes, probe{e.ID, lang, x})
					} else {
						c.Examples[lang] = append(c.Examples[lang], x)
					}
					n++
				}
			}
			held.entries = append(held.entries, &c)
			held.byID[c.ID] = &c
		}
		m := newMatcher(held, defaultParams)
		for _, p := range probes {
			r := m.Match(p.lang, p.text)
			if r.ID != p.id && !r.Ambiguous {
				fmt.Printf("%-18s [%s] %-70q → %s %+v\n", p.id, p.lang, p.text, orNone(r.ID), r.Candidates)
			}
		}
	}
}
