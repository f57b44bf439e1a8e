package main

import (
	"context"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/sealed"
	"bridgebot/bot/slack/slacktest"
	"bridgebot/internal/testkit"
)

const erasedNote = "erased their data on"

// assertErased checks that nothing about the member is left in Redis,
// looking inside sealed values with the bot's data key: no key named
// after their chat ID or its keyed hash (the MAC that names their
// sent-message record, flood counters and tombstone) except the tombstone
// itself, which holds only the erasure time; no value holding their chat
// ID as a number; none of their words anywhere (streams, dead letters,
// outbox payloads and the turn log included).
func assertErased(t *testing.T, e *env, chat int64, words ...string) {
	t.Helper()
	rdb, prefix := e.redisOf()
	ring := e.ring()
	snap := snapshotOpened(t, rdb, prefix, ring)
	id := regexp.MustCompile(`(^|[^0-9])` + strconv.FormatInt(chat, 10) + `([^0-9]|$)`)
	macs := ring.MACs(strconv.FormatInt(chat, 10))
	for _, line := range snap {
		if id.MatchString(line) {
			t.Errorf("the member's chat ID is still in Redis: %.300q", line)
		}
		key, content, _ := strings.Cut(line, " (")
		for _, mac := range macs {
			if !strings.Contains(key, mac) {
				continue
			}
			if key == prefix+"erased:"+mac && regexp.MustCompile(`^string\) → [0-9]+$`).MatchString(content) {
				continue // the tombstone: the erasure time, kept for queued work to check
			}
			t.Errorf("a key named after the member's chat is still in Redis: %.300q", line)
		}
	}
	assertNoneOf(t, snap, words...)
	if t.Failed() {
		t.Logf("snapshot (sealed values opened):\n%s", strings.Join(snap, "\n"))
	}
}

// ring is the data key the env's bot uses (BRIDGE_DATA_KEY, else its key
// file), to look inside what it sealed.
func (e *env) ring() *sealed.Keyring {
	e.t.Helper()
	c, err := loadConfig(e.getenv)
	if err != nil {
		e.t.Fatal(err)
	}
	ring, err := c.Keys.keyring(slog.New(slog.DiscardHandler), false)
	if err != nil {
		e.t.Fatal(err)
	}
	return ring
}

// waitDrained waits until both outboxes and the turn log (each member's
// recorded replies and effects) have nothing left to do.
func waitDrained(t *testing.T, rdb *redis.Client, prefix string) {
	t.Helper()
	// polled: the queues can drain with no change in Slack to wake a waiter
	testkit.Eventually(t, wait, "the queues drained", func() bool {
		if n, _ := rdb.Exists(context.Background(), prefix+"turns:index").Result(); n > 0 {
			return false
		}
		keys, _ := rdb.Keys(context.Background(), prefix+"outbox:*").Result()
		for _, k := range keys {
			if strings.HasSuffix(k, ":dead") {
				continue
			}
			if typ, _ := rdb.Type(context.Background(), k).Result(); typ == "stream" {
				if n, _ := rdb.XLen(context.Background(), k).Result(); n > 0 {
					return false
				}
			}
		}
		return true
	})
}

// erase runs /borrar and confirms it.
func (m *member) erase() {
	m.t.Helper()
	m.say("/borrar", "¿Borrar todo")
	m.press("Sí, borrar todo", "Borramos todo")
}

// deskMember starts the bot with the staff desk and has a
// Spanish-speaking member open the chat with /start.
func deskMember(t *testing.T, chat int64, name string) (*env, *slacktest.Server, *member) {
	t.Helper()
	e, sl := newDeskEnv(t)
	e.startDesk(sl)
	m := e.member(chat, name, "es")
	m.say("/start", "Institutos BRIDGE")
	return e, sl, m
}

