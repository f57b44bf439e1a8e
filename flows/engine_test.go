package flows

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const testFlow = `
id: t
title: t.title
steps:
  - {id: name, kind: text, prompt: p.name, label: l.name, max: 10}
  - id: role
    kind: choice
    prompt: p.role
    label: l.role
    options:
      - {value: a, label: o.a}
      - {value: other, label: o.other}
  - {id: role_other, kind: text, when: {step: role, equals: other}, prompt: p.ro, label: l.ro}
  - {id: org, kind: text, optional: true, prompt: p.org, label: l.org}
  - id: areas
    kind: multi
    prompt: p.areas
    label: l.areas
    options:
      - {value: x, label: o.x}
      - {value: y, label: o.y}
      - {value: z, label: o.z}
  - {id: email, kind: text, optional: true, validate: email, prompt: p.email, label: l.email}
  - {id: phone, kind: text, optional: true, validate: phone, prompt: p.phone, label: l.phone}
  - {id: border, kind: yesno, prompt: p.border, label: l.border}
  - {id: consent, kind: consent, prompt: p.consent, label: l.consent, decline: p.declined}
  - {id: review, kind: review, prompt: p.review, done: p.done}
`

func mustFlow(t *testing.T, src string) *Flow {
	t.Helper()
	f, err := ParseFlow([]byte(src), "test.yaml")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return f
}

func text(s string) Input             { return Input{Text: s} }
func btn(a Action, v string) Input    { return Input{Action: a, Value: v} }
func at(step string, a Answers) State { return State{Flow: "t", Step: step, Answers: a} }
func ans(kv ...string) Answers {
	a := Answers{}
	for i := 0; i+1 < len(kv); i += 2 {
		a[kv[i]] = []string{kv[i+1]}
	}
	return a
}

