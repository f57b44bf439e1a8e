package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/outbox"
	"bridgebot/bot/slack"
	"bridgebot/bot/telegram"
)

// metrics is what `run` exports at /metrics, every name prefixed
// bridgebot_. Labels carry kinds, methods, codes and outcomes only: never
// a chat ID or anything a member wrote. Instrumentation stays at the
// edges (the dispatcher's handler, HTTP transports, the broadcast
// sender), so the engine knows nothing of it.
type metrics struct {
	reg *prometheus.Registry

	updates       *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	webhook       *prometheus.CounterVec
	telegramCalls *prometheus.CounterVec
	telegramErrs  *prometheus.CounterVec
	slackCalls    *prometheus.CounterVec
	slackErrs     *prometheus.CounterVec
	broadcasts    *prometheus.CounterVec
	broadcastRate *rateWindow // sent announcements, for the current rate
	redisTrips    prometheus.Counter
	redisErrs     prometheus.Counter
	answered      *prometheus.CounterVec // lang
	outboxRetries *prometheus.CounterVec // direction
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		updates: counterVec("bridgebot_updates_total",
			"Updates from members handled, by kind and outcome (ok, error, undecodable).",
			"kind", "outcome"),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bridgebot_update_duration_seconds",
			Help:    "Time to handle one update: load, decide, save, reply.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
		webhook: counterVec("bridgebot_webhook_requests_total",
			"Requests to the Telegram webhook, by HTTP status answered.",
			"code"),
		telegramCalls: counterVec("bridgebot_telegram_api_requests_total",
			"Telegram Bot API requests, by method.",
			"method"),
		telegramErrs: counterVec("bridgebot_telegram_api_errors_total",
			"Telegram Bot API requests that failed, by method and code (HTTP status/error_code, or network).",
			"method", "code"),
		slackCalls: counterVec("bridgebot_slack_api_requests_total",
			"Slack Web API requests, by method.",
			"method"),
		slackErrs: counterVec("bridgebot_slack_api_errors_total",
			"Slack Web API requests that failed, by method and code (Slack's error, HTTP status, or network).",
			"method", "code"),
		broadcasts: counterVec("bridgebot_broadcast_messages_total",
			"Broadcast sends by this replica, by outcome (sent, blocked, failed; rate_limited and error are retried).",
			"outcome"),
		redisTrips: prometheus.NewCounter(prometheus.CounterOpts{Name: "bridgebot_redis_round_trips_total", Help: "Round trips to Redis (a command or a pipeline each)."}),
		redisErrs:  prometheus.NewCounter(prometheus.CounterOpts{Name: "bridgebot_redis_errors_total", Help: "Redis round trips that failed."}),
	}
	for _, o := range []string{"sent", "blocked", "failed", "rate_limited", "error"} {
		m.broadcasts.WithLabelValues(o)
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "bridgebot_build_info",
		Help:        "Always 1; the labels say which build is running.",
		ConstLabels: buildLabels(),
	})
	build.Set(1)
	m.broadcastRate = newRateWindow(broadcastRateWindow, time.Now)
	rate := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bridgebot_broadcast_rate",
		Help: "Announcements this replica sent per second, averaged over the last 10 seconds.",
	}, m.broadcastRate.rate)
	m.answered = counterVec("bridgebot_questions_answered_total",
		"Members' questions staff marked answered, by the member's language.",
		"lang")
	m.outboxRetries = counterVec("bridgebot_outbox_retries_total",
		"Outbox deliveries that failed and will be tried again, by direction (slack: to staff, telegram: to members).",
		"direction")
	reg.MustRegister(m.updates, m.latency, m.webhook, m.telegramCalls, m.telegramErrs, m.slackCalls, m.slackErrs,
		m.broadcasts, rate, m.redisTrips, m.redisErrs, m.answered, m.outboxRetries, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// counterVec is a counter with labels.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func buildLabels() prometheus.Labels {
	l := prometheus.Labels{"version": "unknown", "revision": "unknown", "goversion": "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		l["goversion"] = bi.GoVersion
		if bi.Main.Version != "" {
			l["version"] = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				l["revision"] = s.Value
			}
		}
	}
	return l
}

