package bot_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"bridgebot/bot"
)

// fakeDesk and fakeSubs stand in for the Slack desk and the announcement
// store: they are this project's own small interfaces, so the engine's
// decisions can be checked without Slack; the real ones are tested in
// bot/slack, bot/broadcast and end to end in cmd/bridgebot.
type fakeDesk struct {
	mu     sync.Mutex
	active bool
	got    []bot.DeskMessage
	fail   error
	forgot int
}

func (d *fakeDesk) Active(context.Context, int64) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.active, nil
}

func (d *fakeDesk) Relay(_ context.Context, m bot.DeskMessage) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	for _, g := range d.got {
		if m.Key != "" && g.Key == m.Key {
			return nil // the real desk stores a relay once per key too
		}
	}
	d.got = append(d.got, m)
	d.active = true
	return nil
}

func (d *fakeDesk) Forget(context.Context, int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.forgot++
	return nil
}

type fakeSubs struct {
	mu        sync.Mutex
	subs      map[int64]bot.Subscription
	log       []string
	failUnsub error
}

func (s *fakeSubs) Subscribe(_ context.Context, sub bot.Subscription) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[sub.ChatID] = sub
	s.log = append(s.log, "sub")
	return nil
}

func (s *fakeSubs) Unsubscribe(_ context.Context, chat int64, reason string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failUnsub != nil {
		return false, s.failUnsub
	}
	_, was := s.subs[chat]
	delete(s.subs, chat)
	s.log = append(s.log, "unsub:"+reason)
	return was, nil
}

func (s *fakeSubs) Subscription(_ context.Context, chat int64) (bot.Subscription, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[chat]
	return sub, ok, nil
}

func (s *fakeSubs) IsSubscribed(_ context.Context, chat int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.subs[chat]
	return ok, nil
}

func withDesk(d *fakeDesk) func(*bot.Config) { return func(c *bot.Config) { c.Desk = d } }
func withSubs(s bot.Subscriptions) func(*bot.Config) {
	return func(c *bot.Config) { c.Subscriptions = s }
}

func TestAskOurTeam(t *testing.T) {
	desk := &fakeDesk{}
	h := newHarness(t, "es", withDesk(desk))
	h.say("/start")
	r := h.press("Preguntarle al equipo")
	mustContain(t, r, "Escribe tu pregunta")
	r = h.say("¿Puedo ir con mi bebé?")
	mustContain(t, r, "Enviado al equipo")
	if len(desk.got) != 1 || !desk.got[0].New || desk.got[0].Text != "¿Puedo ir con mi bebé?" || desk.got[0].Lang != "es" {
		t.Fatalf("relayed: %+v", desk.got)
	}
	// While the thread is active, free text joins it, and the member is
	// told so each time...
	r = h.say("tiene 8 meses")
	mustContain(t, r, "Lo agregué a tu pregunta para el equipo")
	if len(desk.got) != 2 || desk.got[1].New || desk.got[1].Text != "tiene 8 meses" {
		t.Fatalf("follow-up: %+v", desk.got)
	}
	// ...but a message that clearly asks what the FAQ answers is answered.
	r = h.say("cuanto cuesta?")
	mustContain(t, r, "costos", "¿Esto respondió tu pregunta?")
	if len(desk.got) != 2 {
		t.Fatalf("FAQ question relayed too: %+v", desk.got)
	}
	h.say("y hay estacionamiento")
	if len(desk.got) != 3 || desk.got[2].Text != "y hay estacionamiento" {
		t.Fatalf("follow-up: %+v", desk.got)
	}
	u := h.update()
	u.Attachment = &bot.Attachment{Kind: "photo", FileID: "p1"}
	u.Text = "mi foto"
	h.handle(u)
	if len(desk.got) != 4 || desk.got[3].Attachment == nil || desk.got[3].Text != "mi foto" {
		t.Fatalf("photo: %+v", desk.got)
	}
}