func TestApply(t *testing.T) {
	f := mustFlow(t, testFlow)
	tests := []struct {
		name        string
		st          State
		in          Input
		wantStep    string
		wantNotice  string
		wantInvalid bool
		wantToggled bool
		wantDone    bool
		wantAnswer  []string // answer of the step the input was for
	}{
		{name: "text answer advances", st: at("name", ans()), in: text("  Ana "), wantStep: "role", wantAnswer: []string{"Ana"}},
		{name: "empty text re-asks", st: at("name", ans()), in: text("   "), wantStep: "name", wantNotice: "form.error.empty"},
		{name: "too long re-asks with limit", st: at("name", ans()), in: text(strings.Repeat("é", 11)), wantStep: "name", wantNotice: "form.error.too_long"},
		{name: "emoji and RTL text are fine", st: at("name", ans()), in: text("مريم 🌵"), wantStep: "role", wantAnswer: []string{"مريم 🌵"}},
		{name: "invalid utf-8 is cleaned", st: at("name", ans()), in: text("A\xffna"), wantStep: "role", wantAnswer: []string{"Ana"}},
		{name: "text where buttons expected", st: at("role", ans("name", "A")), in: text("organizer"), wantStep: "role", wantNotice: "form.error.use_buttons"},
		{name: "choice advances", st: at("role", ans("name", "A")), in: btn(ActPick, "a"), wantStep: "org", wantAnswer: []string{"a"}},
		{name: "choice other opens follow-up", st: at("role", ans("name", "A")), in: btn(ActPick, "other"), wantStep: "role_other", wantAnswer: []string{"other"}},
		{name: "forged choice value", st: at("role", ans("name", "A")), in: btn(ActPick, "admin"), wantStep: "role", wantInvalid: true},
		{name: "button of another step kind", st: at("role", ans("name", "A")), in: btn(ActToggle, "x"), wantStep: "role", wantInvalid: true},
		{name: "unknown action", st: at("role", ans("name", "A")), in: btn("zz", ""), wantStep: "role", wantInvalid: true},
		{name: "skip optional", st: at("org", ans("name", "A", "role", "a")), in: btn(ActSkip, ""), wantStep: "areas", wantAnswer: []string{}},
		{name: "skip required is invalid", st: at("name", ans()), in: btn(ActSkip, ""), wantStep: "name", wantInvalid: true},
		{name: "empty optional text hints skip", st: at("org", ans("name", "A", "role", "a")), in: text(""), wantStep: "org", wantNotice: "form.error.empty_optional"},
		{name: "toggle", st: at("areas", ans("name", "A")), in: btn(ActToggle, "y"), wantStep: "areas", wantToggled: true},
		{name: "toggle forged option", st: at("areas", ans("name", "A")), in: btn(ActToggle, "q"), wantStep: "areas", wantInvalid: true},
		{name: "done with none re-asks", st: at("areas", ans("name", "A")), in: btn(ActDone, ""), wantStep: "areas", wantNotice: "form.error.choose_min"},
		{name: "email valid", st: at("email", ans()), in: text("ana@example.org"), wantStep: "phone", wantAnswer: []string{"ana@example.org"}},
		{name: "email invalid", st: at("email", ans()), in: text("ana@example"), wantStep: "email", wantNotice: "form.error.email"},
		{name: "email with name part invalid", st: at("email", ans()), in: text("Ana <ana@example.org>"), wantStep: "email", wantNotice: "form.error.email"},
		{name: "phone valid with spaces", st: at("phone", ans()), in: text("+52 (656) 123-4567"), wantStep: "border", wantAnswer: []string{"+52 (656) 123-4567"}},
		{name: "phone invalid", st: at("phone", ans()), in: text("call me"), wantStep: "phone", wantNotice: "form.error.phone"},
		{name: "phone too short", st: at("phone", ans()), in: text("12345"), wantStep: "phone", wantNotice: "form.error.phone"},
		{name: "phone without country code", st: at("phone", ans()), in: text("656 123 4567"), wantStep: "phone", wantNotice: "form.error.phone_country"},
		{name: "phone with 00 prefix", st: at("phone", ans()), in: text("0052 656 123 4567"), wantStep: "border", wantAnswer: []string{"0052 656 123 4567"}},
		{name: "yes", st: at("border", ans()), in: btn(ActPick, Yes), wantStep: "consent", wantAnswer: []string{Yes}},
		{name: "yesno forged", st: at("border", ans()), in: btn(ActPick, "maybe"), wantStep: "border", wantInvalid: true},
		{name: "consent agree", st: at("consent", ans()), in: btn(ActPick, Agree), wantStep: "review", wantAnswer: []string{Agree}},
		{name: "consent decline explains and stays", st: at("consent", ans()), in: btn(ActPick, Decline), wantStep: "consent", wantNotice: "p.declined"},
		{name: "back on first step is invalid", st: at("name", ans()), in: btn(ActBack, ""), wantStep: "name", wantInvalid: true},
		{name: "confirm on a question is invalid", st: at("name", ans()), in: btn(ActConfirm, ""), wantStep: "name", wantInvalid: true},
		{name: "edit on a question is invalid", st: at("role", ans("name", "A")), in: btn(ActEdit, "name"), wantStep: "role", wantInvalid: true},
		{name: "unknown stored step resumes at first unanswered", st: at("gone", ans("name", "A")), in: btn(ActPick, "a"), wantStep: "org", wantAnswer: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := json.Marshal(tt.st)
			out := Apply(f, tt.st, tt.in)
			after, _ := json.Marshal(tt.st)
			if string(before) != string(after) {
				t.Fatalf("Apply mutated its input state")
			}
			if out.State.Step != tt.wantStep || out.Notice != tt.wantNotice || out.Invalid != tt.wantInvalid || out.Toggled != tt.wantToggled || out.Done != tt.wantDone {
				t.Fatalf("got step=%q notice=%q invalid=%v toggled=%v done=%v; want step=%q notice=%q invalid=%v toggled=%v done=%v",
					out.State.Step, out.Notice, out.Invalid, out.Toggled, out.Done, tt.wantStep, tt.wantNotice, tt.wantInvalid, tt.wantToggled, tt.wantDone)
			}
			if tt.wantAnswer != nil {
				step := f.Resume(tt.st).Step
				if got := out.State.Answers[step]; !reflect.DeepEqual(got, tt.wantAnswer) {
					t.Fatalf("answer for %q = %#v, want %#v", step, got, tt.wantAnswer)
				}
			}
			if (tt.wantNotice != "" || tt.wantInvalid) && !reflect.DeepEqual(out.State.Answers, f.Resume(tt.st).Answers) {
				t.Fatalf("a rejected input changed the answers: %v", out.State.Answers)
			}
		})
	}
}