// readyMember starts the bot without the staff desk and has a
// Spanish-speaking member open the chat with /start.
func readyMember(t *testing.T, chat int64, name string) (*env, *member) {
	t.Helper()
	e := newEnv(t)
	e.startReady()
	m := e.member(chat, name, "es")
	m.say("/start", "Institutos BRIDGE")
	return e, m
}

// askedInThread starts the bot with the staff desk and has a member ask
// the team (question holds marker) and add a follow-up, which lands in the
// thread: the bot has recorded the thread, so staff replies in it reach
// the member.
func askedInThread(t *testing.T, chat int64, name, question, marker, followUp string) (*env, *slacktest.Server, *member, slacktest.Message) {
	t.Helper()
	e, sl, m := deskMember(t, chat, name)
	m.askTeam(question)
	r := root(t, sl, marker)
	// the follow-up lands in the thread and the member is told: the chat
	// is quiet when the test goes on (a fault it sets then is for its own
	// step, not for this reply)
	m.say(followUp, "Lo agregué")
	inThread(t, sl, r.TS, followUp)
	return e, sl, m, r
}

// After /borrar nothing of the member is left in Redis, and the bot's
// Slack posts that carried their words (sign-up post, question root,
// follow-up, the file it uploaded) are redacted or deleted.
func TestErasureReachesEveryCopy(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.startDesk(sl)
	rdb, prefix := e.redisOf()
	const chat = 918273645
	m := e.member(chat, "Itzel", "es")
	m.u.Username = "itzel_borrable"
	words := []string{"Itzel", "itzel_borrable", "Itzel Cuautémoc", "Colectivo Borrable", "Zinacantán", "itzel@borrable.org",
		"Tejer redes", "pregunta-borrable", "seguimiento-borrable", "foto-borrable"}

	m.say("/start", "Institutos BRIDGE")
	signUp(m, "Itzel Cuautémoc", "Colectivo Borrable", "Zinacantán", "itzel@borrable.org", "Tejer redes")
	m.press("Confirmar", "Recibimos tu interés")
	post := sl.WaitMessage(t, signupsChannel, wait, func(msg slacktest.Message) bool { return strings.Contains(msg.AllText(), "Itzel Cuautémoc") })

	m.askTeam("¿Hay pregunta-borrable para mí?")
	r := root(t, sl, "pregunta-borrable")
	m.tg.SendText(m.u, "seguimiento-borrable")
	follow := inThread(t, sl, r.TS, "seguimiento-borrable")
	m.tg.SendPhoto(m.u, "foto-borrable")
	var upload slacktest.Upload
	sl.WaitFor(t, wait, func() bool {
		for _, up := range sl.Uploads() {
			if up.ThreadTS == r.TS && up.Completed {
				upload = up
				return true
			}
		}
		return false
	})
	n := e.tg.MessageCount(chat)
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "Claro, te esperamos.")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	m.expect(n, "te esperamos")
	// A dead letter that holds the member's words.
	sl.ErrorNext("chat.postMessage", 1, "msg_too_long")
	m.tg.SendText(m.u, "seguimiento-borrable perdido")
	testkit.Eventually(t, wait, "the dead letter", func() bool {
		n, _ := rdb.XLen(context.Background(), prefix+"outbox:slack:dead").Result()
		return n == 1
	})

	// The scan below looks inside sealed values: before the erasure it
	// finds the member's words there.
	if opened := strings.Join(snapshotOpened(t, rdb, prefix, e.ring()), "\n"); !strings.Contains(opened, "Tejer redes") ||
		!strings.Contains(opened, "seguimiento-borrable perdido") {
		t.Fatal("the opened snapshot does not show the member's sign-up and dead letter before the erasure")
	}

	m.erase()

	for _, msg := range []slacktest.Message{post, r, follow} {
		sl.WaitFor(t, wait, func() bool {
			got, _ := sl.Message(msg.Channel, msg.TS)
			return strings.Contains(got.AllText(), erasedNote)
		})
		got, _ := sl.Message(msg.Channel, msg.TS)
		for _, w := range words {
			if strings.Contains(got.AllText(), w) {
				t.Errorf("redacted post still shows %q: %s", w, got.AllText())
			}
		}
	}
	sl.WaitFor(t, wait, func() bool {
		for _, id := range sl.DeletedFiles() {
			if id == upload.ID {
				return true
			}
		}
		return false
	})
	waitDrained(t, rdb, prefix)
	assertErased(t, e, chat, words...)

	// Coming back afterwards is a fresh start, and works.
	m.say("/start", "Institutos BRIDGE")
}

