package flows

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseFlowProblemsHaveLines(t *testing.T) {
	src := `id: t
title: t.title
steps:
  - {id: name, kind: text, prompt: p.name, label: l.name, optinal: true}
  - {id: name, kind: text, prompt: p.n2, label: l.n2}
  - {id: pick, kind: choice, prompt: p.pick, label: l.pick, options: [{value: a, label: o.a}]}
  - {id: f, kind: text, prompt: p.f, label: l.f, when: {step: nowhere, equals: x}}
  - {id: g, kind: text, prompt: p.g, label: l.g, when: {step: later, equals: x}}
  - {id: h, kind: text, prompt: p.h, label: l.h, when: {step: pick, equals: zz}}
  - {id: later, kind: choice, prompt: p.l, label: l.l, options: [{value: x, label: o.x}, {value: y, label: o.y}]}
  - {id: mail, kind: text, prompt: p.m, label: l.m, validate: fax}
  - {id: wat, kind: dance, prompt: p.w, label: l.w}
  - {id: review, kind: review, prompt: p.r}
  - {id: after, kind: text, prompt: p.a, label: l.a}
`
	_, err := ParseFlow([]byte(src), "bad.yaml")
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	want := []string{
		`bad.yaml:4: unknown key "optinal"`,
		`bad.yaml:5: step id "name" is used twice`,
		`bad.yaml:6: step "pick": a choice step needs at least two options`,
		`bad.yaml:7: step "f" depends on step "nowhere", which does not exist`,
		`bad.yaml:8: step "g" is unreachable: it depends on step "later", which comes later`,
		`bad.yaml:9: step "h" is unreachable: step "pick" has no option "zz"`,
		`bad.yaml:11: step "mail": validate "fax" is not one of email, phone`,
		`bad.yaml:12: step "wat": kind "dance"`,
		`bad.yaml:14: step "after" is unreachable: it comes after the review step`,
	}
	got := ps.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing problem %q in:\n%s", w, got)
		}
	}
}

func TestParseFlowSyntaxError(t *testing.T) {
	_, err := ParseFlow([]byte("id: t\nsteps:\n  - {id: a\n  - b: [\n"), "syntax.yaml")
	ps := AsProblems(err, "syntax.yaml")
	if len(ps) != 1 || ps[0].File != "syntax.yaml" || ps[0].Line == 0 {
		t.Fatalf("want one located problem, got %v", ps)
	}
}

func TestDefaultFlowsLoad(t *testing.T) {
	fl, err := Load(Default())
	if err != nil {
		t.Fatalf("default flows: %v", err)
	}
	f := fl[SignupFlow]
	if f == nil {
		t.Fatal("no signup flow")
	}
	// The interest form asks what the issue asks, in that order.
	var ids []string
	for _, s := range f.Steps {
		ids = append(ids, s.ID)
	}
	want := "name role role_other organization region border areas areas_other email phone hopes consent announcements review"
	if got := strings.Join(ids, " "); got != want {
		t.Fatalf("steps = %s\nwant   %s", got, want)
	}
	if f.Step("hopes").Max != 1000 || !f.Step("organization").Optional || f.Step("consent").Kind != KindConsent {
		t.Fatal("form rules changed")
	}
}

func TestLoadWithoutSignupFlow(t *testing.T) {
	fsys := fstest.MapFS{"other.yaml": {Data: []byte(testFlow)}, "faq.yaml": {Data: []byte("not a flow")}}
	_, err := Load(fsys)
	if err == nil || !strings.Contains(err.Error(), `no flow with id "signup"`) {
		t.Fatalf("want missing signup problem, got %v", err)
	}
}

type mapCatalog map[string]map[string]string

func (m mapCatalog) Languages() []string { return []string{"en", "es"} }
func (m mapCatalog) Text(lang, id string) (string, bool) {
	t, ok := m[lang][id]
	return t, ok
}

func TestCheckMessagesAndLimits(t *testing.T) {
	src := `id: t
title: t.title
steps:
  - id: pick
    kind: choice
    prompt: p.pick
    label: l.pick
    options:
      - {value: a, label: o.a}
      - {value: b, label: o.b}
  - {id: review, kind: review, prompt: p.r}
`
	f := mustFlow(t, src)
	// An option value long enough to overflow 64 bytes of callback data
	// (a deployment could only get here by bypassing the ID rule).
	f.Steps[0].Options[1].Value = strings.Repeat("b", 60)
	all := map[string]string{"t.title": "T", "p.pick": "P", "l.pick": "L", "o.a": "A", "o.b": "B", "p.r": "R"}
	es := map[string]string{}
	for k, v := range all {
		es[k] = v
	}
	delete(es, "o.a")
	es["p.pick"] = "  "
	es["l.pick"] = strings.Repeat("x", 70)
	ps := Check(f, mapCatalog{"en": all, "es": es})
	got := ps.Error()
	for _, w := range []string{
		`test.yaml:9: message "o.a" is missing in language "es"`,
		`test.yaml:4: message "p.pick" is empty in language "es"`,
		`test.yaml:4: button label "l.pick" (es) is 73 characters`,
		`test.yaml:10: button "` + strings.Repeat("b", 60) + `": callback data`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}
