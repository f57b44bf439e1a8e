package telegram

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"bridgebot/bot"
)

const (
	// WebhookPath is where the bot serves Telegram's webhook deliveries.
	WebhookPath = "/telegram/webhook"
	// SecretHeader carries the webhook's secret_token in every delivery.
	SecretHeader = "X-Telegram-Bot-Api-Secret-Token"
	// MaxWebhookBody bounds a delivery; real updates are a few kilobytes.
	MaxWebhookBody = 1 << 20
	// DefaultMaxConnections is Telegram's own default for max_connections.
	DefaultMaxConnections = 40
)

// allowedUpdates is what the bot asks Telegram for, polling or webhook.
const allowedUpdates = `["message","edited_message","callback_query","my_chat_member"]`

// WebhookConfig is the webhook the bot registers with setWebhook.
type WebhookConfig struct {
	// URL is the public HTTPS URL Telegram posts to (ports 443, 80, 88 or
	// 8443); a reverse proxy there forwards to WebhookPath.
	URL string
	// Secret is sent by Telegram in SecretHeader with every delivery:
	// 1–256 characters A-Z, a-z, 0-9, _ and -.
	Secret string
	// MaxConnections is how many deliveries Telegram makes at once
	// (1–100; DefaultMaxConnections when 0).
	MaxConnections int
}

// SetupWebhook registers the webhook and sets the command menus. Pending
// updates are kept (drop_pending_updates=false): they are delivered to the
// webhook once it answers.
//
// tgbotapi v5.5.1 cannot send secret_token (its WebhookConfig predates
// it), so this calls setWebhook through MakeRequest.
func (b *Bot) SetupWebhook(ctx context.Context, wc WebhookConfig) error {
	if wc.MaxConnections <= 0 {
		wc.MaxConnections = DefaultMaxConnections
	}
	params := tgbotapi.Params{
		"url":                  wc.URL,
		"secret_token":         wc.Secret,
		"max_connections":      strconv.Itoa(wc.MaxConnections),
		"allowed_updates":      allowedUpdates,
		"drop_pending_updates": "false",
	}
	api := b.with(ctx, b.cfg.RequestTimeout)
	if err := b.retry(ctx, "setWebhook", func() error {
		_, err := api.MakeRequest("setWebhook", params)
		return err
	}); err != nil {
		return fmt.Errorf("telegram: set webhook: %w", err)
	}
	return b.setAllCommands(ctx)
}

// Dispatch hands an update on for handling and calls done when it has
// been handled; (*bot.Dispatcher).Dispatch is one.
type Dispatch func(ctx context.Context, u bot.Update, done func())

// Webhook serves Telegram's webhook deliveries (POST WebhookPath). A
// delivery is answered only after its update was handled, so an update
// is confirmed to Telegram only once it is in Redis: a crash before that
// means Telegram delivers it again (to this or another replica), and the
// engine recognises an update_id it already handled. Telegram sends one
// update per chat at a time and the next only after a 2xx, so each chat
// stays in order.
//
// An update whose handling failed is acknowledged too, as polling
// confirms it: the engine has already told the member (Redis down: try
// again), and Telegram holds a chat's later updates until one is
// acknowledged, so refusing an update that fails every time would block
// that member for a day while repeating the apology.
//
//   - a missing or wrong secret header: 401, nothing else happens;
//   - a body over MaxWebhookBody: 413;
//   - a body that is not an update: 200 (Telegram would retry it forever)
//     and a warning without its content;
//   - after Drain (shutting down): 503, so Telegram delivers it again,
//     to another replica behind the load balancer.
type Webhook struct {
	b        *Bot
	secret   [sha256.Size]byte
	dispatch Dispatch
	draining atomic.Bool
}

// Webhook returns the handler for deliveries carrying secret; dispatch
// handles each update (keeping each chat in order).
func (b *Bot) Webhook(secret string, dispatch Dispatch) *Webhook {
	return &Webhook{b: b, secret: sha256.Sum256([]byte(secret)), dispatch: dispatch}
}

