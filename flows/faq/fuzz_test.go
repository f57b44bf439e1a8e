package faq

import "testing"

// FuzzMatch asks the FAQ matcher anything in either language: it never
// panics, offers at most three candidates, each a real entry, and answers
// only with one of them.
func FuzzMatch(f *testing.F) {
	fq, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	m := NewMatcher(fq)
	ids := map[string]bool{}
	for _, e := range fq.Entries() {
		ids[e.ID] = true
	}
	for _, s := range []string{"¿es gratis?", "how much does it cost", "hola", "asilo detención", "", "😀😀", "cuanto cuesta el instituto en tijuana", "privacy?", "\xff\xfe"} {
		f.Add(true, s)
		f.Add(false, s)
	}
	f.Fuzz(func(t *testing.T, es bool, text string) {
		lang := "en"
		if es {
			lang = "es"
		}
		r := m.Match(lang, text)
		if len(r.Candidates) > 3 {
			t.Fatalf("%d candidates for %q", len(r.Candidates), text)
		}
		for _, c := range r.Candidates {
			if !ids[c.ID] {
				t.Fatalf("candidate %q for %q is no entry", c.ID, text)
			}
		}
		if r.ID != "" && !ids[r.ID] {
			t.Fatalf("answer %q for %q is no entry", r.ID, text)
		}
	})
}
