package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/flows"
)

func TestSpanishMemberCompletesForm(t *testing.T) {
	h := newHarness(t, "es-MX")
	r := h.say("/start radio_juarez")
	mustContain(t, r, "¡Hola, Ana!", "Institutos BRIDGE")
	if r.CommandsLang != "es" {
		t.Fatalf("command menu not set to Spanish: %q", r.CommandsLang)
	}
	h.press("Quiero participar")
	h.aboutMaria()
	r = h.press("Migración")
	if r.Messages[0].Edit == 0 || !strings.Contains(buttons(r.Messages[0]), "✅ Migración") {
		t.Fatalf("toggle should edit the keyboard in place: %+v", r.Messages)
	}
	h.press("Detención")
	r = h.press("Listo")
	mustContain(t, r, "correo electrónico")
	r = h.say("maria@")
	mustContain(t, r, "no parece un correo", "maria@ejemplo.org")
	h.say("maria@ejemplo.org")
	r = h.say("llámame")
	mustContain(t, r, "no parece un número", "+52 656 123 4567")
	h.say("+52 656 123 4567")
	h.say("Quiero aprender educación popular 🌵")
	r = h.press("No estoy de acuerdo")
	mustContain(t, r, "sin tu consentimiento")
	h.press("Estoy de acuerdo")
	r = h.press("Sí")
	mustContain(t, r, "Por favor revisa tus respuestas", "María José Pérez", "Defensora comunitaria", "Migración, Detención", "<b>Organización:</b> —")
	r = h.press("Confirmar")
	mustContain(t, r, "¡Gracias! Recibimos tu interés")

	s := h.signup()
	if s == nil {
		t.Fatal("sign-up not saved")
	}
	want := map[string]string{
		"name": "María José Pérez", "role": "other", "role_other": "Defensora comunitaria", "organization": "",
		"region": "Ciudad Juárez", "border": "yes", "areas": "migration,detention", "email": "maria@ejemplo.org",
		"phone": "+52 656 123 4567", "hopes": "Quiero aprender educación popular 🌵", "consent": "agree", "announcements": "yes",
	}
	for k, v := range want {
		if got := strings.Join(s.Answers[k], ","); got != v {
			t.Errorf("answer %s = %q, want %q", k, got, v)
		}
	}
	if len(s.Answers) != len(want) {
		t.Errorf("stored answers beyond the form: %v", s.Answers)
	}
	if s.Lang != "es" || s.Source != "radio_juarez" {
		t.Errorf("lang=%q source=%q", s.Lang, s.Source)
	}
}

func TestEnglishDefaultAndLanguageSwitch(t *testing.T) {
	h := newHarness(t, "fr")
	r := h.say("/start")
	mustContain(t, r, "Hello, Ana!", "BRIDGE Institutes")
	h.press("take part")
	h.say("Sam")
	h.say("/idioma")
	r = h.press("Español")
	mustContain(t, r, "desde ahora te escribo en español", "¿Cuál de estas opciones te describe mejor?")
	if r.CommandsLang != "es" {
		t.Fatalf("command menu: %q", r.CommandsLang)
	}
	h.say("/language")
	h.press("English")
	r = h.say("/menu")
	mustContain(t, r, "Which of these best describes you?")
}

func TestTextWhereButtonsExpectedReasks(t *testing.T) {
	h := newHarness(t, "en")
	h.toRole("Sam")
	r := h.say("I do a bit of everything")
	mustContain(t, r, "Please choose one of the buttons", "Which of these best describes you?")
	if !strings.Contains(buttons(r.Messages[len(r.Messages)-1]), "Organizer") {
		t.Fatal("buttons not shown again")
	}
}

