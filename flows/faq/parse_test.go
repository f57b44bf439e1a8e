package faq

import (
	"errors"
	"strings"
	"testing"
)

func TestParseProblems(t *testing.T) {
	src := `greetings:
  en: [hi]
  fr: [salut]
entries:
  - id: cost
    action: signup
    examples:
      en: ["How much does it cost?"]
      es: ["¿Cuánto cuesta?"]
  - id: cost
    examples:
      en: ["Is it free?"]
      es: ["¿Es gratis?"]
  - id: where
    action: teleport
    examples:
      en: ["Where is it?"]
  - id: Bad_ID
    exmples:
      en: ["x"]
  - id: when
    examples:
      en: ["When?", "¿?!"]
      es: ["¿Cuándo?"]
`
	_, err := Parse([]byte(src), "faq.yaml")
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse error = %v (%T), want Problems", err, err)
	}
	want := []string{
		`faq.yaml:3: greetings: unknown language "fr"`,
		`faq.yaml:10: duplicate entry id "cost" (first defined at line 5)`,
		`faq.yaml:15: unknown action "teleport"`,
		`faq.yaml:16: examples: no examples given for language "es"`,
		`faq.yaml:18: invalid id "Bad_ID"`,
		`faq.yaml:18: entry "Bad_ID" has no examples`,
		`faq.yaml:19: entry: unknown key "exmples"`,
		`faq.yaml:23: example "¿?!" has no words`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing problem %q in:\n%s", w, got)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(ps), len(want), got)
	}
	for _, p := range ps {
		if p.File != "faq.yaml" || p.Line <= 0 {
			t.Errorf("problem without file/line: %+v", p)
		}
	}
}

func TestParseSyntaxError(t *testing.T) {
	_, err := Parse([]byte("entries:\n  - id: cost\n    examples: [unclosed\n"), "x.yaml")
	var ps Problems
	if !errors.As(err, &ps) || len(ps) == 0 {
		t.Fatalf("err = %v, want Problems", err)
	}
	if ps[0].File != "x.yaml" || ps[0].Line < 2 || !strings.Contains(ps[0].Msg, "invalid YAML") {
		t.Errorf("problem = %+v, want x.yaml:line: invalid YAML", ps[0])
	}
	for _, src := range []string{"", "[]", "entries: 3", "entries: []", "foo: bar"} {
		if _, err := Parse([]byte(src), "x.yaml"); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", src)
		} else if !strings.HasPrefix(err.Error(), "x.yaml:") {
			t.Errorf("Parse(%q) error %q lacks file:line", src, err)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	src := `entries:
  - id: cost
    title: custom.title
    examples:
      en: ["How much does it cost?"]
      es: ["¿Cuánto cuesta?"]
    keywords:
      en: [price]
`
	f, err := Parse([]byte(src), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := f.Entry("cost")
	if e == nil || e.TitleID != "custom.title" || e.AnswerID != "faq.cost.answer" || e.Action != ActionNone || e.Line != 2 {
		t.Fatalf("entry = %+v", e)
	}
	if got := strings.Join(f.MessageIDs(), ","); got != "custom.title,faq.cost.answer" {
		t.Errorf("MessageIDs = %s", got)
	}
	if f.Entry("nope") != nil {
		t.Error("Entry(nope) != nil")
	}
}

// shipped is what the issue requires of the default FAQ: IDs and actions.
var shipped = map[string]Action{
	"what-is-bridge": ActionNone, "who-can-join": ActionNone, "how-to-apply": ActionSignup,
	"where": ActionNone, "when": ActionNone, "cost": ActionNone, "language": ActionNone,
	"topics": ActionNone, "popular-education": ActionNone, "about-nnirr": ActionNone,
	"contact": ActionAsk, "privacy": ActionNone, "updates": ActionSubscribe,
}

func TestDefaultFAQ(t *testing.T) {
	f, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Entries()) != len(shipped) {
		t.Errorf("%d entries, want %d", len(f.Entries()), len(shipped))
	}
	for id, action := range shipped {
		e := f.Entry(id)
		if e == nil {
			t.Errorf("entry %q missing", id)
			continue
		}
		if e.Action != action {
			t.Errorf("%s: action %q, want %q", id, e.Action, action)
		}
		for _, lang := range Languages {
			if n := len(e.Examples[lang]); n < 6 {
				t.Errorf("%s: %d %s examples, want ≥ 6", id, n, lang)
			}
			if len(e.Keywords[lang]) == 0 {
				t.Errorf("%s: no %s keywords", id, lang)
			}
		}
	}
	for _, lang := range Languages {
		if len(f.Greetings[lang]) == 0 || len(f.OutOfScope[lang]) == 0 {
			t.Errorf("no %s greetings or out-of-scope examples", lang)
		}
	}
	// the examples of an entry match their own entry (the model fits its
	// training data; a few examples that read like another entry may not)
	m := NewMatcher(f)
	var n, ok int
	for _, e := range f.Entries() {
		for _, lang := range Languages {
			for _, x := range e.Examples[lang] {
				n++
				if r := m.Match(lang, x); r.ID == e.ID {
					ok++
				} else {
					t.Logf("own example %q of %s → %s", x, e.ID, outcome(r))
				}
			}
		}
	}
	if pct(ok, n) < 97 {
		t.Errorf("only %d of %d own examples match their entry", ok, n)
	}
}
