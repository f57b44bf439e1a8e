package telegram_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"bridgebot/bot"
	"bridgebot/bot/telegram"
	"bridgebot/bot/telegram/telegramtest"
)

// sentMessage is what Telegram answers to sendMessage: the whole message
// back, keyboard included.
const sentMessage = `{"ok":true,"result":{"message_id":42,"from":{"id":123456,"is_bot":true,"first_name":"Bridge Test Bot","username":"bridge_test_bot"},"chat":{"id":5001,"first_name":"María","type":"private"},"date":1764979200,"text":"Which of these describes you best?","entities":[{"type":"bold","offset":0,"length":8}],"reply_markup":{"inline_keyboard":[[{"text":"Organizer","callback_data":"f|role|organizer"}],[{"text":"Popular educator","callback_data":"f|role|popular-educator"}],[{"text":"Community leader","callback_data":"f|role|community-leader"}],[{"text":"Other","callback_data":"f|role|other"}]]}}}`

// BenchmarkSendReply is the client side of one reply to a pressed
// button: answer the callback, clear the old keyboard, send the next
// question with its buttons, against a server that answers at once as
// Telegram does. It measures the bot's CPU and allocations per reply;
// the server's share is a constant.
func BenchmarkSendReply(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/getMe"):
			w.Write([]byte(`{"ok":true,"result":{"id":123456,"is_bot":true,"first_name":"Bridge Test Bot","username":"bridge_test_bot"}}`))
		case strings.HasSuffix(r.URL.Path, "/sendMessage"):
			w.Write([]byte(sentMessage))
		default:
			w.Write([]byte(`{"ok":true,"result":true}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	tg, err := telegram.New(ctx, telegram.Config{Token: "123456:TEST-token", APIURL: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	r := bot.Response{ChatID: 5001, CallbackID: "q1", ClearButtons: 41, Messages: []bot.Message{{
		Text: "<b>Which of these</b> describes you best?",
		Buttons: [][]bot.Button{
			{{Text: "Organizer", Data: "f|role|organizer"}}, {{Text: "Popular educator", Data: "f|role|popular-educator"}},
			{{Text: "Community leader", Data: "f|role|community-leader"}}, {{Text: "Other", Data: "f|role|other"}},
		},
	}}}
	b.ReportAllocs()
	for b.Loop() {
		if err := tg.Send(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendMessage is one question with its buttons sent to a member
// of the fake Telegram over the real wire protocol. The fake runs in this
// process, so time and allocations include its share (it keeps every
// request): compare runs of this benchmark, not absolutes.
func BenchmarkSendMessage(b *testing.B) {
	srv := telegramtest.New(b)
	srv.AddChat(telegramtest.User{ID: 5001, FirstName: "María"})
	ctx := context.Background()
	tg, err := telegram.New(ctx, telegram.Config{Token: srv.Token(), APIURL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	r := bot.Response{ChatID: 5001, Messages: []bot.Message{{
		Text: "<b>Which of these</b> describes you best?",
		Buttons: [][]bot.Button{
			{{Text: "Organizer", Data: "f|role|organizer"}}, {{Text: "Popular educator", Data: "f|role|popular-educator"}},
		},
	}}}
	b.ReportAllocs()
	for b.Loop() {
		if err := tg.Send(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}