func TestStaleAndForgedButtonsChangeNothing(t *testing.T) {
	h := newHarness(t, "en")
	h.toRole("Sam")
	organizer, msg := h.find("Organizer")
	h.pressData(organizer.Data, msg)
	// The same button again (an old message, or a double tap).
	r := h.pressData(organizer.Data, msg)
	if r.Notice == "" || len(r.Messages) != 0 {
		t.Fatalf("stale press should only get a notice: %+v", r)
	}
	for _, forged := range []string{"f|1|p|admin", "f|999|c|", "garbage", "x|1|yes", "d|0|yes", "l|fr", strings.Repeat("A", 64)} {
		r = h.pressData(forged, msg)
		if r.Notice == "" || len(r.Messages) != 0 || r.CallbackID == "" {
			t.Fatalf("forged %q: %+v", forged, r)
		}
	}
	r = h.say("/menu")
	mustContain(t, r, "Are you part of an organization")
	if h.signup() != nil {
		t.Fatal("a sign-up appeared")
	}
}

func TestDoubleTapRaceAppliesOnce(t *testing.T) {
	h := newHarness(t, "en")
	h.toRole("Sam")
	organizer, msg := h.find("Organizer")
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := bot.Update{ID: int64(1000 + i), ChatID: h.chat, ChatType: bot.ChatPrivate, From: bot.User{ID: h.chat, LanguageCode: "en"},
				Callback: &bot.Callback{ID: fmt.Sprint("race", i), Data: organizer.Data, MessageID: msg}}
			if err := h.e.Handle(context.Background(), u); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Whichever runs second finds the state moved on: it is answered with a
	// notice (stale button) or, if its update ID is now behind, dropped as a
	// redelivery. Either way the step is applied exactly once.
	advanced, other := 0, 0
	for _, r := range h.rec.resps[len(h.rec.resps)-2:] {
		switch {
		case strings.Contains(text(r), "Are you part of an organization"):
			advanced++
		case len(r.Messages) == 0 && r.CallbackID != "":
			other++
		}
	}
	if advanced != 1 || other != 1 {
		t.Fatalf("want one applied and one refused, got applied=%d refused=%d", advanced, other)
	}
}

func TestCancelKeepsNothing(t *testing.T) {
	h := newHarness(t, "en")
	h.toRole("Sam")
	r := h.say("/cancel")
	mustContain(t, r, "Cancel this form?")
	r = h.press("No, continue")
	mustContain(t, r, "Which of these best describes you?")
	h.say("/cancel")
	r = h.press("Yes, cancel")
	mustContain(t, r, "Nothing from that form was kept")
	r = h.press("take part")
	mustContain(t, r, "What is your name?")
	if strings.Contains(text(r), "Sam") {
		t.Fatal("old answer kept after cancel")
	}
	h.say("/cancel")
	h.press("Yes, cancel")
	r = h.say("/cancel")
	mustContain(t, r, "nothing to cancel")
}

func TestSignedUpMemberUpdatesFromReview(t *testing.T) {
	h := newHarness(t, "es")
	h.fillSpanish()
	first := h.signup()
	h.clock.Advance(time.Hour)
	r := h.say("/inscribirme")
	mustContain(t, r, "Ya nos dijiste que quieres participar", "María José Pérez")
	h.press("Cambiar algo")
	h.press("Ciudad")
	r = h.say("El Paso")
	mustContain(t, r, "Por favor revisa tus respuestas", "El Paso")
	r = h.press("Confirmar")
	mustContain(t, r, "Actualizamos tus datos")
	s := h.signup()
	if s.Answers["region"][0] != "El Paso" || !s.Created.Equal(first.Created) || !s.Updated.After(first.Updated) || s.Source != "campaña_radio" && s.Source != "" {
		t.Fatalf("updated sign-up: %+v", s)
	}
}

