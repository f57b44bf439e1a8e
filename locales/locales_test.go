package locales

import (
	"strings"
	"testing"
	"testing/fstest"

	"bridgebot/flows"
)

func TestShippedLocalesAreComplete(t *testing.T) {
	c, err := Load(Default())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if ps := c.Check(); len(ps) > 0 {
		t.Fatalf("locale problems:\n%v", ps.Error())
	}
	fl, err := flows.Load(flows.Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fl {
		if ps := flows.Check(f, c); len(ps) > 0 {
			t.Errorf("flow %s:\n%v", f.ID, ps.Error())
		}
	}
}

func TestMatch(t *testing.T) {
	for code, want := range map[string]string{"es": "es", "es-419": "es", "es-MX": "es", "ES": "es", "en": "en", "en-US": "en", "": "en", "fr": "en", "est": "en", "pt-BR": "en"} {
		if got := Match(code); got != want {
			t.Errorf("Match(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestLocalizerRendersTemplatesPerLanguage(t *testing.T) {
	c, err := Load(Default())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.For("es").T("form.progress", map[string]any{"N": 2, "Total": 11}); got != "Pregunta 2 de 11" {
		t.Fatalf("es: %q", got)
	}
	if got := c.For("en").T("form.progress", map[string]any{"N": 2, "Total": 11}); got != "Question 2 of 11" {
		t.Fatalf("en: %q", got)
	}
	if got := c.For("xx").T("menu.prompt", nil); got != "What would you like to do?" {
		t.Fatalf("unknown language falls back to English: %q", got)
	}
}

func TestCheckFindsMissingAndEmptyWithLines(t *testing.T) {
	fsys := fstest.MapFS{
		"m.en.yaml": {Data: []byte("a: \"A\"\nb: \"B\"\nc: \"C\"\n")},
		"m.es.yaml": {Data: []byte("a: \"A\"\nb: \"\"\n")},
	}
	c, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Check().Error()
	for _, w := range []string{`m.en.yaml:3: message "c" is missing in language "es"`, `m.es.yaml:2: message "b" is empty`} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
}

func TestLoadReportsBadFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"m.en.yaml": {Data: []byte("a: \"{{.Broken\"\na: \"dup\"\n")},
		"m.fr.yaml": {Data: []byte("a: b\n")},
		"m.es.yaml": {Data: []byte("a: [1, 2]\n")},
	}
	_, err := Load(fsys)
	if err == nil {
		t.Fatal("want problems")
	}
	got := err.Error()
	for _, w := range []string{`m.en.yaml:1: message "a": bad template`, `m.en.yaml:2: message "a" is already defined`, `m.fr.yaml: file name must end in`, `m.es.yaml:1: message "a" must be a single text`} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
}

func TestShippedFacts(t *testing.T) {
	shipped, err := Load(Default())
	if err != nil {
		t.Fatal(err)
	}
	if got := shipped.ShippedFacts(shipped); len(got) != 8 {
		t.Errorf("shipped catalog: %d facts at their default, want 8 (4 per language):\n%v", len(got), got.Error())
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"edited in one language", map[string]string{
			"facts.en.yaml": "faq.when.answer: \"Spring 2027 in Tucson.\"\n",
			"facts.es.yaml": "faq.when.answer: \"" + esText(shipped, "faq.when.answer") + "\"\n",
		}, []string{`facts.es.yaml:1: message "faq.when.answer" still holds the shipped text`}},
		{"both edited", map[string]string{
			"facts.en.yaml": "faq.when.answer: \"Spring 2027.\"\n",
			"facts.es.yaml": "faq.when.answer: \"Primavera de 2027.\"\n",
		}, nil},
		{"the shipped text outside a facts file is not listed", map[string]string{
			"faq.en.yaml": "faq.when.answer: \"" + enText(shipped, "faq.when.answer") + "\"\n",
			"faq.es.yaml": "faq.when.answer: \"" + esText(shipped, "faq.when.answer") + "\"\n",
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tc.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			c, err := Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			got := c.ShippedFacts(shipped)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d notes, want %d:\n%v", len(got), len(tc.want), got.Error())
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i].String(), w) {
					t.Errorf("note %d = %q, want it to contain %q", i, got[i].String(), w)
				}
			}
		})
	}
}

func enText(c *Catalog, id string) string { return quoted(c, "en", id) }
func esText(c *Catalog, id string) string { return quoted(c, "es", id) }

// quoted is a shipped text written as a YAML double-quoted string.
func quoted(c *Catalog, lang, id string) string {
	s, _ := c.Text(lang, id)
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