// An edited message is never dropped in silence: with a question open for
// the team its new text joins the question, marked ✏️; without one the
// member is asked to send it again.
func TestEditedMessageIsNotDroppedInSilence(t *testing.T) {
	desk := &fakeDesk{}
	h := newHarness(t, "es", withDesk(desk))
	h.say("/start")
	edit := func(text string, msgID int) bot.Response {
		u := h.update()
		u.Text, u.Edited, u.MessageID = text, true, msgID
		return h.handle(u)
	}
	// a live location moving is an edit with no text, every few seconds:
	// not answered (found by review)
	before := h.rec.count()
	edit("", 2)
	if h.rec.count() != before {
		t.Fatalf("a textless edit was answered: %+v", h.rec.last().Messages)
	}
	mustContain(t, edit("me equivoqué", 3), "Vi que editaste un mensaje", "envíalo de nuevo")
	if len(desk.got) != 0 {
		t.Fatalf("an edit with no open question went to the team: %+v", desk.got)
	}
	h.press("Preguntarle al equipo")
	u := h.update()
	u.Text, u.MessageID = "¿Hay transporte desde Tijuana?", 10
	h.handle(u)
	mustContain(t, edit("¿Hay transporte desde Mexicali?", 10), "le pasé al equipo tu mensaje corregido")
	if len(desk.got) != 2 || desk.got[1].New || desk.got[1].Text != "✏️ ¿Hay transporte desde Mexicali?" {
		t.Fatalf("relayed: %+v", desk.got)
	}
	// an edit of a message from before the question (an old form answer,
	// a phone number) is not added to it (found by review)
	mustContain(t, edit("+1 520 555 0100", 3), "envíalo de nuevo")
	if len(desk.got) != 2 {
		t.Fatalf("an edit from before the question went to the team: %+v", desk.got[2:])
	}
}

func TestUnmatchedQuestionIsOfferedToTheTeam(t *testing.T) {
	desk := &fakeDesk{}
	h := newHarness(t, "en", withDesk(desk))
	h.say("/start")
	r := h.say("Is there wheelchair access at the venue?")
	mustContain(t, r, "I can only answer questions about the BRIDGE Institutes", "Shall I send them your question", "wheelchair access")
	r = h.press("Send it to the team")
	mustContain(t, r, "Sent to the team")
	if len(desk.got) != 1 || desk.got[0].Text != "Is there wheelchair access at the venue?" || !desk.got[0].New {
		t.Fatalf("relayed: %+v", desk.got)
	}
	// "No, ask our team" after an FAQ answer sends that question.
	desk.active = false
	r = h.say("how much does it cost to attend?")
	mustContain(t, r, "Did this answer your question?")
	h.press("No, ask our team")
	if len(desk.got) != 2 || desk.got[1].Text != "how much does it cost to attend?" || desk.got[1].Topic != "cost" {
		t.Fatalf("after feedback: %+v", desk.got)
	}
}

func TestRelayFailureIsToldKindly(t *testing.T) {
	desk := &fakeDesk{fail: errors.New("redis down")}
	h := newHarness(t, "es", withDesk(desk))
	h.say("/start")
	h.press("Preguntarle al equipo")
	r := h.say("¿Hay becas?")
	mustContain(t, r, "no pude pasarle tu mensaje al equipo")
	if strings.Contains(text(r), "Enviado al equipo") {
		t.Fatal("claimed to have sent a message that was not sent")
	}
}

func TestWithoutDeskNoAskButton(t *testing.T) {
	h := newHarness(t, "en")
	r := h.say("/start")
	if strings.Contains(buttons(r.Messages[0]), "Ask our team") {
		t.Fatal("dead 'Ask our team' button without the desk")
	}
	r = h.say("Is there wheelchair access at the venue?")
	if strings.Contains(text(r), "Shall I send") {
		t.Fatal("offered to send a question with no desk")
	}
	r = h.say("/ask")
	mustContain(t, r, "I don't know that command")
}

