package main

// Acceptance probes: what an outside acceptance team would try through the
// real Telegram and Slack wire protocols. Each asserts a promise of the
// README. Written in session 5 by a tester who did not change the product;
// the fifteen defects they found were fixed since (several of those probes
// keep a "Fixed (was PROBE FAIL …)" comment with what they saw before).

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"bridgebot/bot/outbox"
	"bridgebot/bot/slack/slacktest"
	"bridgebot/bot/telegram/telegramtest"
	"bridgebot/internal/testkit"
)

// startLogged is start, keeping the bot's log for the probe to read.
func (e *env) startLogged() (*testkit.Buffer, func()) {
	e.t.Helper()
	logs := &testkit.Buffer{}
	stop := testkit.Start(e.t, "bot", wait, func(ctx context.Context) error {
		if err := run(ctx, []string{"run"}, e.getenv, strings.NewReader(""), io.Discard, logs); err != nil {
			return fmt.Errorf("exited with %w\n%s", err, logs.String())
		}
		return nil
	})
	e.tg.WaitFor(e.t, wait*6, func() bool { return e.tg.Calls("getUpdates") > 0 || e.tg.Webhook().URL != "" })
	return logs, stop
}

// withMiniredis has the env use a miniredis of its own, which the probe
// may stop and restart.
func (e *env) withMiniredis() *miniredis.Miniredis {
	m := miniredis.RunT(e.t)
	e.vars["REDIS_URL"] = "redis://" + m.Addr()
	delete(e.vars, "REDIS_PREFIX")
	return m
}

// A member whose Telegram app is in English chose Spanish. When Redis
// fails, the apology must come in the language they chose (README: every
// failure shows the member a clear, kind message in their language).
func TestProbeApologyInChosenLanguage(t *testing.T) {
	// Fixed (was PROBE FAIL: the apology came in English, the app's
	// language: Engine.apologize could not read the session). The engine
	// now remembers the language of the chats it handled lately (langMemo).
	e := newEnv(t)
	mr := e.withMiniredis()
	e.startReady()
	m := e.member(8101, "Inés", "en")
	m.say("/start", "BRIDGE Institutes")
	m.press("Español", "en español")
	m.say("/menu", "¿Qué te gustaría hacer?")

	mr.Close()
	defer func() {
		if err := mr.Restart(); err != nil {
			t.Error(err)
		}
	}()
	got := m.say("hola, ¿sigues ahí?", "") // the next message, whatever it says
	if !strings.Contains(got.PlainText, "problema técnico") && !strings.Contains(got.PlainText, "algo falló") {
		t.Errorf("apology to a member who chose Spanish: %q", got.PlainText)
	}
}

// A staff reply in the thread of a member who erased their data must be
// marked as not delivered (README: every reply is marked 📨 when
// delivered, or ⚠️ with a short note when it could not be).
func TestProbeStaffReplyAfterErasureIsFlagged(t *testing.T) {
	const chat = 8102
	_, sl, m, r := askedInThread(t, chat, "Tlali", "¿Hay cupo-probe?", "cupo-probe", "gracias-probe")
	m.erase()
	sl.WaitFor(t, wait, func() bool {
		got, _ := sl.Message(questionsChannel, r.TS)
		return strings.Contains(got.AllText(), erasedNote)
	})
	ev, replyTS := sl.StaffReply(questionsChannel, r.TS, staffUser, "Sí, hay cupo todavía")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	testkit.Eventually(t, wait, "the reply to an erased member is marked ⚠️ or 📨", func() bool {
		msg, _ := sl.Message(questionsChannel, replyTS)
		if msg.HasReaction("warning") || msg.HasReaction("incoming_envelope") {
			return true
		}
		for _, msg := range sl.Thread(questionsChannel, r.TS) {
			if msg.FromBot && strings.Contains(msg.Text, "Not delivered") {
				return true
			}
		}
		return false
	})
}

// An edit of the message a member sent to the team is not silently
// dropped: either staff see it or the member is told edits do not reach
// them.
func TestProbeEditOfQuestionIsNotSilentlyDropped(t *testing.T) {
	// Fixed (was PROBE FAIL: an edit outside the form was dropped in
	// silence). turn.edited now relays it, marked ✏️, to an open question,
	// or asks the member to send it again.
	const chat = 8103
	e, sl, m, r := askedInThread(t, chat, "Ximena", "¿Hay transporte-probe?", "transporte-probe", "primer-detalle-probe")
	// A second follow-up, answered "added to your question": the member's
	// message is the one just before that answer (one id sequence per chat).
	added := m.say("desde Tijuana-probe", "Lo agregué")
	inThread(t, sl, r.TS, "desde Tijuana-probe")
	n := e.tg.MessageCount(chat)
	id := e.tg.EditText(m.u, added.MessageID-1, "desde Mexicali-probe")
	e.tg.WaitFor(t, wait, func() bool { return e.tg.ConfirmedOffset() > id }) // the bot took the edit
	testkit.Eventually(t, wait, "the edit reaches staff or the member hears back", func() bool {
		for _, msg := range sl.Thread(questionsChannel, r.TS) {
			if strings.Contains(msg.AllText(), "Mexicali-probe") {
				return true
			}
		}
		return e.tg.MessageCount(chat) > n
	})
}

// A caption and a file name the member sent to the team, waiting in the
// outbox while Slack is down, are not readable in a Redis snapshot.
func TestProbeFileNameAndCaptionNotPlainInRedis(t *testing.T) {
	const chat = 8104
	e, sl, m, r := askedInThread(t, chat, "Citlalli", "¿Qué documento-probe llevo?", "documento-probe", "otra-cosa-probe")
	rdb, prefix := e.redisOf()
	sl.SetDown(true)
	e.tg.SendDocument(m.u, "acta-nacimiento-Citlalli-Robles.pdf", "application/pdf", []byte("%PDF-1.4 acta"))
	e.tg.SendPhoto(m.u, "pie-de-foto-secreto")
	sl.WaitFor(t, wait, func() bool { return sl.Calls("files.getUploadURLExternal")+sl.Calls("chat.postMessage") >= 1 })
	// wait until both are recorded in the outbox
	testkit.Eventually(t, wait, "both attachments queued", func() bool {
		keys, _ := rdb.Keys(context.Background(), prefix+"outbox:slack*").Result()
		total := int64(0)
		for _, k := range keys {
			if typ, _ := rdb.Type(context.Background(), k).Result(); typ == "stream" && !strings.HasSuffix(k, ":dead") {
				total += rdb.XLen(context.Background(), k).Val()
			}
		}
		return total >= 2
	})
	snap := snapshot(t, rdb, prefix)
	assertNoneOf(t, snap, "acta-nacimiento", "Citlalli-Robles", "pie-de-foto-secreto")
	if t.Failed() {
		t.Logf("snapshot:\n%s", strings.Join(snap, "\n"))
	}
	sl.SetDown(false)
	inThread(t, sl, r.TS, "pie-de-foto-secreto")
}

// Updates the bot does not act on (a channel post, the bot added to a
// group, a member leaving a group) neither crash it nor stall it.
func TestProbeUnusualUpdatesDoNotStall(t *testing.T) {
	e := newEnv(t)
	e.startReady()
	m := e.member(8105, "Oli", "en")
	m.say("/start", "BRIDGE Institutes")
	e.tg.PushRaw(`{"update_id":` + fmt.Sprint(e.tg.NextUpdateID()) + `,"channel_post":{"message_id":1,"date":1,"chat":{"id":-100123,"type":"channel","title":"News"},"text":"/start"}}`)
	e.tg.PushRaw(`{"update_id":` + fmt.Sprint(e.tg.NextUpdateID()) + `,"my_chat_member":{"chat":{"id":-4243,"type":"group","title":"G"},"from":{"id":8105,"is_bot":false,"first_name":"Oli"},"date":1,` +
		`"old_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"bot"},"status":"left"},"new_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"bot"},"status":"member"}}}`)
	e.tg.PushRaw(`{"update_id":` + fmt.Sprint(e.tg.NextUpdateID()) + `,"edited_channel_post":{"message_id":1,"date":1,"chat":{"id":-100123,"type":"channel"},"text":"x"}}`)
	e.tg.PushRaw(`{"update_id":` + fmt.Sprint(e.tg.NextUpdateID()) + `,"message":{"message_id":77,"date":1,"chat":{"id":8105,"type":"private"},"from":{"id":8105,"is_bot":false,"first_name":"Oli"},"location":{"latitude":1,"longitude":2}}}`)
	m.say("/menu", "What would you like to do?")
	for _, msg := range e.tg.Messages(-100123) {
		t.Errorf("the bot wrote in a channel: %q", msg.PlainText)
	}
}