func TestDeleteForgetsEverything(t *testing.T) {
	h := newHarness(t, "en")
	h.toRole("Sam")
	h.press("Organizer")
	h.press("Skip")
	h.say("Tucson")
	h.press("No")
	h.press("Workers")
	h.press("Done")
	h.press("Skip")
	h.press("Skip")
	h.press("Skip")
	h.press("I agree")
	h.press("No")
	h.press("Confirm")
	if h.signup() == nil {
		t.Fatal("not signed up")
	}
	h.say("/delete")
	r := h.press("Yes, delete")
	mustContain(t, r, "has been deleted")
	if h.signup() != nil {
		t.Fatal("sign-up survived /delete")
	}
	m, err := h.store.Load(context.Background(), h.chat)
	if err != nil || m.Session.Version != 0 {
		t.Fatalf("session survived /delete: %+v %v", m.Session, err)
	}
}

func TestResumeAfterDaysAndExpiry(t *testing.T) {
	h := newHarness(t, "en")
	h.toRole("Sam")
	h.clock.Advance(3 * 24 * time.Hour)
	r := h.say("/start")
	mustContain(t, r, "continue where you left off", "Which of these best describes you?")
	h.clock.Advance(15 * 24 * time.Hour)
	r = h.say("/menu")
	mustContain(t, r, "more than 14 days old", "What would you like to do?")
}

