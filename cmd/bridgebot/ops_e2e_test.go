package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/telegram"
	"bridgebot/bot/telegram/telegramtest"
)

// get requests url and returns the status and body.
func get(t *testing.T, method, url string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, req)
}

// send sends req and returns the status and body.
func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadyzFollowsRedis(t *testing.T) {
	e := newEnv(t)
	m := miniredis.RunT(t) // this test stops and restarts its Redis
	e.vars["REDIS_URL"] = "redis://" + m.Addr()
	delete(e.vars, "REDIS_PREFIX")
	addr := e.listenHTTP()
	base := "http://" + addr
	e.start()
	e.tg.WaitFor(t, wait, e.tg.Polling) // polling starts once everything connected

	if code, body := get(t, "GET", base+"/readyz", nil); code != 200 || body != "ready\n" {
		t.Fatalf("readyz = %d %q", code, body)
	}
	m.Close()
	if code, body := get(t, "GET", base+"/readyz", nil); code != 503 || !strings.Contains(body, "redis: not answering") {
		t.Fatalf("readyz without redis = %d %q", code, body)
	}
	if code, _ := get(t, "GET", base+"/healthz", nil); code != 200 {
		t.Fatalf("healthz without redis = %d (the process is alive)", code)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	code, body := 0, ""
	for range 3 { // the first commands may meet the connections Redis closed
		if code, body = get(t, "GET", base+"/readyz", nil); code == 200 {
			break
		}
	}
	if code != 200 {
		t.Fatalf("readyz after redis is back = %d %q", code, body)
	}
}

func TestHTTPEndpointsRefuseBadInput(t *testing.T) {
	e := webhookEnv(t)
	e.vars["TELEGRAM_WEBHOOK_SECRET"] = "fixed_secret-for-this-test"
	base := "http://" + e.vars["HTTP_ADDR"]
	m := e.member(7101, "Lia", "en")
	e.start()
	m.say("/start", "BRIDGE Institutes")
	sent := e.tg.MessageCount(m.u.ID)

	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/healthz", 405}, {"DELETE", "/readyz", 405}, {"GET", telegram.WebhookPath, 405},
		{"PUT", telegram.WebhookPath, 405}, {"GET", "/nothing-here", 404},
	} {
		if code, _ := get(t, tc.method, base+tc.path, strings.NewReader("{}")); code != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, code, tc.want)
		}
	}
	update := fmt.Sprintf(`{"update_id":99001,"message":{"message_id":5,"from":{"id":%d,"is_bot":false,"first_name":"Lia"},`+
		`"chat":{"id":%d,"type":"private"},"date":1,"text":"/start","entities":[{"type":"bot_command","offset":0,"length":6}]}}`, m.u.ID, m.u.ID)
	deliver := func(secret, body string) int {
		t.Helper()
		req, err := http.NewRequest("POST", base+telegram.WebhookPath, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set(telegramtest.SecretHeader, secret)
		}
		code, _ := send(t, req)
		return code
	}
	for _, secret := range []string{"", "wrong", "fixed_secret", "fixed_secret-for-this-test2"} {
		if code := deliver(secret, update); code != 401 {
			t.Errorf("secret %q: %d, want 401", secret, code)
		}
	}
	if code := deliver("fixed_secret-for-this-test", strings.Repeat(" ", 2<<20)+update); code != 413 {
		t.Errorf("huge body: %d, want 413", code)
	}
	if code := deliver("fixed_secret-for-this-test", `{"update_id":99002,"message":`); code != 200 {
		t.Errorf("invalid JSON: %d, want 200", code)
	}
	if n := e.tg.MessageCount(m.u.ID); n != sent {
		t.Fatalf("refused requests had an effect: %d messages, had %d", n, sent)
	}
	// The same update with the right secret is handled.
	if code := deliver("fixed_secret-for-this-test", update); code != 200 {
		t.Fatalf("good delivery: %d", code)
	}
	m.expect(sent, "What would you like to do?")

	metricsShow(t, e.vars["HTTP_ADDR"], `bridgebot_webhook_requests_total{code="401"} 4`, `bridgebot_webhook_requests_total{code="413"} 1`,
		`bridgebot_webhook_requests_total{code="405"} 2`, `bridgebot_updates_total{kind="unknown",outcome="undecodable"} 1`)
}

