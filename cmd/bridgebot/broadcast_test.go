package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/sealed"
	"bridgebot/bot/telegram"
	"bridgebot/bot/telegram/telegramtest"
	"bridgebot/internal/testkit"
)

// bcEnv is a Redis (REDIS_URL or a miniredis, under a prefix of its own),
// a fake Telegram and, when started, a broadcast worker: what `bridgebot
// run` provides to `bridgebot broadcast`.
type bcEnv struct {
	t     *testing.T
	tg    *telegramtest.Server
	rdb   *redis.Client
	store *broadcast.Store
	ring  *sealed.Keyring // the data key in vars, which the bot and the CLI share
	vars  map[string]string
	dir   string
}

func newBCEnv(t *testing.T) *bcEnv {
	t.Helper()
	rdb, prefix := redistest.New(t)
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://" + rdb.Options().Addr // the test's miniredis
	}
	key := sealed.GenerateKey()
	raw, _ := sealed.ParseKey(key)
	ring, err := sealed.NewKeyring(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &bcEnv{
		t: t, tg: telegramtest.New(t), rdb: rdb, ring: ring,
		store: broadcast.New(rdb, broadcast.Options{Prefix: prefix, Keyring: ring}),
		vars:  map[string]string{"REDIS_URL": url, "REDIS_PREFIX": prefix, "LOG_LEVEL": "warn", "BRIDGE_DATA_KEY": key},
		dir:   t.TempDir(),
	}
}

func (e *bcEnv) getenv(k string) string { return e.vars[k] }

// onlyJobID is the ID of the one broadcast created so far.
func (e *bcEnv) onlyJobID() string {
	e.t.Helper()
	jobs, err := e.store.List(context.Background(), 2)
	if err != nil || len(jobs) != 1 {
		e.t.Fatalf("want one broadcast, have %d: %v", len(jobs), err)
	}
	return jobs[0].ID
}

// startWorker runs the bot's broadcast worker until the test ends.
func (e *bcEnv) startWorker(rate float64) {
	e.t.Helper()
	tg, err := telegram.New(context.Background(), telegram.Config{Token: e.tg.Token(), APIURL: e.tg.URL()})
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := loadConfig(e.getenv)
	if err != nil {
		e.t.Fatal(err)
	}
	var ps configProblems
	c.Broadcast = loadBroadcastConfig(func(k string) string {
		return map[string]string{"BROADCAST_RATE": strconv.FormatFloat(rate, 'f', -1, 64)}[k]
	}, &ps)
	if err := ps.err(); err != nil {
		e.t.Fatal(err)
	}
	ct, err := mustContent(c, os.Stderr)
	if err != nil {
		e.t.Fatal(err)
	}
	opts := c.broadcastOptions(c.logger(os.Stderr), ct)
	opts.Keyring = e.ring
	w := broadcast.NewWorker(e.rdb, tg, opts)
	testkit.Go(e.t, func(ctx context.Context) { _ = w.Run(ctx) })
	testkit.Eventually(e.t, wait, "the worker's heartbeat", func() bool {
		ws, err := e.store.Workers(context.Background())
		return err == nil && len(ws) > 0
	})
}

