package bot_test

import (
	"context"
	"strings"
	"testing"

	"bridgebot/bot"
	"bridgebot/bot/telegram/tghtml"
)

// FuzzHandle feeds the engine whatever a member could send — text, a
// command with arguments, forged button data — one after another in one
// chat, so the fuzzer also explores the states earlier inputs lead to.
// Handling never fails or panics, and every message the bot sends is
// Telegram HTML that parses (a member's words are escaped).
func FuzzHandle(f *testing.F) {
	db := newTestRedis(f)
	var h *harness
	f.Add("hola", uint8(0))
	f.Add("start radio_juarez", uint8(1))
	f.Add("inscribirme", uint8(1))
	f.Add("f|p|organizer", uint8(2))
	f.Add("m|s", uint8(2))
	f.Add("¿es gratis? <b>", uint8(0))
	f.Add("a & b < c", uint8(0))
	f.Fuzz(func(t *testing.T, input string, kind uint8) {
		if len(input) > 600 {
			return
		}
		if h == nil {
			h = newHarnessWith(t, "es", db.store(), withDesk(&fakeDesk{}))
		}
		h.t = t
		u := h.update()
		switch kind % 3 {
		case 0:
			u.Text = input
		case 1:
			head, rest, _ := strings.Cut(input, " ")
			u.Text, u.Command, u.Args = "/"+input, strings.ToLower(head), rest
		case 2:
			u.Callback = &bot.Callback{ID: "cb", Data: input, MessageID: 7}
		}
		before := h.rec.count()
		if err := h.e.Handle(context.Background(), u); err != nil {
			t.Fatalf("handle %q (kind %d): %v", input, kind%3, err)
		}
		h.rec.mu.Lock()
		resps := append([]bot.Response(nil), h.rec.resps[before:]...)
		h.rec.mu.Unlock()
		for _, r := range resps {
			for _, m := range r.Messages {
				if err := tghtml.Validate(m.Text); err != nil && !strings.Contains(err.Error(), "long") {
					t.Fatalf("after %q the bot sent invalid HTML (%v):\n%s", input, err, m.Text)
				}
			}
		}
	})
}
