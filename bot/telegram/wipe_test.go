package telegram_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/internal/shipped"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/sealed"
	"bridgebot/bot/sentlog"
	"bridgebot/bot/telegram"
	"bridgebot/bot/telegram/telegramtest"
)

// /wipe deletes the bot's messages (recorded from the send path under a
// key that does not name the chat) and tells the member how to clear the
// rest; form steps, which can repeat a member's answers, are protected;
// /delete forgets the recorded IDs.
func TestWipeDeletesTheBotsMessages(t *testing.T) {
	srv := telegramtest.New(t)
	client, prefix := redistest.New(t)
	ring := sealed.Throwaway()
	sent := sentlog.New(client, prefix, ring)
	b, err := telegram.New(context.Background(), telegram.Config{Token: srv.Token(), APIURL: srv.URL(), RequestTimeout: 5 * time.Second, OnSent: sent.Add})
	if err != nil {
		t.Fatal(err)
	}
	fl, cat := shipped.Content(t)
	e, err := bot.NewEngine(bot.Config{Store: redisstore.New(client, redisstore.Options{Prefix: prefix, Keyring: ring}), Sender: b,
		Flows: fl, Locales: cat, BotUsername: b.Username(), Wiper: sentlog.Wiper{Log: sent, Deleter: b}, Erasers: []bot.Eraser{sent}})
	if err != nil {
		t.Fatal(err)
	}
	const chat = 5501
	srv.AddChat(telegramtest.User{ID: chat, FirstName: "Ana", LanguageCode: "en"})
	id := int64(9000)
	say := func(text string) {
		t.Helper()
		id++
		u := bot.Update{ID: id, ChatID: chat, ChatType: bot.ChatPrivate, From: bot.User{ID: chat, FirstName: "Ana", LanguageCode: "en"}, Text: text}
		if strings.HasPrefix(text, "/") {
			u.Command, u.Args, _ = strings.Cut(text[1:], " ")
		}
		if err := e.Handle(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	say("/start")
	say("/signup")
	before := srv.Messages(chat)
	if len(before) < 2 {
		t.Fatalf("%d messages before /wipe", len(before))
	}
	var protected bool
	for _, m := range before {
		if strings.Contains(m.PlainText, "What is your name?") {
			protected = m.Protected
		}
	}
	if !protected {
		t.Error("the form step was not sent with protect_content")
	}
	keys := client.Keys(context.Background(), prefix+"sent:*").Val()
	if len(keys) != 1 || strings.Contains(keys[0], "5501") {
		t.Fatalf("sent-message keys %v: want one, not named after the chat", keys)
	}
	if ttl := client.PTTL(context.Background(), keys[0]).Val(); ttl <= 0 || ttl > sentlog.Window {
		t.Errorf("sent-message key TTL %v, want at most 48h", ttl)
	}

	say("/wipe")
	for _, m := range before {
		got, _ := srv.Message(chat, m.MessageID)
		if !got.Deleted {
			t.Errorf("message %d (%q) not deleted", m.MessageID, m.PlainText)
		}
	}
	all := srv.Messages(chat)
	last := all[len(all)-1]
	if last.Deleted || !strings.Contains(last.PlainText, "Clear history") {
		t.Fatalf("no word on clearing the rest: %q", last.PlainText)
	}

	say("/delete")
	srv.WaitFor(t, 5*time.Second, func() bool {
		ms := srv.Messages(chat)
		return len(ms[len(ms)-1].Buttons) > 0
	})
	ms := srv.Messages(chat)
	yes := ""
	for _, row := range ms[len(ms)-1].Buttons {
		for _, btn := range row {
			if strings.Contains(btn.Text, "Yes") {
				yes = btn.CallbackData
			}
		}
	}
	id++
	if err := e.Handle(context.Background(), bot.Update{ID: id, ChatID: chat, ChatType: bot.ChatPrivate, From: bot.User{ID: chat, LanguageCode: "en"},
		Callback: &bot.Callback{ID: "q", Data: yes, MessageID: ms[len(ms)-1].MessageID}}); err != nil {
		t.Fatal(err)
	}
	// Nothing is recorded about the chat any more: not the IDs from
	// before, and not /delete's own confirmation, which is sent after the
	// erasure and would otherwise bring the key back for 48 hours.
	ms = srv.Messages(chat)
	if last := ms[len(ms)-1]; !strings.Contains(last.PlainText, "has been deleted") {
		t.Fatalf("no confirmation of the erasure: %q", last.PlainText)
	}
	if keys := client.Keys(context.Background(), prefix+"sent:*").Val(); len(keys) != 0 {
		t.Fatalf("sent-message keys after /delete: %v", keys)
	}
}
