package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/redisstore"
)

// Flood control engages past the limit with one slow-down message, drops
// the rest of the minute, and releases in the next minute; its counter key
// does not name the member and expires on its own.
func TestFloodControlEngagesAndReleases(t *testing.T) {
	db := newTestRedis(t)
	var h *harness
	store := db.storeWith(redisstore.Options{Now: func() time.Time { return h.clock.Now() }})
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