// run feeds inputs one by one and fails on any rejected input.
func run(t *testing.T, f *Flow, st State, ins ...Input) Outcome {
	t.Helper()
	var out Outcome
	for i, in := range ins {
		out = Apply(f, st, in)
		if out.Invalid || (out.Notice != "" && !out.Done) {
			t.Fatalf("input %d %+v at step %q rejected: invalid=%v notice=%q", i, in, st.Step, out.Invalid, out.Notice)
		}
		st = out.State
	}
	return out
}

func TestWholeFormMultiSelectKeepsFlowOrder(t *testing.T) {
	f := mustFlow(t, testFlow)
	out := run(t, f, Start(f),
		text("Ana"), btn(ActPick, "a"), btn(ActSkip, ""),
		btn(ActToggle, "z"), btn(ActToggle, "x"), btn(ActToggle, "y"), btn(ActToggle, "y"), btn(ActDone, ""),
		btn(ActSkip, ""), text("+1 915 555 0123"), btn(ActPick, No), btn(ActPick, Agree), btn(ActConfirm, ""))
	if !out.Done {
		t.Fatal("not done after confirm")
	}
	want := Answers{"name": {"Ana"}, "role": {"a"}, "org": {}, "areas": {"x", "z"}, "email": {}, "phone": {"+1 915 555 0123"}, "border": {No}, "consent": {Agree}}
	if !reflect.DeepEqual(out.State.Answers, want) {
		t.Fatalf("answers = %v\nwant %v", out.State.Answers, want)
	}
}

func TestBackKeepsEarlierAnswersAndRestoresSelection(t *testing.T) {
	f := mustFlow(t, testFlow)
	out := run(t, f, Start(f), text("Ana"), btn(ActPick, "a"), text("Org"), btn(ActToggle, "y"), btn(ActDone, ""))
	if out.State.Step != "email" {
		t.Fatalf("step = %q", out.State.Step)
	}
	out = run(t, f, out.State, btn(ActBack, ""))
	if out.State.Step != "areas" || !reflect.DeepEqual(out.State.Draft, []string{"y"}) {
		t.Fatalf("back to areas: step=%q draft=%v", out.State.Step, out.State.Draft)
	}
	out = run(t, f, out.State, btn(ActBack, ""), btn(ActBack, ""))
	if out.State.Step != "role" || out.State.Answers["name"][0] != "Ana" || out.State.Answers["org"][0] != "Org" {
		t.Fatalf("after two more backs: %+v", out.State)
	}
}

