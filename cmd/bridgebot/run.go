package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"bridgebot/bot"
	"bridgebot/bot/audit"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/funnel"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/sealed"
	"bridgebot/bot/sentlog"
	"bridgebot/bot/slack"
	"bridgebot/bot/telegram"
	"bridgebot/flows"
	"bridgebot/locales"
)

// Main is `bridgebot run`, shaped as in Ben Johnson's WTF Dial: Open
// connects to Redis once and builds every part in dependency order, Run
// runs them until told to stop, Close releases what Open took. Each part
// is built from what Open built before it; nothing refers to a part not
// built yet.
type Main struct {
	cfg    config
	stderr io.Writer
	log    *slog.Logger

	content content
	redis   *redisConn
	ring    *sealed.Keyring
	store   *redisstore.Store
	metrics *metrics
	funnel  *funnel.Store // the sign-up funnel's durable counts
	http    *opsServer
	tg      *telegram.Bot
	engine  *bot.Engine
	disp    *bot.Dispatcher
	tasks   []task
	running bool // Run took over closing the dispatcher
}

// NewMain is a Main for a configuration loaded (and validated) by
// loadConfig; its log goes to stderr.
func NewMain(c config, stderr io.Writer) *Main {
	return &Main{cfg: c, stderr: stderr, log: c.logger(stderr)}
}

// runBot is `bridgebot run`.
func runBot(ctx context.Context, c config, stderr io.Writer) (err error) {
	m := NewMain(c, stderr)
	defer m.Close()
	defer func() {
		// Told to stop while still connecting: that is a clean exit too.
		if err != nil && ctx.Err() != nil && !errors.Is(err, errShutdownTimeout) {
			m.log.Info("stopped while starting", slog.Any("err", err))
			err = nil
		}
	}()
	if err := m.Open(ctx); err != nil {
		return err
	}
	return m.Run(ctx)
}

// Open reads the content, connects to Redis, Telegram and Slack, and
// builds the engine and the tasks Run runs. The HTTP server answers
// health checks from the start; the webhook and Slack routes answer 503
// until their handlers are in place. On error, Close releases what was
// built.
func (m *Main) Open(ctx context.Context) (err error) {
	c := m.cfg
	if m.content, err = mustContent(c, m.stderr); err != nil {
		return err
	}
	if c.TelegramTok == "" {
		return errors.New("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set its token (or try `bridgebot console`)")
	}
	if m.redis, err = connectRedis(ctx, c, m.log); err != nil {
		return err
	}
	if m.ring, err = c.Keys.keyring(m.log, true); err != nil {
		return err
	}
	m.store = c.store(m.redis.Client, m.ring, m.log)
	m.metrics = newMetrics()
	m.redis.AddHook(redisHook{m.metrics})
	if m.http, err = startHTTP(c, m.redis.Client, m.metrics, m.log); err != nil {
		return err
	}
	m.http.ready.wait("telegram", "not connected yet")
	if c.Slack.BotToken != "" {
		m.http.ready.wait("slack", "not connected yet")
	}
	sent := sentlog.New(m.redis.Client, c.RedisPrefix, m.ring)
	m.tg, err = telegram.New(ctx, telegram.Config{
		Token: c.TelegramTok, APIURL: c.TelegramURL, PollTimeout: c.PollTimeout, Logger: m.log, Observer: telegramObserver{m.metrics},
		Languages: otherLanguages(),
		OnSent:    sent.Add, // for /wipe
	})
	if err != nil {
		return err
	}
	cfg, err := m.engineConfig(ctx, sent)
	if err != nil {
		return err
	}
	if m.engine, err = bot.NewEngine(cfg); err != nil {
		return err
	}
	// The engine sends through the Bot, and the Bot shows the engine's
	// command menu: given now, before any update is taken.
	m.tg.UseCommands(m.engine.Commands)
	m.disp = bot.NewDispatcher(instrumented{m.engine, m.metrics}, c.Workers, c.UpdateTimeout, m.log)
	m.tasks = append(m.tasks, task{"turn log", m.store.Run}, task{"recovery of undelivered turns", m.engine.Recover})
	if err := m.openUpdates(ctx); err != nil {
		return err
	}
	m.http.ready.done("telegram")
	m.log.Info("bridgebot is running", slog.String("bot", "@"+m.tg.Username()), slog.Int("workers", c.Workers), slog.Bool("staff_desk", cfg.Desk != nil))
	return nil
}

