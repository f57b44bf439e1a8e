package broadcast_test

// The worker tests' environment: a fake Telegram, a real telegram.Bot on
// it, a broadcast store on a Redis key prefix of the test's own, and what
// the tests check on them.

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/telegram"
	"bridgebot/bot/telegram/telegramtest"
	"bridgebot/internal/testkit"
)

const wait = 20 * time.Second

// env is a fake Telegram, a real telegram.Bot on it, and a Redis under a
// key prefix of the test's own.
type env struct {
	t      *testing.T
	srv    *telegramtest.Server
	bot    *telegram.Bot
	rdb    *redis.Client
	prefix string
	store  *broadcast.Store
}

func newEnv(t *testing.T, opts ...telegramtest.Option) *env {
	t.Helper()
	srv := telegramtest.New(t, opts...)
	b, err := telegram.New(context.Background(), telegram.Config{
		Token: srv.Token(), APIURL: srv.URL(), RequestTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	store, rdb, prefix := newStore(t, broadcast.Options{})
	return &env{t: t, srv: srv, bot: b, rdb: rdb, prefix: prefix, store: store}
}

// client is a separate connection pool to the same Redis, so a worker can
// be "killed" by closing its own client.
func (e *env) client() *redis.Client {
	c := redis.NewClient(e.rdb.Options())
	e.t.Cleanup(func() { c.Close() })
	return c
}

// members subscribes n members from chat ID first on, known to Telegram.
func (e *env) members(first int64, n int, sub bot.Subscription) []int64 {
	e.t.Helper()
	ids := make([]int64, n)
	for i := range n {
		id := first + int64(i)
		ids[i] = id
		e.srv.AddChat(telegramtest.User{ID: id})
		s := sub
		s.ChatID = id
		if s.Lang == "" {
			s.Lang = "en"
		}
		if err := e.store.Subscribe(context.Background(), s); err != nil {
			e.t.Fatal(err)
		}
	}
	return ids
}

func (e *env) create(j broadcast.Job) broadcast.Job {
	e.t.Helper()
	if j.Texts == nil {
		j.Texts = map[string]string{"en": "Hello <b>members</b>", "es": "Hola <b>miembros</b>"}
	}
	j.CreatedBy = "test"
	j, err := e.store.Create(context.Background(), j)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func (e *env) opts(o broadcast.Options) broadcast.Options {
	o.Prefix = e.prefix
	if o.PollInterval == 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	if testing.Verbose() {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o
}

// worker runs a worker on client until stop is called (or the test ends).
func (e *env) worker(client *redis.Client, sender broadcast.Announcer, o broadcast.Options) (stop func()) {
	e.t.Helper()
	if client == nil {
		client = e.rdb
	}
	if sender == nil {
		sender = e.bot
	}
	w := broadcast.NewWorker(client, sender, e.opts(o))
	return testkit.Start(e.t, "worker", wait, w.Run)
}

func (e *env) waitStatus(id, status string) broadcast.Job {
	e.t.Helper()
	var j broadcast.Job
	testkit.Eventually(e.t, wait, "broadcast "+id+" "+status, func() bool {
		var err error
		j, err = e.store.Get(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		return j.Status == status
	})
	return j
}

// sends are the accepted sendMessage requests, in order.
func (e *env) sends() []telegramtest.Request {
	var out []telegramtest.Request
	for _, r := range e.srv.Requests() {
		if r.Method == "sendMessage" && r.Status == 200 {
			out = append(out, r)
		}
	}
	return out
}

// exactlyOnce checks every chat got exactly one message.
func (e *env) exactlyOnce(ids []int64) {
	e.t.Helper()
	for _, id := range ids {
		if n := e.srv.Accepted(id); n != 1 {
			e.t.Errorf("chat %d got %d messages, want 1", id, n)
		}
	}
}

// countingSender counts sends per worker and in flight.
type countingSender struct {
	next     broadcast.Announcer
	calls    atomic.Int64
	inflight atomic.Int64
}

func (c *countingSender) SendAnnouncement(ctx context.Context, chat int64, a broadcast.Announcement) error {
	c.calls.Add(1)
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	return c.next.SendAnnouncement(ctx, chat, a)
}

// underWay subscribes n members from chat first, starts a worker with o
// and a job to them all, and returns once Telegram accepted the job's
// first message: the broadcast is under way.
func (e *env) underWay(first int64, n int, o broadcast.Options) ([]int64, broadcast.Job) {
	e.t.Helper()
	ids := e.members(first, n, bot.Subscription{})
	e.worker(nil, nil, o)
	j := e.create(broadcast.Job{})
	e.accepted(1)
	return ids, j
}

// accepted waits until Telegram has accepted n messages in all.
func (e *env) accepted(n int) {
	e.t.Helper()
	e.srv.WaitFor(e.t, wait, func() bool { return e.srv.AcceptedTotal() >= n })
}

// interrupt waits until Telegram has accepted 10 messages, then stops job
// id with stop (Cancel, Pause); it returns how many were accepted then.
func (e *env) interrupt(id string, stop func(context.Context, string) error) int {
	e.t.Helper()
	e.accepted(10)
	if err := stop(context.Background(), id); err != nil {
		e.t.Fatal(err)
	}
	return e.srv.AcceptedTotal()
}

// textCountAll counts the messages containing s that the chats got.
func (e *env) textCountAll(chats []int64, s string) int {
	n := 0
	for _, chat := range chats {
		n += e.textCount(chat, s)
	}
	return n
}

// textCount counts the messages of a chat containing s.
func (e *env) textCount(chat int64, s string) int {
	n := 0
	for _, m := range e.srv.Messages(chat) {
		if strings.Contains(m.PlainText, s) {
			n++
		}
	}
	return n
}

// duplicates is how many messages the chats got beyond one each; a chat
// that got none fails the test.
func (e *env) duplicates(t *testing.T, ids []int64) int {
	t.Helper()
	dups := 0
	for _, id := range ids {
		switch n := e.srv.Accepted(id); {
		case n == 0:
			t.Errorf("chat %d missed", id)
		case n > 1:
			dups += n - 1
		}
	}
	return dups
}