func TestEditFromReviewReturnsToReview(t *testing.T) {
	f := mustFlow(t, testFlow)
	full := ans("name", "Ana", "role", "a", "org", "O", "email", "a@b.co", "phone", "+15555555555", "border", Yes, "consent", Agree)
	full["areas"] = []string{"x"}
	st := StartReview(f, full)
	if st.Step != "review" {
		t.Fatalf("StartReview at %q", st.Step)
	}
	// A plain edit goes straight back to the review.
	out := run(t, f, st, btn(ActEdit, "org"), text("New org"))
	if out.State.Step != "review" || out.State.Editing || out.State.Answers["org"][0] != "New org" {
		t.Fatalf("after edit: %+v", out.State)
	}
	// Changing role to "other" asks the follow-up, then returns to review.
	out = run(t, f, out.State, btn(ActEdit, "role"), btn(ActPick, "other"))
	if out.State.Step != "role_other" {
		t.Fatalf("follow-up not asked: %q", out.State.Step)
	}
	out = run(t, f, out.State, text("Healer"))
	if out.State.Step != "review" {
		t.Fatalf("not back at review: %q", out.State.Step)
	}
	// Back from an edit returns to the review without changing anything.
	out2 := run(t, f, out.State, btn(ActEdit, "name"), btn(ActBack, ""))
	if out2.State.Step != "review" || out2.State.Answers["name"][0] != "Ana" {
		t.Fatalf("back from edit: %+v", out2.State)
	}
	// Switching role away from "other" drops the follow-up on confirm.
	out = run(t, f, out.State, btn(ActEdit, "role"), btn(ActPick, "a"), btn(ActConfirm, ""))
	if !out.Done {
		t.Fatal("not done")
	}
	if _, ok := out.State.Answers["role_other"]; ok {
		t.Fatalf("stale follow-up answer kept: %v", out.State.Answers)
	}
}

func TestConfirmWithMissingFollowUpSendsMemberThere(t *testing.T) {
	f := mustFlow(t, testFlow)
	a := ans("name", "Ana", "role", "a", "org", "O", "email", "a@b.co", "phone", "+15555555555", "border", Yes, "consent", Agree)
	a["areas"] = []string{"x"}
	st := StartReview(f, a)
	// Edit role to other, then Back before answering the follow-up.
	out := run(t, f, st, btn(ActEdit, "role"), btn(ActPick, "other"), btn(ActBack, ""))
	if out.State.Step != "review" {
		t.Fatalf("step %q", out.State.Step)
	}
	out = Apply(f, out.State, btn(ActConfirm, ""))
	if out.Done || out.State.Step != "role_other" || out.Notice != "form.error.missing" {
		t.Fatalf("confirm with a missing answer: done=%v step=%q notice=%q", out.Done, out.State.Step, out.Notice)
	}
}

func TestResumeFromStoredSession(t *testing.T) {
	f := mustFlow(t, testFlow)
	out := run(t, f, Start(f), text("Ana"), btn(ActPick, "other"))
	raw, err := json.Marshal(out.State)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Resume(back), f.Resume(out.State)) {
		t.Fatalf("state changed across JSON: %+v vs %+v", back, out.State)
	}
	out = run(t, f, back, text("Healer"))
	if out.State.Step != "org" || out.State.Answers["name"][0] != "Ana" {
		t.Fatalf("resume: %+v", out.State)
	}
}

func TestCallbackDataRoundTripAndForgery(t *testing.T) {
	data := CallbackData(42, Button{Action: ActPick, Value: "popular-educator"})
	rev, in, ok := ParseCallbackData(data)
	if !ok || rev != 42 || in.Action != ActPick || in.Value != "popular-educator" {
		t.Fatalf("round trip: %v %v %v", rev, in, ok)
	}
	for _, bad := range []string{"", "f", "f|x|p|a", "m|signup", "f|99999999999|p|a", "zzz"} {
		if _, _, ok := ParseCallbackData(bad); ok {
			t.Errorf("%q parsed as a form button", bad)
		}
	}
}

type fakeTr struct{}

