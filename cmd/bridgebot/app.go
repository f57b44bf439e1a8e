package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"bridgebot/bot"
	"bridgebot/bot/audit"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/console"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/sealed"
	"bridgebot/bot/sentlog"
	"bridgebot/bot/slack"
	"bridgebot/bot/telegram"
	"bridgebot/flows"
	"bridgebot/flows/faq"
	"bridgebot/locales"
)

// content is the flows and texts the bot runs on.
type content struct {
	flows   map[string]*flows.Flow
	locales *locales.Catalog
	faq     *faq.FAQ // nil when the flows folder has no faq.yaml
}

// problemsError carries check problems; they are printed where found.
type problemsError struct{ ps flows.Problems }

func (e problemsError) Error() string {
	return fmt.Sprintf("%d problems in flows or locales", len(e.ps))
}

// source is a folder of YAML and the name problems are reported under.
func source(dir string, def fs.FS, defName string) (fs.FS, string) {
	if dir == "" {
		return def, defName
	}
	return os.DirFS(dir), dir
}

// loadContent reads and checks flows and locales; every problem of every
// file is returned together, each located as "file:line: message".
func loadContent(c config) (content, flows.Problems) {
	var ps flows.Problems
	flowFS, flowName := source(c.FlowsDir, flows.Default(), "flows/default")
	locFS, locName := source(c.LocalesDir, locales.Default(), "locales")
	prefix := func(list flows.Problems, dir string) flows.Problems {
		for i := range list {
			list[i].File = filepath.Join(dir, list[i].File)
		}
		return list
	}
	fl, err := flows.Load(flowFS)
	if err != nil {
		ps = append(ps, prefix(flows.AsProblems(err, "."), flowName)...)
	}
	cat, err := locales.Load(locFS)
	if err != nil {
		ps = append(ps, prefix(flows.AsProblems(err, "."), locName)...)
	}
	fq, fps := loadFAQ(flowFS, flowName)
	ps = append(ps, fps...)
	if cat != nil {
		// the privacy texts quote the retention settings
		cat.SetRetention(locales.Retention{FormDays: days(c.FormTTL), AnsweredDays: days(c.Retention.Answered), DeadDays: days(c.Retention.DeadLetters)})
		ps = append(ps, cat.CheckIDs("bot (Go code)", []string{locales.OrganizationMessage})...)
		ps = append(ps, prefix(cat.Check(), locName)...)
		if fq != nil {
			ps = append(ps, faq.Check(fq, cat)...)
		}
		ps = append(ps, cat.CheckIDs("bot (Go code)", bot.MessageIDs())...)
		for _, f := range fl {
			ps = append(ps, prefix(flows.Check(f, cat), flowName)...)
		}
	}
	ps.Sort()
	return content{flows: fl, locales: cat, faq: fq}, ps
}

