package main

import (
	"encoding/json"
	"strings"
	"testing"

	"bridgebot/bot/slack/slacktest"
	"bridgebot/bot/telegram/telegramtest"
)

const organizer = "U0ORGANIZER"

func TestSlackBroadcastFromModalToMembers(t *testing.T) {
	e, sl := newDeskEnv(t)
	sl.AddUser(organizer, "Sarah", "Sarah Cruz", "sarah@example.org")
	e.vars["SLACK_ORGANIZERS"] = organizer
	e.vars["BROADCAST_RATE"] = "30"
	e.start()
	sl.WaitSocketConnected(t, 1, wait)

	// Three subscribers in two languages; one blocks the bot later.
	es := e.member(8001, "Lupe", "es")
	en := e.member(8002, "Kim", "en")
	gone := e.member(8003, "Max", "en")
	es.say("/suscribir", "recibirás aquí los anuncios")
	en.say("/subscribe", "you'll receive announcements")
	gone.say("/subscribe", "you'll receive announcements")
	e.tg.BlockChat(gone.u.ID)

	// A staff member who is not an organizer is refused.
	ack := sl.WaitAck(t, sl.SocketSlashCommand(sl.SlashCommand(questionsChannel, staffUser, "/bridge", "broadcast")), wait)
	if !strings.Contains(string(ack.Payload), "only the organizers") {
		t.Fatalf("non-organizer: %s", ack.Payload)
	}
	if len(sl.Views()) != 0 {
		t.Fatal("a modal opened for a non-organizer")
	}

	// The organizer opens the modal and submits it.
	ack = sl.WaitAck(t, sl.SocketSlashCommand(sl.SlashCommand(questionsChannel, organizer, "/bridge", "broadcast")), wait)
	if v := sl.Views(); len(v) != 1 || v[0].CallbackID != "bridgebot_broadcast" {
		t.Fatalf("modal: %+v", v)
	}
	// A problem is shown next to its field; nothing is posted.
	bad := sl.SocketInteractive(sl.ViewSubmission(organizer, "bridgebot_broadcast", questionsChannel, slacktest.ViewValues{
		"en": {"en": "*Dates announced*"}, "es": {"es": ""}, "label_en": {"label_en": "Details"},
	}))
	if ack := sl.WaitAck(t, bad, wait); !strings.Contains(string(ack.Payload), `"response_action":"errors"`) || !strings.Contains(string(ack.Payload), "needs a URL") {
		t.Fatalf("a link button without its URL accepted: %s", ack.Payload)
	}
	// Organizers write with Slack's markup.
	sl.WaitAck(t, sl.SocketInteractive(sl.ViewSubmission(organizer, "bridgebot_broadcast", questionsChannel, slacktest.ViewValues{
		"en":       {"en": "*Dates announced!* The first institute meets in El Paso."},
		"es":       {"es": "*¡Ya hay fechas!* El primer instituto se reúne en El Paso."},
		"label_en": {"label_en": "Details"},
		"label_es": {"label_es": "Detalles"},
		"url":      {"url": json.RawMessage(`{"type":"url_text_input","value":"https://example.org/bridge"}`)},
	})), wait)
	preview := sl.WaitMessage(t, questionsChannel, wait, func(m slacktest.Message) bool {
		return strings.Contains(m.AllText(), "Broadcast preview")
	})
	for _, want := range []string{"Dates announced!", "¡Ya hay fechas!", "English version", "Spanish version", "recipients"} {
		if !strings.Contains(preview.AllText(), want) {
			t.Fatalf("preview lacks %q:\n%s", want, preview.AllText())
		}
	}
	if len(e.tg.Messages(es.u.ID)) > 1 {
		t.Fatal("something was sent before Send was pressed")
	}

	// Only an organizer may press Send.
	sendBtn, _, ok := preview.Action("bridgebot_bc_send")
	if !ok {
		t.Fatalf("no Send button: %s", preview.AllText())
	}
	sl.WaitAck(t, sl.SocketInteractive(sl.BlockAction(questionsChannel, preview.TS, staffUser, "bridgebot_bc_send", sendBtn.Value, "")), wait)
	sl.WaitEphemeral(t, questionsChannel, wait, func(ep slacktest.Ephemeral) bool { return strings.Contains(ep.Text, "only the organizers") })
	sl.WaitAck(t, sl.SocketInteractive(sl.BlockAction(questionsChannel, preview.TS, organizer, "bridgebot_bc_send", sendBtn.Value, "")), wait)

	got := e.tg.WaitMessage(t, es.u.ID, wait, func(m telegramtest.Message) bool { return strings.Contains(m.PlainText, "¡Ya hay fechas!") })
	if !strings.HasPrefix(got.Text, "<b>¡Ya hay fechas!</b> El primer") || got.ParseMode != "HTML" {
		t.Fatalf("Spanish announcement not in Telegram HTML: %q (%s)", got.Text, got.ParseMode)
	}
	if len(got.Buttons) != 1 || got.Buttons[0][0].Text != "Detalles" || got.Buttons[0][0].URL != "https://example.org/bridge" {
		t.Fatalf("Spanish announcement button: %+v", got.Buttons)
	}
	e.tg.WaitMessage(t, en.u.ID, wait, func(m telegramtest.Message) bool { return strings.Contains(m.PlainText, "Dates announced!") })

	// The preview turns into the final report, under the announcement,
	// naming the sender as a mention.
	var final slacktest.Message
	sl.WaitFor(t, wait, func() bool {
		final, _ = sl.Message(questionsChannel, preview.TS)
		return strings.Contains(final.AllText(), "Broadcast finished") && strings.Contains(final.AllText(), "sent 2") && strings.Contains(final.AllText(), "blocked 1")
	})
	for _, want := range []string{"By <@" + organizer + ">.", "Dates announced!", "¡Ya hay fechas!"} {
		if !strings.Contains(final.AllText(), want) {
			t.Fatalf("final report lacks %q:\n%s", want, final.AllText())
		}
	}
	// The member who blocked the bot is no longer subscribed.
	n := e.tg.MessageCount(gone.u.ID)
	e.tg.UnblockChat(gone.u.ID)
	gone.say("/menu", "What would you like to do?")
	if last := e.tg.Messages(gone.u.ID)[n]; !strings.Contains(last.String(), "Get announcements") {
		t.Fatalf("blocked member still subscribed: %s", last.String())
	}
}
