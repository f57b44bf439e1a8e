package faq_test

import (
	"strings"
	"testing"

	"bridgebot/flows/faq"
	"bridgebot/locales"
)

func TestCheckShippedFAQIsClean(t *testing.T) {
	f, err := faq.Default()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := locales.Load(locales.Default())
	if err != nil {
		t.Fatal(err)
	}
	if ps := faq.Check(f, cat); len(ps) > 0 {
		t.Fatal(ps.Error())
	}
}

func TestCheckReportsMissingTextsAndLongIDs(t *testing.T) {
	f, err := faq.Parse([]byte(`entries:
  - id: `+strings.Repeat("x", 70)+`
    examples:
      en: ["what?"]
      es: ["¿qué?"]
`), "custom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := locales.Load(locales.Default())
	if err != nil {
		t.Fatal(err)
	}
	got := faq.Check(f, cat).Error()
	for _, want := range []string{"custom.yaml:2: entry", "is missing or empty in language \"es\"", "id too long for Telegram callback data"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}
