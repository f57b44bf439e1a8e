package broadcast_test

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/flows"
	"bridgebot/locales"
)

func TestParseAudience(t *testing.T) {
	good := map[string]string{
		"":        "all",
		"all":     "all",
		" ALL ":   "all",
		"lang=es": "lang=es",
		"area=migration,labor border=yes role=organizer": "area=migration,labor role=organizer border=yes",
		"role = organizer , popular-educator lang=en,es": "lang=en,es role=organizer,popular-educator",
		"area=labor area=climate,labor":                  "area=labor,climate",
		"border=no":                                      "border=no",
	}
	for in, want := range good {
		a, err := broadcast.ParseAudience(in, shipped(t))
		if err != nil {
			t.Errorf("ParseAudience(%q): %v", in, err)
			continue
		}
		if a.String() != want {
			t.Errorf("ParseAudience(%q).String() = %q, want %q", in, a.String(), want)
		}
		b, err := broadcast.ParseAudience(a.String(), shipped(t))
		if err != nil || b.String() != a.String() {
			t.Errorf("round trip of %q: %v, %v", a.String(), b, err)
		}
	}
	bad := map[string]string{
		"region=north":         `unknown key "region"`,
		"lang=fr":              `unknown lang "fr" (valid: en, es)`,
		"area=housing":         `unknown area "housing"`,
		"role=boss":            `unknown role "boss"`,
		"border=maybe":         `unknown border "maybe"`,
		"border=yes,no":        "border takes one value",
		"lang":                 "not key=value",
		"lang=":                "empty value",
		"lang=es,":             "empty value",
		"all lang=es":          `"all" cannot be combined`,
		"border=yes border=no": "border takes one value",
	}
	for in, want := range bad {
		if _, err := broadcast.ParseAudience(in, shipped(t)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAudience(%q) = %v, want error containing %q", in, err, want)
		}
	}
}

func TestAudienceMatch(t *testing.T) {
	sub := bot.Subscription{Lang: "es", Role: "organizer", Areas: []string{"labor", "climate"}, Border: "yes"}
	cases := map[string]bool{
		"all":                       true,
		"lang=es":                   true,
		"lang=en":                   false,
		"area=climate,detention":    true,
		"area=detention":            false,
		"role=organizer border=yes": true,
		"role=organizer border=no":  false,
		"lang=en,es area=labor role=other,organizer": true,
	}
	for expr, want := range cases {
		a, err := broadcast.ParseAudience(expr, shipped(t))
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Match(sub); got != want {
			t.Errorf("%q matches %+v = %v, want %v", expr, sub, got, want)
		}
	}
	if (broadcast.Audience{Areas: []string{"housing"}}).Validate(shipped(t)) == nil {
		t.Error("Validate accepted an unknown area")
	}
}

// shipped is the audience choices of the shipped sign-up flow.
func shipped(t testing.TB) broadcast.Choices {
	t.Helper()
	c, err := broadcast.ShippedChoices()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChoicesComeFromTheLoadedFlow(t *testing.T) {
	c := shipped(t)
	if got := c.LangName("es"); got != "Spanish" {
		t.Errorf("LangName(es) = %q", got)
	}
	if len(c.Areas) == 0 || c.Areas[1] != (broadcast.Choice{Value: "labor", Label: "Workers' rights"}) {
		t.Errorf("areas: %+v", c.Areas)
	}
	// a deployment's form with another area: organizers can select it, and
	// no longer the one it replaced
	yaml, err := fs.ReadFile(flows.Default(), "signup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	custom := fstest.MapFS{"signup.yaml": {Data: bytes.Replace(yaml, []byte("{value: migration,"), []byte("{value: housing,"), 1)}}
	fl, err := flows.Load(custom)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := locales.Load(locales.Default())
	if err != nil {
		t.Fatal(err)
	}
	c = broadcast.NewChoices(fl[flows.SignupFlow], cat)
	if _, err := broadcast.ParseAudience("area=housing", c); err != nil {
		t.Errorf("the form's new area: %v", err)
	}
	if _, err := broadcast.ParseAudience("area=migration", c); err == nil {
		t.Error("an area the form no longer has was accepted")
	}
}