func TestBadInput(t *testing.T) {
	h := newHarness(t, "en")
	h.takePart()

	r := h.say("")
	mustContain(t, r, "I didn't get an answer")
	r = h.say(strings.Repeat("a", 10000))
	mustContain(t, r, "please keep it to 100 characters", "What is your name?")

	u := h.update()
	u.Attachment = &bot.Attachment{Kind: "sticker", FileID: "s1"}
	r = h.handle(u)
	mustContain(t, r, "I can only read text here", "What is your name?")

	u = h.update()
	u.Attachment = &bot.Attachment{Kind: "voice", FileID: "v1"}
	r = h.handle(u)
	mustContain(t, r, "I can only read text here")

	r = h.say("/frobnicate")
	mustContain(t, r, "I don't know that command", "What is your name?")

	u = h.update()
	u.Text, u.Edited = "Edited name", true
	r = h.handle(u)
	mustContain(t, r, "Edits don't change your answers")

	r = h.say("سارة 🌵")
	mustContain(t, r, "Which of these best describes you?")

	// A redelivered update (same ID) is not applied twice.
	u = h.update()
	u.Callback = &bot.Callback{ID: "dup", Data: mustData(h, "Organizer"), MessageID: 1}
	h.handle(u)
	before := len(h.rec.resps)
	if err := h.e.Handle(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if got := h.rec.last(); len(h.rec.resps) != before+1 || len(got.Messages) != 0 {
		t.Fatalf("duplicate update produced messages: %+v", got)
	}
}

func TestGroupChatsGetAPointerOnly(t *testing.T) {
	h := newHarness(t, "es")
	u := h.update()
	u.ChatID, u.ChatType, u.Text, u.Command = -100, bot.ChatGroup, "/start", "start"
	r := h.handle(u)
	mustContain(t, r, "https://t.me/bridge_test_bot", "en privado")
	n := len(h.rec.resps)
	u = h.update()
	u.ChatID, u.ChatType, u.Text = -100, bot.ChatGroup, "hola a todos"
	h.handle(u)
	if len(h.rec.resps) != n {
		t.Fatal("the bot answered ordinary group chatter")
	}
}

func TestRedisDownTellsMemberAndRecovers(t *testing.T) {
	m, db := newMiniRedis(t)
	h := newHarnessWith(t, "es", db.store())
	h.toRole("Ana")

	m.Close()
	u := h.update()
	u.Text = "hola"
	err := h.e.Handle(context.Background(), u)
	if err == nil {
		t.Fatal("want an error for the log")
	}
	mustContain(t, h.rec.last(), "Tus respuestas están a salvo")

	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	r := h.say("/menu")
	mustContain(t, r, "¿Cuál de estas opciones te describe mejor?")
}

// A member whose app is in English chose Spanish: with Redis down their
// session cannot be read, and the apology still comes in Spanish.
func TestRedisDownApologizesInTheChosenLanguage(t *testing.T) {
	m, db := newMiniRedis(t)
	h := newHarnessWith(t, "en", db.store())
	h.say("/language")
	mustContain(t, h.press("Español"), "desde ahora te escribo en español")

	m.Close()
	u := h.update()
	u.Text = "hola, ¿sigues ahí?"
	if err := h.e.Handle(context.Background(), u); err == nil {
		t.Fatal("want an error for the log")
	}
	mustContain(t, h.rec.last(), "Tus respuestas están a salvo")

	// A chat this process never handled gets its app's language.
	u = h.update()
	u.ChatID, u.From.LanguageCode, u.Text = u.ChatID+1, "en", "hello?"
	if err := h.e.Handle(context.Background(), u); err == nil {
		t.Fatal("want an error for the log")
	}
	mustContain(t, h.rec.last(), "Your answers so far are safe")
}

func TestSenderFailureIsReported(t *testing.T) {
	h := newHarness(t, "en")
	h.rec.fail = bot.ErrBlocked
	err := h.e.Handle(context.Background(), h.update())
	if !errors.Is(err, bot.ErrBlocked) {
		t.Fatalf("want ErrBlocked, got %v", err)
	}
}

func TestEveryMessageTheCodeUsesExistsInBothLanguages(t *testing.T) {
	_, cat := content(t)
	if ps := cat.CheckIDs("bot", bot.MessageIDs()); len(ps) > 0 {
		t.Fatal(ps.Error())
	}
	if ps := cat.CheckIDs("flows", flows.UIMessageIDs()); len(ps) > 0 {
		t.Fatal(ps.Error())
	}
}

func TestFAQFromMenuAndFreeText(t *testing.T) {
	h := newHarness(t, "es")
	h.say("/start")
	r := h.press("Preguntas frecuentes")
	mustContain(t, r, "toca una")
	r = h.press("¿Cuánto cuesta?")
	mustContain(t, r, "¿Esto respondió tu pregunta?")
	r = h.press("Sí")
	if len(r.Messages) == 0 {
		t.Fatal("no reply to feedback")
	}

	// A question in the member's own words, without accents, gets the answer.
	r = h.say("cuanto cuesta participar en los institutos?")
	mustContain(t, r, "¿Esto respondió tu pregunta?")
	// A Spanish question from an English-speaking member still matches,
	// and the answer comes in their language.
	h.lang = "en"
	h2 := newHarness(t, "en")
	h2.say("/start")
	r = h2.say("como me inscribo")
	mustContain(t, r, "Did this answer your question?")
	if !strings.Contains(buttons(r.Messages[0]), "take part") {
		t.Fatalf("how-to-apply answer lacks its sign-up button: %s", buttons(r.Messages[0]))
	}
	r = h2.press("take part")
	mustContain(t, r, "What is your name?")

	// Greetings get a greeting and the menu, not an answer.
	r = h.say("buenas tardes")
	if strings.Contains(text(r), "¿Esto respondió") {
		t.Fatalf("greeting answered as a question: %s", text(r))
	}
	mustContain(t, r, "¿Qué te gustaría hacer?")

	// An out-of-scope question that shares words gets no FAQ answer.
	r = h.say("¿Cuánto cuesta una visa de trabajo?")
	if strings.Contains(text(r), "¿Esto respondió") {
		t.Fatalf("visa cost answered as the institutes' cost: %s", text(r))
	}
}

// Ordinary answers are kept as answers even with a question mark, and
// typed form answers never get the FAQ's "Did this answer your question?".
func TestFormAnswersWithQuestionMarksAreKept(t *testing.T) {
	h := newHarness(t, "es")
	h.takePart()
	r := h.say("María?")
	mustContain(t, r, "¿Cuál de estas opciones")
	if strings.Contains(text(r), "¿Esto respondió") {
		t.Fatal("form text went to the FAQ")
	}
	h.mustAnswer("name", "María?")
}