func TestShutdownLosesNoAcknowledgedUpdate(t *testing.T) {
	e := webhookEnv(t)
	e.vars["SHUTDOWN_TIMEOUT"] = "5s"
	stop := e.start()
	first := e.member(7200, "Uno", "en")
	first.say("/start", "BRIDGE Institutes")

	// Thirty members write; every reply meets a 429 asking to wait a
	// second, so their deliveries are all in flight when the bot is told
	// to stop. Ten more write just as it stops.
	const n, late = 30, 10
	ids := make([]int, n+late)
	e.tg.FailNext("sendMessage", n, 429, "Too Many Requests: retry after 1", 1)
	for i := range n {
		ids[i] = e.tg.SendText(telegramtest.User{ID: int64(7201 + i), FirstName: "M", LanguageCode: "en"}, "/start")
	}
	e.tg.WaitFor(t, wait, func() bool { // every one of them is being handled
		chats := map[string]bool{}
		for _, r := range e.tg.Requests() {
			if r.Method == "sendMessage" {
				chats[r.Params.Get("chat_id")] = true
			}
		}
		return len(chats) >= n+1
	})
	for i := n; i < n+late; i++ {
		ids[i] = e.tg.SendText(telegramtest.User{ID: int64(7201 + i), FirstName: "M", LanguageCode: "en"}, "/start")
	}
	stop() // fails the test unless run returns nil (exit status 0)
	// The fake records an answer after receiving it: wait until every
	// delivery made before the stop has its outcome.
	e.tg.WaitFor(t, wait, func() bool { return e.tg.DeliveriesInFlight() == 0 })
	for _, id := range ids[:n] {
		if !e.tg.Acknowledged(id) {
			t.Errorf("update %d was in flight at the stop and not finished", id)
		}
	}

	welcomed := func(chat int64) int {
		c := 0
		for _, msg := range e.tg.Messages(chat) {
			if strings.Contains(msg.PlainText, "BRIDGE Institutes") {
				c++
			}
		}
		return c
	}
	acked := 0
	for i, id := range ids {
		if e.tg.Acknowledged(id) {
			acked++
			// handled: answered already, or its answer recorded with the
			// session (held back by the 429) for whoever runs next
			if got := welcomed(int64(7201 + i)); got > 1 {
				t.Errorf("update %d answered %d times", id, got)
			}
		}
	}
	t.Logf("%d of %d acknowledged before the stop", acked, len(ids))

	// What was not acknowledged is delivered again, to the next process,
	// which also delivers the answers the first one left recorded.
	e2 := &env{t: t, tg: e.tg, vars: e.vars}
	before := e.tg.Calls("setWebhook")
	e2.start()
	e.tg.WaitFor(t, wait, func() bool { return e.tg.Calls("setWebhook") > before })
	for i, id := range ids {
		e.tg.WaitAcknowledged(t, id, wait)
		e.tg.WaitFor(t, wait, func() bool { return welcomed(int64(7201+i)) > 0 })
	}
	for i := range ids {
		if got := welcomed(int64(7201 + i)); got != 1 {
			t.Errorf("member %d welcomed %d times", 7201+i, got)
		}
	}
}

func TestHTTPServerSettings(t *testing.T) {
	c, err := loadConfig(func(k string) string {
		return map[string]string{"HTTP_ADDR": "127.0.0.1:0", "SHUTDOWN_TIMEOUT": "3s"}[k]
	})
	if err != nil || c.ShutdownTimeout != 3*time.Second {
		t.Fatalf("config: %v %v", c.ShutdownTimeout, err)
	}
	if _, err := loadConfig(func(k string) string { return map[string]string{"SHUTDOWN_TIMEOUT": "soon"}[k] }); err == nil {
		t.Fatal("SHUTDOWN_TIMEOUT=soon accepted")
	}
	client, _ := redistest.New(t)
	hs, err := startHTTP(c, client, newMetrics(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer hs.close()
	s := hs.srv
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= c.UpdateTimeout || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Fatalf("timeouts: header %v read %v write %v idle %v", s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
	}
}