func (e *bcEnv) members(first int64, n int, lang string) []int64 {
	e.t.Helper()
	var ids []int64
	for i := range n {
		id := first + int64(i)
		e.tg.AddChat(telegramtest.User{ID: id})
		if err := e.store.Subscribe(context.Background(), bot.Subscription{ChatID: id, Lang: lang}); err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func (e *bcEnv) file(name, text string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// bc runs `bridgebot broadcast args...` with stdin.
func (e *bcEnv) bc(ctx context.Context, stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errOut testkit.Buffer
	err = e.bcTo(ctx, stdin, &out, &errOut, args...)
	return out.String(), errOut.String(), err
}

// bcTo is bc writing to out and errOut as the command runs.
func (e *bcEnv) bcTo(ctx context.Context, stdin string, out, errOut *testkit.Buffer, args ...string) error {
	return run(ctx, append([]string{"broadcast"}, args...), e.getenv, strings.NewReader(stdin), out, errOut)
}

func TestBroadcastNeedsTheBotsRedis(t *testing.T) {
	e := newBCEnv(t)
	delete(e.vars, "REDIS_URL")
	_, _, err := e.bc(context.Background(), "", "list")
	if err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("got %v, want an error about REDIS_URL", err)
	}
}

func TestBroadcastSendPreviewConfirmFollow(t *testing.T) {
	e := newBCEnv(t)
	ctx := context.Background()
	en := e.members(100, 6, "en")
	es := e.members(200, 4, "es")
	e.startWorker(30)
	enFile := e.file("en.html", "<b>BRIDGE Institute</b> in El Paso &amp; online\n")
	esFile := e.file("es.html", "<b>Instituto BRIDGE</b> en El Paso y en línea\n")

	// No: nothing is queued.
	out, _, err := e.bc(ctx, "n\n", "send", "--en", enFile, "--es", esFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Audience: all subscribers", "English:", "6 members  get the English version",
		"4 members  get the Spanish version", "Recipients: 10; about 1s at 30 messages/s",
		"BRIDGE Institute in El Paso & online", "Instituto BRIDGE en El Paso y en línea", "Send to 10 members? [y/N] Not sent."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if jobs, _ := e.store.List(ctx, 10); len(jobs) != 0 {
		t.Fatalf("a declined broadcast was queued: %+v", jobs)
	}

	// Yes: queued, delivered, followed to the end.
	out, errOut, err := e.bc(ctx, "y\n", "send", "--en", enFile, "--es", esFile, "--button-url", "https://example.org/apply",
		"--button-label-en", "Apply", "--button-label-es", "Inscribirme")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	id := e.onlyJobID()
	for _, want := range []string{"Broadcast " + id + " is queued.", "Broadcast " + id + " is done: 10 sent, 0 blocked (unsubscribed), 0 failed, 0 skipped.", "[########################] 100% 10/10"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") {
		t.Errorf("carriage returns when stdout is not a terminal:\n%q", out)
	}
	for _, id := range en {
		if msgs := e.tg.Messages(id); len(msgs) != 1 || !strings.HasPrefix(msgs[0].PlainText, "BRIDGE Institute") || msgs[0].Buttons[0][0].Text != "Apply" {
			t.Errorf("chat %d: %v", id, msgs)
		}
	}
	for _, id := range es {
		if msgs := e.tg.Messages(id); len(msgs) != 1 || !strings.HasPrefix(msgs[0].PlainText, "Instituto BRIDGE") {
			t.Errorf("chat %d: %v", id, msgs)
		}
	}
	j, err := e.store.Get(ctx, id)
	if err != nil || !strings.HasPrefix(j.CreatedBy, "cli") || j.Texts["en"] != "<b>BRIDGE Institute</b> in El Paso &amp; online" {
		t.Errorf("audit %+v, %v", j, err)
	}
}

// The store's preview of a job, as the CLI prints it.
func TestPreview(t *testing.T) {
	rdb, prefix := redistest.New(t)
	s := broadcast.New(rdb, broadcast.Options{Prefix: prefix, Rate: 25})
	ctx := context.Background()
	for i := range 40 {
		_ = s.Subscribe(ctx, bot.Subscription{ChatID: int64(i + 1), Lang: "en", Areas: []string{"labor"}})
	}
	for i := range 10 {
		_ = s.Subscribe(ctx, bot.Subscription{ChatID: int64(i + 100), Lang: "es", Areas: []string{"climate"}})
	}
	j := broadcast.Job{Texts: map[string]string{"en": "<b>Apply</b> by Friday"}, ButtonURL: "https://example.org", ButtonLabel: map[string]string{"en": "Apply"}}
	p, err := s.Preview(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	if p.Recipients != 40 || p.Skipped != 10 || p.Duration != 1600*time.Millisecond {
		t.Errorf("preview %+v", p)
	}
	out := renderPreview(p)
	for _, want := range []string{"Audience: all subscribers", "English:     40 members  get the English version",
		"Spanish:     10 members  get nothing", "Recipients: 40 (10 skipped); about 2s at 25 messages/s",
		"Apply by Friday", "[ Apply ] → https://example.org"} {
		if !strings.Contains(out, want) {
			t.Errorf("preview lacks %q:\n%s", want, out)
		}
	}
	j.Fallback = true
	j.Audience = broadcast.Audience{Areas: []string{"climate"}}
	p, err = s.Preview(ctx, j)
	if err != nil || p.Recipients != 10 || p.Groups[1].Gets != "en" {
		t.Errorf("fallback preview %+v, %v", p, err)
	}
	if !strings.Contains(renderPreview(p), "get the English version (fallback") {
		t.Errorf("fallback preview:\n%s", renderPreview(p))
	}
}

func TestBroadcastRejectsInvalidTexts(t *testing.T) {
	e := newBCEnv(t)
	e.members(1, 2, "en")
	bad := e.file("bad.html", "Hello\n<b>unclosed and <div>x</div>")
	_, errOut, err := e.bc(context.Background(), "", "send", "--en", bad, "--yes", "--button-url", "ftp://x")
	if err == nil {
		t.Fatal("an invalid broadcast was accepted")
	}
	for _, want := range []string{"nothing was sent", "English text: line 2, column 17: <div> is not supported by Telegram", "the button needs a label"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	_, _, err = e.bc(context.Background(), "", "send", "--en", bad, "--audience", "region=north")
	if err == nil || !strings.Contains(err.Error(), `unknown key "region"`) {
		t.Errorf("bad audience: %v", err)
	}
	if jobs, _ := e.store.List(context.Background(), 10); len(jobs) != 0 {
		t.Errorf("invalid broadcasts were stored: %+v", jobs)
	}
}

func TestBroadcastWithoutBotSaysSo(t *testing.T) {
	e := newBCEnv(t)
	e.members(1, 3, "es")
	f := e.file("es.html", "Hola")
	out, _, err := e.bc(context.Background(), "", "send", "--es", f, "--yes")
	if err != nil {
		t.Fatal(err)
	}
	id := e.onlyJobID()
	if !strings.Contains(out, noBotRunning) || !strings.Contains(out, "Broadcast "+id+" is queued.") {
		t.Errorf("output:\n%s", out)
	}
	// The bot starts later and delivers it.
	e.startWorker(25)
	testkit.Eventually(e.t, wait, "the broadcast to be done", func() bool {
		j, _ := e.store.Get(context.Background(), id)
		return j.Status == broadcast.StatusDone && j.Counts.Sent == 3
	})
}

func TestBroadcastListStatusPauseResumeCancel(t *testing.T) {
	e := newBCEnv(t)
	ctx := context.Background()
	e.members(1, 2, "en")
	f := e.file("en.html", "Later")
	at := time.Now().Add(48 * time.Hour).Format("2006-01-02 15:04")
	out, _, err := e.bc(ctx, "", "send", "--en", f, "--at", at, "--yes", "--audience", "lang=en")
	id := e.onlyJobID()
	if err != nil || !strings.Contains(out, "Broadcast "+id+" is scheduled for") {
		t.Fatalf("%v\n%s", err, out)
	}
	out, _, err = e.bc(ctx, "", "list")
	if err != nil || !regexp.MustCompile(`(?m)^ID +STATUS`).MatchString(out) || !strings.Contains(out, "scheduled") || !strings.Contains(out, "lang=en") {
		t.Errorf("list: %v\n%s", err, out)
	}
	for _, step := range []struct{ args, want string }{
		{"status 1", "Broadcast 1: scheduled"},
		{"pause 1", "Broadcast 1 is paused (0 of 2 done)"},
		{"status 1", "Broadcast 1: paused"},
		{"resume 1", "Broadcast 1 is scheduled again."},
		{"cancel 1", "Broadcast 1 is cancelled: nothing more will be sent (0 of 2 were sent)."},
		{"status 1 --follow", "progress  [........................]   0% 0/2  sent 0  blocked 0  failed 0  cancelled"},
	} {
		step.args, step.want = strings.ReplaceAll(step.args, "1", id), strings.ReplaceAll(step.want, "Broadcast 1", "Broadcast "+id)
		out, errOut, err := e.bc(ctx, "", strings.Fields(step.args)...)
		if err != nil || !strings.Contains(out, step.want) {
			t.Errorf("%s: %v %s\n%s", step.args, err, errOut, out)
		}
	}
	if _, _, err := e.bc(ctx, "", "resume", id); err == nil || !strings.Contains(err.Error(), "cancelled, it cannot be resumed") {
		t.Errorf("resume a cancelled one: %v", err)
	}
	if _, _, err := e.bc(ctx, "", "status", "42"); err == nil || !strings.Contains(err.Error(), "there is no broadcast 42") {
		t.Errorf("status of a missing one: %v", err)
	}
	if _, _, err := e.bc(ctx, "", "pause"); !errors.Is(err, errUsage) {
		t.Errorf("pause without ID: %v", err)
	}
	if _, _, err := e.bc(ctx, "", "send", "--en", f, "--at", "2001-01-01 10:00"); err == nil || !strings.Contains(err.Error(), "in the past") {
		t.Errorf("--at in the past: %v", err)
	}
}

func TestBroadcastCtrlCStopsFollowingOnly(t *testing.T) {
	e := newBCEnv(t)
	e.members(1, 12, "en")
	e.startWorker(4)
	f := e.file("en.html", "slow")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut testkit.Buffer
	done := make(chan error, 1)
	go func() { done <- e.bcTo(ctx, "", &out, &errOut, "send", "--en", f, "--yes") }()
	testkit.Eventually(e.t, wait, "a progress line", func() bool { return strings.Contains(out.String(), "msg/s") })
	cancel() // Ctrl-C
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("following did not stop")
	}
	id := e.onlyJobID()
	if !strings.Contains(out.String(), "Stopped following. Broadcast "+id+" goes on in the bot") {
		t.Errorf("output:\n%s", out.String())
	}
	testkit.Eventually(e.t, wait, "the broadcast to finish without the CLI", func() bool {
		j, _ := e.store.Get(context.Background(), id)
		return j.Status == broadcast.StatusDone && j.Counts.Sent == 12
	})
}

func TestLoadBroadcastConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	loadBC := func(getenv func(string) string) (broadcastConfig, error) {
		var ps configProblems
		b := loadBroadcastConfig(getenv, &ps)
		return b, ps.err()
	}
	b, err := loadBC(env())
	if err != nil || b != (broadcastConfig{Rate: 25, PaidRate: 950}) || concurrency(b) != 8 {
		t.Errorf("defaults %+v, %v", b, err)
	}
	// paid broadcasts scale the default, but an explicit value is kept,
	// even one equal to the default (it used to be overridden)
	for _, tc := range []struct {
		env  []string
		want int
	}{
		{[]string{"BROADCAST_PAID", "true"}, 237},
		{[]string{"BROADCAST_PAID", "true", "BROADCAST_CONCURRENCY", "8"}, 8},
		{[]string{"BROADCAST_PAID", "true", "BROADCAST_CONCURRENCY", "50"}, 50},
		{[]string{"BROADCAST_CONCURRENCY", "8"}, 8},
	} {
		b, err := loadBC(env(tc.env...))
		if got := concurrency(b); err != nil || got != tc.want {
			t.Errorf("%v: concurrency %d, %v; want %d", tc.env, got, err, tc.want)
		}
	}
	b, err = loadBC(env("BROADCAST_RATE", "20", "BROADCAST_PAID", "true", "BROADCAST_PAID_RATE", "900", "BROADCAST_CONCURRENCY", "16"))
	if err != nil || b != (broadcastConfig{Rate: 20, Paid: true, PaidRate: 900, Concurrency: 16}) {
		t.Errorf("set %+v, %v", b, err)
	}
	for _, kv := range [][]string{{"BROADCAST_RATE", "31"}, {"BROADCAST_RATE", "x"}, {"BROADCAST_PAID", "sure"},
		{"BROADCAST_PAID_RATE", "2000"}, {"BROADCAST_CONCURRENCY", "0"}} {
		if _, err := loadBC(env(kv...)); err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%s: %v", kv[0], kv[1], err)
		}
	}
}

func TestParseAt(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.Local)
	got, err := parseAt("2026-12-01 18:00", now)
	if err != nil || !got.Equal(time.Date(2026, 12, 1, 18, 0, 0, 0, time.Local)) {
		t.Errorf("local: %v, %v", got, err)
	}
	got, err = parseAt("2026-12-01T18:00:00-07:00", now)
	if err != nil || got.Unix() != time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC).Unix() {
		t.Errorf("RFC 3339: %v, %v", got, err)
	}
	for _, bad := range []string{"tomorrow", "2026-13-01 10:00", "2026-10-01 10:00"} {
		if _, err := parseAt(bad, now); err == nil {
			t.Errorf("parseAt(%q) accepted", bad)
		}
	}
}
