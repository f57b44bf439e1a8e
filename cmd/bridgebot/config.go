package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/slack"
	"bridgebot/bot/telegram"
)

// config is every setting, read once from the environment.
type config struct {
	RedisURL      string
	RedisPassword string         // REDIS_PASSWORD: for Sentinel's masters, or a REDIS_URL without one
	Sentinel      sentinelConfig // when set, replaces REDIS_URL
	TelegramTok   string
	TelegramURL   string
	FlowsDir      string
	LocalesDir    string
	FormTTL       time.Duration
	Workers       int
	LogLevel      slog.Level
	LogJSON       bool
	RedisPrefix   string
	PollTimeout   time.Duration
	ConsoleLang   string
	UpdateTimeout time.Duration
	// Contact is how members reach the organizers when the bot cannot
	// answer and there is no staff desk (BRIDGE_CONTACT).
	Contact string
	// ShutdownTimeout bounds a graceful shutdown (SIGTERM, SIGINT).
	ShutdownTimeout time.Duration
	// MemberRateLimit is MEMBER_RATE_LIMIT: updates per member per minute
	// (0: bot.DefaultMemberRateLimit).
	MemberRateLimit int

	HTTPAddr  string
	Webhook   webhookConfig
	Slack     slackConfig
	Broadcast broadcastConfig
	Keys      keyConfig
	Retention retentionConfig
}

// sentinelConfig selects Redis through Sentinel: the bot asks the
// Sentinels which server is the master and follows a failover.
type sentinelConfig struct {
	Addrs    []string // host:port of each Sentinel
	Master   string   // the master's name in the Sentinels' configuration
	Password string   // the Sentinels' own password (requirepass of sentinel.conf)
}

// redisConfigured reports whether a Redis was configured (REDIS_URL or
// Sentinel) rather than the embedded one.
func (c config) redisConfigured() bool { return c.RedisURL != "" || len(c.Sentinel.Addrs) > 0 }

// webhookConfig is Telegram's webhook mode; the bot long-polls when URL
// is empty.
type webhookConfig struct {
	URL            string // public HTTPS URL Telegram posts to
	Secret         string // "" = generate one and share it through Redis
	MaxConnections int
}

