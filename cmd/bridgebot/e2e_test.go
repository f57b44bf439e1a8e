package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/telegram/telegramtest"
	"bridgebot/internal/testkit"
)

const wait = 10 * time.Second

// env is a test's environment for run: the fake Telegram server and a Redis
// (REDIS_URL when set, under a key prefix of its own; else a miniredis).
type env struct {
	t    *testing.T
	tg   *telegramtest.Server
	vars map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	tg := telegramtest.New(t)
	vars := map[string]string{
		"TELEGRAM_BOT_TOKEN":    tg.Token(),
		"TELEGRAM_API_URL":      tg.URL(),
		"TELEGRAM_POLL_TIMEOUT": "1s",
		"LOG_LEVEL":             "warn",
		// run creates the data key here; export reads it back.
		"BRIDGE_KEY_FILE": filepath.Join(t.TempDir(), "bridgebot.key"),
	}
	if url := os.Getenv("REDIS_URL"); url != "" {
		_, prefix := redistest.New(t) // cleans its prefix after the test
		vars["REDIS_URL"], vars["REDIS_PREFIX"] = url, prefix
	} else {
		m := miniredis.RunT(t)
		vars["REDIS_URL"] = "redis://" + m.Addr()
	}
	vars["HTTP_ADDR"] = "127.0.0.1:0" // run always serves health and metrics
	return &env{t: t, tg: tg, vars: vars}
}

func (e *env) getenv(k string) string { return e.vars[k] }

// start runs `bridgebot run` until the returned stop is called; stop waits
// for a clean exit and fails the test on an error.
func (e *env) start() (stop func()) {
	e.t.Helper()
	var logs testkit.Buffer
	return testkit.Start(e.t, "bot", wait, func(ctx context.Context) error {
		if err := run(ctx, []string{"run"}, e.getenv, strings.NewReader(""), io.Discard, &logs); err != nil {
			return fmt.Errorf("exited with %w\n%s", err, logs.String())
		}
		return nil
	})
}

// startReady is start, then waits until the bot polls Telegram: loading
// and checking the flows and training the FAQ matcher can take long on a
// loaded machine, longer than a member's message should wait.
func (e *env) startReady() (stop func()) {
	e.t.Helper()
	stop = e.start()
	e.tg.WaitFor(e.t, time.Minute, func() bool { return e.tg.Calls("getUpdates") > 0 })
	return stop
}

