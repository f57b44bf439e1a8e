package telegram_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/telegram/telegramtest"
)

// One member under Telegram's flood control delays nobody else: their
// reply waits (recorded, in order) while another member is answered at
// once; then it arrives, each message once.
func TestOneChatUnderFloodControlDelaysNoOtherChat(t *testing.T) {
	srv := telegramtest.New(t, telegramtest.WithRateLimit(0, 1)) // one message a second per chat
	client, prefix := redistest.New(t)
	r := newReplica(t, srv, client, prefix)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.e.Recover(ctx)

	// two chats served by the same dispatcher worker (chat ID modulo 4)
	const flooded, other = 4401, 4405
	srv.AddChat(telegramtest.User{ID: flooded, FirstName: "Ana", LanguageCode: "en"})
	srv.AddChat(telegramtest.User{ID: other, FirstName: "Bea", LanguageCode: "en"})
	if got := post(t, r.url, secret, textUpdate(7000, flooded, "/start")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	// /signup answers with two messages within the second: they meet
	// flood control
	done := make(chan int, 1)
	go func() { done <- post(t, r.url, secret, textUpdate(7001, flooded, "/signup")) }()
	srv.WaitFor(t, 5*time.Second, func() bool { return srv.RateLimited() > 0 })
	start := time.Now()
	if got := post(t, r.url, secret, textUpdate(7002, other, "/start")); got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	srv.WaitMessage(t, other, 5*time.Second, func(m telegramtest.Message) bool { return strings.Contains(m.PlainText, "BRIDGE") })
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("the other member waited %v for their answer", d)
	}
	if got := <-done; got != http.StatusOK {
		t.Fatalf("status %d", got)
	}
	srv.WaitMessage(t, flooded, 10*time.Second, func(m telegramtest.Message) bool { return strings.Contains(m.PlainText, "What is your name?") })
	counts := map[string]int{}
	for _, m := range srv.Messages(flooded) {
		switch {
		case strings.Contains(m.PlainText, "What is your name?"):
			counts["question"]++
		case strings.Contains(m.PlainText, "A few questions"):
			counts["intro"]++
		}
	}
	if counts["question"] != 1 || counts["intro"] != 1 {
		t.Fatalf("flooded member got %v, want each message once", counts)
	}
	if srv.RateLimited() == 0 {
		t.Fatal("no flood control happened: the test proves nothing")
	}
}