// slackConfig is the staff desk's settings; the desk runs when BotToken
// is set.
type slackConfig struct {
	BotToken         string
	AppToken         string // Socket Mode when set
	SigningSecret    string // HTTP Events API when set
	APIURL           string
	QuestionsChannel string
	SignupsChannel   string
	Routes           []slack.Route
	SignupFields     []string
	CommandChannels  []string
	ShowStaffName    bool
	QuietTime        time.Duration
	MaxBackoff       time.Duration // outbox retry cap
	Organizers       []string      // Slack user IDs who may broadcast
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		RedisURL:      getenv("REDIS_URL"),
		RedisPassword: getenv("REDIS_PASSWORD"),
		Sentinel: sentinelConfig{
			Addrs: list(getenv("REDIS_SENTINEL_ADDRS")), Master: getenv("REDIS_SENTINEL_MASTER"), Password: getenv("REDIS_SENTINEL_PASSWORD"),
		},
		TelegramTok:     getenv("TELEGRAM_BOT_TOKEN"),
		TelegramURL:     or(getenv("TELEGRAM_API_URL"), telegram.DefaultAPIURL),
		FlowsDir:        getenv("FLOWS_DIR"),
		LocalesDir:      getenv("LOCALES_DIR"),
		RedisPrefix:     or(getenv("REDIS_PREFIX"), "bridgebot:"),
		ConsoleLang:     or(getenv("CONSOLE_LANG"), langFromLocale(getenv("LANG"))),
		FormTTL:         bot.DefaultFormTTL,
		Contact:         getenv("BRIDGE_CONTACT"),
		Workers:         8,
		PollTimeout:     30 * time.Second,
		UpdateTimeout:   60 * time.Second,
		ShutdownTimeout: 10 * time.Second,
	}
	var ps configProblems
	var err error
	ps.add(c.Sentinel.check(c.RedisURL))
	if c.RedisURL != "" {
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			ps.addf("REDIS_URL: %v", err)
		}
	}
	if u, err := url.Parse(c.TelegramURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps.addf("TELEGRAM_API_URL=%q: want an http:// or https:// URL", c.TelegramURL)
	}
	ps.add(checkDir("FLOWS_DIR", c.FlowsDir))
	ps.add(checkDir("LOCALES_DIR", c.LocalesDir))
	if v := getenv("FORM_TTL"); v != "" {
		if c.FormTTL, err = parseDays(v); err != nil || c.FormTTL <= 0 {
			ps.addf("FORM_TTL=%q: want a duration such as 14d or 72h", v)
		}
	}
	if v := getenv("WORKERS"); v != "" {
		if c.Workers, err = strconv.Atoi(v); err != nil || c.Workers < 1 || c.Workers > 1024 {
			ps.addf("WORKERS=%q: want a number from 1 to 1024", v)
		}
	}
	if v := getenv("MEMBER_RATE_LIMIT"); v != "" {
		if c.MemberRateLimit, err = strconv.Atoi(v); err != nil || c.MemberRateLimit < 1 || c.MemberRateLimit > 10000 {
			ps.addf("MEMBER_RATE_LIMIT=%q: want a number of messages per minute from 1 to 10000", v)
		}
	}
	if v := getenv("TELEGRAM_POLL_TIMEOUT"); v != "" {
		if c.PollTimeout, err = time.ParseDuration(v); err != nil || c.PollTimeout < 0 || c.PollTimeout > 50*time.Second {
			ps.addf("TELEGRAM_POLL_TIMEOUT=%q: want a duration up to 50s", v)
		}
	}
	if v := getenv("SHUTDOWN_TIMEOUT"); v != "" {
		if c.ShutdownTimeout, err = time.ParseDuration(v); err != nil || c.ShutdownTimeout <= 0 {
			ps.addf("SHUTDOWN_TIMEOUT=%q: want a duration such as 10s", v)
		}
	}
	c.HTTPAddr = or(getenv("HTTP_ADDR"), ":8080")
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		ps.addf("HTTP_ADDR=%q: want host:port or :port, such as :8080", c.HTTPAddr)
	}
	c.Keys = loadKeyConfig(getenv)
	ps.add(c.Keys.check())
	c.Webhook = loadWebhookConfig(getenv, &ps)
	if r, err := loadRetention(getenv); err != nil {
		ps.add(err)
	} else {
		c.Retention = r
	}
	c.Broadcast = loadBroadcastConfig(getenv, &ps)
	c.loadSlack(getenv, &ps)
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("LOG_LEVEL"), "info"))); err != nil {
		ps.addf("LOG_LEVEL=%q: want debug, info, warn or error", getenv("LOG_LEVEL"))
	}
	switch f := or(getenv("LOG_FORMAT"), "text"); f {
	case "text":
	case "json":
		c.LogJSON = true
	default:
		ps.addf("LOG_FORMAT=%q: want text or json", f)
	}
	return c, ps.err()
}

func (c config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// parseDays accepts Go durations plus whole days ("14d"), which is how
// organizers think about expiry.
func parseDays(v string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(d)
		return time.Duration(n) * 24 * time.Hour, err
	}
	return time.ParseDuration(v)
}

func langFromLocale(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), "es") {
		return "es"
	}
	return "en"
}