// A member who blocks the bot (my_chat_member "kicked") is unsubscribed
// from announcements at once.
func TestProbeBlockingUnsubscribes(t *testing.T) {
	e := newEnv(t)
	e.startReady()
	rdb, prefix := e.redisOf()
	m := e.member(8106, "Paz", "en")
	m.say("/start", "BRIDGE Institutes")
	m.say("/subscribe", "")
	testkit.Eventually(t, wait, "subscribed", func() bool {
		return rdb.ZScore(context.Background(), prefix+"subs", "8106").Err() == nil
	})
	e.tg.SetMemberStatus(m.u, "kicked")
	testkit.Eventually(t, wait, "unsubscribed after blocking", func() bool {
		return rdb.ZScore(context.Background(), prefix+"subs", "8106").Err() != nil
	})
	// Unblocking and writing again works.
	e.tg.SetMemberStatus(m.u, "member")
	m.say("/menu", "What would you like to do?")
}

// Member-typed words and names never reach the log at info level or
// above, even when things fail on the way (Slack refuses, Telegram
// refuses, a dead letter).
func TestProbeLogsHoldNoMemberText(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.vars["LOG_LEVEL"] = "info"
	logs, stop := e.startLogged()
	sl.WaitSocketConnected(t, 1, wait)
	rdb, prefix := e.redisOf()
	began := time.Now()
	defer func() {
		t.Logf("steps took %v", time.Since(began))
		s := time.Now()
		stop()
		t.Logf("stop took %v", time.Since(s))
	}()
	m := e.member(8107, "Yolotzin", "es")
	m.u.Username = "yolo_probe"
	m.say("/start", "Institutos BRIDGE")
	m.askTeam("¿Puedo-llevar-palabra-secreta a mi abuela?")
	r := root(t, sl, "palabra-secreta")
	sl.ErrorNext("chat.postMessage", 1, "msg_too_long")
	m.tg.SendText(m.u, "mensaje-muerto-secreto")
	testkit.Eventually(t, wait, "a dead letter", func() bool { return rdb.XLen(context.Background(), prefix+"outbox:slack:dead").Val() == 1 })
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "respuesta-secreta-del-equipo")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	m.expect(0, "respuesta-secreta-del-equipo")
	m.say("nombre-escrito-secreto", "")
	signUp(m, "Yolotzin Probe", "Org-secreta", "Lugar-secreto", "yolo@secreto.org", "Esperanza-secreta")
	m.press("Confirmar", "Recibimos tu interés")
	m.erase()
	mustNotHold(t, "the info log", logs.String(), "palabra-secreta", "mensaje-muerto-secreto", "respuesta-secreta",
		"nombre-escrito-secreto", "Yolotzin", "yolo_probe", "Org-secreta", "Lugar-secreto", "yolo@secreto.org", "Esperanza-secreta")
}

// mustNotHold fails the test for each word text holds, showing the first
// line that holds it.
func mustNotHold(t *testing.T, where, text string, words ...string) {
	t.Helper()
	for _, w := range words {
		if i := strings.Index(text, w); i >= 0 {
			start := strings.LastIndexByte(text[:i], '\n') + 1
			line, _, _ := strings.Cut(text[start:], "\n")
			t.Errorf("%s holds %q: %.400s", where, w, line)
		}
	}
}

// /start in the middle of the form keeps the answers and resumes; a
// language switch mid-form re-asks the current step in the new language
// and the answers given before it are kept; the sign-up completes.
func TestProbeStartAndLanguageSwitchMidForm(t *testing.T) {
	e, m := readyMember(t, 8201, "Nahui")
	m.press("Quiero participar", "¿Cómo te llamas?")
	m.say("Nahui Ollin", "¿Cuál de estas opciones")
	m.press("Organizador/a", "organización")
	m.say("/start", "organización") // resumes at the same step
	m.say("/idioma", "Elige tu idioma")
	m.press("English", "English")
	m.expect(0, "organization")
	m.do(testkit.Step{Kind: "say", Arg: "Colectivo Ollin", Expect: "In which city or region"},
		testkit.Step{Kind: "say", Arg: "Oaxaca", Expect: "border region"},
		testkit.Step{Kind: "press", Arg: "No", Expect: "Which issues"},
		testkit.Step{Kind: "toggle", Arg: "Migration"},
		testkit.Step{Kind: "press", Arg: "Done", Expect: "email"},
		testkit.Step{Kind: "press", Arg: "Skip", Expect: "phone number"},
		testkit.Step{Kind: "press", Arg: "Skip", Expect: "hope to bring"},
		testkit.Step{Kind: "press", Arg: "Skip", Expect: "consent"},
		testkit.Step{Kind: "press", Arg: "I agree", Expect: "announcements"},
		testkit.Step{Kind: "press", Arg: "No", Expect: "check your answers"},
		testkit.Step{Kind: "press", Arg: "Confirm", Expect: "we have your details"})
	out, errOut, err := e.cli("export", "signups", "--format", "json")
	if err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	for _, w := range []string{`"Nahui Ollin"`, `"organizer"`, `"Colectivo Ollin"`, `"language": "en"`} {
		if !strings.Contains(out, w) {
			t.Errorf("sign-up lacks %s:\n%s", w, out)
		}
	}
}

// /borrar in the middle of the form (nothing confirmed yet) erases the
// half-filled answers: nothing of them is left in Redis.
func TestProbeDeleteMidFormErasesEverything(t *testing.T) {
	const chat = 918270001
	e, m := readyMember(t, chat, "Tayde")
	m.press("Quiero participar", "¿Cómo te llamas?")
	m.say("Tayde Medioformulario", "¿Cuál de estas opciones")
	m.press("Organizador/a", "organización")
	m.say("Red Medioformulario", "ciudad o región")
	m.erase()
	rdb, prefix := e.redisOf()
	testkit.Eventually(t, wait, "turn log drained", func() bool {
		return rdb.Exists(context.Background(), prefix+"turns:index").Val() == 0
	})
	assertErased(t, e, chat, "Tayde", "Medioformulario")
	// The form is gone: a typed text is not taken as the region.
	m.say("/start", "Institutos BRIDGE")
}

// Media where the form expects text gets a kind re-ask in the member's
// language, and the step is asked again; nothing is skipped.
func TestProbeMediaMidFormInSpanish(t *testing.T) {
	e, m := readyMember(t, 8203, "Eréndira")
	m.press("Quiero participar", "¿Cómo te llamas?")
	for _, send := range []func(){
		func() { e.tg.SendVoice(m.u, 4) },
		func() { e.tg.SendDocument(m.u, "cv.pdf", "application/pdf", []byte("%PDF-1.4")) },
		func() { e.tg.SendSticker(m.u, "🌮") },
		func() { e.tg.SendPhoto(m.u, "Eréndira Pie") },
	} {
		n := e.tg.MessageCount(m.u.ID)
		send()
		m.expect(n, "Aquí solo puedo leer texto")
		m.expect(n, "¿Cómo te llamas?")
	}
	m.say("Eréndira", "¿Cuál de estas opciones")
}

// Forged, garbage and oversized callback data never crash the bot or go
// unanswered (the member's spinner stops), and the member can go on.
func TestProbeForgedCallbacks(t *testing.T) {
	e := newEnv(t)
	e.startReady()
	m := e.member(8204, "Iker", "en")
	m.say("/start", "BRIDGE Institutes")
	msgID, _ := m.button("take part")
	for _, data := range []string{"", "|", "f", "f|", "f|999|p|x", "f|1|p|" + strings.Repeat("z", 60), "m|nope", "m|", "lang|xx", "lang|es|en",
		"del|y|y|y", "cancel|", "\x00\xff", "ñ|ü|🙂", "f|-1|p|organizer", "f|99999999999999999999|p|organizer", strings.Repeat("|", 64)} {
		id := e.tg.PressButton(m.u, msgID, data)
		e.tg.WaitCallbackAnswer(t, id, wait)
	}
	m.press("take part", "What is your name?")
}

// A question to the team of 3,500 characters with emoji, RTL text and
// combining marks reaches Slack whole (not cut, not mangled), and the
// member is told it was sent.
func TestProbeLongEmojiRTLQuestionReachesSlackWhole(t *testing.T) {
	e, sl, m := deskMember(t, 8205, "Amal")
	q := "¿Pregunta-larga " + strings.Repeat("مرحبا 👩🏽‍🌾 שָׁלוֹם e\u0301 ", 150) + "fin-de-la-pregunta?"
	m.press("Preguntarle al equipo", "Escribe tu pregunta")
	n := e.tg.MessageCount(m.u.ID)
	e.tg.SendText(m.u, q)
	got := e.tg.WaitMessageAfter(t, m.u.ID, n, wait, func(telegramtest.Message) bool { return true })
	if !strings.Contains(got.PlainText, "Enviado al equipo") {
		t.Fatalf("the member was told: %q", got.PlainText)
	}
	r := root(t, sl, "Pregunta-larga")
	all := r.AllText()
	for _, th := range sl.Thread(questionsChannel, r.TS) {
		all += th.AllText()
	}
	if !strings.Contains(all, "fin-de-la-pregunta?") || !strings.Contains(all, "👩🏽‍🌾 שָׁלוֹם e\u0301") {
		t.Errorf("the question did not reach Slack whole (%d runes of %d): ...%q", len([]rune(all)), len([]rune(q)), tail(all, 200))
	}
}

