package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/audit"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/console"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/sealed"
	"bridgebot/bot/slack"
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
		ps = append(ps, cat.CheckIDs("bridgebot (Go code)", []string{locales.OrganizationMessage, footerMessage})...)
		ps = append(ps, prefix(cat.Check(), locName)...)
		if fq != nil {
			ps = append(ps, faq.Check(fq, cat)...)
		}
		ps = append(ps, cat.CheckIDs("bot (Go code)", bot.MessageIDs())...)
		ps = append(ps, cat.CheckIDs("flows (Go code)", flows.UIMessageIDs())...)
		ps = append(ps, cat.CheckIDs("bot/slack (Go code)", slack.UIMessageIDs())...)
		ps = append(ps, cat.CheckIDs("bot/broadcast (Go code)", broadcast.UIMessageIDs())...)
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

// redisConn is a connected Redis client. Down is what its one ping at
// connection said (nil: Redis answered): the bot runs on and recovers when
// Redis returns, a command that needs Redis now refuses.
type redisConn struct {
	*redis.Client
	Down         error
	stopEmbedded func()
}

// Close releases the client and the embedded Redis, if one was started.
func (r *redisConn) Close() {
	r.Client.Close()
	r.stopEmbedded()
}

// connectRedis connects to Redis through Sentinel (REDIS_SENTINEL_ADDRS)
// or REDIS_URL, or starts an embedded in-memory Redis (loudly: nothing
// survives a restart), and pings it once.
func connectRedis(ctx context.Context, c config, log *slog.Logger) (*redisConn, error) {
	conn := &redisConn{stopEmbedded: func() {}}
	const timeout = 2 * time.Second
	if len(c.Sentinel.Addrs) > 0 {
		// The failover client asks the Sentinels for the master, follows
		// them when they promote a replica, and reconnects.
		conn.Client = redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: c.Sentinel.Master, SentinelAddrs: c.Sentinel.Addrs, SentinelPassword: c.Sentinel.Password,
			Password: c.RedisPassword, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
			Protocol: redisProtocol,
		})
	} else {
		url := c.RedisURL
		if url == "" {
			addr, stop, err := redisstore.StartEmbedded()
			if err != nil {
				return nil, fmt.Errorf("start embedded redis: %w", err)
			}
			conn.stopEmbedded = stop
			url = "redis://" + addr
			log.Warn("REDIS_URL is not set: using an embedded in-memory Redis. ALL DATA (sign-ups, conversations) WILL BE LOST when the bot stops. Set REDIS_URL for real use.")
		}
		opt, err := redis.ParseURL(url)
		if err != nil {
			conn.stopEmbedded()
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		if opt.Password == "" && c.RedisPassword != "" {
			opt.Password = c.RedisPassword
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = timeout, timeout, timeout
		opt.Protocol = redisProtocol
		conn.Client = redis.NewClient(opt)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if conn.Down = conn.Ping(pingCtx).Err(); conn.Down != nil {
		// Not fatal for the bot: it tells members it is unavailable and
		// recovers when Redis returns. Worth a loud line for the operator.
		log.Error("redis is not answering; members will be told to try again later", slog.Any("err", conn.Down))
	}
	return conn, nil
}

func (c config) store(client *redis.Client, ring *sealed.Keyring, log *slog.Logger) *redisstore.Store {
	return redisstore.New(client, redisstore.Options{Prefix: c.RedisPrefix, SessionTTL: c.FormTTL, Keyring: ring, Logger: log})
}

// openCommand is what a command that reads the bot's data starts with:
// the checked flows and texts (refusing to start on invalid ones, as run
// does), a log on stderr, and Redis, which the caller closes.
func openCommand(ctx context.Context, c config, stderr io.Writer) (content, *slog.Logger, *redisConn, error) {
	ct, err := mustContent(c, stderr)
	if err != nil {
		return ct, nil, nil, err
	}
	log := c.logger(stderr)
	client, err := connectRedis(ctx, c, log)
	if err != nil {
		return ct, nil, nil, err
	}
	return ct, log, client, nil
}

func runConsole(ctx context.Context, c config, args []string, s streams) error {
	stdin, stdout, stderr := s.in, s.out, s.err
	lang := c.ConsoleLang
	if len(args) > 0 && locales.Supported(args[0]) {
		lang = args[0]
	}
	ct, log, client, err := openCommand(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer client.Close()
	// On the embedded Redis nothing outlives the process, the key
	// included; on a real one the console must read what `run` wrote.
	ring := sealed.Throwaway()
	if c.redisConfigured() {
		if ring, err = c.Keys.keyring(log, true); err != nil {
			return err
		}
	}
	con := console.New(stdout, lang)
	bstore := broadcast.New(client.Client, broadcast.Options{Prefix: c.RedisPrefix, Keyring: ring, Logger: log})
	engine, err := bot.NewEngine(bot.Config{
		Store: c.store(client.Client, ring, log), Sender: con, Flows: ct.flows, Locales: ct.locales, Logger: log,
		FormTTL: c.FormTTL, BotUsername: "bridge_bot", FAQ: ct.faq, Contact: c.Contact,
		Subscriptions: bstore.Subscribers,
		Erasers:       []bot.Eraser{bstore, audit.New(client.Client, c.RedisPrefix)},
		Wiper:         con, // /wipe: the terminal's lines cannot be deleted; it says so
	})
	if err != nil {
		return err
	}
	return con.Run(ctx, stdin, engine)
}