func (c *config) loadSlack(getenv func(string) string, ps *configProblems) {
	s := slackConfig{
		BotToken:         getenv("SLACK_BOT_TOKEN"),
		AppToken:         getenv("SLACK_APP_TOKEN"),
		SigningSecret:    getenv("SLACK_SIGNING_SECRET"),
		APIURL:           getenv("SLACK_API_URL"),
		QuestionsChannel: getenv("SLACK_QUESTIONS_CHANNEL"),
		SignupsChannel:   getenv("SLACK_SIGNUPS_CHANNEL"),
		SignupFields:     list(getenv("SLACK_SIGNUP_FIELDS")),
		CommandChannels:  list(getenv("SLACK_COMMAND_CHANNELS")),
		Organizers:       list(getenv("SLACK_ORGANIZERS")),
		QuietTime:        slack.DefaultQuietTime,
	}
	var err error
	if s.Routes, err = slack.ParseRoutes(getenv("SLACK_ROUTES")); err != nil {
		ps.addf("SLACK_ROUTES: %v", err)
	}
	if v := getenv("SLACK_SHOW_STAFF_NAME"); v != "" {
		if s.ShowStaffName, err = strconv.ParseBool(v); err != nil {
			ps.addf("SLACK_SHOW_STAFF_NAME=%q: want true or false", v)
		}
	}
	if v := getenv("DESK_QUIET_TIME"); v != "" {
		if s.QuietTime, err = parseDays(v); err != nil || s.QuietTime <= 0 {
			ps.addf("DESK_QUIET_TIME=%q: want a duration such as 7d or 48h", v)
		}
	}
	if v := getenv("OUTBOX_MAX_BACKOFF"); v != "" {
		if s.MaxBackoff, err = time.ParseDuration(v); err != nil || s.MaxBackoff <= 0 {
			ps.addf("OUTBOX_MAX_BACKOFF=%q: want a duration such as 5m", v)
		}
	}
	if s.APIURL != "" && !strings.HasSuffix(s.APIURL, "/") {
		s.APIURL += "/" // slack-go appends method names directly
	}
	if s.BotToken != "" {
		if s.QuestionsChannel == "" {
			ps.addf("SLACK_QUESTIONS_CHANNEL is not set: the staff desk needs a channel ID for members' questions")
		}
		if s.AppToken == "" && s.SigningSecret == "" {
			ps.addf("set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (Events API over HTTP) to receive staff replies")
		}
	}
	c.Slack = s
}

func list(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func loadWebhookConfig(getenv func(string) string, ps *configProblems) webhookConfig {
	w := webhookConfig{
		URL:            getenv("TELEGRAM_WEBHOOK_URL"),
		Secret:         getenv("TELEGRAM_WEBHOOK_SECRET"),
		MaxConnections: telegram.DefaultMaxConnections,
	}
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || u.Host == "" || u.Scheme != "https" {
			ps.addf("TELEGRAM_WEBHOOK_URL=%q: want the public https:// URL that reaches %s (Telegram requires HTTPS)", w.URL, telegram.WebhookPath)
		}
		switch u.Port() {
		case "", "443", "80", "88", "8443":
		default:
			ps.addf("TELEGRAM_WEBHOOK_URL=%q: Telegram delivers only to ports 443, 80, 88 or 8443", w.URL)
		}
	}
	if w.Secret != "" && !validWebhookSecret(w.Secret) {
		ps.addf("TELEGRAM_WEBHOOK_SECRET: want 1 to 256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule)")
	}
	if v := getenv("TELEGRAM_WEBHOOK_MAX_CONNECTIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			ps.addf("TELEGRAM_WEBHOOK_MAX_CONNECTIONS=%q: want a number from 1 to 100", v)
		}
		w.MaxConnections = n
	}
	return w
}

// validWebhookSecret is Telegram's rule for secret_token.
func validWebhookSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (s sentinelConfig) check(redisURL string) error {
	switch {
	case len(s.Addrs) == 0 && s.Master != "":
		return errors.New("REDIS_SENTINEL_MASTER is set without REDIS_SENTINEL_ADDRS: list the Sentinels as host:port,host:port")
	case len(s.Addrs) == 0:
		return nil
	case s.Master == "":
		return errors.New("REDIS_SENTINEL_ADDRS is set without REDIS_SENTINEL_MASTER: the master's name in sentinel.conf (sentinel monitor NAME ...)")
	case redisURL != "":
		return errors.New("set REDIS_URL or REDIS_SENTINEL_ADDRS, not both: with Sentinel the bot asks the Sentinels where the master is")
	}
	for _, a := range s.Addrs {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return fmt.Errorf("REDIS_SENTINEL_ADDRS: %q is not host:port", a)
		}
	}
	return nil
}

// configProblems collects every problem of the configuration, so one
// start reports them all.
type configProblems []string

