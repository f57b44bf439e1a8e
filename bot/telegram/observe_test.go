package telegram_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"bridgebot/bot/broadcast"
	"bridgebot/bot/telegram"
	"bridgebot/bot/telegram/telegramtest"
)

type calls struct {
	mu  sync.Mutex
	got []string
}

func (c *calls) APICall(method string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, fmt.Sprintf("%s %d", method, status))
}

func (c *calls) UndecodableUpdate() {}

func TestObserverSeesEveryCallWithoutTheToken(t *testing.T) {
	srv := telegramtest.New(t)
	obs := &calls{}
	b, err := telegram.New(context.Background(), telegram.Config{Token: srv.Token(), APIURL: srv.URL(), RequestTimeout: 5 * time.Second, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	srv.AddChat(telegramtest.User{ID: 7})
	if err := b.SendAnnouncement(context.Background(), 7, broadcast.Announcement{HTML: "hi"}); err != nil {
		t.Fatal(err)
	}
	srv.FailNext("sendMessage", 1, 403, "Forbidden: bot was blocked by the user", 0)
	_ = b.SendAnnouncement(context.Background(), 7, broadcast.Announcement{HTML: "hi"})
	srv.SetDown(true)
	_ = b.SendAnnouncement(context.Background(), 7, broadcast.Announcement{HTML: "hi"})
	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := "[getMe 200 sendMessage 200 sendMessage 403 sendMessage 502]"
	if got := fmt.Sprint(obs.got); got != want {
		t.Fatalf("observed %s, want %s", got, want)
	}
}