// loadFAQ reads faq.yaml from the flows folder; without one the bot runs
// without frequent questions.
func loadFAQ(fsys fs.FS, dir string) (*faq.FAQ, flows.Problems) {
	data, err := fs.ReadFile(fsys, flows.FAQFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	name := filepath.Join(dir, flows.FAQFile)
	if err != nil {
		return nil, flows.Problems{{File: name, Msg: err.Error()}}
	}
	f, err := faq.Parse(data, name)
	var fps flows.Problems
	if errors.As(err, &fps) {
		return nil, fps
	}
	if err != nil {
		return nil, flows.Problems{{File: name, Msg: err.Error()}}
	}
	return f, nil
}

// runCheck validates the configuration (cfgErr is what loading it
// found), the flows and the locales, printing every problem; with a valid
// configuration it also prints which features it enables.
func runCheck(c config, cfgErr error, stdout io.Writer) error {
	var ce configError
	switch {
	case errors.As(cfgErr, &ce):
		for _, p := range ce {
			fmt.Fprintln(stdout, "configuration:", p)
		}
	case cfgErr != nil:
		fmt.Fprintln(stdout, "configuration:", cfgErr)
	default:
		for _, f := range c.features() {
			fmt.Fprintln(stdout, f)
		}
	}
	ct, ps := loadContent(c)
	for _, p := range ps {
		fmt.Fprintln(stdout, p.String())
	}
	if len(ps) > 0 {
		fmt.Fprintf(stdout, "%d problems in flows or locales\n", len(ps))
	} else {
		fmt.Fprintln(stdout, "flows and locales are valid")
	}
	switch {
	case cfgErr != nil:
		return printedError{cfgErr}
	case len(ps) > 0:
		return problemsError{ps}
	}
	// facts that change with time, still as shipped: a reminder, not a problem
	if shipped, err := locales.Load(locales.Default()); err == nil && ct.locales != nil {
		_, locName := source(c.LocalesDir, nil, "locales")
		for _, n := range ct.locales.ShippedFacts(shipped) {
			n.File = filepath.Join(locName, n.File)
			fmt.Fprintln(stdout, "note: "+n.String())
		}
	}
	return nil
}

// printedError is an error already shown to the user.
type printedError struct{ error }

func (e printedError) Unwrap() error { return e.error }

// mustContent loads content or returns the problems as one error, so run
// and console refuse to start on invalid flows with check's messages.
func mustContent(c config, stderr io.Writer) (content, error) {
	ct, ps := loadContent(c)
	if len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintln(stderr, p.String())
		}
		return ct, fmt.Errorf("refusing to start: %w", problemsError{ps})
	}
	return ct, nil
}

// redisProtocol is RESP2: the bot uses nothing of RESP3, and with RESP3
// go-redis looks for push notifications around every reply (2% of the
// bot's CPU under load).
const redisProtocol = 2