func tail(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[len(r)-n:]
	}
	return string(r)
}

// Redis down mid-form for a while: the member is told kindly, nothing
// they answered before is lost, and once Redis is back they go on from
// the same step.
func TestProbeRedisOutageMidFormResumes(t *testing.T) {
	e := newEnv(t)
	mr := e.withMiniredis()
	e.startReady()
	m := e.member(8206, "Beto", "en")
	m.do(englishSignup("Beto Outage")[:4]...) // up to the organization
	mr.Close()
	got := m.say("Red Outage", "") // the next message, whatever it says
	if !strings.Contains(got.PlainText, "technical problem") && !strings.Contains(got.PlainText, "went wrong") {
		t.Errorf("during the outage the member was told: %q", got.PlainText)
	}
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait*3, "the member is answered again", func() bool {
		n := e.tg.MessageCount(m.u.ID)
		e.tg.SendText(m.u, "/help")
		msg := e.tg.WaitMessageAfter(t, m.u.ID, n, wait, func(telegramtest.Message) bool { return true })
		return !strings.Contains(msg.PlainText, "technical problem") && !strings.Contains(msg.PlainText, "went wrong")
	})
	m.say("Red Outage", "In which city or region")
	m.say("Tucson", "border region")
}

// A follow-up that Slack stored but whose answer was lost (a gateway
// timeout) is not posted twice in the thread (README: side effects are
// never done twice).
func TestProbeSlackFollowUpAnswerLostNotDuplicated(t *testing.T) {
	e, sl, m, r := askedInThread(t, 8301, "Quetzal", "¿Hay beca-probe?", "beca-probe", "primero-probe")
	rdb, prefix := e.redisOf()
	sl.FailAfterNext("chat.postMessage", 1, 504)
	m.tg.SendText(m.u, "seguimiento-una-vez")
	inThread(t, sl, r.TS, "seguimiento-una-vez")
	waitDrained(t, rdb, prefix)
	count := 0
	for _, msg := range sl.Thread(questionsChannel, r.TS) {
		if strings.Contains(msg.AllText(), "seguimiento-una-vez") {
			count++
		}
	}
	if count != 1 {
		t.Errorf("the follow-up is %d times in the thread", count)
	}
}

// stopWithRootInFlight starts the bot with the desk, has a member ask a
// question whose root Slack stores but holds the answer of, and stops the
// bot (SIGTERM) then; it returns run's result once Slack answers.
func stopWithRootInFlight(t *testing.T, shutdownTimeout string) (*env, *slacktest.Server, *member, error) {
	e, sl := newDeskEnv(t)
	e.vars["SHUTDOWN_TIMEOUT"] = shutdownTimeout
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exited := make(chan error, 1)
	var logs testkit.Buffer
	go func() { exited <- run(ctx, []string{"run"}, e.getenv, strings.NewReader(""), io.Discard, &logs) }()
	e.tg.WaitFor(t, time.Minute, func() bool { return e.tg.Calls("getUpdates") > 0 })
	sl.WaitSocketConnected(t, 1, wait)
	m := e.member(8302, "Itzel", "es")
	m.say("/start", "Institutos BRIDGE")
	m.press("Preguntarle al equipo", "Escribe tu pregunta")
	release := sl.HoldNext("chat.postMessage")
	t.Cleanup(release)
	m.say("¿Raíz-reinicio-probe?", "Enviado al equipo")
	root(t, sl, "Raíz-reinicio-probe")
	cancel() // SIGTERM while Slack holds the root's answer
	select {
	case err := <-exited:
		return e, sl, m, err
	case <-time.After(3 * wait):
		t.Fatal("the bot did not exit")
		return nil, nil, nil, nil
	}
}

// SIGTERM while a Slack post is in flight: the outbox is durable, so the
// bot exits 0 within SHUTDOWN_TIMEOUT (README: finishes the updates in
// flight … and exits 0 — all within SHUTDOWN_TIMEOUT).
func TestProbeShutdownWithSlackCallInFlight(t *testing.T) {
	// Fixed (was PROBE FAIL: exited 1 after SHUTDOWN_TIMEOUT=3s, after 5s):
	// the outbox handlers' Grace was 10 s whatever SHUTDOWN_TIMEOUT said;
	// it is now half of SHUTDOWN_TIMEOUT (cmd/bridgebot/run.go), so the
	// held call is cancelled in time and its entry stays queued.
	start := time.Now()
	_, _, _, err := stopWithRootInFlight(t, "3s")
	if err != nil {
		t.Errorf("run returned %v after %v (SHUTDOWN_TIMEOUT=3s)", err, time.Since(start).Round(time.Second))
	}
}

// The bot stops while Slack holds the question's root (stored, not yet
// answered); the next process does not post the question again, and
// staff replies in its thread reach the member.
func TestProbeRestartWhileRootInFlightNoDuplicate(t *testing.T) {
	e, sl, m, _ := stopWithRootInFlight(t, "15s")
	e.startReady()
	sl.WaitSocketConnected(t, 2, wait)
	rdb, prefix := e.redisOf()
	start := time.Now()
	testkit.Eventually(t, 5*wait, "the outboxes drained after the restart", func() bool { return outboxEmpty(rdb, prefix) })
	t.Logf("drained %v after the restart", time.Since(start))
	count := 0
	for _, msg := range sl.Messages(questionsChannel) {
		if strings.Contains(msg.AllText(), "Raíz-reinicio-probe") {
			count++
		}
	}
	if count != 1 {
		t.Errorf("the question is %d times in the channel", count)
	}
	r := root(t, sl, "Raíz-reinicio-probe")
	n := e.tg.MessageCount(m.u.ID)
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "Respuesta tras reinicio")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	m.expect(n, "Respuesta tras reinicio")
}

// After a process is killed with Slack work in flight, the next process
// finishes that work within about 10 s (README: "the next process — or
// any replica, within about 10 s — delivers what was recorded and not yet
// delivered").
func TestProbeRestartRecoversSlackWorkWithinTenSeconds(t *testing.T) {
	// Fixed (was PROBE FAIL: the Slack work left in flight was finished
	// 31s after the restart): a stopped process's outbox partition leases
	// lasted DefaultLease = 30 s; the lease is now 10 s, renewed every
	// 3.3 s while held, and a free partition is polled every second.
	//
	// The probe used to get a "kill" from a stop that missed
	// SHUTDOWN_TIMEOUT=1s; a stop now finishes in time and releases its
	// leases (TestProbeShutdownWithSlackCallInFlight), which a kill does
	// not. So it stops the bot, then puts back what a SIGKILL would have
	// left in Redis: each partition with work pending keeps the dead
	// process's lease for a full lease period (the longest a kill leaves).
	e, sl, _, err := stopWithRootInFlight(t, "2s")
	if err != nil {
		t.Fatalf("stop: %v", err)
	}
	rdb, prefix := e.redisOf()
	ctx := context.Background()
	left := 0
	for _, name := range []string{"slack", "telegram"} {
		for p := range outbox.DefaultPartitions {
			stream := fmt.Sprintf("%soutbox:%s:%d", prefix, name, p)
			pend, err := rdb.XPending(ctx, stream, "outbox").Result()
			if err != nil || pend.Count == 0 {
				continue
			}
			for consumer := range pend.Consumers {
				if err := rdb.Set(ctx, stream+":lease", consumer, outbox.DefaultLease).Err(); err != nil {
					t.Fatal(err)
				}
				left++
			}
		}
	}
	if left == 0 {
		t.Fatal("the stop left no Slack work in flight")
	}
	e.startReady()
	sl.WaitSocketConnected(t, 2, wait)
	start := time.Now()
	testkit.Eventually(t, 5*wait, "the outboxes drained after the restart", func() bool { return outboxEmpty(rdb, prefix) })
	d := time.Since(start)
	t.Logf("the work left by the killed process was finished %v after the restart", d.Round(100*time.Millisecond))
	if d > 15*time.Second {
		t.Errorf("the Slack work left in flight was finished %v after the restart", d.Round(time.Second))
	}
}