// handler serves /metrics.
func (m *metrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), ErrorHandling: promhttp.ContinueOnError,
	})
}

// updateKind names what an update is, for labels.
func updateKind(u bot.Update) string {
	switch {
	case u.ChatType != "" && u.ChatType != bot.ChatPrivate:
		return "group"
	case u.Blocked != nil:
		return "member_status"
	case u.Callback != nil:
		return "callback"
	case u.Edited:
		return "edited"
	case u.Command != "":
		return "command"
	case u.Attachment != nil:
		return "attachment"
	}
	return "text"
}

// instrumented is the engine as the dispatcher sees it, counted and timed.
type instrumented struct {
	h bot.Handler
	m *metrics
}

func (i instrumented) Handle(ctx context.Context, u bot.Update) error {
	start := time.Now()
	err := i.h.Handle(ctx, u)
	kind := updateKind(u)
	i.m.latency.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	i.m.updates.WithLabelValues(kind, outcome).Inc()
	return err
}

// telegramObserver counts Bot API calls (telegram.Observer).
type telegramObserver struct{ m *metrics }

var _ telegram.Observer = telegramObserver{}

func (o telegramObserver) APICall(method string, status int) {
	o.m.telegramCalls.WithLabelValues(method).Inc()
	switch {
	case status == 0:
		o.m.telegramErrs.WithLabelValues(method, "network").Inc()
	case status >= 300:
		o.m.telegramErrs.WithLabelValues(method, strconv.Itoa(status)).Inc()
	}
}

func (o telegramObserver) UndecodableUpdate() {
	o.m.updates.WithLabelValues("unknown", "undecodable").Inc()
}

// countStatus counts a handler's answers by status.
func countStatus(h http.Handler, c *prometheus.CounterVec) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		c.WithLabelValues(strconv.Itoa(sw.status)).Inc()
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// slackTransport counts Slack Web API calls. Slack answers most errors
// with HTTP 200 and {"ok":false,"error":"channel_not_found"}, so the body
// is read (and handed on unchanged) to find the code.
type slackTransport struct {
	base http.RoundTripper
	m    *metrics
}