// engineConfig builds the engine's features that Redis and Slack serve:
// announcements and their worker, erasure, /wipe, and the staff desk when
// Slack is configured; their long-running parts join m.tasks.
func (m *Main) engineConfig(ctx context.Context, sent *sentlog.Log) (bot.Config, error) {
	c, ct, client := m.cfg, m.content, m.redis.Client
	cfg := bot.Config{
		Store: m.store, Sender: m.tg, Flows: ct.flows, Locales: ct.locales, Logger: m.log,
		FormTTL: c.FormTTL, BotUsername: m.tg.Username(), FAQ: ct.faq, Contact: c.Contact, MemberRateLimit: c.MemberRateLimit,
	}
	// The funnel for /bridge stats and `bridgebot stats`: kept in Redis,
	// where forms that expire are seen (the Prometheus counters cannot).
	m.funnel = c.funnelStore(client, m.log)
	cfg.Observer = bot.Observers(newEngineMetrics(m.metrics.reg), m.funnel)
	m.metrics.reg.MustRegister(newFunnelCollector(m.funnel, m.log))
	m.tasks = append(m.tasks, task{"funnel counts", m.funnel.Run})
	if c.Slack.BotToken == "" && c.Contact == "" {
		m.log.Warn("no staff desk and no BRIDGE_CONTACT: members whose questions the FAQ cannot answer are only pointed to the FAQ list")
	}
	bopts := c.broadcastOptions(m.log, ct)
	bopts.Keyring = m.ring
	bstore := broadcast.New(client, bopts)
	cfg.Subscriptions = bstore.Subscribers
	cfg.Erasers = []bot.Eraser{bstore, audit.New(client, c.RedisPrefix), sent}
	cfg.Wiper = sentlog.Wiper{Log: sent, Deleter: m.tg}
	worker := broadcast.NewWorker(client, countingSender{m.tg, m.metrics}, bopts)
	m.tasks = append(m.tasks, task{"broadcast worker", worker.Run},
		task{"record of sent messages (/wipe)", func(ctx context.Context) error { return sent.Run(ctx, m.log) }})
	if c.Slack.BotToken == "" {
		m.log.Info("SLACK_BOT_TOKEN is not set: running without the staff desk (no \"ask our team\")")
		return cfg, nil
	}
	desk, err := m.openDesk(ctx, sent)
	if err != nil {
		return cfg, err
	}
	m.http.ready.done("slack")
	if c.Slack.SigningSecret != "" {
		m.http.slack.set(desk.Handler(c.Slack.SigningSecret))
	}
	cfg.Desk, cfg.Notifier = desk, desk
	composer := slack.NewComposer(desk, bstore, c.Slack.Organizers)
	slack.NewExporter(desk, signupsCSV(m.store, ct.flows[flows.SignupFlow]), audit.New(client, c.RedisPrefix), c.Slack.Organizers)
	m.tasks = append(m.tasks, task{"broadcast progress in slack", composer.Run})
	return cfg, nil
}

// openDesk connects the Slack staff desk: the outbox workers, and Socket
// Mode or the HTTP endpoints for events.
func (m *Main) openDesk(ctx context.Context, sent *sentlog.Log) (*slack.Desk, error) {
	c, sc := m.cfg, m.cfg.Slack
	// Every Slack call gets a deadline, so one hung connection cannot
	// hold a member's queue.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: slackTransport{base: http.DefaultTransport, m: m.metrics}}
	opts := []slackapi.Option{slackapi.OptionHTTPClient(hc)}
	if sc.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(sc.APIURL))
	}
	if sc.AppToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(sc.AppToken))
	}
	api := slackapi.New(sc.BotToken, opts...)
	desk, err := slack.New(ctx, slack.Config{
		Client: api, Redis: m.redis.Client, Prefix: c.RedisPrefix, Keyring: m.ring, Logger: m.log,
		Locales: m.content.locales, Flows: m.content.flows, Signups: m.store,
		Funnel: m.funnel, // reads only: the engine's observer records
		Channels: slack.Channels{
			Questions: sc.QuestionsChannel, Routes: sc.Routes, Signups: sc.SignupsChannel,
			SignupFields: sc.SignupFields, Commands: sc.CommandChannels,
		},
		Member: slack.MemberSide{
			Messenger: m.tg, ShowStaffName: sc.ShowStaffName,
			Sent: sent, // staff replies, for /wipe
		},
		Tickets: slack.TicketTimes{QuietTime: sc.QuietTime, AnsweredRetention: c.Retention.Answered},
		// A call in flight at shutdown gets half of SHUTDOWN_TIMEOUT to
		// finish, then is cancelled: its entry stays queued (the next
		// process delivers it), and the rest leaves time to release the
		// outboxes' leases and exit 0 within the deadline.
		Outboxes: slack.OutboxTuning{MaxBackoff: sc.MaxBackoff, Grace: c.ShutdownTimeout / 2,
			DeadRetention: c.Retention.DeadLetters, DeadMaxLen: c.Retention.DeadMax},
		Observer: deskObserver{m.metrics},
	})
	if err != nil {
		return nil, err
	}
	m.metrics.reg.MustRegister(newOutboxCollector(m.redis.Client, c.RedisPrefix, m.log), openQuestions(desk, m.log))
	m.tasks = append(m.tasks, task{"slack desk outboxes", desk.Run})
	if sc.AppToken != "" {
		sm := socketmode.New(api)
		m.tasks = append(m.tasks, task{"slack socket mode", func(ctx context.Context) error { return desk.RunSocketMode(ctx, sm) }})
		m.log.Info("slack: receiving events over Socket Mode")
	}
	return desk, nil
}