func TestSubscriptions(t *testing.T) {
	subs := &fakeSubs{subs: map[int64]bot.Subscription{}}
	h := newHarness(t, "es", withSubs(subs))
	r := h.say("/start")
	if !strings.Contains(buttons(r.Messages[0]), "Recibir anuncios") {
		t.Fatalf("menu lacks the announcements toggle: %s", buttons(r.Messages[0]))
	}
	r = h.say("/suscribir")
	mustContain(t, r, "recibirás aquí los anuncios")
	if !strings.Contains(buttons(r.Messages[0]), "Dejar de recibir anuncios") {
		t.Fatalf("menu does not reflect the subscription: %s", buttons(r.Messages[0]))
	}
	if s := subs.subs[h.chat]; s.Lang != "es" {
		t.Fatalf("subscription: %+v", s)
	}
	h.say("/idioma")
	h.press("English")
	if s := subs.subs[h.chat]; s.Lang != "en" {
		t.Fatalf("subscription did not follow the language: %+v", s)
	}
	h.say("/language")
	h.press("Español")
	r = h.say("/baja")
	mustContain(t, r, "ya no recibirás anuncios")
	if _, ok := subs.subs[h.chat]; ok {
		t.Fatal("still subscribed after /baja")
	}
	// Opting in on the form subscribes with the member's profile.
	h.fillSpanish()
	s, ok := subs.subs[h.chat]
	if !ok || s.Role != "other" || s.Border != "yes" || strings.Join(s.Areas, ",") != "migration,detention" {
		t.Fatalf("form opt-in: %+v %v", s, ok)
	}
	// Blocking the bot unsubscribes at once.
	blocked := true
	u := h.update()
	u.Blocked = &blocked
	if err := h.e.Handle(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if _, ok := subs.subs[h.chat]; ok || subs.log[len(subs.log)-1] != "unsub:blocked" {
		t.Fatalf("blocked member still subscribed: %v", subs.log)
	}
}

func TestSignupButtonAfterAskPromptGoesToTheForm(t *testing.T) {
	desk := &fakeDesk{}
	h := newHarness(t, "en", withDesk(desk))
	h.say("/start")
	signup, menuMsg := h.find("take part")
	h.press("Ask our team")
	h.pressData(signup.Data, menuMsg) // on the earlier menu
	r := h.say("Sam")
	mustContain(t, r, "Which of these best describes you?")
	if len(desk.got) != 0 {
		t.Fatalf("a form answer went to staff: %+v", desk.got)
	}
}

func TestUpdateIDsThatRestartAreNotTakenForRedeliveries(t *testing.T) {
	h := newHarness(t, "en")
	h.nextID = 5000
	h.say("/start")
	h.clock.Advance(8 * 24 * time.Hour) // Telegram may restart IDs after a quiet week
	h.nextID = 10
	r := h.say("/menu")
	mustContain(t, r, "What would you like to do?")
}

// Every effect of a turn runs even when one fails, and the member is told
// the truth: /delete with announcements down still drops the desk threads,
// and does not claim all went well.
func TestEveryEffectRunsAndTheMemberHearsTheTruth(t *testing.T) {
	desk := &fakeDesk{}
	subs := &fakeSubs{subs: map[int64]bot.Subscription{}, failUnsub: errors.New("redis down")}
	h := newHarness(t, "en", withDesk(desk), withSubs(subs))
	h.say("/start")
	h.say("/delete")
	r := h.press("Yes, delete everything")
	if desk.forgot != 1 {
		t.Fatalf("desk threads forgotten %d times, want 1", desk.forgot)
	}
	mustContain(t, r, "part of it may still be stored", "/delete again")
}

// A subscriber whose app is in English chose Spanish, then said nothing for
// longer than the session lives: the bot still writes to them in Spanish
// (their subscription keeps the choice); a member with no subscription
// gets their app's language again.
func TestChosenLanguageOutlivesTheSession(t *testing.T) {
	db := newTestRedis(t)
	subs := &fakeSubs{subs: map[int64]bot.Subscription{}}
	h := newHarnessWith(t, "en", db.store(), withSubs(subs))
	h.say("/language")
	h.press("Español")
	h.say("/suscribir")
	if sub := subs.subs[h.chat]; sub.Lang != "es" {
		t.Fatalf("subscription %+v", sub)
	}
	// the session's key expires (FORM_TTL of silence); another process
	// (no cache) takes the next message
	if err := db.client.Del(context.Background(), db.prefix+"session:1001").Err(); err != nil {
		t.Fatal(err)
	}
	next := newHarnessWith(t, "en", db.store(), withSubs(subs))
	mustContain(t, next.say("/menu"), "¿Qué te gustaría hacer?")

	delete(subs.subs, h.chat)
	if err := db.client.Del(context.Background(), db.prefix+"session:1001").Err(); err != nil {
		t.Fatal(err)
	}
	again := newHarnessWith(t, "en", db.store(), withSubs(subs))
	mustContain(t, again.say("/menu"), "What would you like to do?")
}

// /baja changes what the sign-up shows, and confirming an unchanged
// review never re-subscribes a member who opted out since (and the
// reverse with /suscribir).
func TestConsentSticks(t *testing.T) {
	subs := &fakeSubs{subs: map[int64]bot.Subscription{}}
	h := newHarness(t, "es", withSubs(subs))
	h.say("/start")
	h.fillSpanish()
	if ok, _ := subs.IsSubscribed(context.Background(), h.chat); !ok {
		t.Fatal("the form's yes did not subscribe")
	}
	h.say("/baja")
	if got := h.signup().Answers["announcements"]; len(got) != 1 || got[0] != "no" {
		t.Fatalf("sign-up still says %v after /baja", got)
	}
	h.say("/inscribirme")
	h.press("Cambiar algo")
	h.press("Atrás") // from the list of answers to the review
	h.press("Confirmar")
	if ok, _ := subs.IsSubscribed(context.Background(), h.chat); ok {
		t.Fatal("confirming an unchanged review re-subscribed the member")
	}
	// and a /baja while the review is open is not undone by confirming it
	h.say("/suscribir")
	h.say("/inscribirme")
	h.press("Cambiar algo") // the form is open now
	h.say("/baja")
	h.say("/inscribirme") // back to it
	h.press("Atrás")
	h.press("Confirmar")
	if ok, _ := subs.IsSubscribed(context.Background(), h.chat); ok {
		t.Fatal("a /baja during the review was undone")
	}
}

// Messages that repeat what the member gave — every form step (the review
// lists all answers) and the summary of a finished sign-up — are sent
// protected (Telegram's protect_content: no forwarding, no saving).
func TestMessagesWithAnswersAreProtected(t *testing.T) {
	h := newHarness(t, "es")
	review := h.fillSpanishToReview()
	var step *bot.Message
	for _, r := range h.rec.resps {
		for i, m := range r.Messages {
			if strings.Contains(m.Text, "¿Cómo te llamas?") {
				step = &r.Messages[i]
			}
		}
	}
	if step == nil || !step.Protect {
		t.Errorf("form step not protected: %+v", step)
	}
	if last := review.Messages[len(review.Messages)-1]; !strings.Contains(last.Text, "María José Pérez") || !last.Protect {
		t.Errorf("review not protected: %+v", last)
	}
	h.press("Confirmar")
	r := h.say("/inscribirme")
	last := r.Messages[len(r.Messages)-1]
	if !strings.Contains(last.Text, "María José Pérez") || !last.Protect {
		t.Errorf("sign-up summary not protected: %+v", last)
	}
	// The menu, which repeats nothing, is not.
	if r = h.say("/ayuda"); r.Messages[len(r.Messages)-1].Protect {
		t.Errorf("help protected: %+v", r.Messages)
	}
}

// A callback is applied to the chat it comes from, whatever its data: a
// member replaying every button another member was ever shown (the form,
// the review, the sign-up summary, "delete everything", announcements)
// changes nothing of the other member's session, sign-up or subscription.
func TestForgedCallbacksCannotTouchAnotherMember(t *testing.T) {
	subs := &fakeSubs{subs: map[int64]bot.Subscription{}}
	store := newTestRedis(t).store()
	a := newHarnessWith(t, "es", store, withSubs(subs))
	a.fillSpanish()
	a.say("/inscribirme")
	a.say("/borrar") // the question stays open: its "yes" is on screen
	beforeSignup, beforeSession := a.signup(), a.session()
	beforeSub := subs.subs[a.chat]
	if beforeSignup == nil || beforeSub.ChatID != a.chat {
		t.Fatal("the first member is not signed up and subscribed")
	}

	b := newHarnessWith(t, "es", store, withSubs(subs))
	b.chat = 2002
	b.say("/start")
	var pressed int
	a.rec.mu.Lock()
	resps := append([]bot.Response(nil), a.rec.resps...)
	a.rec.mu.Unlock()
	for i, r := range resps {
		for j, m := range r.Messages {
			for _, row := range m.Buttons {
				for _, btn := range row {
					if btn.Data == "" {
						continue
					}
					b.pressData(btn.Data, 100*i+j+1)
					pressed++
				}
			}
		}
	}
	if pressed < 30 {
		t.Fatalf("only %d buttons replayed", pressed)
	}
	if got := a.signup(); !reflect.DeepEqual(got, beforeSignup) {
		t.Errorf("the first member's sign-up changed:\n%+v\nwas\n%+v", got, beforeSignup)
	}
	if got := a.session(); !reflect.DeepEqual(got, beforeSession) {
		t.Errorf("the first member's session changed:\n%+v\nwas\n%+v", got, beforeSession)
	}
	if got, ok := subs.subs[a.chat]; !ok || !reflect.DeepEqual(got, beforeSub) {
		t.Errorf("the first member's subscription changed: %+v, %v", got, ok)
	}
	// And their pending "delete everything?" still works for them alone.
	a.press("Sí, borrar todo")
	if a.signup() != nil {
		t.Error("the first member could not erase their own data")
	}
}

// Flood control engages past the limit with one slow-down message, drops
// the rest of the minute, and releases in the next minute; its counter key
// does not name the member and expires on its own.
func TestFloodControlEngagesAndReleases(t *testing.T) {
	db := newTestRedis(t)
	var h *harness
	store := db.storeClocked(func() time.Time { return h.clock.Now() })
	h = newHarnessWith(t, "es", store, func(c *bot.Config) { c.MemberRateLimit = 3 })
	for i := range 3 {
		if r := h.say("/menu"); len(r.Messages) == 0 {
			t.Fatalf("message %d within the limit got no answer", i+1)
		}
	}
	before := h.rec.count()
	r := h.say("/menu")
	if h.rec.count() != before+1 || len(r.Messages) != 1 || !strings.Contains(r.Messages[0].Text, "muy rápido") {
		t.Fatalf("over the limit: want one slow-down message in Spanish, got %d responses, last %+v", h.rec.count()-before, r)
	}
	for range 5 {
		u := h.update()
		u.Text = "hola"
		if err := h.e.Handle(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.rec.count(); n != before+1 {
		t.Fatalf("flood control sent %d more responses, want none after the first", n-before-1)
	}

	// buttons neither count nor are held back
	u := h.update()
	u.Callback = &bot.Callback{ID: "cb", Data: "l|en", MessageID: 3}
	if r := h.handle(u); r.CallbackID != "cb" || len(r.Messages) == 0 {
		t.Fatalf("a button press under flood control was dropped: %+v", r)
	}

	keys, err := db.client.Keys(context.Background(), db.prefix+"rate:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("rate keys %v, want one", keys)
	}
	if strings.Contains(strings.TrimPrefix(keys[0], db.prefix), "1001") {
		t.Errorf("rate key %q names the chat", keys[0])
	}
	if ttl := db.client.PTTL(context.Background(), keys[0]).Val(); ttl <= 0 || ttl > 61*time.Second {
		t.Errorf("rate key TTL %v, want at most 61s", ttl)
	}

	h.clock.Advance(time.Minute)
	if r := h.say("/menu"); len(r.Messages) == 0 || strings.Contains(r.Messages[0].Text, "muy rápido") || strings.Contains(r.Messages[0].Text, "very fast") {
		t.Fatalf("next minute: flood control did not release: %+v", r)
	}
}

// Texts relayed to staff are cut with a word to the member; files too big
// for the Bot API are refused with one.
func TestRelayLimits(t *testing.T) {
	desk := &fakeDesk{}
	h := newHarness(t, "en", withDesk(desk))
	h.say("/ask")
	r := h.say(strings.Repeat("a", 4000))
	if len(desk.got) != 1 || len([]rune(desk.got[0].Text)) != 3500 {
		t.Fatalf("relayed %d messages, want one of 3500 characters", len(desk.got))
	}
	if !strings.Contains(r.Messages[0].Text, "3500") {
		t.Errorf("member not told the text was cut: %+v", r.Messages)
	}
	h.say("/ask")
	u := h.update()
	u.Attachment = &bot.Attachment{Kind: "document", FileID: "F", FileName: "big.pdf", Size: 30 << 20}
	r = h.handle(u)
	if len(desk.got) != 1 {
		t.Fatalf("a 30 MB file was relayed")
	}
	if len(r.Messages) == 0 || !strings.Contains(r.Messages[0].Text, "20 MB") {
		t.Errorf("member not told the file is too large: %+v", r.Messages)
	}
}
