package faq

import "sort"

// Suspect is an example that a matcher trained without it answers with
// another entry: it may be filed under the wrong entry, or the two entries
// may share too much wording for the matcher to tell them apart.
type Suspect struct {
	Entry   string  // the entry the example is filed under
	Lang    string  // the language list it is in
	Example string  // the example as written
	Answer  string  // what a matcher trained without it answers
	Score   float64 // that answer's probability
}

// CrossValidate is `rasa test nlu --cross-validation` for the FAQ: the
// examples are dealt into folds (5 when folds < 2); for each fold a matcher
// is trained on the others and asked the fold's examples. The examples it
// answers confidently with another entry are returned, most confident
// first. A misfiled example teaches the matcher the wrong answer for every
// question like it and is hard to see by eye in a long file; most suspects
// are honest overlaps between entries, for an organizer to judge. It trains
// one matcher a fold (a second or two for the shipped FAQ).
func CrossValidate(f *FAQ, folds int) []Suspect {
	if folds < 2 {
		folds = 5
	}
	var out []Suspect
	for fold := range folds {
		rest := &FAQ{Greetings: f.Greetings, OutOfScope: f.OutOfScope, Legal: f.Legal, Common: f.Common, byID: map[string]*Entry{}}
		var asked []Suspect
		n := 0
		for _, e := range f.entries {
			kept := *e
			kept.Examples = map[string][]string{}
			for _, lang := range Languages {
				for _, x := range e.Examples[lang] {
					if n%folds == fold {
						asked = append(asked, Suspect{Entry: e.ID, Lang: lang, Example: x})
					} else {
						kept.Examples[lang] = append(kept.Examples[lang], x)
					}
					n++
				}
			}
			rest.entries = append(rest.entries, &kept)
			rest.byID[kept.ID] = &kept
		}
		m := newMatcher(rest, defaultParams)
		for _, s := range asked {
			r := m.Match(s.Lang, s.Example)
			if r.ID != "" && r.ID != s.Entry {
				s.Answer, s.Score = r.ID, r.Score
				out = append(out, s)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}