// openUpdates sets Telegram up to deliver updates to the dispatcher: by
// webhook when WEBHOOK_URL is set, else by long polling (a task).
func (m *Main) openUpdates(ctx context.Context) error {
	c := m.cfg
	if c.Webhook.URL == "" {
		if err := m.tg.Setup(ctx); err != nil {
			return err
		}
		m.tasks = append(m.tasks, task{"telegram polling", func(ctx context.Context) error { return m.tg.Poll(ctx, m.disp.HandleBatch) }})
		return nil
	}
	secret, err := webhookSecret(ctx, c, m.redis.Client)
	if err != nil {
		return err
	}
	hook := m.tg.Webhook(secret, m.disp.DispatchHere)
	m.http.drain = hook.Drain
	m.http.webhook.set(hook)
	if err := m.tg.SetupWebhook(ctx, telegram.WebhookConfig{URL: c.Webhook.URL, Secret: secret, MaxConnections: c.Webhook.MaxConnections}); err != nil {
		return err
	}
	m.log.Info("telegram: receiving updates by webhook", slog.String("path", telegram.WebhookPath))
	return nil
}

// Run runs the tasks Open built, and the HTTP server, until ctx ends
// (SIGTERM, SIGINT) or one fails, then finishes the updates in hand: the
// HTTP server stops taking updates and waits for deliveries in flight,
// polling stops after its batch, and the dispatcher handles what it
// queued. All of it within SHUTDOWN_TIMEOUT; after that the process gives
// up waiting (what was not acknowledged to Telegram is delivered again).
func (m *Main) Run(ctx context.Context) error {
	c, log := m.cfg, m.log
	tasks := append(m.tasks, task{"http server", func(ctx context.Context) error { return m.http.run(ctx, c.ShutdownTimeout) }})
	m.running = true
	done := make(chan error, 1)
	go func() {
		err := runTasks(ctx, log, tasks)
		m.disp.Close()
		done <- err
	}()
	select {
	case err := <-done:
		log.Info("bridgebot stopped")
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", slog.Duration("deadline", c.ShutdownTimeout))
	t := time.NewTimer(c.ShutdownTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		log.Info("bridgebot stopped")
		return err
	case <-t.C:
		log.Error("shutdown deadline passed with work in flight; unacknowledged updates will be delivered again", slog.Duration("deadline", c.ShutdownTimeout))
		return fmt.Errorf("%w: SHUTDOWN_TIMEOUT=%v", errShutdownTimeout, c.ShutdownTimeout)
	}
}

// Close releases what Open took, whether or not Run ran: the HTTP
// server, the dispatcher (Run closes it itself, and may have given up
// waiting for it), and Redis.
func (m *Main) Close() {
	if m.http != nil {
		m.http.close()
	}
	if m.disp != nil && !m.running {
		m.disp.Close()
	}
	if m.redis != nil {
		m.redis.Close()
	}
}

// otherLanguages are the languages besides the default one, which get
// their own Telegram command menu.
func otherLanguages() []string {
	var out []string
	for _, l := range locales.Languages {
		if l != locales.DefaultLanguage {
			out = append(out, l)
		}
	}
	return out
}

// task is one long-running part of the bot.
type task struct {
	name string
	run  func(context.Context) error
}

// runTasks runs every task until ctx ends or one fails; then it stops the
// others and waits for them.
func runTasks(ctx context.Context, log *slog.Logger, tasks []task) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(tasks))
	for _, t := range tasks {
		go func() {
			err := t.run(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error("stopping: a part of the bot failed", slog.String("part", t.name), slog.Any("err", err))
				err = fmt.Errorf("%s: %w", t.name, err)
			} else {
				err = nil
			}
			cancel()
			errc <- err
		}()
	}
	var first error
	for range tasks {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}