// A staff reply still queued when the member erased their data is not
// delivered, staff are told in the thread, and nothing of it stays in
// Redis; the reply that was being sent at that moment (a file Telegram
// asked to wait for) arrives, but leaves no record behind.
func TestErasureDropsQueuedStaffReply(t *testing.T) {
	const chat = 918273646
	e, sl, m, r := askedInThread(t, chat, "Nayeli", "¿Puedo ir con mi hermana-borrable?", "hermana-borrable", "y mi prima-borrable")
	rdb, prefix := e.redisOf()

	// Telegram asks the bot to wait before it takes a staff file, so that
	// reply is in flight, and a text reply queues behind it.
	e.tg.FailNext("sendDocument", 1, 429, "Too Many Requests: retry after 5", 5)
	fileEv, _ := sl.StaffFileShare(questionsChannel, r.TS, staffUser, "", "mapa.pdf", []byte("%PDF-1.4 mapa"))
	sl.WaitAck(t, sl.SocketEvent(fileEv), wait)
	e.tg.WaitFor(t, wait, func() bool { return e.tg.Calls("sendDocument") >= 1 })
	ev, replyTS := sl.StaffReply(questionsChannel, r.TS, staffUser, "Respuesta-en-cola para tu hermana")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)

	m.erase()

	sl.WaitFor(t, wait, func() bool {
		for _, msg := range sl.Thread(questionsChannel, r.TS) {
			if msg.FromBot && strings.Contains(msg.Text, "Not delivered: this member erased their data") {
				return true
			}
		}
		return false
	})
	sl.WaitFor(t, wait, func() bool { msg, _ := sl.Message(questionsChannel, replyTS); return msg.HasReaction("warning") })
	e.tg.WaitFor(t, wait, func() bool { return e.tg.Calls("sendDocument") >= 2 }) // the one in flight
	waitDrained(t, rdb, prefix)
	for _, msg := range e.tg.Messages(chat) {
		if strings.Contains(msg.PlainText, "Respuesta-en-cola") {
			t.Fatalf("the queued reply reached the member after their erasure: %q", msg.PlainText)
		}
	}
	assertErased(t, e, chat, "Nayeli", "hermana-borrable", "prima-borrable", "Respuesta-en-cola")
}

// A sign-up post still queued (Slack down) when the member erased their
// data is never posted, and nothing of it stays in Redis.
func TestErasureDropsQueuedSignupPost(t *testing.T) {
	const chat = 918273647
	e, sl, m := deskMember(t, chat, "Citlali")
	rdb, prefix := e.redisOf()
	signUp(m, "Citlali Encolada", "Red Encolada", "Tepic", "citlali@encolada.org", "Semillas encoladas")
	sl.SetDown(true)
	m.press("Confirmar", "Recibimos tu interés")
	sl.WaitFor(t, wait, func() bool { return sl.Calls("chat.postMessage") >= 1 })

	m.erase()
	sl.SetDown(false)
	waitDrained(t, rdb, prefix)
	for _, msg := range sl.Messages(signupsChannel) {
		if strings.Contains(msg.AllText(), "Citlali") {
			t.Fatalf("a sign-up queued before the erasure was posted: %s", msg.AllText())
		}
	}
	assertErased(t, e, chat, "Citlali", "Encolada", "Tepic", "citlali@encolada.org", "Semillas encoladas")
}

