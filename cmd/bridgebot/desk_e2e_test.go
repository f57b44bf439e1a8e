package main

import (
	"strings"
	"testing"

	"bridgebot/bot/slack/slacktest"
	"bridgebot/bot/telegram/telegramtest"
	"bridgebot/internal/testkit"
)

const (
	questionsChannel = "C0QUESTIONS"
	signupsChannel   = "C0SIGNUPS"
	staffUser        = "U0STAFF"
)

// newDeskEnv is an env with the staff desk on a fake Slack over Socket Mode.
func newDeskEnv(t *testing.T) (*env, *slacktest.Server) {
	t.Helper()
	e := newEnv(t)
	sl := slacktest.New(t)
	sl.AddChannel(questionsChannel, "bridge-questions")
	sl.AddChannel(signupsChannel, "bridge-signups")
	sl.AddUser(staffUser, "Alma", "Alma Maquitico", "alma@example.org")
	e.vars["SLACK_BOT_TOKEN"] = sl.BotToken()
	e.vars["SLACK_APP_TOKEN"] = sl.AppToken()
	e.vars["SLACK_API_URL"] = sl.APIURL()
	e.vars["SLACK_QUESTIONS_CHANNEL"] = questionsChannel
	e.vars["SLACK_SIGNUPS_CHANNEL"] = signupsChannel
	e.vars["SLACK_SHOW_STAFF_NAME"] = "true"
	e.vars["OUTBOX_MAX_BACKOFF"] = "300ms"
	return e, sl
}

// startDesk starts the bot (startReady) and waits until it is connected
// to the fake Slack of newDeskEnv.
func (e *env) startDesk(sl *slacktest.Server) {
	e.t.Helper()
	e.startReady()
	sl.WaitSocketConnected(e.t, 1, wait)
}

// askTeam has a Spanish-speaking member ask the team a question from the
// welcome's menu.
func (m *member) askTeam(question string) {
	m.t.Helper()
	m.press("Preguntarle al equipo", "Escribe tu pregunta")
	m.say(question, "Enviado al equipo")
}

// root waits for the thread root posted for a question containing text.
func root(t *testing.T, sl *slacktest.Server, text string) slacktest.Message {
	t.Helper()
	return sl.WaitMessage(t, questionsChannel, wait, func(m slacktest.Message) bool {
		return m.FromBot && !m.IsReply() && strings.Contains(m.AllText(), text)
	})
}

