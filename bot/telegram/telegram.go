// Package telegram connects the bot to Telegram through the Bot API, using
// github.com/go-telegram-bot-api/telegram-bot-api/v5.
//
// The library (v5.5.1, 2021) is used as a thin HTTP wrapper only. Its
// GetUpdatesChan confirms updates before they are handled and cannot be
// stopped mid-poll, so polling is our own loop over getUpdates that confirms
// an offset only after the batch was handled. It has no contexts, so every
// call goes through an http.Client whose transport carries ours.
package telegram

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"bridgebot/bot"
	"bridgebot/internal/ctxtime"
)

// DefaultAPIURL is Telegram's Bot API; TELEGRAM_API_URL replaces it for a
// self-hosted Bot API server or a test fake.
const DefaultAPIURL = "https://api.telegram.org"

// Config configures a Bot.
type Config struct {
	Token  string
	APIURL string // default DefaultAPIURL; the bot calls {APIURL}/bot{token}/{method}
	// PollTimeout is the long-poll wait Telegram holds a getUpdates for.
	PollTimeout time.Duration
	// RequestTimeout bounds every other call.
	RequestTimeout time.Duration
	// Commands returns the command menu for a language ("" = default).
	Commands func(lang string) []bot.Command
	// Languages other than the default that get their own command menu.
	Languages []string
	Logger    *slog.Logger
	// Transport overrides the HTTP transport (tests, proxies).
	Transport http.RoundTripper
	// Observer, when set, is told every API call's outcome (metrics).
	Observer Observer
	// OnSent, when set, is told the ID of every message sent to a member
	// (so /wipe can delete them later: bot/sentlog). Best effort: an
	// error is logged, the conversation goes on.
	OnSent func(ctx context.Context, chatID int64, messageID int) error
}

// Bot is a connected Telegram bot: a bot.Sender and an update source.
type Bot struct {
	api      *tgbotapi.BotAPI
	cfg      Config
	log      *slog.Logger
	base     http.RoundTripper
	lean     *leanAPI // nil: the hot calls go through net/http too
	username string
}

var _ bot.Sender = (*Bot)(nil)

// New connects to Telegram (getMe) and returns the Bot.
func New(ctx context.Context, cfg Config) (*Bot, error) {
	if cfg.Token == "" {
		return nil, errors.New("telegram: no bot token (TELEGRAM_BOT_TOKEN)")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 30 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 20 * time.Second
	}
	b := &Bot{cfg: cfg, log: cfg.Logger, base: cfg.Transport}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.base == nil {
		// Keep enough idle connections for concurrent sends (broadcasts
		// run 8 in flight): the default of 2 per host means reconnecting.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		dt := newDirectTransport(t)
		b.base = dt
		b.lean = newLeanAPI(dt, cfg.APIURL, cfg.Token)
	}
	if cfg.Observer != nil {
		b.base = observing{base: b.base, obs: cfg.Observer}
	}
	endpoint := strings.TrimRight(cfg.APIURL, "/") + "/bot%s/%s"
	api, err := tgbotapi.NewBotAPIWithClient(cfg.Token, endpoint, b.client(ctx, cfg.RequestTimeout))
	if err != nil {
		return nil, fmt.Errorf("telegram: connect (getMe): %w", err)
	}
	b.api = api
	b.username = api.Self.UserName
	return b, nil
}

// UseCommands sets the command menu (Config.Commands) when it is built
// after the Bot: the engine's menu, as the engine sends through this Bot.
// Call it before Setup or SetupWebhook and before any update is handled.
func (b *Bot) UseCommands(menu func(lang string) []bot.Command) { b.cfg.Commands = menu }

// Username is the bot's @username, for t.me links.
func (b *Bot) Username() string { return b.username }

// ctxTransport gives the library's context-free requests our context, so a
// shutdown interrupts a long poll at once, and bounds each request,
// reading its answer included, by timeout. (http.Client.Timeout would do
// the same with a goroutine and a channel per request for a RoundTripper
// it does not know, such as this one.)
type ctxTransport struct {
	base    http.RoundTripper
	ctx     context.Context
	timeout time.Duration
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(t.ctx, t.timeout)
	resp, err := t.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases a request's deadline when its answer is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func (b *Bot) client(ctx context.Context, timeout time.Duration) tgbotapi.HTTPClient {
	return redacting{c: b.httpClient(ctx, timeout), token: b.cfg.Token}
}