func (fakeTr) T(id string, data map[string]any) string {
	if len(data) == 0 {
		return "«" + id + "»"
	}
	return "«" + id + "»" + strings.TrimPrefix(strings.TrimSuffix(strings.ReplaceAll(strings.ReplaceAll(jsonOf(data), "\"", ""), "map", ""), "}"), "{")
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestRender(t *testing.T) {
	f := mustFlow(t, testFlow)
	st := run(t, f, Start(f), text("<Ana & co>"), btn(ActPick, "a"), btn(ActSkip, ""), btn(ActToggle, "y")).State

	v := Render(f, st, fakeTr{})
	if !strings.Contains(v.Text, "«p.areas»") {
		t.Fatalf("prompt missing: %q", v.Text)
	}
	labels := flat(v)
	for _, want := range []string{"✅ «o.y»", "▫️ «o.x»", "«form.button.back»", "«form.button.cancel»"} {
		if !strings.Contains(labels, want) {
			t.Errorf("buttons %q lack %q", labels, want)
		}
	}
	st = run(t, f, st, btn(ActDone, ""), btn(ActSkip, ""), btn(ActSkip, ""), btn(ActPick, Yes), btn(ActPick, Agree)).State
	v = Render(f, st, fakeTr{})
	if !strings.Contains(v.Text, "&lt;Ana &amp; co&gt;") {
		t.Fatalf("review does not escape member text: %q", v.Text)
	}
	if !strings.Contains(v.Text, "<b>«l.org»:</b> —") {
		t.Fatalf("skipped answer not shown as —: %q", v.Text)
	}
	if strings.Contains(v.Text, "«l.ro»") {
		t.Fatalf("review shows a step that does not apply: %q", v.Text)
	}
	labels = flat(v)
	for _, want := range []string{"«form.button.confirm»", "«form.button.change»", "«form.button.back»"} {
		if !strings.Contains(labels, want) {
			t.Errorf("review buttons %q lack %q", labels, want)
		}
	}
	if first := Render(f, Start(f), fakeTr{}); strings.Contains(flat(first), "back") {
		t.Fatalf("first step offers Back: %q", flat(first))
	}
}

func flat(v View) string {
	var parts []string
	for _, row := range v.Buttons {
		for _, b := range row {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, " | ")
}

// The review fits a phone: Confirm first, one button that opens the list
// of short labels, no way to "edit" consent (withdrawing it is /delete).
func TestReviewScreen(t *testing.T) {
	f := mustFlow(t, testFlow)
	full := Answers{"name": {"Ana"}, "role": {"other"}, "role_other": {"Healer"}, "org": {}, "areas": {"x"},
		"email": {}, "phone": {}, "border": {Yes}, "consent": {Agree}}
	review := StartReview(f, full)
	picking := run(t, f, review, btn(ActChange, "")).State
	for _, tc := range []struct {
		name     string
		st       State
		wantRows [][]string // button texts, row by row
		wantText []string
	}{
		{"review: confirm first, then one change button", review, [][]string{
			{"«form.button.confirm»"}, {"«form.button.change»"}, {"«form.button.cancel»"},
		}, []string{"«p.review»", "<b>«l.consent»:</b> «form.value.agreed»", "<b>«l.ro»:</b> Healer"}},
		{"change list: short labels two to a row, no consent, back to the review", picking, [][]string{
			{"«l.name»", "«l.role»"}, {"«l.ro»", "«l.org»"}, {"«l.areas»", "«l.email»"}, {"«l.phone»", "«l.border»"},
			{"«form.button.back»", "«form.button.cancel»"},
		}, []string{"«form.change.prompt»"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Render(f, tc.st, fakeTr{})
			var got [][]string
			for _, row := range v.Buttons {
				var r []string
				for _, b := range row {
					r = append(r, b.Text)
				}
				got = append(got, r)
			}
			if !reflect.DeepEqual(got, tc.wantRows) {
				t.Errorf("buttons\n got %q\nwant %q", got, tc.wantRows)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(v.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, v.Text)
				}
			}
		})
	}
	for _, tc := range []struct {
		name        string
		st          State
		in          Input
		wantStep    string
		wantPicking bool
		wantEditing bool
		wantInvalid bool
	}{
		{"change opens the list", review, btn(ActChange, ""), "review", true, false, false},
		{"back from the list is the review", picking, btn(ActBack, ""), "review", false, false, false},
		{"a label opens that question", picking, btn(ActEdit, "org"), "org", false, true, false},
		{"consent is not editable", picking, btn(ActEdit, "consent"), "review", true, false, true},
		{"consent is not editable from the review either", review, btn(ActEdit, "consent"), "review", false, false, true},
		{"confirm from the list still confirms", picking, btn(ActConfirm, ""), "review", true, false, false},
		{"change on a question is invalid", at("name", ans()), btn(ActChange, ""), "name", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := Apply(f, tc.st, tc.in)
			if out.Invalid != tc.wantInvalid || out.State.Step != tc.wantStep || out.State.Picking != tc.wantPicking || out.State.Editing != tc.wantEditing {
				t.Fatalf("got step %q picking %v editing %v invalid %v", out.State.Step, out.State.Picking, out.State.Editing, out.Invalid)
			}
		})
	}
	// An edit from the list comes back to the review, not to the list.
	out := run(t, f, picking, btn(ActEdit, "org"), text("Cosecha"))
	if out.State.Step != "review" || out.State.Picking || out.State.Editing || out.State.Answers["org"][0] != "Cosecha" {
		t.Fatalf("after the edit: %+v", out.State)
	}
}