// Telegram failing (502s, then down a few seconds): every reply and a
// staff answer still arrive, once each.
func TestProbeTelegramOutageDeliversOnce(t *testing.T) {
	e, sl, m, r := askedInThread(t, 8303, "Yaz", "¿Hay comida-probe?", "comida-probe", "vegetariana-probe")
	e.tg.FailNext("sendMessage", 3, 502, "Bad Gateway", 0)
	m.say("/menu", "¿Qué te gustaría hacer?")
	e.tg.SetDown(true)
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "Sí-hay-comida-vegetariana")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	e.tg.WaitFor(t, wait, func() bool { return e.tg.Calls("sendMessage") > 0 })
	e.tg.SetDown(false)
	m.expect(0, "Sí-hay-comida-vegetariana")
	rdb, prefix := e.redisOf()
	waitDrained(t, rdb, prefix)
	menus, answers := 0, 0
	for _, msg := range e.tg.Messages(m.u.ID) {
		if strings.Contains(msg.PlainText, "Sí-hay-comida-vegetariana") {
			answers++
		}
		if strings.Contains(msg.PlainText, "¿Qué te gustaría hacer?") {
			menus++
		}
	}
	if answers != 1 {
		t.Errorf("staff answer delivered %d times", answers)
	}
	if menus != 2 { // the /start's and the /menu's
		t.Errorf("%d menus, want 2", menus)
	}
}

// Slack Events API over HTTP: forged, stale, unsigned, garbage and huge
// requests are refused and never reach a member; a signed staff reply
// does, once even when Slack retries it.
func TestProbeSlackHTTPForgedRequests(t *testing.T) {
	e, sl := newDeskEnv(t)
	const secret = "probe-signing-secret"
	delete(e.vars, "SLACK_APP_TOKEN")
	e.vars["SLACK_SIGNING_SECRET"] = secret
	addr := e.listenHTTP()
	e.startReady()
	base := "http://" + addr + "/slack/events"
	m := e.member(8304, "Nube", "es")
	m.say("/start", "Institutos BRIDGE")
	m.askTeam("¿Pregunta-http-probe?")
	r := root(t, sl, "Pregunta-http-probe")
	n := e.tg.MessageCount(m.u.ID)

	forged, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "falso-1")
	stale, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "falso-2")
	wrong, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "falso-3")
	for name, resp := range map[string]int{
		"unsigned":     slacktest.PostUnsigned(t, base, forged).StatusCode,
		"stale":        slacktest.PostWithSignature(t, base, stale, slacktest.Signer{Secret: secret}.Sign(stale, time.Now().Add(-10*time.Minute))).StatusCode,
		"wrong secret": slacktest.PostSigned(t, base, wrong, "not-the-secret").StatusCode,
		"future":       slacktest.PostWithSignature(t, base, stale, slacktest.Signer{Secret: secret}.Sign(stale, time.Now().Add(10*time.Minute))).StatusCode,
	} {
		if resp != 401 {
			t.Errorf("%s: %d, want 401", name, resp)
		}
	}
	if code := slacktest.PostSigned(t, base, []byte(`{"type":"event_callback","event":`), secret).StatusCode; code >= 500 {
		t.Errorf("garbage: %d (Slack would retry a 5xx forever)", code)
	}
	if code := slacktest.PostSigned(t, base, []byte(`{"type":"event_callback","event":{"type":"message","channel":"`+questionsChannel+`","thread_ts":"`+r.TS+`","ts":"1.2","user":"U1"}}`), secret).StatusCode; code >= 500 {
		t.Errorf("odd event: %d", code)
	}
	huge := []byte(`{"type":"event_callback","pad":"` + strings.Repeat("x", 2<<20) + `"}`)
	if code := slacktest.PostSigned(t, base, huge, secret).StatusCode; code != 413 {
		t.Errorf("huge: %d, want 413", code)
	}
	good, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "verdadero-probe")
	if code := slacktest.PostSigned(t, base, good, secret).StatusCode; code != 200 {
		t.Fatalf("good: %d", code)
	}
	if code := slacktest.PostWithSignature(t, base, good, slacktest.RetryHeader(slacktest.Signer{Secret: secret}.Sign(good, time.Now()), 1, "http_timeout")).StatusCode; code != 200 {
		t.Errorf("retry: %d", code)
	}
	m.expect(n, "verdadero-probe")
	rdb, prefix := e.redisOf()
	waitDrained(t, rdb, prefix)
	count := 0
	for _, msg := range e.tg.Messages(m.u.ID)[n:] {
		if strings.Contains(msg.PlainText, "falso") {
			t.Errorf("a forged reply reached the member: %q", msg.PlainText)
		}
		if strings.Contains(msg.PlainText, "verdadero-probe") {
			count++
		}
	}
	if count != 1 {
		t.Errorf("the signed reply reached the member %d times", count)
	}
}

// outboxEmpty is waitDrained's condition, for a probe's own timeout.
func outboxEmpty(rdb *redis.Client, prefix string) bool {
	ctx := context.Background()
	if n, _ := rdb.Exists(ctx, prefix+"turns:index").Result(); n > 0 {
		return false
	}
	keys, _ := rdb.Keys(ctx, prefix+"outbox:*").Result()
	for _, k := range keys {
		if strings.HasSuffix(k, ":dead") {
			continue
		}
		if typ, _ := rdb.Type(ctx, k).Result(); typ == "stream" && rdb.XLen(ctx, k).Val() > 0 {
			return false
		}
	}
	return true
}

// An announcement reaches subscribers with the stop line in their
// language; a member who blocked the bot (no my_chat_member seen yet) is
// counted blocked and unsubscribed; a deleted account counts as failed;
// nobody gets it twice.
func TestProbeBroadcastToBlockedMembers(t *testing.T) {
	e := newEnv(t)
	e.startReady()
	rdb, prefix := e.redisOf()
	ids := []int64{8401, 8402, 8403, 8404}
	for i, id := range ids {
		lang := []string{"en", "es"}[i%2]
		m := e.member(id, "S", lang)
		m.say("/start", "")
		m.say([]string{"/subscribe", "/suscribir"}[i%2], "")
		testkit.Eventually(t, wait, "subscribed", func() bool {
			return rdb.ZScore(context.Background(), prefix+"subs", fmt.Sprint(id)).Err() == nil
		})
	}
	e.tg.BlockChat(8403)
	e.tg.DeactivateChat(8404)
	dir := t.TempDir()
	en, es := dir+"/en.html", dir+"/es.html"
	if err := os.WriteFile(en, []byte("<b>Anuncio-probe</b> in English\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(es, []byte("<b>Anuncio-probe</b> en español\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := map[int64]int{}
	for _, id := range ids {
		before[id] = e.tg.MessageCount(id)
	}
	out, errOut, err := e.cli("broadcast", "send", "--en", en, "--es", es, "--yes")
	if err != nil {
		t.Fatalf("broadcast: %v\n%s\n%s", err, out, errOut)
	}
	// a deleted account may count as blocked or as failed
	if !strings.Contains(out, "2 sent, 1 blocked (unsubscribed), 1 failed") && !strings.Contains(out, "2 sent, 2 blocked (unsubscribed), 0 failed") {
		t.Errorf("final report:\n%s", out)
	}
	for i, id := range ids[:2] {
		got := 0
		for _, msg := range e.tg.Messages(id)[before[id]:] {
			if strings.Contains(msg.PlainText, "Anuncio-probe") {
				got++
				if want := []string{"English", "español"}[i]; !strings.Contains(msg.PlainText, want) {
					t.Errorf("chat %d got the wrong language: %q", id, msg.PlainText)
				}
				if want := []string{"/stop", "/baja"}[i]; !strings.Contains(msg.PlainText, want) {
					t.Errorf("chat %d: no stop line in its language: %q", id, msg.PlainText)
				}
			}
		}
		if got != 1 {
			t.Errorf("chat %d got the announcement %d times", id, got)
		}
	}
	if rdb.ZScore(context.Background(), prefix+"subs", "8403").Err() == nil {
		t.Error("the member who blocked the bot is still subscribed")
	}
}

// The review of a sign-up whose answers are all at their longest and
// made of emoji (two UTF-16 units each, over Telegram's 4,096) still
// reaches the member with its Confirm button, and confirming works.
func TestProbeLongestEmojiAnswersReviewAndConfirm(t *testing.T) {
	e := newEnv(t)
	e.startReady()
	m := e.member(8405, "Emo", "en")
	m.say("/start", "BRIDGE Institutes")
	m.press("take part", "What is your name?")
	emo := func(n int) string { return strings.Repeat("🌵", n) }
	m.say(emo(100), "Which of these")
	m.press("Something else", "")
	m.say(emo(150), "organization")
	m.say(emo(150), "In which city or region")
	m.say(emo(150), "border region")
	m.press("Yes", "Which issues")
	m.toggle("Other")
	m.press("Done", "")
	m.say(emo(200), "email")
	m.say("emo@example.org", "phone number")
	m.say("+1 555 0100", "hope to bring")
	m.say(emo(1000), "consent")
	m.press("I agree", "announcements")
	m.press("Yes", "check your answers")
	m.press("Confirm", "we have your details")
}

// Two replicas in webhook mode behind a round-robin balancer: a member
// fills in the whole form, each delivery going to the other replica, and
// gets each reply once; the sign-up is saved once.
func TestProbeTwoReplicasRoundRobin(t *testing.T) {
	// Fixed (was PROBE FAIL, intermittent under CPU load: "2 times:
	// Question 2 of 11" with replica A logging "delivering recorded turns
	// chat=8501 entries=2"). With round-robin, a replica handling an
	// update finds the other replica's just-delivered turn still recorded
	// (removals are batched), so it claims the chat's turns
	// (Engine.recoverChat); its own delivered entries are left out by the
	// unacked filter (bot/redisstore/turns.go openTurn). When its batched
	// removal was written between the claim's read in Redis and the
	// filter, the filter had already forgotten them and they went out
	// again. Removed entries now stay known as delivered for 10 s (unit
	// test TestEntriesListedBeforeTheirRemovalAreNotDeliveredAgain).
	e := newEnv(t)
	a, b := freeAddr(t), freeAddr(t)
	var n atomic.Int64
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := a
		if n.Add(1)%2 == 0 {
			target = b
		}
		httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target}).ServeHTTP(w, r)
	}))
	t.Cleanup(lb.Close)
	e.vars["TELEGRAM_WEBHOOK_URL"] = "https://bridge.example.org/telegram/webhook"
	e.vars["HTTP_ADDR"] = a
	e.tg.RouteWebhook(lb.URL)
	e.vars["LOG_LEVEL"] = "info"
	logsA, _ := e.startLogged()
	e.tg.WaitFor(t, time.Minute, func() bool { return e.tg.Webhook().URL != "" })
	e2 := &env{t: t, tg: e.tg, vars: maps.Clone(e.vars)}
	e2.vars["HTTP_ADDR"] = b
	before := e.tg.Calls("setWebhook")
	logsB, _ := e2.startLogged()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for name, logs := range map[string]string{"A": logsA.String(), "B": logsB.String()} {
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "turns") {
					t.Logf("replica %s: %.300s", name, line)
				}
			}
		}
	})
	e.tg.WaitFor(t, time.Minute, func() bool { return e.tg.Calls("setWebhook") > before })

	m := e.member(8501, "Dos", "en")
	m.do(testkit.Signup{Lang: "en", Name: "Dos Réplicas", Role: "Organizer", Organization: "Red Doble", Region: "Yuma",
		Border: true, Areas: []string{"Migration", "Workers"}, Email: "dos@example.org", Hopes: "Uno y otro", Announcements: true}.Steps()...)
	counts := map[string]int{}
	for _, msg := range e.tg.Messages(m.u.ID) {
		if msg.Deleted {
			continue
		}
		first, _, _ := strings.Cut(msg.PlainText, "\n")
		counts[first]++
	}
	for text, c := range counts {
		if c > 1 {
			t.Errorf("%d times: %q", c, text)
		}
	}
	if t.Failed() {
		for _, d := range e.tg.Deliveries() {
			t.Logf("delivery: update %d attempt %d status %d err %q at %s", d.UpdateID, d.Attempt, d.Status, d.Err, d.Time.Format("15:04:05.000"))
		}
	}
	out, errOut, err := e.cli("export", "signups", "--format", "csv")
	if err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	if strings.Count(out, "Dos Réplicas") != 1 {
		t.Errorf("export:\n%s", out)
	}
	if n.Load() < 10 {
		t.Errorf("only %d deliveries went through the balancer", n.Load())
	}
}

