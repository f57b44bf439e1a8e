package main

import (
	"maps"
	"net"
	"strings"
	"testing"
)

// freeAddr is a local address nothing listens on, for HTTP_ADDR when the
// test must know the port (Telegram's deliveries are routed to it).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// listenHTTP has run serve health and metrics on a free local address,
// and returns it.
func (e *env) listenHTTP() string {
	addr := freeAddr(e.t)
	e.vars["HTTP_ADDR"] = addr
	return addr
}

// webhookEnv is env in webhook mode: the fake Telegram delivers to the
// bot's HTTP_ADDR as a TLS-terminating reverse proxy would.
func webhookEnv(t *testing.T) *env {
	e := newEnv(t)
	addr := e.listenHTTP()
	e.vars["TELEGRAM_WEBHOOK_URL"] = "https://bridge.example.org/telegram/webhook"
	e.tg.RouteWebhook("http://" + addr)
	return e
}

func TestEndToEndWebhook(t *testing.T) {
	e := webhookEnv(t)
	m := e.member(7001, "Ana", "en")
	// Written while the bot was down: Telegram keeps it and delivers it
	// once the webhook is set.
	early := e.tg.SendText(m.u, "/start")
	stop := e.start()
	m.expect(0, "BRIDGE Institutes")
	e.tg.WaitAcknowledged(t, early, wait)

	hook := e.tg.Webhook()
	if hook.URL != "https://bridge.example.org/telegram/webhook" || len(hook.SecretToken) < 32 {
		t.Fatalf("webhook = %+v", hook)
	}
	if p := hook.Params; p.Get("drop_pending_updates") != "false" || p.Get("max_connections") != "40" ||
		!strings.Contains(p.Get("allowed_updates"), "callback_query") {
		t.Fatalf("setWebhook params = %v", p)
	}
	m.press("take part", "What is your name?")
	m.say("Ana Ruiz", "Which of these")
	if n := e.tg.Calls("getUpdates"); n != 0 {
		t.Fatalf("%d getUpdates calls in webhook mode", n)
	}
	for _, d := range e.tg.Deliveries() {
		if !d.OK() {
			t.Errorf("delivery refused: %+v", d)
		}
	}

	// A second replica on the same Redis uses the same generated secret,
	// so deliveries to either are accepted.
	e2 := &env{t: t, tg: e.tg, vars: maps.Clone(e.vars)}
	e2.vars["HTTP_ADDR"] = freeAddr(t)
	before := e.tg.Calls("setWebhook")
	e2.start()
	e.tg.WaitFor(t, wait, func() bool { return e.tg.Calls("setWebhook") > before })
	if got := e.tg.Webhook().SecretToken; got != hook.SecretToken {
		t.Fatalf("second replica registered another secret")
	}
	m.press("Organizer", "organization")
	stop()

	// Back to long polling: the webhook left behind is deleted.
	e3 := &env{t: t, tg: e.tg, vars: maps.Clone(e.vars)}
	delete(e3.vars, "TELEGRAM_WEBHOOK_URL")
	e3.vars["HTTP_ADDR"] = "127.0.0.1:0"
	e3.start()
	m.say("Red Fronteriza", "city or region")
	if w := e.tg.Webhook(); w.URL != "" {
		t.Fatalf("webhook still set in polling mode: %+v", w)
	}
}

func TestWebhookConfig(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		err  string
	}{
		{map[string]string{"TELEGRAM_WEBHOOK_URL": "http://bot.example.org/telegram/webhook"}, "HTTPS"},
		{map[string]string{"TELEGRAM_WEBHOOK_URL": "https://bot.example.org:8080/telegram/webhook"}, "ports 443, 80, 88 or 8443"},
		{map[string]string{"TELEGRAM_WEBHOOK_SECRET": "has spaces in it"}, "TELEGRAM_WEBHOOK_SECRET"},
		{map[string]string{"TELEGRAM_WEBHOOK_SECRET": strings.Repeat("a", 257)}, "TELEGRAM_WEBHOOK_SECRET"},
		{map[string]string{"TELEGRAM_WEBHOOK_MAX_CONNECTIONS": "101"}, "TELEGRAM_WEBHOOK_MAX_CONNECTIONS"},
		{map[string]string{"TELEGRAM_WEBHOOK_URL": "https://bot.example.org:8443/hook", "TELEGRAM_WEBHOOK_SECRET": "ok_Secret-1", "TELEGRAM_WEBHOOK_MAX_CONNECTIONS": "100"}, ""},
	} {
		_, err := loadConfig(func(k string) string { return tc.vars[k] })
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%v: err = %v, want %q", tc.vars, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "has spaces") {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}
