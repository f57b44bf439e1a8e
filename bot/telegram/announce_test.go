package telegram_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/telegram"
	"bridgebot/bot/telegram/telegramtest"
)

func newAnnouncer(t *testing.T, opts ...telegramtest.Option) (*telegramtest.Server, *telegram.Bot) {
	t.Helper()
	srv := telegramtest.New(t, opts...)
	b, err := telegram.New(context.Background(), telegram.Config{Token: srv.Token(), APIURL: srv.URL(), RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return srv, b
}

func TestSendAnnouncement(t *testing.T) {
	srv, b := newAnnouncer(t)
	ctx := context.Background()
	srv.AddChat(telegramtest.User{ID: 7})
	srv.AddChat(telegramtest.User{ID: 8})

	err := b.SendAnnouncement(ctx, 7, broadcast.Announcement{
		HTML:        "<b>Institute</b> opens &amp; <a href=\"https://example.org/x\">details</a>",
		ButtonLabel: "Sign up", ButtonURL: "https://example.org/signup",
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages(7)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.PlainText != "Institute opens & details" || m.ParseMode != "HTML" {
		t.Errorf("text %q parse mode %q", m.PlainText, m.ParseMode)
	}
	if len(m.Buttons) != 1 || len(m.Buttons[0]) != 1 || m.Buttons[0][0].Text != "Sign up" || m.Buttons[0][0].URL != "https://example.org/signup" {
		t.Errorf("buttons %+v", m.Buttons)
	}
	if got := m.Params.Get("link_preview_options"); got != `{"is_disabled":true}` {
		t.Errorf("link_preview_options = %q", got)
	}
	if m.Params.Has("allow_paid_broadcast") {
		t.Error("allow_paid_broadcast sent for a free broadcast")
	}

	if err := b.SendAnnouncement(ctx, 8, broadcast.Announcement{HTML: "paid", Paid: true}); err != nil {
		t.Fatal(err)
	}
	m = srv.Messages(8)[0]
	if m.Params.Get("allow_paid_broadcast") != "true" || m.Markup != "" {
		t.Errorf("paid message params %v, markup %q", m.Params, m.Markup)
	}
}

func TestSendAnnouncementErrors(t *testing.T) {
	srv, b := newAnnouncer(t)
	ctx := context.Background()
	for _, id := range []int64{1, 2, 3, 4} {
		srv.AddChat(telegramtest.User{ID: id})
	}
	srv.BlockChat(2)
	srv.DeactivateChat(3)
	a := broadcast.Announcement{HTML: "hello"}

	srv.FailNext("sendMessage", 1, 429, "Too Many Requests: retry after 3", 3)
	calls := srv.Calls("sendMessage")
	err := b.SendAnnouncement(ctx, 1, a)
	if after, ok := bot.RetryAfter(err); !ok || after != 3*time.Second {
		t.Errorf("429: got %v, want flood control for 3s", err)
	}
	if n := srv.Calls("sendMessage") - calls; n != 1 {
		t.Errorf("429: %d calls, want 1 (no retry inside)", n)
	}

	if err := b.SendAnnouncement(ctx, 2, a); !errors.Is(err, bot.ErrBlocked) {
		t.Errorf("blocked: got %v", err)
	}
	if err := b.SendAnnouncement(ctx, 3, a); !errors.Is(err, bot.ErrBlocked) {
		t.Errorf("deactivated: got %v", err)
	}
	if err := b.SendAnnouncement(ctx, 99, a); !errors.Is(err, bot.ErrChatNotFound) {
		t.Errorf("unknown chat: got %v", err)
	}
	if err := b.SendAnnouncement(ctx, 4, broadcast.Announcement{HTML: "<div>x</div>"}); !errors.Is(err, bot.ErrRejected) {
		t.Errorf("bad HTML: got %v", err)
	}

	srv.FailNext("sendMessage", 1, 502, "Bad Gateway", 0)
	calls = srv.Calls("sendMessage")
	err = b.SendAnnouncement(ctx, 4, a)
	if err == nil || errors.Is(err, bot.ErrBlocked) || errors.Is(err, bot.ErrRejected) || isRetryAfter(err) {
		t.Errorf("5xx: got %v, want a transient error", err)
	}
	if n := srv.Calls("sendMessage") - calls; n != 1 {
		t.Errorf("5xx: %d calls, want 1", n)
	}
	srv.DropNext("sendMessage", 1)
	if err := b.SendAnnouncement(ctx, 4, a); err == nil || errors.Is(err, bot.ErrRejected) {
		t.Errorf("dropped connection: got %v, want a transient error", err)
	}
	if got := srv.Accepted(4); got != 0 {
		t.Errorf("chat 4 got %d messages, want 0", got)
	}
}

func isRetryAfter(err error) bool {
	_, ok := bot.RetryAfter(err)
	return ok
}