// A follow-up Slack stored while its answer was lost, then the member
// erases their data: no copy of their words is left in Slack (README:
// the bot's Slack posts that carried their words are redacted).
func TestProbeErasureReachesFollowUpWhoseAnswerWasLost(t *testing.T) {
	e, sl, m, r := askedInThread(t, 918270601, "Anayeli", "¿Hay guardería-probe?", "guardería-probe", "primero-borrable-probe")
	rdb, prefix := e.redisOf()
	sl.FailAfterNext("chat.postMessage", 1, 504)
	m.tg.SendText(m.u, "respuesta-perdida-borrable")
	inThread(t, sl, r.TS, "respuesta-perdida-borrable")
	waitDrained(t, rdb, prefix)
	m.erase()
	sl.WaitFor(t, wait, func() bool {
		got, _ := sl.Message(questionsChannel, r.TS)
		return strings.Contains(got.AllText(), erasedNote)
	})
	waitDrained(t, rdb, prefix)
	waitNoCopies(t, sl, questionsChannel, "respuesta-perdida-borrable", "copies of the follow-up")
}

// copiesIn counts the messages of channel that hold text.
func copiesIn(sl *slacktest.Server, channel, text string) (n int) {
	for _, msg := range sl.Messages(channel) {
		if strings.Contains(msg.AllText(), text) {
			n++
		}
	}
	return n
}

// waitNoCopies waits until no message of channel holds text (what says
// what they are, for the failure).
func waitNoCopies(t *testing.T, sl *slacktest.Server, channel, text, what string) {
	t.Helper()
	for deadline := time.After(wait); copiesIn(sl, channel, text) > 0; {
		select {
		case <-sl.Changed():
		case <-deadline:
			t.Errorf("%d %s still in Slack after the erasure", copiesIn(sl, channel, text), what)
			return
		}
	}
}

// A broadcast is under way (slowly) when one member sends /baja and
// another erases their data: neither gets the announcement after being
// told so (README: /stop opts out at once; erasure removes every copy),
// and nothing of the erased member stays in the job's records.
func TestProbeStopAndEraseDuringBroadcast(t *testing.T) {
	e := newEnv(t)
	e.vars["BROADCAST_RATE"] = "2"
	e.startReady()
	rdb, prefix := e.redisOf()
	const stopper, eraser = 918270711, 918270712
	var ids []int64
	for i := range 8 {
		ids = append(ids, int64(918270700+i))
	}
	ids = append(ids, stopper, eraser)
	for _, id := range ids {
		m := e.member(id, "S", "es")
		m.say("/start", "")
		m.say("/suscribir", "anuncios")
	}
	dir := t.TempDir()
	es := dir + "/es.html"
	if err := os.WriteFile(es, []byte("Anuncio-lento-probe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		out, errOut, err := e.cli("broadcast", "send", "--es", es, "--en", es, "--yes")
		done <- fmt.Sprint(out, errOut, err)
	}()
	// once the first member has it, the others act
	e.tg.WaitFor(t, wait, func() bool {
		for _, msg := range e.tg.Messages(ids[0]) {
			if strings.Contains(msg.PlainText, "Anuncio-lento-probe") {
				return true
			}
		}
		return false
	})
	ms := e.member(stopper, "S", "es")
	stopAt := ms.say("/baja", "ya no recibirás anuncios").MessageID
	me := e.member(eraser, "E", "es")
	me.erase()
	eraseAt := e.tg.Messages(eraser)[e.tg.MessageCount(eraser)-1].MessageID
	var report string
	select {
	case report = <-done:
	case <-time.After(3 * wait):
		t.Fatal("the broadcast did not finish")
	}
	for chat, after := range map[int64]int{stopper: stopAt, eraser: eraseAt} {
		for _, msg := range e.tg.Messages(chat) {
			if msg.MessageID > after && strings.Contains(msg.PlainText, "Anuncio-lento-probe") {
				t.Errorf("chat %d got the announcement after opting out / erasing", chat)
			}
		}
	}
	testkit.Eventually(t, wait, "turn log drained", func() bool {
		return rdb.Exists(context.Background(), prefix+"turns:index").Val() == 0
	})
	assertErased(t, e, eraser)
	if t.Failed() {
		t.Logf("broadcast report:\n%s", report)
	}
}

// Telegram delivers the same webhook update twice (the bot handled it but
// its answer was lost on the way back, so Telegram retries): the member's
// conversation moves once and they get one reply.
func TestProbeWebhookDuplicateDeliveryOnce(t *testing.T) {
	e := newEnv(t)
	addr := e.listenHTTP()
	e.vars["TELEGRAM_WEBHOOK_URL"] = "https://bridge.example.org/telegram/webhook"
	var lose atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if lose.CompareAndSwap(true, false) {
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)                             // the bot handles it…
			http.Error(w, "bad gateway", http.StatusBadGateway) // …and its answer is lost
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(lb.Close)
	e.tg.RouteWebhook(lb.URL)
	e.start()
	m := e.member(8701, "Dup", "en")
	m.say("/start", "BRIDGE Institutes")
	m.press("take part", "What is your name?")
	lose.Store(true)
	id := m.tg.SendText(m.u, "Dup Licado")
	m.expect(0, "Which of these")
	e.tg.WaitAcknowledged(t, id, wait)
	attempts := 0
	for _, d := range e.tg.Deliveries() {
		if d.UpdateID == id {
			attempts++
		}
	}
	if attempts < 2 {
		t.Fatalf("the update was delivered %d times; the probe needs a redelivery", attempts)
	}
	m.press("Organizer", "organization")
	got := m.received("Which of these")
	if got != 1 {
		t.Errorf("the name was taken %d times", got)
	}
}

// A staff answer longer than Telegram's 4,096 characters, with <, & and
// text that looks like HTML, reaches the member whole and as typed.
func TestProbeLongStaffAnswerWithSpecialCharacters(t *testing.T) {
	e, sl, m, r := askedInThread(t, 8702, "Lía", "¿Hay mapa-probe?", "mapa-probe", "gracias")
	// Slack sends what staff typed with &, < and > escaped.
	typed := "Paso 1 < 2 & 3 > 2 <b>no negrita</b> &amp; אבג 👩🏽‍🌾. "
	wire := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(typed)
	answer := "inicio-probe " + strings.Repeat(wire, 110) + " fin-probe"
	n := e.tg.MessageCount(m.u.ID)
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, answer)
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	m.expect(n, "fin-probe")
	var all string
	for _, msg := range e.tg.Messages(m.u.ID)[n:] {
		all += msg.PlainText
	}
	want := strings.TrimSpace(typed)
	if !strings.Contains(all, "inicio-probe") || strings.Count(all, want) != 110 {
		t.Errorf("the answer did not arrive whole and as typed: %d runes, %d paragraphs; starts %q", len([]rune(all)), strings.Count(all, want), string([]rune(all)[:200]))
	}
}

