package console_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"bridgebot/bot"
	"bridgebot/bot/console"
	"bridgebot/bot/internal/shipped"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/redisstore/redistest"
)

// recorder hands updates to the engine and keeps them, to see what a
// typed line became.
type recorder struct {
	h  bot.Handler
	mu sync.Mutex
	us []bot.Update
}

func (r *recorder) Handle(ctx context.Context, u bot.Update) error {
	r.mu.Lock()
	r.us = append(r.us, u)
	r.mu.Unlock()
	return r.h.Handle(ctx, u)
}

// /wipe (/limpiar) in the console says, in the member's language, that
// the terminal's lines cannot be deleted and how to clear them; the
// buttons of earlier messages stop working, as on Telegram once the
// messages are gone.
func TestWipeInTheConsole(t *testing.T) {
	for _, tc := range []struct {
		lang, cmd string
		want      []string
	}{
		{"es", "/limpiar", []string{"no puedo borrar las líneas", "Ctrl+L", "/borrar"}},
		{"en", "/wipe", []string{"can't delete lines already printed", "Ctrl+L", "/delete"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			client, prefix := redistest.New(t)
			fl, cat := shipped.Content(t)
			var out bytes.Buffer
			con := console.New(&out, tc.lang)
			e, err := bot.NewEngine(bot.Config{Store: redisstore.New(client, redisstore.Options{Prefix: prefix}), Sender: con,
				Flows: fl, Locales: cat, BotUsername: "bridge_bot", Wiper: con})
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{h: e}
			// "1" before the wipe presses the first button of /start's
			// message; the same "1" after it is only text.
			in := strings.NewReader("1\n/cancel\n" + tc.cmd + "\n1\n/quit\n")
			if err := con.Run(context.Background(), in, rec); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("console output lacks %q:\n%s", w, text)
				}
			}
			if strings.Contains(text, "(error:") {
				t.Errorf("an update failed:\n%s", text)
			}
			us := rec.us
			if len(us) != 5 || us[1].Callback == nil || us[3].Command == "" {
				t.Fatalf("updates %+v", us)
			}
			if last := us[4]; last.Callback != nil || last.Text != "1" {
				t.Errorf("after /wipe, \"1\" still pressed an old button: %+v", last)
			}
		})
	}
}
