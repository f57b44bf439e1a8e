package locales

import (
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// Texts without template actions take T's fast path; they must read
// exactly as go-i18n renders them, in every language.
func TestPlainTextsRenderAsGoI18n(t *testing.T) {
	c, err := Load(Default())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, lang := range Languages {
		l := c.For(lang)
		for id, want := range l.plain {
			got, err := l.l.Localize(&i18n.LocalizeConfig{MessageID: id})
			if err != nil || got != want {
				t.Errorf("%s %s: go-i18n renders %q (%v), fast path %q", lang, id, got, err, want)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no plain texts")
	}
}
