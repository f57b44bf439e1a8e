package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	slackapi "github.com/slack-go/slack"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/outbox"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/internal/testkit"
)

func TestMetricsAfterSignup(t *testing.T) {
	e := newEnv(t)
	addr := e.listenHTTP()
	e.start()
	m := e.member(7301, "Zoé Quiñones", "en")
	signup := testkit.Signup{Lang: "en", Name: "Zoé Quiñones", Role: "Organizer", Region: "Nogales, Sonora", Border: true,
		Areas: []string{"Workers"}}.Steps()

	e.tg.FailNext("sendMessage", 1, 429, "Too Many Requests: retry after 1", 1)
	m.do(signup[0]) // /start
	e.tg.PushRaw(`{"update_id": 999999, "message": {"message_id": "not a number"}}`)
	m.do(signup[1:]...)

	body := metricsShow(t, addr,
		`bridgebot_updates_total{kind="command",outcome="ok"} 1`,
		`bridgebot_updates_total{kind="callback",outcome="ok"}`,
		`bridgebot_updates_total{kind="text",outcome="ok"} 2`,
		`bridgebot_updates_total{kind="unknown",outcome="undecodable"} 1`,
		`bridgebot_update_duration_seconds_bucket{kind="callback",le="+Inf"}`,
		`bridgebot_update_duration_seconds_count{kind="text"} 2`,
		`bridgebot_telegram_api_requests_total{method="sendMessage"}`,
		`bridgebot_telegram_api_requests_total{method="getUpdates"}`,
		`bridgebot_telegram_api_errors_total{code="429",method="sendMessage"} 1`,
		`bridgebot_redis_round_trips_total `,
		`# TYPE bridgebot_redis_errors_total counter`,
		`bridgebot_broadcast_messages_total{outcome="sent"} 0`,
		`bridgebot_broadcast_messages_total{outcome="blocked"} 0`,
		`bridgebot_broadcast_messages_total{outcome="failed"} 0`,
		`bridgebot_build_info{goversion="go`,
		`# TYPE bridgebot_update_duration_seconds histogram`,
		`go_goroutines `,
	)
	// Names and labels only: a sample's value may contain any digits.
	var series strings.Builder
	for _, line := range strings.Split(body, "\n") {
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			series.WriteString(line[:i] + "\n")
		}
	}
	for _, never := range []string{"7301", "Zoé", "Quiñones", "Nogales", e.tg.Token()} {
		if strings.Contains(series.String(), never) || strings.Contains(body, never) && never != "7301" {
			t.Errorf("/metrics shows %q", never)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

// The form funnel, the FAQ and its feedback reach /metrics, labelled by
// flow, step, language and outcome only.
func TestEngineMetricsFunnelAndFAQ(t *testing.T) {
	e := newEnv(t)
	addr := e.listenHTTP()
	e.start()

	e.member(7401, "Ana", "en").do(englishSignup("Ana Ruiz")...)

	q := e.member(7402, "Bo", "en")
	q.say("/start", "BRIDGE Institutes")
	q.say("how much does it cost to attend?", "Did this answer your question?")
	q.press("Yes, thanks", "Glad it helped")

	c := e.member(7403, "Cy", "en")
	c.do(englishSignup("Cy")[:4]...) // at the organization question
	c.say("/cancel", "Cancel this form?")
	c.press("Yes, cancel", "Cancelled")

	body := metricsShow(t, addr,
		`bridgebot_form_started_total{flow="signup",lang="en"} 2`,
		`bridgebot_form_steps_answered_total{flow="signup",lang="en",step="name"} 2`,
		`bridgebot_form_steps_answered_total{flow="signup",lang="en",step="review"} 1`,
		`bridgebot_form_completed_total{flow="signup",lang="en"} 1`,
		`bridgebot_form_abandoned_total{flow="signup",lang="en",step="organization"} 1`,
		`bridgebot_faq_questions_total{lang="en",outcome="answered"} 1`,
		`bridgebot_faq_feedback_total{helpful="yes",lang="en"} 1`,
	)
	for _, never := range []string{"Ana Ruiz", "cost", "7401"} {
		if strings.Contains(body, never) {
			t.Errorf("/metrics shows %q", never)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

// metricsShow fails the test unless /metrics on addr contains every want,
// and returns what it showed.
func metricsShow(t *testing.T, addr string, want ...string) string {
	t.Helper()
	code, body := get(t, "GET", "http://"+addr+"/metrics", nil)
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	return body
}

func TestSlackAPIErrorsCounted(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch r.URL.Path {
		case "/api/chat.postMessage":
			io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
		case "/api/auth.test":
			io.WriteString(w, `{"ok":true,"user_id":"U1","bot_id":"B1"}`)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(api.Close)
	m := newMetrics()
	client := slackapi.New("xoxb-test", slackapi.OptionAPIURL(api.URL+"/api/"),
		slackapi.OptionHTTPClient(&http.Client{Transport: slackTransport{base: http.DefaultTransport, m: m}}))
	if _, _, err := client.PostMessage("C1", slackapi.MsgOptionText("hola", false)); err == nil || !strings.Contains(err.Error(), "channel_not_found") {
		t.Fatalf("PostMessage error = %v (the body must reach slack-go unchanged)", err)
	}
	if res, err := client.AuthTest(); err != nil || res.UserID != "U1" {
		t.Fatalf("auth.test = %+v, %v", res, err)
	}
	_, _ = client.GetUserInfo("U2")
	for _, c := range []struct {
		method, code string
		want         float64
	}{{"chat.postMessage", "channel_not_found", 1}, {"users.info", "500", 1}, {"auth.test", "other", 0}} {
		if got := testutil.ToFloat64(m.slackErrs.WithLabelValues(c.method, c.code)); got != c.want {
			t.Errorf("slack errors %s %s = %v, want %v", c.method, c.code, got, c.want)
		}
	}
	if got := testutil.ToFloat64(m.slackCalls.WithLabelValues("auth.test")); got != 1 {
		t.Errorf("auth.test calls = %v", got)
	}
}

type fakeAnnouncer struct{ errs []error }

func (f *fakeAnnouncer) SendAnnouncement(context.Context, int64, broadcast.Announcement) error {
	err := f.errs[0]
	f.errs = f.errs[1:]
	return err
}

func TestBroadcastOutcomesCounted(t *testing.T) {
	m := newMetrics()
	s := countingSender{&fakeAnnouncer{errs: []error{nil, nil, fmt.Errorf("x: %w", bot.ErrBlocked),
		bot.ErrChatNotFound, bot.ErrRejected, &bot.APIError{Code: 429, RetryAfter: time.Second}, errors.New("reset")}}, m}
	for range 7 {
		_ = s.SendAnnouncement(context.Background(), 1, broadcast.Announcement{})
	}
	for outcome, want := range map[string]float64{"sent": 2, "blocked": 1, "failed": 2, "rate_limited": 1, "error": 1} {
		if got := testutil.ToFloat64(m.broadcasts.WithLabelValues(outcome)); got != want {
			t.Errorf("%s = %v, want %v", outcome, got, want)
		}
	}
}

func TestOutboxMetrics(t *testing.T) {
	client, prefix := redistest.New(t)
	box := outbox.New(client, outbox.Options{Prefix: prefix, Name: "telegram"})
	for range 3 {
		if _, err := box.Enqueue(context.Background(), "member:1", "reply", []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	c := newOutboxCollector(client, prefix, slog.New(slog.DiscardHandler))
	want := `
# HELP bridgebot_outbox_pending Messages waiting in the outbox, by direction (slack: to staff, telegram: to members).
# TYPE bridgebot_outbox_pending gauge
bridgebot_outbox_pending{direction="slack"} 0
bridgebot_outbox_pending{direction="telegram"} 3
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "bridgebot_outbox_pending"); err != nil {
		t.Fatal(err)
	}
}

func TestRateWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	w := newRateWindow(10*time.Second, func() time.Time { return now })
	for range 25 {
		w.add()
	}
	if got := w.rate(); got != 0 {
		t.Errorf("rate within the first second = %v, want 0 (still filling)", got)
	}
	now = now.Add(time.Second)
	for range 25 {
		w.add()
	}
	if got := w.rate(); got != 2.5 {
		t.Errorf("rate after one full second of 25 = %v, want 2.5 (25 over the 10 s window)", got)
	}
	now = now.Add(time.Second)
	if got := w.rate(); got != 5 {
		t.Errorf("rate after two seconds of 25 = %v, want 5", got)
	}
	// A steady 25/s: the window holds ten full seconds while the current
	// one fills (its bucket must not evict the oldest counted second).
	for range 12 {
		now = now.Add(time.Second)
		for range 25 {
			w.add()
		}
	}
	if got := w.rate(); got != 25 {
		t.Errorf("rate at a steady 25/s = %v, want 25", got)
	}
	now = now.Add(11 * time.Second)
	if got := w.rate(); got != 0 {
		t.Errorf("rate after a pause longer than the window = %v, want 0", got)
	}
	w.add() // a bucket reused after wrapping around starts from zero
	now = now.Add(time.Second)
	if got := w.rate(); got != 0.1 {
		t.Errorf("rate after one send = %v, want 0.1", got)
	}
}