func (p *configProblems) add(err error) {
	if err != nil {
		*p = append(*p, err.Error())
	}
}

func (p *configProblems) addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func (p configProblems) err() error {
	if len(p) == 0 {
		return nil
	}
	return configError(p)
}

// configError is every configuration problem, one per line.
type configError []string

func (e configError) Error() string {
	if len(e) == 1 {
		return "configuration: " + e[0]
	}
	return fmt.Sprintf("%d configuration problems:\n  %s", len(e), strings.Join(e, "\n  "))
}

// checkDir reports a folder setting that is not a readable folder.
func checkDir(name, dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", name, dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s=%q: not a folder", name, dir)
	}
	return nil
}

// features describes what the configuration turns on, one line each,
// without secrets.
func (c config) features() []string {
	var out []string
	switch {
	case c.TelegramTok == "":
		out = append(out, "telegram:     no TELEGRAM_BOT_TOKEN (run refuses to start; console works)")
	case c.Webhook.URL != "":
		secret := "TELEGRAM_WEBHOOK_SECRET"
		if c.Webhook.Secret == "" {
			secret = "generated once, kept in Redis"
		}
		out = append(out, fmt.Sprintf("telegram:     webhook at %s (secret: %s; up to %d deliveries at once), served on %s%s",
			c.Webhook.URL, secret, c.Webhook.MaxConnections, c.HTTPAddr, telegram.WebhookPath))
	default:
		out = append(out, fmt.Sprintf("telegram:     long polling (%v)", c.PollTimeout))
	}
	switch {
	case len(c.Sentinel.Addrs) > 0:
		out = append(out, fmt.Sprintf("redis:        master %q through Sentinel at %s", c.Sentinel.Master, strings.Join(c.Sentinel.Addrs, ", ")))
	case c.RedisURL != "":
		shown := "(unparsable)"
		if u, err := url.Parse(c.RedisURL); err == nil {
			shown = u.Redacted()
		}
		out = append(out, "redis:        "+shown)
	default:
		out = append(out, "redis:        embedded, in memory: ALL DATA IS LOST when the bot stops (set REDIS_URL)")
	}
	if c.Slack.BotToken == "" {
		out = append(out, "staff desk:   off (no SLACK_BOT_TOKEN): members cannot ask the team"+map[bool]string{true: "; BRIDGE_CONTACT is shown instead", false: ""}[c.Contact != ""])
	} else {
		mode := "Socket Mode"
		if c.Slack.AppToken == "" {
			mode = "Events API over HTTP on " + c.HTTPAddr
		}
		desk := fmt.Sprintf("staff desk:   on, %s; questions to %s", mode, c.Slack.QuestionsChannel)
		if c.Slack.SignupsChannel != "" {
			desk += ", sign-ups to " + c.Slack.SignupsChannel
		}
		out = append(out, desk)
	}
	paid := "paid broadcasts off"
	if c.Broadcast.Paid {
		paid = fmt.Sprintf("paid broadcasts up to %.0f/s", c.Broadcast.PaidRate)
	}
	from := "from the command line"
	if c.Slack.BotToken != "" && len(c.Slack.Organizers) > 0 {
		from += fmt.Sprintf(" and from Slack (%d organizers)", len(c.Slack.Organizers))
	}
	out = append(out, fmt.Sprintf("broadcasts:   %.0f/s, %s; %s", c.Broadcast.Rate, paid, from))
	out = append(out, fmt.Sprintf("metrics:      /metrics, /healthz and /readyz on %s", c.HTTPAddr))
	switch {
	case c.Keys.Key != "":
		enc := "encryption:   AES-256-GCM with BRIDGE_DATA_KEY"
		if n := len(list(c.Keys.Old)); n > 0 {
			enc += fmt.Sprintf(", %d retired key(s) still read", n)
		}
		out = append(out, enc)
	default:
		state := "run creates it"
		if _, err := os.Stat(c.Keys.File); err == nil {
			state = "exists"
		}
		out = append(out, fmt.Sprintf("encryption:   AES-256-GCM with the key file %s (%s; back it up)", c.Keys.File, state))
	}
	return out
}
