package bot_test

// The harness drives one engine the way a member would, one update at a
// time, on a store of the test's own in Redis, with the shipped flows and
// texts and a clock that only moves when told. The helpers below are
// shared by the engine's tests in this package.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/flows"
	"bridgebot/flows/faq"
	"bridgebot/internal/testkit"
	"bridgebot/locales"
)

// recorder is a bot.Sender that keeps what the engine sent. It stands in
// for a transport only; end-to-end tests in cmd/bridgebot use the real
// Telegram client against a fake Bot API server.
type recorder struct {
	mu    sync.Mutex
	resps []bot.Response
	fail  error
}

func (r *recorder) Send(_ context.Context, resp bot.Response) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resps = append(r.resps, resp)
	return r.fail
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.resps)
}

func (r *recorder) last() bot.Response {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.resps) == 0 {
		return bot.Response{}
	}
	return r.resps[len(r.resps)-1]
}

type harness struct {
	t      *testing.T
	e      *bot.Engine
	store  *redisstore.Store
	rec    *recorder
	cat    *locales.Catalog
	chat   int64
	lang   string
	nextID int64
	clock  *testkit.Clock
}

func content(t testing.TB) (map[string]*flows.Flow, *locales.Catalog) { return testkit.Shipped(t) }

func newHarness(t *testing.T, lang string, opts ...func(*bot.Config)) *harness {
	return newHarnessWith(t, lang, newTestRedis(t).store(), opts...)
}

// testRedis is a test's own key space in Redis. Each store opened on it
// is another bot process on the same Redis: its own cache and owner ID,
// the same data.
type testRedis struct {
	client *redis.Client
	prefix string
}

func newTestRedis(t testing.TB) testRedis {
	client, prefix := redistest.New(t)
	return testRedis{client: client, prefix: prefix}
}

// newMiniRedis is a testRedis on a miniredis of the test's own, which the
// test can stop and restart.
func newMiniRedis(t testing.TB) (*miniredis.Miniredis, testRedis) {
	m, client, prefix := redistest.NewMini(t)
	return m, testRedis{client: client, prefix: prefix}
}

// store opens a store on the test's keys, as a (re)started process would.
func (r testRedis) store() *redisstore.Store {
	return redisstore.New(r.client, redisstore.Options{Prefix: r.prefix})
}

// storeClocked is store with its own clock (dating rate limits, index
// entries and turns).
func (r testRedis) storeClocked(now func() time.Time) *redisstore.Store {
	return redisstore.New(r.client, redisstore.Options{Prefix: r.prefix, Now: now})
}

// died makes the store's process dead for the others, as its liveness key
// expiring (OwnerTTL after its last save or heartbeat) would.
func (r testRedis) died(t *testing.T, st *redisstore.Store) {
	t.Helper()
	if err := r.client.Del(context.Background(), r.prefix+"turns:alive:"+st.Owner()).Err(); err != nil {
		t.Fatal(err)
	}
}

func newHarnessWith(t *testing.T, lang string, store *redisstore.Store, opts ...func(*bot.Config)) *harness {
	fl, cat := content(t)
	h := &harness{t: t, store: store, rec: &recorder{}, cat: cat, chat: 1001, lang: lang,
		clock: testkit.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))}
	fq, err := faq.Default()
	if err != nil {
		t.Fatal(err)
	}
	cfg := bot.Config{Store: store, Sender: h.rec, Flows: fl, Locales: cat, BotUsername: "bridge_test_bot", Now: h.clock.Now, FAQ: fq,
		MemberRateLimit: -1} // the clock stands still: flood control has its own test
	for _, opt := range opts {
		opt(&cfg)
	}
	e, err := bot.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	return h
}

func (h *harness) update() bot.Update {
	h.nextID++
	return bot.Update{ID: h.nextID, ChatID: h.chat, ChatType: bot.ChatPrivate, From: bot.User{ID: h.chat, FirstName: "Ana", LanguageCode: h.lang}}
}

func (h *harness) handle(u bot.Update) bot.Response {
	h.t.Helper()
	if err := h.e.Handle(context.Background(), u); err != nil {
		h.t.Fatalf("handle: %v", err)
	}
	return h.rec.last()
}

func (h *harness) say(text string) bot.Response {
	h.t.Helper()
	u := h.update()
	u.Text = text
	if strings.HasPrefix(text, "/") {
		head, rest, _ := strings.Cut(text[1:], " ")
		u.Command, u.Args = head, rest
	}
	return h.handle(u)
}

// press finds a button whose label contains label in the most recent
// response's messages and presses it.
func (h *harness) press(label string) bot.Response {
	h.t.Helper()
	b, msg := h.find(label)
	return h.pressData(b.Data, msg)
}

func (h *harness) pressData(data string, msgID int) bot.Response {
	h.t.Helper()
	u := h.update()
	u.Callback = &bot.Callback{ID: fmt.Sprint("cb", u.ID), Data: data, MessageID: msgID}
	return h.handle(u)
}