// connectRedis connects to Redis through Sentinel (REDIS_SENTINEL_ADDRS)
// or REDIS_URL, or starts an embedded in-memory Redis (loudly: nothing
// survives a restart). The returned func releases both.
func connectRedis(ctx context.Context, c config, log *slog.Logger) (*redis.Client, func(), error) {
	var client *redis.Client
	stopEmbedded := func() {}
	const timeout = 2 * time.Second
	if len(c.Sentinel.Addrs) > 0 {
		// The failover client asks the Sentinels for the master, follows
		// them when they promote a replica, and reconnects.
		client = redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: c.Sentinel.Master, SentinelAddrs: c.Sentinel.Addrs, SentinelPassword: c.Sentinel.Password,
			Password: c.RedisPassword, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
			Protocol: redisProtocol,
		})
	} else {
		url := c.RedisURL
		if url == "" {
			addr, stop, err := redisstore.StartEmbedded()
			if err != nil {
				return nil, nil, fmt.Errorf("start embedded redis: %w", err)
			}
			stopEmbedded = stop
			url = "redis://" + addr
			log.Warn("REDIS_URL is not set: using an embedded in-memory Redis. ALL DATA (sign-ups, conversations) WILL BE LOST when the bot stops. Set REDIS_URL for real use.")
		}
		opt, err := redis.ParseURL(url)
		if err != nil {
			stopEmbedded()
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		if opt.Password == "" && c.RedisPassword != "" {
			opt.Password = c.RedisPassword
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = timeout, timeout, timeout
		opt.Protocol = redisProtocol
		client = redis.NewClient(opt)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		// Not fatal for the bot: it tells members it is unavailable and
		// recovers when Redis returns. Worth a loud line for the operator.
		log.Error("redis is not answering; members will be told to try again later", slog.Any("err", err))
	}
	return client, func() { client.Close(); stopEmbedded() }, nil
}

// cliSetup is what a command-line tool reading the bot's data needs: the
// content (flows, locales), a logger and Redis; close releases Redis.
func cliSetup(ctx context.Context, c config, stderr io.Writer) (ct content, log *slog.Logger, client *redis.Client, closeRedis func(), err error) {
	if ct, err = mustContent(c, stderr); err != nil {
		return content{}, nil, nil, nil, err
	}
	log = c.logger(stderr)
	if client, closeRedis, err = connectRedis(ctx, c, log); err != nil {
		return content{}, nil, nil, nil, err
	}
	return ct, log, client, closeRedis, nil
}

func (c config) store(client *redis.Client, ring *sealed.Keyring, log *slog.Logger) *redisstore.Store {
	return redisstore.New(client, redisstore.Options{Prefix: c.RedisPrefix, SessionTTL: c.FormTTL, Keyring: ring, Logger: log})
}

func runBot(ctx context.Context, c config, stderr io.Writer) (err error) {
	log := c.logger(stderr)
	defer func() {
		// Told to stop while still connecting: that is a clean exit too.
		if err != nil && ctx.Err() != nil && !errors.Is(err, errShutdownTimeout) {
			log.Info("stopped while starting", slog.Any("err", err))
			err = nil
		}
	}()
	ct, err := mustContent(c, stderr)
	if err != nil {
		return err
	}
	if c.TelegramTok == "" {
		return errors.New("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set its token (or try `bridgebot console`)")
	}
	client, closeRedis, err := connectRedis(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeRedis()
	ring, err := c.Keys.keyring(log, true)
	if err != nil {
		return err
	}
	store := c.store(client, ring, log)
	m := newMetrics()
	client.AddHook(redisHook{m})

	hs, err := startHTTP(c, client, m, log)
	if err != nil {
		return err
	}
	defer hs.close()
	hs.ready.wait("telegram", "not connected yet")
	if c.Slack.BotToken != "" {
		hs.ready.wait("slack", "not connected yet")
	}

	var engine *bot.Engine
	sent := sentlog.New(client, c.RedisPrefix, ring)
	tg, err := telegram.New(ctx, telegram.Config{
		Token: c.TelegramTok, APIURL: c.TelegramURL, PollTimeout: c.PollTimeout, Logger: log, Observer: telegramObserver{m},
		Commands:  func(lang string) []bot.Command { return engine.Commands(or(lang, locales.DefaultLanguage)) },
		Languages: []string{"es"},
		OnSent:    sent.Add, // for /wipe
	})
	if err != nil {
		return err
	}
	cfg := bot.Config{
		Store: store, Sender: tg, Flows: ct.flows, Locales: ct.locales, Logger: log,
		FormTTL: c.FormTTL, BotUsername: tg.Username(), FAQ: ct.faq, Contact: c.Contact, MemberRateLimit: c.MemberRateLimit,
	}
	// The funnel for /bridge stats and `bridgebot stats`: kept in Redis,
	// where forms that expire are seen (the Prometheus counters cannot).
	fstore := c.funnelStore(client, log)
	cfg.Observer = bot.Observers(newEngineMetrics(m.reg), fstore)
	m.reg.MustRegister(newFunnelCollector(fstore, log))
	if c.Slack.BotToken == "" && c.Contact == "" {
		log.Warn("no staff desk and no BRIDGE_CONTACT: members whose questions the FAQ cannot answer are only pointed to the FAQ list")
	}
	bstore := broadcast.New(client, broadcast.Options{Prefix: c.RedisPrefix, Rate: c.Broadcast.Rate, PaidRate: c.Broadcast.PaidRate, AllowPaid: c.Broadcast.Paid, Logger: log, Footer: announcementFooter(c), Keyring: ring})
	cfg.Subscriptions = subscriptions{bstore}
	cfg.Erasers = []bot.Eraser{bstore, audit.New(client, c.RedisPrefix), sent}
	cfg.Wiper = sentlog.Wiper{Log: sent, Deleter: tg}
	worker := newBroadcastWorker(c, c.Broadcast, client, countingSender{tg, m}, ring, log, nil)
	tasks := []task{{"broadcast worker", worker.Run}, {"record of sent messages (/wipe)", func(ctx context.Context) error { return sent.Run(ctx, log) }}}
	if c.Slack.BotToken != "" {
		desk, deskTasks, err := startDesk(ctx, c, client, store, ring, tg, sent, ct, m, log)
		if err != nil {
			return err
		}
		hs.ready.done("slack")
		if c.Slack.SigningSecret != "" {
			hs.slack.set(desk.Handler(c.Slack.SigningSecret))
		}
		cfg.Desk, cfg.Notifier = desk, desk
		tasks = append(tasks, deskTasks...)
		composer := slack.NewComposer(desk, bstore, c.Slack.Organizers)
		slack.NewExporter(desk, signupsCSV(store, ct.flows[flows.SignupFlow]), audit.New(client, c.RedisPrefix), c.Slack.Organizers)
		tasks = append(tasks, task{"broadcast progress in slack", composer.Run})
	} else {
		log.Info("SLACK_BOT_TOKEN is not set: running without the staff desk (no \"ask our team\")")
	}
	tasks = append(tasks, task{"funnel counts", fstore.Run})
	if engine, err = bot.NewEngine(cfg); err != nil {
		return err
	}
	d := bot.NewDispatcher(instrumented{engine, m}, c.Workers, c.UpdateTimeout, log)
	tasks = append(tasks, task{"turn log", store.Run}, task{"recovery of undelivered turns", engine.Recover})
	if c.Webhook.URL != "" {
		secret, err := webhookSecret(ctx, c, client)
		if err != nil {
			d.Close()
			return err
		}
		hook := tg.Webhook(secret, d.Dispatch)
		hs.drain = hook.Drain
		hs.webhook.set(hook)
		if err := tg.SetupWebhook(ctx, telegram.WebhookConfig{URL: c.Webhook.URL, Secret: secret, MaxConnections: c.Webhook.MaxConnections}); err != nil {
			hs.close()
			d.Close()
			return err
		}
		log.Info("telegram: receiving updates by webhook", slog.String("path", telegram.WebhookPath))
	} else {
		if err := tg.Setup(ctx); err != nil {
			d.Close()
			return err
		}
		tasks = append(tasks, task{"telegram polling", func(ctx context.Context) error { return tg.Poll(ctx, d.HandleBatch) }})
	}
	hs.ready.done("telegram")
	tasks = append(tasks, task{"http server", func(ctx context.Context) error { return hs.run(ctx, c.ShutdownTimeout) }})
	log.Info("bridgebot is running", slog.String("bot", "@"+tg.Username()), slog.Int("workers", c.Workers), slog.Bool("staff_desk", cfg.Desk != nil))
	return runUntilStopped(ctx, c, log, tasks, d)
}

// runUntilStopped runs the tasks until ctx ends (SIGTERM, SIGINT) or one
// fails, then finishes the updates in hand: the HTTP server stops taking
// updates and waits for deliveries in flight, polling stops after its
// batch, and the dispatcher handles what it queued. All of it within
// SHUTDOWN_TIMEOUT; after that the process gives up waiting (what was not
// acknowledged to Telegram is delivered again).
func runUntilStopped(ctx context.Context, c config, log *slog.Logger, tasks []task, d *bot.Dispatcher) error {
	done := make(chan error, 1)
	go func() {
		err := runTasks(ctx, log, tasks)
		d.Close()
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

// startDesk connects the Slack staff desk: the outbox workers, and Socket
// Mode or the HTTP endpoints for events.
func startDesk(ctx context.Context, c config, client *redis.Client, store *redisstore.Store, ring *sealed.Keyring, tg *telegram.Bot, sent *sentlog.Log, ct content, m *metrics, log *slog.Logger) (*slack.Desk, []task, error) {
	// Every Slack call gets a deadline, so one hung connection cannot
	// hold a member's queue.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: slackTransport{base: http.DefaultTransport, m: m}}
	opts := []slackapi.Option{slackapi.OptionHTTPClient(hc)}
	if c.Slack.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(c.Slack.APIURL))
	}
	if c.Slack.AppToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(c.Slack.AppToken))
	}
	api := slackapi.New(c.Slack.BotToken, opts...)
	desk, err := slack.New(ctx, slack.Config{
		Client: api, Redis: client, Prefix: c.RedisPrefix, Messenger: tg, Locales: ct.locales, Flows: ct.flows, Signups: store, Logger: log,
		Funnel:           c.funnelStore(client, log), // reads only: the engine's store records
		QuestionsChannel: c.Slack.QuestionsChannel, SignupsChannel: c.Slack.SignupsChannel, Routes: c.Slack.Routes,
		SignupFields: c.Slack.SignupFields, CommandChannels: c.Slack.CommandChannels, ShowStaffName: c.Slack.ShowStaffName,
		QuietTime: c.Slack.QuietTime, OutboxMaxBackoff: c.Slack.MaxBackoff, Keyring: ring, Sent: sent, // staff replies, for /wipe
		AnsweredRetention: c.Retention.Answered, DeadRetention: c.Retention.DeadLetters, DeadMaxLen: c.Retention.DeadMax,
		Observer: deskObserver{m},
	})
	if err != nil {
		return nil, nil, err
	}
	m.reg.MustRegister(newOutboxCollector(client, c.RedisPrefix, log), openQuestions(desk, log))
	tasks := []task{{"slack desk outboxes", desk.Run}}
	if c.Slack.AppToken != "" {
		sm := socketmode.New(api)
		tasks = append(tasks, task{"slack socket mode", func(ctx context.Context) error { return desk.RunSocketMode(ctx, sm) }})
		log.Info("slack: receiving events over Socket Mode")
	}
	return desk, tasks, nil
}