func (b *Bot) httpClient(ctx context.Context, timeout time.Duration) *http.Client {
	return &http.Client{Transport: ctxTransport{base: b.base, ctx: ctx, timeout: timeout}}
}

// redacting keeps the bot token out of errors: the Bot API puts it in
// every URL, and net/http quotes the URL in its errors, which would carry
// the token into logs and the outbox's dead letters.
type redacting struct {
	c     *http.Client
	token string
}

func (r redacting) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.c.Do(req)
	return resp, redact(err, r.token)
}

// maxAnswer bounds an answer read whole; a sent message's is a few KiB,
// a full batch of updates some hundreds.
const maxAnswer = 4 << 20

type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }

// Timeout keeps net.Error behaviour for callers that check it.
func (e redactedError) Timeout() bool {
	var ne interface{ Timeout() bool }
	return errors.As(e.err, &ne) && ne.Timeout()
}

// with returns a shallow copy of the API client bound to ctx. BotAPI is a
// plain struct of settings, so copying it per call is cheap and safe.
func (b *Bot) with(ctx context.Context, timeout time.Duration) *tgbotapi.BotAPI {
	c := *b.api
	c.Client = b.client(ctx, timeout)
	return &c
}

// Setup prepares Telegram for long polling: removes any webhook (getUpdates
// is refused while one is set) and sets the command menus per language.
func (b *Bot) Setup(ctx context.Context) error {
	api := b.with(ctx, b.cfg.RequestTimeout)
	if err := b.retry(ctx, "deleteWebhook", func() error {
		_, err := api.Request(tgbotapi.DeleteWebhookConfig{})
		return err
	}); err != nil {
		return fmt.Errorf("telegram: delete webhook: %w", err)
	}
	return b.setAllCommands(ctx)
}

// setAllCommands sets the command menu in the default language and in
// every other language configured.
func (b *Bot) setAllCommands(ctx context.Context) error {
	if b.cfg.Commands == nil {
		return nil
	}
	if err := b.setCommands(ctx, tgbotapi.NewBotCommandScopeDefault(), "", b.cfg.Commands("")); err != nil {
		return err
	}
	for _, lang := range b.cfg.Languages {
		if err := b.setCommands(ctx, tgbotapi.NewBotCommandScopeDefault(), lang, b.cfg.Commands(lang)); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bot) setCommands(ctx context.Context, scope tgbotapi.BotCommandScope, lang string, cmds []bot.Command) error {
	list := make([]tgbotapi.BotCommand, len(cmds))
	for i, c := range cmds {
		list[i] = tgbotapi.BotCommand{Command: c.Name, Description: c.Description}
	}
	api := b.with(ctx, b.cfg.RequestTimeout)
	err := b.retry(ctx, "setMyCommands", func() error {
		_, err := api.Request(tgbotapi.NewSetMyCommandsWithScopeAndLanguage(scope, lang, list...))
		return err
	})
	if err != nil {
		return fmt.Errorf("telegram: set commands (%q): %w", lang, err)
	}
	return nil
}

// Poll long-polls getUpdates until ctx is done, handing each batch to
// handle. The offset confirming a batch is sent only after handle returns,
// so a crash mid-batch means redelivery (which the engine de-duplicates),
// never loss. It honours retry_after and backs off on errors.
func (b *Bot) Poll(ctx context.Context, handle func(context.Context, []bot.Update)) error {
	offset := 0
	failures := 0
	limit := 0 // of updates per batch; 0: Telegram's (100)
	for ctx.Err() == nil {
		result, err := b.getUpdates(ctx, b.cfg.PollTimeout+15*time.Second, offset, limit, int(b.cfg.PollTimeout/time.Second))
		var ds []decoded
		if err == nil {
			ds, err = b.decodeBatch(result)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, errAnswerTooLarge) && limit != 1 {
				// A batch of long messages larger than an answer may
				// be: asking again for the same batch would fail
				// forever, so ask for fewer updates at a time until
				// these are through (one always fits).
				limit = max(cmp.Or(limit, 100)/4, 1)
				b.log.Warn("getUpdates answer too large, asking for fewer updates", slog.Int("limit", limit))
				continue
			}
			failures++
			wait := backoff(failures)
			if ae := apiError(err); ae != nil && ae.RetryAfter > 0 {
				wait = ae.RetryAfter
			}
			b.log.Warn("getUpdates failed", slog.Any("err", err), slog.Duration("retry_in", wait))
			if !ctxtime.Sleep(ctx, wait) {
				break
			}
			continue
		}
		failures = 0
		limit = 0
		var batch []bot.Update
		for _, d := range ds {
			if d.id >= offset {
				offset = d.id + 1
			}
			if d.ok {
				batch = append(batch, d.u)
			}
		}
		if len(batch) > 0 {
			handle(ctx, batch)
		}
	}
	b.confirm(offset)
	return nil
}