func (e *env) cli(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, e.getenv, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// member is a simulated person chatting with the bot through the fake
// Telegram server.
type member struct {
	t  *testing.T
	tg *telegramtest.Server
	u  telegramtest.User
}

func (e *env) member(id int64, name, lang string) *member {
	return &member{t: e.t, tg: e.tg, u: telegramtest.User{ID: id, FirstName: name, LanguageCode: lang}}
}

// say sends text and waits for a new bot message containing expect.
func (m *member) say(text, expect string) telegramtest.Message {
	m.t.Helper()
	n := m.tg.MessageCount(m.u.ID)
	m.tg.SendText(m.u, text)
	return m.expect(n, expect)
}

// received counts the messages the member got that hold text.
func (m *member) received(text string) (n int) {
	for _, msg := range m.tg.Messages(m.u.ID) {
		if strings.Contains(msg.PlainText, text) {
			n++
		}
	}
	return n
}

func (m *member) expect(after int, expect string) telegramtest.Message {
	m.t.Helper()
	return m.tg.WaitMessageAfter(m.t, m.u.ID, after, wait, func(msg telegramtest.Message) bool {
		return strings.Contains(msg.PlainText, expect)
	})
}

// button finds a button by label on the newest message that has buttons.
func (m *member) button(label string) (int, string) {
	m.t.Helper()
	msgID, data, err := testkit.Button(m.tg.Messages(m.u.ID), label)
	if err != nil {
		m.t.Fatal(err)
	}
	return msgID, data
}

// press presses a button and waits for a new message containing expect
// (or, with expect "", for the button's callback to be answered).
func (m *member) press(label, expect string) {
	m.t.Helper()
	msgID, data := m.button(label)
	n := m.tg.MessageCount(m.u.ID)
	id := m.tg.PressButton(m.u, msgID, data)
	if expect == "" {
		m.tg.WaitCallbackAnswer(m.t, id, wait)
		return
	}
	m.expect(n, expect)
}

// toggle presses a multi-select button, which edits the keyboard in place.
func (m *member) toggle(label string) {
	m.t.Helper()
	msgID, data := m.button(label)
	m.tg.PressButton(m.u, msgID, data)
	m.tg.WaitFor(m.t, wait, func() bool {
		msg, _ := m.tg.Message(m.u.ID, msgID)
		return testkit.Toggled(msg, label)
	})
}

// do takes steps, each waiting for its reply.
func (m *member) do(steps ...testkit.Step) {
	m.t.Helper()
	for _, s := range steps {
		switch s.Kind {
		case "say":
			m.say(s.Arg, s.Expect)
		case "press":
			m.press(s.Arg, s.Expect)
		case "toggle":
			m.toggle(s.Arg)
		default:
			m.t.Fatalf("unknown step kind %q", s.Kind)
		}
	}
}

// signUp opens the sign-up form with /inscribirme and answers it in
// Spanish as an organizer interested in migration who wants the
// announcements, up to the review of the answers (not yet confirmed).
func signUp(m *member, name, org, place, email, hopes string) {
	m.t.Helper()
	m.say("/inscribirme", "¿Cómo te llamas?")
	m.do(testkit.Signup{Lang: "es", Name: name, Role: "Organizador/a", Organization: org, Region: place,
		Areas: []string{"Migración"}, Email: email, Hopes: hopes, Announcements: true}.Answers()...)
}

// englishSignup is the whole sign-up of an English-speaking member named
// name: an organizer in Tucson, outside the border region, for workers'
// rights, who skips what can be skipped and wants no announcements.
func englishSignup(name string) []testkit.Step {
	return testkit.Signup{Lang: "en", Name: name, Role: "Organizer", Region: "Tucson, Arizona", Areas: []string{"Workers' rights"}}.Steps()
}

func TestEndToEndSignupsAcrossRestartAndExport(t *testing.T) {
	e := newEnv(t)
	stop := e.start()

	es := e.member(5001, "María", "es-419")
	en := e.member(5002, "Sam", "en-US")

	es.say("/start radio_juarez", "Institutos BRIDGE")
	en.say("/start", "BRIDGE Institutes")
	es.press("Quiero participar", "¿Cómo te llamas?")
	en.press("take part", "What is your name?")
	es.say("María José Pérez", "¿Cuál de estas opciones")
	en.say("Sam O'Neil", "Which of these")
	es.press("Educador/a popular", "organización")
	en.press("Organizer", "organization")
	es.say("=Red Fronteriza", "ciudad o región")
	en.press("Skip", "city or region")

	// Sam leaves mid-form; the bot restarts; Sam comes back later.
	stop()
	if len(e.tg.Commands("default", "es")) == 0 {
		t.Fatal("no Spanish command menu was set")
	}
	e.start()

	es.say("Ciudad Juárez, Chihuahua", "región fronteriza")
	en.say("Tucson, Arizona", "border region")
	es.press("Sí", "¿En qué temas")
	en.press("No", "Which issues")
	es.toggle("Migración")
	es.toggle("Justicia climática")
	en.toggle("Workers")
	es.press("Listo", "correo electrónico")
	en.press("Done", "email")
	es.say("maria@", "no parece un correo")
	es.say("maria@ejemplo.org", "teléfono")
	en.press("Skip", "phone number")
	es.press("Omitir", "aportar")
	en.say("+1 520 555 0199", "hope to bring")
	es.say("Historias de la frontera 🌵", "consentimiento")
	en.press("Skip", "consent")
	es.press("Estoy de acuerdo", "anuncios")
	en.press("I agree", "announcements")
	es.press("Sí", "revisa tus respuestas")
	en.press("No", "check your answers")
	es.press("Confirmar", "Recibimos tu interés")
	en.press("Confirm", "we have your details")

	out, errOut, err := e.cli("export", "signups", "--format", "csv")
	if err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	wantHead := "chat_id,language,source,created,updated,name,role,role_other,organization,region,border,areas,areas_other,email,phone,hopes,consent,announcements"
	if got := strings.Join(rows[0], ","); got != wantHead {
		t.Fatalf("header = %s", got)
	}
	if len(rows) != 3 {
		t.Fatalf("want 2 sign-ups, got %d rows:\n%s", len(rows)-1, out)
	}
	byChat := map[string]map[string]string{}
	for _, r := range rows[1:] {
		rec := map[string]string{}
		for i, h := range rows[0] {
			rec[h] = r[i]
		}
		byChat[rec["chat_id"]] = rec
	}
	check := func(chat string, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got := byChat[chat][k]; got != v {
				t.Errorf("chat %s %s = %q, want %q", chat, k, got, v)
			}
		}
	}
	check("5001", map[string]string{"language": "es", "source": "radio_juarez", "name": "María José Pérez", "role": "popular-educator",
		"organization": "'=Red Fronteriza", "region": "Ciudad Juárez, Chihuahua", "border": "yes", "areas": "migration; climate",
		"email": "maria@ejemplo.org", "phone": "", "hopes": "Historias de la frontera 🌵", "consent": "agree", "announcements": "yes"})
	check("5002", map[string]string{"language": "en", "source": "", "name": "Sam O'Neil", "role": "organizer", "organization": "",
		"region": "Tucson, Arizona", "border": "no", "areas": "labor", "email": "", "phone": "'+1 520 555 0199", "hopes": "",
		"consent": "agree", "announcements": "no"})

	out, _, err = e.cli("export", "signups", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var signups []map[string]any
	if err := json.Unmarshal([]byte(out), &signups); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(signups) != 2 || signups[0]["organization"] != "=Red Fronteriza" || fmt.Sprint(signups[0]["areas"]) != "[migration climate]" {
		t.Fatalf("json export: %s", out)
	}
}

func TestEndToEndTelegramTroubles(t *testing.T) {
	e := newEnv(t)
	e.start()
	m := e.member(6001, "Lu", "en")

	// A 429 on sendMessage is waited out; the member still gets the reply.
	e.tg.FailNext("sendMessage", 1, 429, "Too Many Requests: retry after 1", 1)
	m.say("/start", "BRIDGE Institutes")

	// An undecodable update does not stall polling.
	e.tg.PushRaw(`{"update_id": 999999, "message": {"message_id": "not a number", "chat": 7}}`)
	m.press("take part", "What is your name?")

	// A callback from an inline message has no message: no crash, a notice.
	id := e.tg.PressButtonInline(m.u, "f|1|p|organizer")
	e.tg.WaitCallbackAnswer(t, id, wait)

	// Stickers and photos where text is expected get a kind re-ask.
	n := e.tg.MessageCount(m.u.ID)
	e.tg.SendSticker(m.u, "🌵")
	m.expect(n, "I can only read text here")
	n = e.tg.MessageCount(m.u.ID)
	e.tg.SendPhoto(m.u, "me")
	m.expect(n, "I can only read text here")

	// A 10,000-character message is refused kindly.
	m.say(strings.Repeat("x", 10000), "100 characters or fewer")

	// A stale button gets a notice and changes nothing.
	m.say("Lu", "Which of these")
	msgID, data := m.button("Organizer")
	e.tg.PressButton(m.u, msgID, data)
	m.expect(0, "organization")
	again := e.tg.PressButton(m.u, msgID, data)
	if ans := e.tg.WaitCallbackAnswer(t, again, wait); !strings.Contains(ans.Text, "earlier message") {
		t.Fatalf("stale press answer: %q", ans.Text)
	}

	// Telegram down for a while: the bot backs off and comes back.
	e.tg.SetDown(true)
	e.tg.SetDown(false)
	m.say("/menu", "organization")

	// In a group the bot only points to a private chat.
	e.tg.AddGroup(-4242, "Organizers")
	e.tg.SendGroupText(-4242, m.u, "/start")
	e.tg.WaitMessage(t, -4242, wait, func(msg telegramtest.Message) bool {
		return strings.Contains(msg.PlainText, "https://t.me/")
	})
}

func TestCheckReportsProblemsWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	flowsDir := filepath.Join(dir, "flows")
	if err := os.Mkdir(flowsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := `id: signup
title: signup.title
steps:
  - {id: name, kind: text, prompt: signup.name.prompt, label: signup.name.label}
  - {id: role, kind: choice, prompt: signup.role.prompt, label: signup.role.label, options: [{value: a, label: signup.role.organizer}, {value: b, label: no.such.message}]}
  - {id: extra, kind: text, prompt: signup.name.prompt, label: signup.name.label, when: {step: nope, equals: a}}
  - {id: review, kind: review, prompt: signup.review.prompt}
`
	if err := os.WriteFile(filepath.Join(flowsDir, "signup.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, vars: map[string]string{"FLOWS_DIR": flowsDir}}
	out, _, err := e.cli("check")
	if err == nil {
		t.Fatalf("check passed on a bad flow:\n%s", out)
	}
	for _, w := range []string{
		filepath.Join(flowsDir, "signup.yaml") + `:6: step "extra" depends on step "nope", which does not exist`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("check output lacks %q:\n%s", w, out)
		}
	}
	// Fix the structure; a missing message is then reported with its line.
	fixed := strings.Replace(bad, "  - {id: extra, kind: text, prompt: signup.name.prompt, label: signup.name.label, when: {step: nope, equals: a}}\n", "", 1)
	if err := os.WriteFile(filepath.Join(flowsDir, "signup.yaml"), []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = e.cli("check")
	if err == nil || !strings.Contains(out, `signup.yaml:5: message "no.such.message" is missing in language "en"`) {
		t.Fatalf("check: %v\n%s", err, out)
	}
	// run refuses to start on invalid flows, with the same messages.
	_, errOut, err := e.cli("run")
	if err == nil || !strings.Contains(errOut, `no.such.message`) {
		t.Fatalf("run started on invalid flows: %v\n%s", err, errOut)
	}
	// The shipped flows are valid.
	out, _, err = (&env{t: t, vars: map[string]string{}}).cli("check")
	if err != nil {
		t.Fatalf("shipped flows: %v\n%s", err, out)
	}
}

func TestConsoleRunsTheRealFlows(t *testing.T) {
	e := &env{t: t, vars: map[string]string{"LOG_LEVEL": "error"}}
	var out bytes.Buffer
	in := strings.NewReader("1\nAna\n/lang en\n/quit\n")
	if err := run(context.Background(), []string{"console", "es"}, e.getenv, in, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Institutos BRIDGE", "[1] 🙋 Quiero participar", "¿Cómo te llamas?", "¿Cuál de estas opciones", "I'll write to you in English"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("console output lacks %q:\n%s", w, out.String())
		}
	}
}

func TestUsageAndConfigErrors(t *testing.T) {
	e := &env{t: t, vars: map[string]string{}}
	if _, errOut, err := e.cli("frobnicate"); err == nil || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("unknown command: %v %s", err, errOut)
	}
	if _, _, err := e.cli("run"); err == nil || !strings.Contains(err.Error(), "TELEGRAM_BOT_TOKEN") {
		t.Fatalf("run without a token: %v", err)
	}
	e.vars["FORM_TTL"] = "soon"
	if _, _, err := e.cli("check"); err == nil || !strings.Contains(err.Error(), "FORM_TTL") {
		t.Fatalf("bad FORM_TTL: %v", err)
	}
}

func TestFAQMatchPrintsOnlyJSON(t *testing.T) {
	e := &env{t: t, vars: map[string]string{}} // no Redis, no bot
	out, errOut, err := e.cli("faq", "match", "--lang", "es", "¿cuanto cuesta participar?")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var r struct {
		ID         string  `json:"id"`
		Score      float64 `json:"score"`
		Candidates []struct {
			ID    string  `json:"id"`
			Score float64 `json:"score"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("stdout is not only JSON: %v\n%q", err, out)
	}
	if r.ID != "cost" || r.Score <= 0 || len(r.Candidates) == 0 || r.Candidates[0].ID != "cost" {
		t.Fatalf("match: %+v", r)
	}
	out, _, err = e.cli("faq", "match", "--lang", "es", "¿Cuánto cuesta una visa de trabajo?")
	if err != nil || !strings.Contains(out, `"id":""`) {
		t.Fatalf("out of scope: %v %s", err, out)
	}
	out, _, err = e.cli("faq", "list")
	if err != nil || !strings.Contains(out, "how-to-apply") || !strings.Contains(out, "privacy") {
		t.Fatalf("list: %v %s", err, out)
	}
}

// An organizer who files a travel question under "what is BRIDGE" sees it
// in `faq crossval`, answered as cost by a matcher trained without it.
func TestFAQCrossvalShowsAMisfiledExample(t *testing.T) {
	flowsDir := t.TempDir()
	for _, name := range []string{"signup.yaml", "faq.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "flows", "default", name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "faq.yaml" {
			const anchor = "  - id: what-is-bridge\n    examples:\n      en:\n"
			if !strings.Contains(string(data), anchor) {
				t.Fatal("the shipped faq.yaml changed shape: update this test")
			}
			data = []byte(strings.Replace(string(data), anchor, anchor+"        - \"will you pay my bus ticket and my hotel room if I come\"\n", 1))
		}
		if err := os.WriteFile(filepath.Join(flowsDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, vars: map[string]string{"FLOWS_DIR": flowsDir}}
	out, errOut, err := e.cli("faq", "crossval", "--min", "0.3")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	want := regexp.MustCompile(`(?m)^what-is-bridge +en +cost +[01]\.\d\d  "will you pay my bus ticket and my hotel room if I come"$`)
	if !want.MatchString(out) {
		t.Fatalf("crossval does not show the misfiled example:\n%s", out)
	}
}