func (h *harness) find(label string) (bot.Button, int) {
	h.t.Helper()
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	for i := len(h.rec.resps) - 1; i >= 0; i-- {
		for j, m := range h.rec.resps[i].Messages {
			for _, row := range m.Buttons {
				for _, b := range row {
					if strings.Contains(b.Text, label) {
						return b, 100*i + j + 1
					}
				}
			}
			if len(m.Buttons) > 0 {
				h.t.Fatalf("no button %q in the latest keyboard: %s", label, buttons(m))
			}
		}
	}
	h.t.Fatalf("no button %q anywhere", label)
	return bot.Button{}, 0
}

func buttons(m bot.Message) string {
	var s []string
	for _, row := range m.Buttons {
		for _, b := range row {
			s = append(s, b.Text)
		}
	}
	return strings.Join(s, " | ")
}

func text(r bot.Response) string {
	var s []string
	for _, m := range r.Messages {
		s = append(s, m.Text)
	}
	return strings.Join(s, "\n---\n")
}

func allButtons(r bot.Response) string {
	var s []string
	for _, m := range r.Messages {
		s = append(s, buttons(m))
	}
	return strings.Join(s, " | ")
}

// mustContain fails the test unless the response's texts or its notice
// hold every part.
func mustContain(t *testing.T, r bot.Response, parts ...string) {
	t.Helper()
	expect(t, text(r)+"\n"+r.Notice, true, parts)
}

// mustShow is mustContain over texts and button labels.
func mustShow(t *testing.T, r bot.Response, parts ...string) {
	t.Helper()
	expect(t, text(r)+"\n"+allButtons(r), true, parts)
}

// mustNotContain fails the test if the response's texts or button labels
// hold any of the parts.
func mustNotContain(t *testing.T, r bot.Response, parts ...string) {
	t.Helper()
	expect(t, text(r)+"\n"+allButtons(r), false, parts)
}

// expect fails the test unless all holds every part (has) or none of them
// (!has).
func expect(t *testing.T, all string, has bool, parts []string) {
	t.Helper()
	for _, p := range parts {
		switch {
		case has && !strings.Contains(all, p):
			t.Fatalf("response lacks %q:\n%s", p, all)
		case !has && strings.Contains(all, p):
			t.Fatalf("response has %q:\n%s", p, all)
		}
	}
}

func (h *harness) signup() *bot.Signup {
	h.t.Helper()
	s, err := h.store.GetSignup(context.Background(), h.chat)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) session() *bot.Session {
	h.t.Helper()
	m, err := h.store.Load(context.Background(), h.chat)
	if err != nil {
		h.t.Fatal(err)
	}
	return m.Session
}

// takePart starts the interest form from /start, in Spanish for a
// Spanish-speaking member and in English otherwise, and returns its first
// question (the name).
func (h *harness) takePart() bot.Response {
	h.t.Helper()
	h.say("/start")
	if strings.HasPrefix(h.lang, "es") {
		return h.press("Quiero participar")
	}
	return h.press("take part")
}

// toRole starts the interest form and gives name: it returns the question
// that follows, the member's role.
func (h *harness) toRole(name string) bot.Response {
	h.t.Helper()
	h.takePart()
	return h.say(name)
}

// fillSpanish walks the whole interest form in Spanish.
func (h *harness) fillSpanish() bot.Response {
	h.t.Helper()
	h.fillSpanishToReview()
	return h.press("Confirmar")
}

// mustAnswer fails the test unless the form in progress holds want, and
// only want, as its answer to step.
func (h *harness) mustAnswer(step, want string) {
	h.t.Helper()
	if got := h.session().Form.Answers[step]; len(got) != 1 || got[0] != want {
		h.t.Fatalf("%s = %v, want %q", step, got, want)
	}
}

// mustNotAnswer fails the test if the form in progress holds an answer to
// step (a question taken for an answer).
func (h *harness) mustNotAnswer(step string) {
	h.t.Helper()
	if got, saved := h.session().Form.Answers[step]; saved {
		h.t.Fatalf("the question was saved as the answer to %s: %v", step, got)
	}
}

// aboutMaria answers the Spanish form from the name up to the areas of
// work: María José Pérez, a community defender (role "other") without an
// organization, in Ciudad Juárez, on the border.
func (h *harness) aboutMaria() bot.Response {
	h.t.Helper()
	h.say("María José Pérez")
	h.press("Otro")
	h.say("Defensora comunitaria")
	h.press("Omitir")
	h.say("Ciudad Juárez")
	return h.press("Sí")
}

// fillSpanishToReview walks the interest form in Spanish up to its
// review, which it returns.
func (h *harness) fillSpanishToReview() bot.Response {
	h.t.Helper()
	h.say("/start campaña_radio")
	h.press("Quiero participar")
	h.aboutMaria()
	h.press("Migración")
	h.press("Detención")
	h.press("Listo")
	h.say("maria@ejemplo.org")
	h.say("+52 656 123 4567")
	h.say("Quiero aprender educación popular 🌵")
	h.press("Estoy de acuerdo")
	return h.press("Sí")
}

func mustData(h *harness, label string) string {
	b, _ := h.find(label)
	return b.Data
}