// subscriptions adapts the broadcast audience store to the engine.
type subscriptions struct{ s *broadcast.Store }

func (a subscriptions) Subscribe(ctx context.Context, sub bot.Subscription) error {
	return a.s.Subscribe(ctx, broadcast.Subscriber{ChatID: sub.ChatID, Lang: sub.Lang, Role: sub.Role, Areas: sub.Areas, Border: sub.Border})
}

func (a subscriptions) Unsubscribe(ctx context.Context, chatID int64, reason string) (bool, error) {
	return a.s.Unsubscribe(ctx, chatID, reason)
}

func (a subscriptions) IsSubscribed(ctx context.Context, chatID int64) (bool, error) {
	return a.s.IsSubscribed(ctx, chatID)
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

func runConsole(ctx context.Context, c config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	log := c.logger(stderr)
	ct, err := mustContent(c, stderr)
	if err != nil {
		return err
	}
	lang := c.ConsoleLang
	if len(args) > 0 && locales.Supported(args[0]) {
		lang = args[0]
	}
	client, closeRedis, err := connectRedis(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeRedis()
	// On the embedded Redis nothing outlives the process, the key
	// included; on a real one the console must read what `run` wrote.
	ring := sealed.Throwaway()
	if c.redisConfigured() {
		if ring, err = c.Keys.keyring(log, true); err != nil {
			return err
		}
	}
	con := console.New(stdout, lang)
	bstore := broadcast.New(client, broadcast.Options{Prefix: c.RedisPrefix, Keyring: ring, Logger: log})
	engine, err := bot.NewEngine(bot.Config{
		Store: c.store(client, ring, log), Sender: con, Flows: ct.flows, Locales: ct.locales, Logger: log,
		FormTTL: c.FormTTL, BotUsername: "bridge_bot", FAQ: ct.faq, Contact: c.Contact,
		Subscriptions: subscriptions{bstore},
		Erasers:       []bot.Eraser{bstore, audit.New(client, c.RedisPrefix)},
		Wiper:         con, // /wipe: the terminal's lines cannot be deleted; it says so
	})
	if err != nil {
		return err
	}
	return con.Run(ctx, stdin, engine)
}
