package flows_test

import (
	"fmt"
	"testing"

	"bridgebot/flows"
	"bridgebot/locales"
)

func defaultSignup(t *testing.T) *flows.Flow {
	t.Helper()
	fs, err := flows.Load(flows.Default())
	if err != nil {
		t.Fatal(err)
	}
	return fs[flows.SignupFlow]
}

func translators(t *testing.T, first string) []flows.Translator {
	t.Helper()
	cat, err := locales.Load(locales.Default())
	if err != nil {
		t.Fatal(err)
	}
	other := "en"
	if first == "en" {
		other = "es"
	}
	return []flows.Translator{cat.For(first), cat.For(other)}
}

// at returns a state at step id of the sign-up, with the answers needed to
// reach it.
func at(f *flows.Flow, id string, draft ...string) flows.State {
	st := flows.Start(f)
	st.Step, st.Draft = id, draft
	return st
}

func show(ins []flows.Input) string {
	if ins == nil {
		return "nil"
	}
	s := ""
	for _, in := range ins {
		s += fmt.Sprintf("[%s %s]", in.Action, in.Value)
	}
	return s
}

func TestTypedInputs(t *testing.T) {
	f := defaultSignup(t)
	tests := []struct {
		lang, step, text, want string
		draft                  []string
	}{
		// yes/no steps
		{lang: "es", step: "border", text: "si", want: "[p yes]"},
		{lang: "es", step: "border", text: "Sí!! 👍", want: "[p yes]"},
		{lang: "es", step: "border", text: "claro que si", want: "[p yes]"},
		{lang: "en", step: "border", text: "yes", want: "[p yes]"},
		{lang: "en", step: "border", text: "Yeah", want: "[p yes]"},
		{lang: "es", step: "border", text: "no", want: "[p no]"},
		{lang: "es", step: "border", text: "nel", want: "[p no]"},
		{lang: "en", step: "border", text: "No.", want: "[p no]"},
		{lang: "es", step: "announcements", text: "1", want: "[p yes]"},
		{lang: "es", step: "border", text: "vivo en tucson", want: "nil"},
		{lang: "es", step: "border", text: "si, vivo en juarez", want: "[p yes]"},
		{lang: "en", step: "border", text: "no, I live in Denver", want: "[p no]"},
		{lang: "en", step: "border", text: "yesterday", want: "nil"},
		// choice: labels, gendered and plural variants, the other language, numbers, typos
		{lang: "es", step: "role", text: "organizadora", want: "[p organizer]"},
		{lang: "es", step: "role", text: "Organizador", want: "[p organizer]"},
		{lang: "es", step: "role", text: "educadora popular", want: "[p popular-educator]"},
		{lang: "es", step: "role", text: "Educador/a popular", want: "[p popular-educator]"},
		{lang: "es", step: "role", text: "community leader", want: "[p community-leader]"},
		{lang: "en", step: "role", text: "Community Leader", want: "[p community-leader]"},
		{lang: "en", step: "role", text: "popular educater", want: "[p popular-educator]"},
		{lang: "es", step: "role", text: "2", want: "[p popular-educator]"},
		{lang: "es", step: "role", text: "9", want: "nil"},
		{lang: "es", step: "role", text: "soy maestra de primaria", want: "nil"},
		{lang: "es", step: "role", text: "soy organizadora en Nogales", want: "[p organizer]"},
		{lang: "en", step: "role", text: "I am an organizer", want: "[p organizer]"},
		{lang: "en", step: "role", text: "I'm a community leader in Yuma", want: "[p community-leader]"},
		{lang: "en", step: "role", text: "organizer and popular educator", want: "nil"},
		{lang: "en", step: "role", text: "other", want: "[p other]"},
		// consent
		{lang: "es", step: "consent", text: "acepto", want: "[p agree]"},
		{lang: "es", step: "consent", text: "si", want: "[p agree]"},
		{lang: "en", step: "consent", text: "I agree", want: "[p agree]"},
		{lang: "es", step: "consent", text: "no estoy de acuerdo", want: "[p decline]"},
		{lang: "en", step: "consent", text: "no", want: "[p decline]"},
		// multi: labels, several at once, numbers, done
		{lang: "es", step: "areas", text: "migración", want: "[t migration]"},
		{lang: "es", step: "areas", text: "migracion y pobreza", want: "[t migration][t poverty]"},
		{lang: "en", step: "areas", text: "labor, climate justice", want: "[t labor][t climate]"},
		{lang: "es", step: "areas", text: "1, 7", want: "[t migration][t poverty]"},
		{lang: "es", step: "areas", text: "migracion y pobreza, listo", want: "[t migration][t poverty][d ]"},
		{lang: "es", step: "areas", text: "listo", want: "[d ]"},
		{lang: "en", step: "areas", text: "done", want: "[d ]"},
		{lang: "es", step: "areas", text: "migracion", draft: []string{"migration"}, want: "[d ]"},
		{lang: "es", step: "areas", text: "de todo un poco", want: "nil"},
		// review
		{lang: "es", step: "review", text: "confirmar", want: "[c ]"},
		{lang: "en", step: "review", text: "confirm", want: "[c ]"},
		// text steps take text as it is
		{lang: "es", step: "name", text: "si", want: "nil"},
	}
	for _, tt := range tests {
		st := at(f, tt.step, tt.draft...)
		got := show(flows.TypedInputs(f, st, tt.text, translators(t, tt.lang)...))
		if got != tt.want {
			t.Errorf("%s at %s: %q → %s, want %s", tt.lang, tt.step, tt.text, got, tt.want)
		}
	}
}

// Every typed input is one the engine accepts at that step.
func TestTypedInputsApply(t *testing.T) {
	f := defaultSignup(t)
	st := at(f, "role")
	for _, in := range flows.TypedInputs(f, st, "educadora popular", translators(t, "es")...) {
		out := flows.Apply(f, st, in)
		if out.Invalid || out.Notice != "" {
			t.Fatalf("apply %+v: %+v", in, out)
		}
		st = out.State
	}
	if got := st.Answers["role"]; len(got) != 1 || got[0] != "popular-educator" {
		t.Fatalf("role = %v", got)
	}
}