// A subscribed member who got an announcement erases their data: nothing
// of them is left in Redis (the finished job's records included).
func TestProbeErasureAfterBroadcast(t *testing.T) {
	const chat = 918270801
	e, m := readyMember(t, chat, "Sol")
	rdb, prefix := e.redisOf()
	m.say("/suscribir", "anuncios")
	dir := t.TempDir()
	es := dir + "/es.html"
	if err := os.WriteFile(es, []byte("Anuncio-borrable\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := e.cli("broadcast", "send", "--es", es, "--en", es, "--yes"); err != nil || !strings.Contains(out, "1 sent") {
		t.Fatalf("broadcast: %v\n%s%s", err, out, errOut)
	}
	m.erase()
	testkit.Eventually(t, wait, "turn log drained", func() bool {
		return rdb.Exists(context.Background(), prefix+"turns:index").Val() == 0
	})
	assertErased(t, e, chat, "Sol")
}

// Webhook mode, Redis down for a few seconds while a member answers: they
// are told once to try again (not once per Telegram retry), and their
// answer is not taken twice when they do as told after Redis is back.
func TestProbeWebhookRedisOutageApologizesOnceAndTakesAnswerOnce(t *testing.T) {
	e := webhookEnv(t)
	mr := e.withMiniredis()
	e.start()
	m := e.member(8801, "Rita", "en")
	m.do(englishSignup("Rita Outage")[:4]...) // up to the organization
	mr.Close()
	n := e.tg.MessageCount(m.u.ID)
	id := e.tg.SendText(m.u, "Red Outage")
	m.expect(n, "technical problem")
	// Whether the bot refuses the delivery (Telegram retries) or takes it,
	// let a few seconds of the outage pass.
	e.tg.WaitFor(t, wait, func() bool {
		c := 0
		for _, d := range e.tg.Deliveries() {
			if d.UpdateID == id {
				c++
			}
		}
		return c >= 4 || e.tg.Acknowledged(id)
	})
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	e.tg.WaitAcknowledged(t, id, 3*wait)
	// The member does as told: tries again.
	m.tg.SendText(m.u, "Red Outage")
	m.expect(n, "In which city or region")
	rdb, prefix := e.redisOf()
	testkit.Eventually(t, wait, "turns delivered", func() bool {
		return rdb.Exists(context.Background(), prefix+"turns:index").Val() == 0
	})
	apologies, regions := 0, 0
	for _, msg := range e.tg.Messages(m.u.ID)[n:] {
		if strings.Contains(msg.PlainText, "technical problem") {
			apologies++
		}
		if strings.Contains(msg.PlainText, "In which city or region") {
			regions++
		}
	}
	if apologies > 1 {
		t.Errorf("the member was told %d times to try again", apologies)
	}
	if regions != 1 {
		t.Errorf("the region question was asked %d times", regions)
	}
	for _, msg := range e.tg.Messages(m.u.ID)[n:] {
		if strings.Contains(msg.PlainText, "border region") {
			t.Errorf("the retyped organization was taken as the region: %q", msg.PlainText)
		}
	}
}

// /metrics never carries a chat ID, a name or anything a member wrote
// (README: labelled only with kinds, methods, codes and outcomes).
func TestProbeMetricsCarryNothingAboutMembers(t *testing.T) {
	e, sl := newDeskEnv(t)
	addr := e.listenHTTP()
	e.startDesk(sl)
	m := e.member(918270901, "Metrica", "es")
	m.u.Username = "metrica_probe"
	m.say("/start", "Institutos BRIDGE")
	m.askTeam("¿Pregunta-metrica-probe?")
	r := root(t, sl, "Pregunta-metrica-probe")
	m.say("texto-metrica-probe", "Lo agregué")
	inThread(t, sl, r.TS, "texto-metrica-probe") // the thread is recorded
	n := e.tg.MessageCount(m.u.ID)
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "respuesta-metrica")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	m.expect(n, "respuesta-metrica")
	mustNotHold(t, "/metrics", metricsShow(t, addr), "918270901", "Metrica", "metrica_probe", "metrica-probe", "respuesta-metrica", r.TS)
}

// After /borrar, a button from before the erasure (a form step) changes
// nothing and brings back none of the erased answers.
func TestProbeStaleButtonAfterErasure(t *testing.T) {
	const chat = 918270902
	e, m := readyMember(t, chat, "Viejo")
	m.press("Quiero participar", "¿Cómo te llamas?")
	m.say("Viejo Botón", "¿Cuál de estas opciones")
	msgID, data := m.button("Organizador/a")
	m.erase()
	n := e.tg.MessageCount(chat)
	id := e.tg.PressButton(m.u, msgID, data)
	ans := e.tg.WaitCallbackAnswer(t, id, wait)
	t.Logf("answer to the stale press: %q", ans.Text)
	for _, msg := range e.tg.Messages(chat)[n:] {
		if strings.Contains(msg.PlainText, "organización") || strings.Contains(msg.PlainText, "Viejo Botón") {
			t.Errorf("a button from before the erasure moved a form: %q", msg.PlainText)
		}
	}
	if ans.Text == "" && e.tg.MessageCount(chat) == n {
		t.Error("the stale press got no word at all")
	}
	rdb, prefix := e.redisOf()
	testkit.Eventually(t, wait, "turn log drained", func() bool {
		return rdb.Exists(context.Background(), prefix+"turns:index").Val() == 0
	})
	assertNoneOf(t, snapshotOpened(t, rdb, prefix, e.ring()), "Viejo Botón", `"organizer"`)
}

// The Socket Mode connection drops (Slack restarts its edge, a network
// blip); a staff reply sent during the drop is redelivered and reaches the
// member once.
func TestProbeSocketDropRedeliveredOnce(t *testing.T) {
	e, sl, m, r := askedInThread(t, 8903, "Sock", "¿Pregunta-socket-probe?", "socket-probe", "seguimiento")
	n := e.tg.MessageCount(m.u.ID)
	sl.SocketDrop()
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "respuesta-tras-caida")
	sl.SocketEvent(ev)
	sl.WaitSocketConnected(t, 2, wait)
	sl.SocketRetryUnacked()
	m.expect(n, "respuesta-tras-caida")
	rdb, prefix := e.redisOf()
	waitDrained(t, rdb, prefix)
	got := m.received("respuesta-tras-caida")
	if got != 1 {
		t.Errorf("the reply reached the member %d times", got)
	}
}

// A member blocks the bot, a staff reply fails (staff are told), the
// member unblocks it and writes again: they are answered as before.
func TestProbeUnblockAfterFailedStaffReply(t *testing.T) {
	e, sl, m, r := askedInThread(t, 8904, "Vuelve", "¿Pregunta-bloqueo-probe?", "bloqueo-probe", "seguimiento")
	e.tg.SetMemberStatus(m.u, "kicked")
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "respuesta-bloqueada")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	sl.WaitMessage(t, questionsChannel, wait, func(msg slacktest.Message) bool {
		return msg.FromBot && msg.ThreadTS == r.TS && strings.Contains(msg.Text, "blocked the bot")
	})
	e.tg.SetMemberStatus(m.u, "member")
	m.say("ya te desbloqueé", "Lo agregué")
	inThread(t, sl, r.TS, "ya te desbloqueé")
}