// The progress count never jumps: follow-ups brought in by an answer carry
// the number of the question before them, and the total stays the same.
func TestStableProgressCount(t *testing.T) {
	f := mustFlow(t, testFlow)
	const total = 8 // name role org areas email phone border consent
	for _, tc := range []struct {
		name   string
		inputs []Input
		want   []int // the number shown at each question, in order
	}{
		{"no follow-ups", []Input{text("Ana"), btn(ActPick, "a"), btn(ActSkip, ""), btn(ActToggle, "x"), btn(ActDone, ""),
			btn(ActSkip, ""), btn(ActSkip, ""), btn(ActPick, Yes), btn(ActPick, Agree)},
			[]int{1, 2, 3, 4, 4, 5, 6, 7, 8}},
		{"role other brings in a follow-up numbered like role", []Input{text("Ana"), btn(ActPick, "other"), text("Healer"),
			btn(ActSkip, ""), btn(ActToggle, "x"), btn(ActDone, ""), btn(ActSkip, ""), btn(ActSkip, ""), btn(ActPick, Yes), btn(ActPick, Agree)},
			[]int{1, 2, 2, 3, 4, 4, 5, 6, 7, 8}},
		{"back and a different answer", []Input{text("Ana"), btn(ActPick, "other"), btn(ActBack, ""), btn(ActPick, "a")},
			[]int{1, 2, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := Start(f)
			var got []int
			for _, in := range tc.inputs {
				pos, n := f.Position(st)
				if n != total {
					t.Fatalf("total %d at %q, want %d", n, st.Step, total)
				}
				if !strings.Contains(Render(f, st, fakeTr{}).Text, jsonOf(pos)+",Total:8") {
					t.Fatalf("render at %q does not show %d of 8: %q", st.Step, pos, Render(f, st, fakeTr{}).Text)
				}
				got = append(got, pos)
				out := Apply(f, st, in)
				if out.Invalid {
					t.Fatalf("%+v invalid at %q", in, st.Step)
				}
				st = out.State
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("numbers %v, want %v", got, tc.want)
			}
		})
	}
}

// Phone numbers: with a country code they are kept as typed; without one
// the member is asked for it; anything else is not a phone number.
func TestPhoneProblem(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+52 656 123 4567", ""},
		{"+1 915 555 0123", ""},
		{"+52 (656) 123-4567", ""},
		{"+1-915-555-0123", ""},
		{"+44 20 7946 0958", ""},
		{"0052 656 123 4567", ""},
		{"1 915 555 0123", ""},    // U.S. code without the +
		{"52 656 123 4567", ""},   // Mexican code without the +
		{"52 1 656 123 4567", ""}, // Mexico's former mobile prefix
		{"915 555 0123", "form.error.phone_country"},
		{"(656) 123-4567", "form.error.phone_country"},
		{"6561234567", "form.error.phone_country"},
		{"555 0123", "form.error.phone_country"},
		{"12345", "form.error.phone"},
		{"call me", "form.error.phone"},
		{"+52 656 123 4567 ext 2", "form.error.phone"},
		{"656+1234567", "form.error.phone"},
		{"+1234567890123456", "form.error.phone"},
	} {
		if got := phoneProblem(tc.in); got != tc.want {
			t.Errorf("phoneProblem(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