func inThread(t *testing.T, sl *slacktest.Server, rootTS, text string) slacktest.Message {
	t.Helper()
	var found slacktest.Message
	sl.WaitFor(t, wait, func() bool {
		for _, m := range sl.Thread(questionsChannel, rootTS) {
			if m.FromBot && strings.Contains(m.AllText(), text) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

func TestDeskQuestionReachesStaffAndAnswerReachesMember(t *testing.T) {
	e, sl := newDeskEnv(t)
	addr := e.listenHTTP()
	e.start()
	sl.WaitSocketConnected(t, 1, wait)
	m := e.member(7001, "Rosa", "es")
	m.u.Username = "rosa_ej"

	m.say("/start", "Institutos BRIDGE")
	m.askTeam("¿Puedo llevar a mi hija a las sesiones?")

	r := root(t, sl, "Puedo llevar a mi hija")
	for _, want := range []string{"Rosa", "@rosa_ej", "Español", "not signed up", "Mark answered"} {
		if !strings.Contains(r.AllText(), want) {
			t.Fatalf("root lacks %q:\n%s", want, r.AllText())
		}
	}

	// A follow-up text and a photo join the same thread.
	m.tg.SendText(m.u, "Tiene 8 años")
	inThread(t, sl, r.TS, "Tiene 8 años")
	m.tg.SendPhoto(m.u, "su dibujo")
	sl.WaitFor(t, wait, func() bool {
		for _, up := range sl.Uploads() {
			if up.ThreadTS == r.TS && len(up.Data) > 0 {
				return true
			}
		}
		return false
	})

	// Staff reply in the thread → the member gets it on Telegram.
	n := e.tg.MessageCount(m.u.ID)
	ev, replyTS := sl.StaffReply(questionsChannel, r.TS, staffUser, "¡Claro que sí! Habrá *cuidado infantil*.")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	got := m.expect(n, "Claro que sí")
	if !strings.Contains(got.PlainText, "Equipo BRIDGE (Alma)") || !strings.Contains(got.Text, "<b>cuidado infantil</b>") {
		t.Fatalf("relayed reply: %q", got.Text)
	}
	sl.WaitFor(t, wait, func() bool {
		msg, _ := sl.Message(questionsChannel, replyTS)
		return msg.HasReaction("incoming_envelope")
	})

	// The same event delivered again is relayed once.
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	// An internal note is never relayed; the bot's own message is ignored.
	note, noteTS := sl.StaffReply(questionsChannel, r.TS, staffUser, "note: ya le escribí por correo")
	sl.WaitAck(t, sl.SocketEvent(note), wait)
	sl.WaitAck(t, sl.SocketEvent(sl.OwnMessageEvent(questionsChannel, r.TS)), wait)
	sl.WaitFor(t, wait, func() bool {
		msg, _ := sl.Message(questionsChannel, noteTS)
		return msg.HasReaction("memo")
	})

	// Staff edit the relayed reply → the member's copy is edited.
	sl.WaitAck(t, sl.SocketEvent(sl.StaffEdit(questionsChannel, replyTS, staffUser, "¡Claro que sí! Habrá cuidado infantil gratuito.")), wait)
	e.tg.WaitMessage(t, m.u.ID, wait, func(msg telegramtest.Message) bool {
		return msg.Edited && strings.Contains(msg.PlainText, "gratuito")
	})
	count := 0
	for _, msg := range e.tg.Messages(m.u.ID) {
		if strings.Contains(msg.PlainText, "Claro que sí") {
			count++
		}
		if strings.Contains(msg.PlainText, "ya le escribí") {
			t.Fatal("an internal note reached the member")
		}
	}
	if count != 1 {
		t.Fatalf("reply relayed %d times", count)
	}

	// Mark answered → the root shows it; a new member message reopens it.
	sl.WaitAck(t, sl.SocketInteractive(sl.BlockAction(questionsChannel, r.TS, staffUser, "bridgebot_answered", "7001", "")), wait)
	sl.WaitFor(t, wait, func() bool {
		msg, _ := sl.Message(questionsChannel, r.TS)
		return strings.Contains(msg.AllText(), "Answered") && strings.Contains(msg.AllText(), "Reopen")
	})
	m.tg.SendText(m.u, "¡Gracias! Otra cosa: mi hija también quiere ir")
	inThread(t, sl, r.TS, "mi hija también quiere ir")
	sl.WaitFor(t, wait, func() bool {
		msg, _ := sl.Message(questionsChannel, r.TS)
		return strings.Contains(msg.AllText(), "Open") && strings.Contains(msg.AllText(), "Mark answered")
	})
	// ✅ on the root marks it answered too.
	sl.WaitAck(t, sl.SocketEvent(sl.ReactionAdded(questionsChannel, r.TS, staffUser, "white_check_mark")), wait)
	sl.WaitFor(t, wait, func() bool {
		msg, _ := sl.Message(questionsChannel, r.TS)
		return strings.Contains(msg.AllText(), "Answered")
	})
	// Operators see it: marked answered twice (button, then ✅ after the
	// member reopened it), nothing open now.
	metricsShow(t, addr, `bridgebot_questions_answered_total{lang="es"} 2`, "bridgebot_questions_open 0")

	// A member who blocked the bot: staff see why the reply failed.
	e.tg.BlockChat(m.u.ID)
	ev, failedTS := sl.StaffReply(questionsChannel, r.TS, staffUser, "¿Sigues ahí?")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	sl.WaitMessage(t, questionsChannel, wait, func(msg slacktest.Message) bool {
		return msg.FromBot && msg.ThreadTS == r.TS && strings.Contains(msg.Text, "Not delivered") && strings.Contains(msg.Text, "blocked the bot")
	})
	sl.WaitFor(t, wait, func() bool {
		msg, _ := sl.Message(questionsChannel, failedTS)
		return msg.HasReaction("warning")
	})
}

func TestDeskUnmatchedQuestionOfferAndSlackOutage(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.vars["SLACK_SHOW_STAFF_NAME"] = "false"
	addr := e.listenHTTP()
	e.start()
	sl.WaitSocketConnected(t, 1, wait)
	m := e.member(7002, "Joe", "en")
	m.say("/start", "BRIDGE Institutes")

	// Slack is down: the question is accepted and delivered later, in order.
	sl.SetDown(true)
	m.say("Is there parking for wheelchairs near the venue?", "Shall I send them your question")
	m.press("Send it to the team", "Sent to the team")
	m.tg.SendText(m.u, "second message")
	m.tg.SendText(m.u, "third message")
	sl.WaitFor(t, wait, func() bool { return sl.Calls("chat.postMessage")+sl.Calls("conversations.history") >= 2 }) // tried, failed, retried (a retry first looks for the root)
	sl.SetDown(false)
	r := root(t, sl, "parking for wheelchairs")
	inThread(t, sl, r.TS, "third message")
	var order []string
	for _, msg := range sl.Thread(questionsChannel, r.TS) {
		if msg.FromBot && msg.IsReply() {
			order = append(order, msg.Text)
		}
	}
	if len(order) != 2 || !strings.Contains(order[0], "second") || !strings.Contains(order[1], "third") {
		t.Fatalf("thread order: %q", order)
	}
	// The outage showed as retries towards Slack; the question is open.
	metricsShow(t, addr, `bridgebot_outbox_retries_total{direction="slack"}`, "bridgebot_questions_open 1")

	n := e.tg.MessageCount(m.u.ID)
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "Yes, there is.")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	got := m.expect(n, "Yes, there is.")
	if !strings.HasPrefix(got.PlainText, "BRIDGE team: ") {
		t.Fatalf("reply without the team prefix: %q", got.PlainText)
	}
}

func TestDeskSignupPostedAndStatsCommand(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.start()
	sl.WaitSocketConnected(t, 1, wait)
	m := e.member(7003, "Ana", "en")
	m.do(testkit.Signup{Lang: "en", Name: "Ana Lucía", Role: "Community leader", Organization: "Colectivo Frontera", Region: "Nogales",
		Border: true, Areas: []string{"Migration"}, Email: "ana@example.org"}.Steps()...)

	post := sl.WaitMessage(t, signupsChannel, wait, func(msg slacktest.Message) bool { return strings.Contains(msg.AllText(), "New sign-up") })
	for _, want := range []string{"Ana Lucía", "*Role:* Community leader", "Nogales", "Migration"} {
		if !strings.Contains(post.AllText(), want) {
			t.Fatalf("sign-up post lacks %q: %s", want, post.AllText())
		}
	}
	if strings.Contains(post.AllText(), "ana@example.org") {
		t.Fatal("contact details posted without being configured")
	}

	id := sl.SocketSlashCommand(sl.SlashCommand(questionsChannel, staffUser, "/bridge", "stats"))
	ack := sl.WaitAck(t, id, wait)
	if !strings.Contains(string(ack.Payload), "Sign-ups:* 1") || !strings.Contains(string(ack.Payload), "Community leader 1") {
		t.Fatalf("stats: %s", ack.Payload)
	}
	id = sl.SocketSlashCommand(sl.SlashCommand("C0RANDOM", staffUser, "/bridge", "stats"))
	if ack := sl.WaitAck(t, id, wait); !strings.Contains(string(ack.Payload), "only in the BRIDGE staff channels") {
		t.Fatalf("stats outside staff channels: %s", ack.Payload)
	}
}
