package telegram_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/telegram"
	"bridgebot/bot/telegram/telegramtest"
	"bridgebot/flows"
	"bridgebot/internal/testkit"
)

const (
	wait   = 10 * time.Second
	secret = "s3cret_Webhook-token"
)

// textUpdate is a private-chat text message as Telegram delivers it.
func textUpdate(id int, chat int64, text string) string {
	entities := ""
	if strings.HasPrefix(text, "/") {
		n := len(strings.Fields(text)[0])
		entities = fmt.Sprintf(`,"entities":[{"type":"bot_command","offset":0,"length":%d}]`, n)
	}
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,"first_name":"Sam","language_code":"en"},`+
		`"chat":{"id":%d,"type":"private","first_name":"Sam"},"date":%d,"text":%q%s}}`,
		id, id, chat, chat, time.Now().Unix(), text, entities)
}

// post delivers body to a webhook as Telegram would (or as an attacker
// might), returning the status.
func post(t *testing.T, url, secretHeader, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secretHeader != "" {
		req.Header.Set(telegram.SecretHeader, secretHeader)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestWebhookRefusesBadRequests(t *testing.T) {
	srv := telegramtest.New(t)
	var logs testkit.Buffer
	b, err := telegram.New(context.Background(), telegram.Config{Token: srv.Token(), APIURL: srv.URL(), RequestTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int64
	hook := b.Webhook(secret, func(_ context.Context, u bot.Update, done func()) {
		handled.Add(1)
		done()
	})
	hs := httptest.NewServer(hook)
	t.Cleanup(hs.Close)
	good := textUpdate(2000, 77, "/start")

	for name, header := range map[string]string{
		"missing": "", "wrong": "not-the-secret", "prefix": secret[:len(secret)-1], "longer": secret + "x", "case": strings.ToUpper(secret),
	} {
		if got := post(t, hs.URL, header, good); got != http.StatusUnauthorized {
			t.Errorf("secret %s: status %d, want 401", name, got)
		}
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("%d updates handled from unauthorized requests", n)
	}

	huge := `{"update_id":2001,"message":{"text":"` + strings.Repeat("x", telegram.MaxWebhookBody) + `"}}`
	if got := post(t, hs.URL, secret, huge); got != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: status %d, want 413", got)
	}
	for _, body := range []string{`{"update_id": 2002, "message": {"text": "mi secreto`, `not json at all: mi secreto`,
		`{"update_id":2003,"message":{"message_id":"mi secreto","chat":7}}`, `[]`, `{}`} {
		if got := post(t, hs.URL, secret, body); got != http.StatusOK {
			t.Errorf("invalid body %q: status %d, want 200", body, got)
		}
	}
	if strings.Contains(logs.String(), "secreto") {
		t.Errorf("an undecodable update's content reached the logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "undecodable") {
		t.Errorf("no warning for undecodable updates:\n%s", logs.String())
	}
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(method, hs.URL, strings.NewReader(good))
		req.Header.Set(telegram.SecretHeader, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
			t.Errorf("%s: status %d, Allow %q", method, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("%d updates handled from bad requests", n)
	}

	if got := post(t, hs.URL, secret, good); got != http.StatusOK || handled.Load() != 1 {
		t.Fatalf("good delivery: status %d, handled %d", got, handled.Load())
	}
	hook.Drain()
	if got := post(t, hs.URL, secret, textUpdate(2004, 77, "hola")); got != http.StatusServiceUnavailable || handled.Load() != 1 {
		t.Fatalf("while draining: status %d, handled %d", got, handled.Load())
	}
}

// replica is one bot process: its own Telegram client, engine, dispatcher
// and HTTP server, sharing Redis with the others.
type replica struct {
	url string
	e   *bot.Engine
	b   *telegram.Bot
}

func newReplica(t *testing.T, srv *telegramtest.Server, client *redis.Client, prefix string) *replica {
	t.Helper()
	b, err := telegram.New(context.Background(), telegram.Config{Token: srv.Token(), APIURL: srv.URL(), RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fl, cat := testkit.Shipped(t)
	// Each replica has its own connection pool, as separate processes do.
	o := client.Options()
	own := redis.NewClient(&redis.Options{Addr: o.Addr, DB: o.DB, Username: o.Username, Password: o.Password})
	t.Cleanup(func() { own.Close() })
	e, err := bot.NewEngine(bot.Config{Store: redisstore.New(own, redisstore.Options{Prefix: prefix}), Sender: b,
		Flows: fl, Locales: cat, BotUsername: b.Username()})
	if err != nil {
		t.Fatal(err)
	}
	d := bot.NewDispatcher(e, 4, 10*time.Second, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	mux.Handle("POST "+telegram.WebhookPath, b.Webhook(secret, d.DispatchHere))
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { hs.Close(); d.Close() })
	return &replica{url: hs.URL + telegram.WebhookPath, e: e, b: b}
}

func texts(msgs []telegramtest.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.PlainText
	}
	return out
}

func TestWebhookDuplicateHandledOnceAcrossReplicas(t *testing.T) {
	srv := telegramtest.New(t)
	client, prefix := redistest.New(t)
	a, b := newReplica(t, srv, client, prefix), newReplica(t, srv, client, prefix)
	const chat = 4242
	srv.AddChat(telegramtest.User{ID: chat, FirstName: "Sam", LanguageCode: "en"})

	// Telegram redelivers an update whose answer it did not get, maybe to
	// another replica, maybe while the first is still handling it.
	start := textUpdate(3000, chat, "/start")
	var wg sync.WaitGroup
	for i := range 6 {
		r := a
		if i%2 == 1 {
			r = b
		}
		wg.Go(func() {
			if got := post(t, r.url, secret, start); got != http.StatusOK {
				t.Errorf("delivery %d: status %d", i, got)
			}
		})
	}
	wg.Wait()
	msgs := srv.Messages(chat)
	welcomes := 0
	for _, m := range msgs {
		if strings.Contains(m.PlainText, "BRIDGE Institutes") {
			welcomes++
		}
	}
	if welcomes != 1 {
		t.Fatalf("the same update was answered %d times:\n%s", welcomes, strings.Join(texts(msgs), "\n---\n"))
	}
}

func TestWebhookReplicasRacingOnOneChatKeepItsOrder(t *testing.T) {
	srv := telegramtest.New(t)
	client, prefix := redistest.New(t)
	a, b := newReplica(t, srv, client, prefix), newReplica(t, srv, client, prefix)
	store := redisstore.New(client, redisstore.Options{Prefix: prefix})

	steps := []string{"/start", "/signup", "Sam O'Neil", "/menu", "/signup"}
	const chat = 4343
	srv.AddChat(telegramtest.User{ID: chat, FirstName: "Sam", LanguageCode: "en"})

	// Both replicas get every update of the chat, each in order and only
	// after the previous one was acknowledged (as Telegram delivers), but
	// racing each other: each update must take effect once, in order.
	var wg sync.WaitGroup
	for _, r := range []*replica{a, b} {
		wg.Go(func() {
			for i, text := range steps {
				if got := post(t, r.url, secret, textUpdate(5000+i, chat, text)); got != http.StatusOK {
					t.Errorf("update %d: status %d", i, got)
				}
			}
		})
	}
	wg.Wait()

	m, err := store.Load(context.Background(), chat)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Session
	if s.LastUpdate != int64(5000+len(steps)-1) {
		t.Errorf("last update = %d", s.LastUpdate)
	}
	// The name was given after /signup and before the second /signup,
	// which resumes the form at the next question.
	if s.Form == nil || s.Form.Flow != flows.SignupFlow || fmt.Sprint(s.Form.Answers["name"]) != "[Sam O'Neil]" || s.Form.Step != "role" {
		t.Fatalf("session after the race: %+v form %+v", s, s.Form)
	}
	// The same updates through one replica alone give the same replies:
	// every update took effect once. (Replies of two replicas may
	// interleave; the session above shows the order of their effects.)
	const alone = 4344
	srv.AddChat(telegramtest.User{ID: alone, FirstName: "Sam", LanguageCode: "en"})
	for i, text := range steps {
		if got := post(t, a.url, secret, textUpdate(6000+i, alone, text)); got != http.StatusOK {
			t.Fatalf("update %d: status %d", i, got)
		}
	}
	got, want := texts(srv.Messages(chat)), texts(srv.Messages(alone))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("racing replicas replied:\n%s\n\none replica replied:\n%s", strings.Join(got, "\n---\n"), strings.Join(want, "\n---\n"))
	}
}

// A pressed button is answered in the bot's answer to the delivery that
// brought it (one Bot API request fewer per press): the member sees the
// same spinner stop, and no request of its own answers the query.
func TestWebhookAnswersButtonsInItsAnswer(t *testing.T) {
	srv := telegramtest.New(t)
	client, prefix := redistest.New(t)
	r := newReplica(t, srv, client, prefix)
	if err := r.b.SetupWebhook(context.Background(), telegram.WebhookConfig{URL: "https://bot.example.org" + telegram.WebhookPath, Secret: secret}); err != nil {
		t.Fatal(err)
	}
	srv.RouteWebhook(strings.TrimSuffix(r.url, telegram.WebhookPath))
	u := telegramtest.User{ID: 4545, FirstName: "Sam", LanguageCode: "en"}
	srv.SendText(u, "/start")
	menu := srv.WaitMessage(t, u.ID, wait, func(m telegramtest.Message) bool { return len(m.Buttons) > 0 })
	data := ""
	for _, row := range menu.Buttons {
		for _, b := range row {
			if strings.Contains(b.Text, "take part") {
				data = b.CallbackData
			}
		}
	}
	if data == "" {
		t.Fatalf("no sign-up button in %+v", menu.Buttons)
	}
	q := srv.PressButton(u, menu.MessageID, data)
	srv.WaitCallbackAnswer(t, q, wait)
	srv.WaitMessage(t, u.ID, wait, func(m telegramtest.Message) bool { return strings.Contains(m.PlainText, "What is your name?") })
	// and a button the bot does not know gets its notice the same way
	stale := srv.PressButton(u, menu.MessageID, "zz|gone")
	if ans := srv.WaitCallbackAnswer(t, stale, wait); ans.Text == "" {
		t.Errorf("a stale press got no notice")
	}
	answers := 0
	for _, req := range srv.Requests() {
		if req.Method != "answerCallbackQuery" {
			continue
		}
		answers++
		if !req.ViaWebhook || req.Status != http.StatusOK {
			t.Errorf("callback answered by a request of its own (via webhook %v, status %d)", req.ViaWebhook, req.Status)
		}
	}
	if answers != 2 {
		t.Errorf("%d callback answers, want 2", answers)
	}
}