// The same with a 403 that came without any my_chat_member update (the
// fake's one-off refusal): the member's next message is still answered.
func TestProbeMemberAnsweredAfterOneOff403(t *testing.T) {
	e, sl, m, r := askedInThread(t, 8905, "Uno", "¿Pregunta-403-probe?", "403-probe", "seguimiento")
	e.tg.FailNext("sendMessage", 1, 403, "Forbidden: bot was blocked by the user", 0)
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "respuesta-403")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	sl.WaitMessage(t, questionsChannel, wait, func(msg slacktest.Message) bool {
		return msg.FromBot && msg.ThreadTS == r.TS && strings.Contains(msg.Text, "blocked the bot")
	})
	m.say("sigo aquí", "Lo agregué")
}

// Redis down while staff answer in Slack: the reply is not lost; once
// Redis is back (and Slack redelivers what was not acknowledged), the
// member gets it once, and the staff reply is marked delivered.
func TestProbeStaffReplyDuringRedisOutage(t *testing.T) {
	e, sl := newDeskEnv(t)
	mr := e.withMiniredis()
	addr := e.listenHTTP()
	e.startDesk(sl)
	m := e.member(8906, "Red", "es")
	m.say("/start", "Institutos BRIDGE")
	m.askTeam("¿Pregunta-redis-caida?")
	r := root(t, sl, "Pregunta-redis-caida")
	m.say("seguimiento-redis", "Lo agregué")
	inThread(t, sl, r.TS, "seguimiento-redis")
	n := e.tg.MessageCount(m.u.ID)
	mr.Close()
	ev, replyTS := sl.StaffReply(questionsChannel, r.TS, staffUser, "respuesta-durante-caida")
	env := sl.SocketEvent(ev)
	// the bot fails on it while Redis is away (it must not acknowledge it)
	testkit.Eventually(t, 2*wait, "the bot met Redis down", func() bool {
		_, body := get(t, "GET", "http://"+addr+"/metrics", nil)
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "bridgebot_redis_errors_total ") && line != "bridgebot_redis_errors_total 0" {
				return true
			}
		}
		return false
	})
	for _, a := range sl.Acks() {
		if a.EnvelopeID == env {
			t.Errorf("the staff reply was acknowledged while Redis was down")
		}
	}
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	// The bot is back to work (a member is answered)…
	testkit.Eventually(t, 3*wait, "the bot answers members again", func() bool {
		c := e.tg.MessageCount(m.u.ID)
		e.tg.SendText(m.u, "/ayuda")
		msg := e.tg.WaitMessageAfter(t, m.u.ID, c, wait, func(telegramtest.Message) bool { return true })
		return !strings.Contains(msg.PlainText, "problema técnico") && !strings.Contains(msg.PlainText, "algo falló")
	})
	// …and Slack redelivers the event it was not acknowledged.
	for _, id := range sl.SocketRetryUnacked() {
		sl.WaitAck(t, id, wait)
	}
	m.expect(n, "respuesta-durante-caida")
	sl.WaitFor(t, wait, func() bool {
		msg, _ := sl.Message(questionsChannel, replyTS)
		return msg.HasReaction("incoming_envelope")
	})
	got := m.received("respuesta-durante-caida")
	if got != 1 {
		t.Errorf("the reply reached the member %d times", got)
	}
}

// The sign-up post is stored by Slack but its answer is lost (a gateway
// timeout): the sign-up is posted once, and after /borrar no copy of it
// keeps the member's answers.
func TestProbeSignupPostAnswerLostOnceAndErased(t *testing.T) {
	const chat = 918271001
	e, sl, m := deskMember(t, chat, "Perla")
	rdb, prefix := e.redisOf()
	signUp(m, "Perla Perdida", "Red Perdida", "Ensenada", "perla@perdida.org", "Sembrar")
	sl.FailAfterNext("chat.postMessage", 1, 504)
	m.press("Confirmar", "Recibimos tu interés")
	sl.WaitMessage(t, signupsChannel, wait, func(msg slacktest.Message) bool { return strings.Contains(msg.AllText(), "Perla Perdida") })
	waitDrained(t, rdb, prefix)
	if n := copiesIn(sl, signupsChannel, "Perla Perdida"); n != 1 {
		t.Errorf("the sign-up was posted %d times", n)
	}
	m.erase()
	waitDrained(t, rdb, prefix)
	waitNoCopies(t, sl, signupsChannel, "Perla Perdida", "posts with the member's answers")
}

// Member-controlled text (first name, username-free question, form
// answers) with Slack control sequences never pings the channel or makes
// a link in Slack.
func TestProbeSlackControlSequencesFromMembersAreInert(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.startDesk(sl)
	m := e.member(8907, "<!channel> Ana", "es")
	m.say("/start", "Institutos BRIDGE")
	signUp(m, "<!here> Nombre", "<https://evil.example|Org>", "<@U0STAFF> Lugar", "", "<!everyone> espero")
	m.press("Confirmar", "Recibimos tu interés")
	m.askTeam("Hola <!channel> mira <https://evil.example|aquí> y <@U0STAFF> *negrita*")
	r := root(t, sl, "mira")
	m.say("seguimiento <!here>", "Lo agregué")
	inThread(t, sl, r.TS, "seguimiento")
	post := sl.WaitMessage(t, signupsChannel, wait, func(msg slacktest.Message) bool { return strings.Contains(msg.AllText(), "Nombre") })
	var all []slacktest.Message
	all = append(all, post)
	all = append(all, sl.Thread(questionsChannel, r.TS)...)
	for _, msg := range all {
		if !msg.FromBot {
			continue
		}
		raw := msg.Text
		for _, b := range msg.Blocks {
			raw += fmt.Sprint(b)
		}
		for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<https://evil", "<@U0STAFF>"} {
			if strings.Contains(raw, bad) {
				t.Errorf("a bot post carries %q live: %.300s", bad, raw)
			}
		}
	}
}

// A member whose app is in English chose Spanish and subscribed (their
// announcements come in Spanish). After a quiet spell longer than the
// session's life (FORM_TTL), the bot still speaks to them in Spanish.
func TestProbeChosenLanguageOutlivesIdleSession(t *testing.T) {
	// Fixed (was PROBE FAIL, FORM_TTL=2s standing in for the default 14
	// days: after the quiet spell the bot wrote "What would you like to
	// do?"). With no session, newTurn now takes the subscription's language
	// after the sign-up's, before the app's.
	e := newEnv(t)
	e.vars["FORM_TTL"] = "2s"
	e.startReady()
	rdb, prefix := e.redisOf()
	m := e.member(8908, "Tere", "en")
	m.say("/start", "BRIDGE Institutes")
	m.press("Español", "en español")
	m.say("/suscribir", "anuncios")
	testkit.Eventually(t, 3*wait, "the idle session expired", func() bool {
		return rdb.Exists(context.Background(), prefix+"session:8908").Val() == 0
	})
	if rdb.ZScore(context.Background(), prefix+"subs", "8908").Err() != nil {
		t.Fatal("the subscription went with the session")
	}
	got := m.say("/menu", "") // the next message, whatever it says
	if !strings.Contains(got.PlainText, "¿Qué te gustaría hacer?") && !strings.Contains(got.PlainText, "Hola") {
		t.Errorf("after the quiet spell the bot wrote: %.200q", got.PlainText)
	}
}