func (t slackTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	i := strings.LastIndex(r.URL.Path, "/api/")
	if i < 0 {
		return resp, err // file downloads and uploads to Slack's upload URLs
	}
	method := slackMethod(r.URL.Path[i+len("/api/"):])
	t.m.slackCalls.WithLabelValues(method).Inc()
	switch {
	case err != nil:
		t.m.slackErrs.WithLabelValues(method, "network").Inc()
		return resp, err
	case resp.StatusCode != http.StatusOK:
		t.m.slackErrs.WithLabelValues(method, strconv.Itoa(resp.StatusCode)).Inc()
		return resp, err
	case !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"):
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
		return resp, err
	}
	var head struct {
		OK    *bool  `json:"ok"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &head) == nil && head.OK != nil && !*head.OK {
		t.m.slackErrs.WithLabelValues(method, slackCode(head.Error)).Inc()
	}
	return resp, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// slackMethod and slackCode keep labels to Slack's own vocabulary
// (chat.postMessage, channel_not_found), bounded in length.
func slackMethod(s string) string {
	if s == "" || len(s) > 48 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.") != "" {
		return "other"
	}
	return s
}

func slackCode(s string) string {
	if s == "" || len(s) > 48 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return "other"
	}
	return s
}

// countingSender counts broadcast sends by outcome (broadcast.Announcer).
type countingSender struct {
	s broadcast.Announcer
	m *metrics
}

func (c countingSender) SendAnnouncement(ctx context.Context, chatID int64, a broadcast.Announcement) error {
	err := c.s.SendAnnouncement(ctx, chatID, a)
	_, limited := bot.RetryAfter(err)
	outcome := "sent"
	switch {
	case err == nil:
	case errors.Is(err, bot.ErrBlocked):
		outcome = "blocked"
	case errors.Is(err, bot.ErrChatNotFound), errors.Is(err, bot.ErrRejected):
		outcome = "failed"
	case limited:
		outcome = "rate_limited"
	default:
		outcome = "error"
	}
	c.m.broadcasts.WithLabelValues(outcome).Inc()
	if outcome == "sent" {
		c.m.broadcastRate.add()
	}
	return err
}

// broadcastRateWindow is how far back bridgebot_broadcast_rate looks:
// long enough to smooth the limiter's bursts, short enough to show a
// pause within seconds.
const broadcastRateWindow = 10 * time.Second

// rateWindow counts events in one-second buckets over a sliding window,
// so a gauge can say "per second, lately" without keeping every event.
type rateWindow struct {
	mu      sync.Mutex
	now     func() time.Time
	seconds int64   // the window's whole seconds
	buckets []int64 // events in second sec[i]; one more than seconds, for the second filling now
	sec     []int64 // the Unix second each bucket counts
}

func newRateWindow(window time.Duration, now func() time.Time) *rateWindow {
	n := int(window / time.Second)
	return &rateWindow{now: now, seconds: int64(n), buckets: make([]int64, n+1), sec: make([]int64, n+1)}
}

func (w *rateWindow) add() {
	s := w.now().Unix()
	i := int(s % int64(len(w.buckets)))
	w.mu.Lock()
	if w.sec[i] != s {
		w.sec[i], w.buckets[i] = s, 0
	}
	w.buckets[i]++
	w.mu.Unlock()
}

// rate is the events per second over the window's whole seconds before
// the current one (the current second is still filling).
func (w *rateWindow) rate() float64 {
	now := w.now().Unix()
	var sum int64
	w.mu.Lock()
	for i, s := range w.sec {
		if s < now && now-s <= w.seconds {
			sum += w.buckets[i]
		}
	}
	w.mu.Unlock()
	return float64(sum) / float64(w.seconds)
}

// deskObserver turns the staff desk's events into metrics (slack.Observer).
type deskObserver struct{ m *metrics }

var _ slack.Observer = deskObserver{}

func (o deskObserver) QuestionAnswered(lang string) { o.m.answered.WithLabelValues(lang).Inc() }
func (o deskObserver) OutboxRetry(direction string) {
	o.m.outboxRetries.WithLabelValues(direction).Inc()
}

// openQuestions reports the members whose question is open now.
func openQuestions(desk *slack.Desk, log *slog.Logger) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bridgebot_questions_open",
		Help: "Members' questions open now (not yet marked answered).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := desk.OpenQuestions(ctx)
		if err != nil {
			log.Debug("metrics: open questions", slog.Any("err", err))
			return math.NaN()
		}
		return float64(n)
	})
}

// redisHook counts round trips to Redis.
type redisHook struct{ m *metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.count(err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.count(err)
		return err
	}
}

func (h redisHook) count(err error) {
	h.m.redisTrips.Inc()
	// Not failures: a missing key, a lost optimistic-lock race (retried),
	// and EVALSHA of a script not loaded yet (go-redis loads it at once).
	if err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, redis.TxFailedErr) && !strings.HasPrefix(err.Error(), "NOSCRIPT") {
		h.m.redisErrs.Inc()
	}
}

// outboxCollector reports the desk's outboxes (to Slack, to members) at
// scrape time: entries waiting and dead letters, per direction.
type outboxCollector struct {
	boxes   map[string]*outbox.Outbox // by direction
	pending *prometheus.Desc
	dead    *prometheus.Desc
	log     *slog.Logger
}

func newOutboxCollector(client *redis.Client, prefix string, log *slog.Logger) *outboxCollector {
	boxes := map[string]*outbox.Outbox{}
	for _, name := range []string{"slack", "telegram"} {
		// The desk's names and defaults; Stats only reads.
		boxes[name] = outbox.New(client, outbox.Options{Prefix: prefix, Name: name, Logger: log})
	}
	return &outboxCollector{
		boxes: boxes, log: log,
		pending: prometheus.NewDesc("bridgebot_outbox_pending", "Messages waiting in the outbox, by direction (slack: to staff, telegram: to members).", []string{"direction"}, nil),
		dead:    prometheus.NewDesc("bridgebot_outbox_dead_letters", "Messages given up on, by direction.", []string{"direction"}, nil),
	}
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.dead
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for dir, box := range c.boxes {
		st, err := box.Stats(ctx)
		if err != nil {
			c.log.Debug("metrics: outbox stats", slog.String("direction", dir), slog.Any("err", err))
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(st.Pending), dir)
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(st.Dead), dir)
	}
}