// Drain makes the webhook refuse new deliveries with 503; deliveries
// already being handled finish and are acknowledged.
func (w *Webhook) Drain() { w.draining.Store(true) }

func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !w.authorized(r.Header.Get(SecretHeader)) {
		w.b.log.Warn("webhook request without the right secret refused", slog.String("remote", r.RemoteAddr))
		http.Error(rw, "unauthorized", http.StatusUnauthorized)
		return
	}
	if w.draining.Load() {
		http.Error(rw, "shutting down", http.StatusServiceUnavailable)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			w.b.log.Warn("webhook delivery too large", slog.Int64("limit", tooBig.Limit))
			http.Error(rw, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		// The client went away mid-body: nothing was handled, and
		// Telegram delivers it again.
		http.Error(rw, "incomplete request", http.StatusBadRequest)
		return
	}
	id, u, ok := w.b.decode(raw)
	if !ok {
		w.b.log.Debug("webhook delivery not handled", slog.Int64("update", int64(id)))
		rw.WriteHeader(http.StatusOK)
		return
	}
	ctx := r.Context()
	var reply *webhookReply
	if u.Callback != nil && u.Callback.ID != "" {
		reply = &webhookReply{callbackID: u.Callback.ID}
		ctx = context.WithValue(ctx, webhookReplyKey{}, reply)
	}
	done := make(chan struct{})
	w.dispatch(ctx, u, func() { close(done) })
	<-done
	if body := reply.take(); body != nil {
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusOK)
		_, _ = rw.Write(body)
		return
	}
	rw.WriteHeader(http.StatusOK)
}

// webhookReply carries one Bot API call from the handling of a webhook
// delivery to the answer to that delivery: Telegram performs a method
// given in the answer's body ("Making requests when getting updates"),
// which spares the bot a request of its own. Telegram does not say how
// such a call went, so only a call whose result nobody reads goes there:
// the answer to the pressed button (answerCallbackQuery) of the update
// being delivered. The member sees the same: the button's spinner stops
// (with the notice, if any) a few milliseconds later, once the update is
// handled.
type webhookReply struct {
	callbackID string
	mu         sync.Mutex
	body       []byte
	closed     bool // the delivery was answered: too late
}

type webhookReplyKey struct{}

// answerInWebhook leaves the answer to callback query id for the webhook
// answer, if ctx is the handling of that query's delivery and nothing
// else went there; false means the caller must call Telegram itself.
func answerInWebhook(ctx context.Context, id, notice string) bool {
	reply, _ := ctx.Value(webhookReplyKey{}).(*webhookReply)
	if reply == nil || reply.callbackID != id {
		return false
	}
	body, err := json.Marshal(struct {
		Method string `json:"method"`
		ID     string `json:"callback_query_id"`
		Text   string `json:"text,omitempty"`
	}{"answerCallbackQuery", id, notice})
	if err != nil {
		return false
	}
	reply.mu.Lock()
	defer reply.mu.Unlock()
	if reply.closed || reply.body != nil {
		return false
	}
	reply.body = body
	return true
}

// take returns what goes in the answer (nil: nothing) and closes the
// reply to later calls.
func (r *webhookReply) take() []byte {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return r.body
}

// authorized compares the secret in constant time: hashing first makes
// the comparison take as long for a wrong length as for a wrong value.
func (w *Webhook) authorized(got string) bool {
	sum := sha256.Sum256([]byte(got))
	return got != "" && subtle.ConstantTimeCompare(sum[:], w.secret[:]) == 1
}

// describeJSONError says what is wrong with an undecodable update without
// quoting any of it (a syntax error's message quotes the offending
// character; member text must not reach the logs).
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "invalid JSON at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %s: %s where %s was expected", typ.Field, typ.Value, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "undecodable"
}