// Double taps: Confirm on the review, "Send it to the team" and "Yes,
// delete everything" pressed twice before the bot answers the first do
// their work once, and the second press is answered.
func TestProbeDoubleTaps(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.startDesk(sl)
	rdb, prefix := e.redisOf()
	m := e.member(918271101, "Doble", "es")
	m.say("/start", "Institutos BRIDGE")
	signUp(m, "Doble Toque", "Red Doble", "Mexicali", "doble@toque.org", "Dos veces")
	double := func(label string) {
		t.Helper()
		msgID, data := m.button(label)
		a := e.tg.PressButton(m.u, msgID, data)
		b := e.tg.PressButton(m.u, msgID, data)
		e.tg.WaitCallbackAnswer(t, a, wait)
		e.tg.WaitCallbackAnswer(t, b, wait)
	}
	double("Confirmar")
	m.expect(0, "Recibimos tu interés")
	sl.WaitMessage(t, signupsChannel, wait, func(msg slacktest.Message) bool { return strings.Contains(msg.AllText(), "Doble Toque") })
	m.say("¿Hay estacionamiento-doble para bicicletas en la sede?", "equipo")
	double("equipo")
	m.expect(0, "Enviado al equipo")
	// the question reaches Slack before the erasure (an erasure first
	// cancels the queued post: no root at all, rightly)
	sl.WaitMessage(t, questionsChannel, wait, func(msg slacktest.Message) bool {
		return strings.Contains(msg.AllText(), "estacionamiento-doble")
	})
	m.say("/borrar", "¿Borrar todo")
	double("Sí, borrar todo")
	m.expect(0, "Borramos todo")
	waitDrained(t, rdb, prefix)
	if n := m.received("Recibimos tu interés"); n != 1 {
		t.Errorf("confirmed %d times", n)
	}
	if n := m.received("Borramos todo"); n != 1 {
		t.Errorf("erased %d times", n)
	}
	posts := 0
	for _, msg := range sl.Messages(signupsChannel) {
		if strings.Contains(msg.AllText(), "New sign-up") || strings.Contains(msg.AllText(), "erased their data") {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("%d sign-up posts", posts)
	}
	roots := 0
	for _, msg := range sl.Messages(questionsChannel) {
		if msg.FromBot && !msg.IsReply() {
			roots++
		}
	}
	if roots != 1 {
		t.Errorf("%d question roots", roots)
	}
}

// /cancelar mid-form: "nothing of that form is kept" holds in Redis too,
// looking inside sealed values.
func TestProbeCancelMidFormKeepsNothing(t *testing.T) {
	e, m := readyMember(t, 8909, "Cande")
	rdb, prefix := e.redisOf()
	m.press("Quiero participar", "¿Cómo te llamas?")
	m.say("Candelaria Cancelada", "¿Cuál de estas opciones")
	m.press("Organizador/a", "organización")
	m.say("Colectivo Cancelado", "ciudad o región")
	m.say("/cancelar", "¿Cancelar este formulario?")
	m.press("Sí, cancelar", "No se guardó nada")
	testkit.Eventually(t, wait, "turn log drained", func() bool {
		return rdb.Exists(context.Background(), prefix+"turns:index").Val() == 0
	})
	snap := snapshotOpened(t, rdb, prefix, e.ring())
	assertNoneOf(t, snap, "Candelaria Cancelada", "Colectivo Cancelado")
	if t.Failed() {
		t.Logf("snapshot:\n%s", strings.Join(snap, "\n"))
	}
}

// Staff answer again in the thread of a question answered longer ago than
// DESK_ANSWERED_RETENTION: the reply reaches the member or is marked as
// not delivered (README: every reply gets 📨 or ⚠️ with a note).
func TestProbeStaffReplyAfterRetentionIsNotSilent(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.vars["DESK_ANSWERED_RETENTION"] = "2s"
	e.startDesk(sl)
	rdb, prefix := e.redisOf()
	m := e.member(8910, "Reten", "es")
	m.say("/start", "Institutos BRIDGE")
	m.askTeam("¿Pregunta-retencion-probe?")
	r := root(t, sl, "Pregunta-retencion-probe")
	m.say("seguimiento-retencion", "Lo agregué")
	inThread(t, sl, r.TS, "seguimiento-retencion")
	sl.WaitAck(t, sl.SocketEvent(sl.ReactionAdded(questionsChannel, r.TS, staffUser, "white_check_mark")), wait)
	testkit.Eventually(t, 3*wait, "the answered question's thread mapping expired", func() bool {
		return rdb.Exists(context.Background(), prefix+"desk:thread:"+questionsChannel+":"+r.TS).Val() == 0
	})
	n := e.tg.MessageCount(m.u.ID)
	ev, replyTS := sl.StaffReply(questionsChannel, r.TS, staffUser, "respuesta-tardia-probe")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	testkit.Eventually(t, wait, "the late reply delivered or flagged", func() bool {
		if e.tg.MessageCount(m.u.ID) > n {
			return true
		}
		msg, _ := sl.Message(questionsChannel, replyTS)
		return msg.HasReaction("warning") || msg.HasReaction("incoming_envelope")
	})
}

// Telegram refuses the edit that clears the pressed keyboard (the member
// deleted that message, or it is too old to edit): the form still moves
// on and the next question arrives.
func TestProbeFailedKeyboardEditDoesNotBlockTheForm(t *testing.T) {
	e := newEnv(t)
	e.startReady()
	m := e.member(8911, "Edi", "en")
	m.say("/start", "BRIDGE Institutes")
	m.press("take part", "What is your name?")
	m.say("Edi Ted", "Which of these")
	e.tg.FailNext("editMessageReplyMarkup", 1, 400, "Bad Request: message to edit not found", 0)
	e.tg.FailNext("editMessageText", 1, 400, "Bad Request: message to edit not found", 0)
	m.press("Organizer", "organization")
	m.say("Red Edit", "In which city or region")
}

// Telegram refuses one reply for good (400): the refused reply is given
// up (not retried forever, not holding the member's later replies), and
// the member's next message is answered.
func TestProbeRefusedReplyDoesNotStickTheChat(t *testing.T) {
	e := newEnv(t)
	e.startReady()
	rdb, prefix := e.redisOf()
	m := e.member(8912, "Rech", "en")
	m.say("/start", "BRIDGE Institutes")
	e.tg.FailNext("sendMessage", 1, 400, "Bad Request: PEER_ID_INVALID", 0)
	e.tg.SendText(m.u, "/help")
	e.tg.WaitFor(t, wait, func() bool { return e.tg.Calls("sendMessage") >= 2 })
	m.say("/menu", "What would you like to do?")
	testkit.Eventually(t, wait, "turn log drained", func() bool {
		return rdb.Exists(context.Background(), prefix+"turns:index").Val() == 0
	})
}

// An organizer exported the sign-ups to their Slack DM (/bridge export);
// a member then erases their data. The bot's Slack posts about the member
// are replaced or removed (delete.confirm: "The bot's Slack posts about
// you are replaced with a note"), so the export file the bot posted,
// which holds their answers, must not keep them.
func TestProbeErasureReachesExportFileInSlack(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.vars["SLACK_ORGANIZERS"] = staffUser
	e.startDesk(sl)
	const chat = 918271201
	m := e.member(chat, "Exporta", "es")
	m.say("/start", "Institutos BRIDGE")
	signUp(m, "Exportada Borrable", "Red Exportada", "Tecate", "exportada@borrable.org", "Exportar")
	m.press("Confirmar", "Recibimos tu interés")
	sl.WaitAck(t, sl.SocketSlashCommand(sl.SlashCommand(questionsChannel, staffUser, "/bridge", "export")), wait)
	var export slacktest.Upload
	sl.WaitFor(t, wait, func() bool {
		for _, up := range sl.Uploads() {
			if up.Completed && strings.Contains(string(up.Data), "Exportada Borrable") {
				export = up
				return true
			}
		}
		return false
	})
	m.erase()
	rdb, prefix := e.redisOf()
	waitDrained(t, rdb, prefix)
	for deadline := time.After(wait); ; {
		deleted := false
		for _, id := range sl.DeletedFiles() {
			deleted = deleted || id == export.ID
		}
		if deleted {
			return
		}
		select {
		case <-sl.Changed():
		case <-deadline:
			t.Errorf("the export file %s (in %s) still holds the erased member's answers", export.ID, export.Channel)
			return
		}
	}
}

// A member asked twice, far enough apart that the second question started
// a new thread (DESK_QUIET_TIME); their erasure redacts both threads'
// posts, the older one included.
func TestProbeErasureReachesOlderThreads(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.vars["DESK_QUIET_TIME"] = "1s"
	e.startDesk(sl)
	rdb, prefix := e.redisOf()
	const chat = 918271301
	m := e.member(chat, "Dosveces", "es")
	m.say("/start", "Institutos BRIDGE")
	m.askTeam("¿Primera-pregunta-borrable?")
	r1 := root(t, sl, "Primera-pregunta-borrable")
	m.say("primer-seguimiento-borrable", "Lo agregué")
	f1 := inThread(t, sl, r1.TS, "primer-seguimiento-borrable")
	// Once the quiet time has passed, a new question starts a new thread.
	var r2 slacktest.Message
	try := 0
	testkit.Eventually(t, 3*wait, "a second thread", func() bool {
		try++
		q := fmt.Sprintf("¿Segunda-pregunta-borrable %d?", try)
		m.say("/menu", "¿Qué te gustaría hacer?")
		m.askTeam(q)
		sl.WaitFor(t, wait, func() bool {
			for _, msg := range sl.Messages(questionsChannel) {
				if msg.FromBot && strings.Contains(msg.AllText(), q) {
					return true
				}
			}
			return false
		})
		for _, msg := range sl.Messages(questionsChannel) {
			if msg.FromBot && !msg.IsReply() && strings.Contains(msg.AllText(), q) {
				r2 = msg
				return true
			}
		}
		return false
	})
	m.erase()
	waitDrained(t, rdb, prefix)
	for _, msg := range []slacktest.Message{r1, f1, r2} {
		sl.WaitFor(t, wait, func() bool {
			got, _ := sl.Message(msg.Channel, msg.TS)
			return !strings.Contains(got.AllText(), "borrable") && !strings.Contains(got.AllText(), "Dosveces")
		})
	}
	assertErased(t, e, chat, "Dosveces", "pregunta-borrable", "seguimiento-borrable")
}