// A question root that reached Slack while its answer was lost, with the
// member erasing their data before the bot found out, is redacted once
// Slack is back; nothing of it stays in Redis.
func TestErasureCleansUpRootInFlight(t *testing.T) {
	const chat = 918273648
	e, sl, m := deskMember(t, chat, "Yaretzi")
	rdb, prefix := e.redisOf()
	m.press("Preguntarle al equipo", "Escribe tu pregunta")

	// The root is stored by Slack but its answer is lost; then Slack is
	// down, so the bot cannot find out it was posted.
	sl.FailAfterNext("chat.postMessage", 1, 504)
	m.say("¿Raíz-en-vuelo llegará?", "Enviado al equipo")
	r := root(t, sl, "Raíz-en-vuelo")
	sl.SetDown(true)

	m.erase()
	sl.SetDown(false)
	sl.WaitFor(t, wait, func() bool {
		got, _ := sl.Message(questionsChannel, r.TS)
		return strings.Contains(got.AllText(), erasedNote)
	})
	waitDrained(t, rdb, prefix)
	for _, msg := range sl.Messages(questionsChannel) {
		if strings.Contains(msg.AllText(), "Raíz-en-vuelo") {
			t.Fatalf("a root with the member's words is still in Slack: %s", msg.AllText())
		}
	}
	assertErased(t, e, chat, "Yaretzi", "Raíz-en-vuelo")
}

// A question root whose post is in flight when the member erases their
// data (Slack has stored it; the bot has not had the answer yet) is
// redacted once it lands, and its thread is never recorded.
func TestErasureCleansUpRootThatLandsAfterIt(t *testing.T) {
	const chat = 918273649
	e, sl, m := deskMember(t, chat, "Mitl")
	rdb, prefix := e.redisOf()
	m.press("Preguntarle al equipo", "Escribe tu pregunta")

	release := sl.HoldNext("chat.postMessage")
	defer release()
	m.say("¿Raíz-aterrizando llegará?", "Enviado al equipo")
	r := root(t, sl, "Raíz-aterrizando")
	m.erase()
	release()

	sl.WaitFor(t, wait, func() bool {
		got, _ := sl.Message(questionsChannel, r.TS)
		return strings.Contains(got.AllText(), erasedNote)
	})
	waitDrained(t, rdb, prefix)
	assertErased(t, e, chat, "Mitl", "Raíz-aterrizando")
}

// A staff file in flight when the member erases their data (Telegram
// asked the bot to wait), which Telegram then refuses for good, does not
// become a dead letter that outlives the erasure: the member's dead
// letters are cleared again behind their in-flight work.
func TestErasureLeavesNoDeadLetterFromWorkInFlight(t *testing.T) {
	const chat = 918273650
	e, sl, m, r := askedInThread(t, chat, "Xochitl", "¿Puedo llevar a mi tía-en-vuelo?", "tía-en-vuelo", "y a mi tío-en-vuelo")
	rdb, prefix := e.redisOf()

	e.tg.FailNext("sendDocument", 1, 429, "Too Many Requests: retry after 3", 3)
	e.tg.FailNext("sendDocument", 1, 400, "Bad Request: wrong file identifier", 0)
	fileEv, _ := sl.StaffFileShare(questionsChannel, r.TS, staffUser, "", "permiso-en-vuelo.pdf", []byte("%PDF-1.4 permiso"))
	sl.WaitAck(t, sl.SocketEvent(fileEv), wait)
	e.tg.WaitFor(t, wait, func() bool { return e.tg.Calls("sendDocument") >= 1 })

	m.erase()
	e.tg.WaitFor(t, wait, func() bool { return e.tg.Calls("sendDocument") >= 2 }) // refused for good
	waitDrained(t, rdb, prefix)
	testkit.Eventually(t, wait, "no dead letter left", func() bool {
		n, _ := rdb.XLen(context.Background(), prefix+"outbox:telegram:dead").Result()
		return n == 0
	})
	assertErased(t, e, chat, "Xochitl", "tía-en-vuelo", "tío-en-vuelo", "permiso-en-vuelo")
}