// confirm tells Telegram the last handled batch is done, so a restart does
// not redeliver it. Best effort with its own short deadline: the poll
// context is already cancelled.
func (b *Bot) confirm(offset int) {
	if offset == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := b.getUpdates(ctx, 3*time.Second, offset, 0, 0); err != nil {
		b.log.Debug("could not confirm last offset", slog.Any("err", err))
	}
}

// getUpdates asks for the updates from offset, at most limit (0:
// Telegram's default, 100), waiting up to timeout seconds for one.
func (b *Bot) getUpdates(ctx context.Context, within time.Duration, offset, limit, timeout int) (json.RawMessage, error) {
	f := newForm()
	defer f.free()
	f.str("allowed_updates", allowedUpdates)
	f.int64("offset", int64(max(offset, 0)))
	f.int64("limit", int64(max(limit, 0)))
	f.key("timeout")
	f.b = strconv.AppendInt(f.b, int64(timeout), 10)
	var a answer[json.RawMessage]
	if err := call(b, ctx, within, "getUpdates", f, &a); err != nil {
		return nil, err
	}
	return a.Result, nil
}

// decoded is one update of a batch: its id, and the update when it could
// be decoded.
type decoded struct {
	id int
	u  bot.Update
	ok bool
}

// decodeBatch decodes getUpdates' result in one pass; only when that
// fails (an update that cannot be decoded) is each update decoded
// alone, so one bad update is skipped instead of stalling polling.
func (b *Bot) decodeBatch(result json.RawMessage) ([]decoded, error) {
	var all []wireUpdate
	if err := json.Unmarshal(result, &all); err == nil {
		out := make([]decoded, len(all))
		for i := range all {
			u := all[i].update()
			cu, ok := Convert(u, b.username)
			out[i] = decoded{id: u.UpdateID, u: cu, ok: ok}
		}
		return out, nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(result, &raws); err != nil {
		return nil, fmt.Errorf("telegram: getUpdates result is not a list: %w", err)
	}
	out := make([]decoded, len(raws))
	for i, raw := range raws {
		out[i].id, out[i].u, out[i].ok = b.decode(raw)
	}
	return out, nil
}

// decode turns one raw update into a bot.Update. One undecodable update
// must not stall polling (the library decodes whole batches and would), so
// each is decoded alone and at worst skipped, its ID still confirmed. The
// warning says what is wrong without quoting the update.
func (b *Bot) decode(raw []byte) (int, bot.Update, bool) {
	var w wireUpdate
	if err := json.Unmarshal(raw, &w); err != nil {
		var head struct {
			UpdateID int `json:"update_id"`
		}
		_ = json.Unmarshal(raw, &head)
		b.log.Warn("skipping undecodable update", slog.Int64("update", int64(head.UpdateID)), slog.Int("bytes", len(raw)), slog.String("problem", describeJSONError(err)))
		if b.cfg.Observer != nil {
			b.cfg.Observer.UndecodableUpdate()
		}
		return head.UpdateID, bot.Update{}, false
	}
	out, ok := Convert(w.update(), b.username)
	return w.UpdateID, out, ok
}

// backoff is exponential from 500 ms to 30 s with jitter, so many
// replicas do not hammer a recovering API in step.
func backoff(failures int) time.Duration {
	d := 500 * time.Millisecond << min(failures-1, 6)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}
