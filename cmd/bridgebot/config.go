package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/slack"
	"bridgebot/bot/telegram"
)

// config is every setting, read once from the environment.
type config struct {
	RedisURL     string
	TelegramTok  string
	TelegramURL  string
	FlowsDir     string
	LocalesDir   string
	FormTTL      time.Duration
	Workers      int
	LogLevel     slog.Level
	LogJSON      bool
	RedisPrefix  string
	PollTimeout  time.Duration
	ConsoleLang  string
	UpdateTimout time.Duration
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
		RedisURL:        getenv("REDIS_URL"),
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
		UpdateTimout:    60 * time.Second,
		ShutdownTimeout: 10 * time.Second,
	}
	var err error
	if v := getenv("FORM_TTL"); v != "" {
		if c.FormTTL, err = parseDays(v); err != nil || c.FormTTL <= 0 {
			return c, fmt.Errorf("FORM_TTL=%q: want a duration such as 14d or 72h", v)
		}
	}
	if v := getenv("WORKERS"); v != "" {
		if c.Workers, err = strconv.Atoi(v); err != nil || c.Workers < 1 || c.Workers > 1024 {
			return c, fmt.Errorf("WORKERS=%q: want a number from 1 to 1024", v)
		}
	}
	if v := getenv("MEMBER_RATE_LIMIT"); v != "" {
		if c.MemberRateLimit, err = strconv.Atoi(v); err != nil || c.MemberRateLimit < 1 || c.MemberRateLimit > 10000 {
			return c, fmt.Errorf("MEMBER_RATE_LIMIT=%q: want a number of messages per minute from 1 to 10000", v)
		}
	}
	if v := getenv("TELEGRAM_POLL_TIMEOUT"); v != "" {
		if c.PollTimeout, err = time.ParseDuration(v); err != nil || c.PollTimeout < 0 || c.PollTimeout > 50*time.Second {
			return c, fmt.Errorf("TELEGRAM_POLL_TIMEOUT=%q: want a duration up to 50s", v)
		}
	}
	if v := getenv("SHUTDOWN_TIMEOUT"); v != "" {
		if c.ShutdownTimeout, err = time.ParseDuration(v); err != nil || c.ShutdownTimeout <= 0 {
			return c, fmt.Errorf("SHUTDOWN_TIMEOUT=%q: want a duration such as 10s", v)
		}
	}
	c.HTTPAddr = or(getenv("HTTP_ADDR"), ":8080")
	c.Keys = loadKeyConfig(getenv)
	if c.Webhook, err = loadWebhookConfig(getenv); err != nil {
		return c, err
	}
	if c.Retention, err = loadRetention(getenv); err != nil {
		return c, err
	}
	if c.Broadcast, err = loadBroadcastConfig(getenv); err != nil {
		return c, err
	}
	if err := c.loadSlack(getenv); err != nil {
		return c, err
	}
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("LOG_LEVEL"), "info"))); err != nil {
		return c, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", getenv("LOG_LEVEL"))
	}
	switch f := or(getenv("LOG_FORMAT"), "text"); f {
	case "text":
	case "json":
		c.LogJSON = true
	default:
		return c, fmt.Errorf("LOG_FORMAT=%q: want text or json", f)
	}
	return c, nil
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

func (c *config) loadSlack(getenv func(string) string) error {
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
		return fmt.Errorf("SLACK_ROUTES: %w", err)
	}
	if v := getenv("SLACK_SHOW_STAFF_NAME"); v != "" {
		if s.ShowStaffName, err = strconv.ParseBool(v); err != nil {
			return fmt.Errorf("SLACK_SHOW_STAFF_NAME=%q: want true or false", v)
		}
	}
	if v := getenv("DESK_QUIET_TIME"); v != "" {
		if s.QuietTime, err = parseDays(v); err != nil || s.QuietTime <= 0 {
			return fmt.Errorf("DESK_QUIET_TIME=%q: want a duration such as 7d or 48h", v)
		}
	}
	if v := getenv("OUTBOX_MAX_BACKOFF"); v != "" {
		if s.MaxBackoff, err = time.ParseDuration(v); err != nil || s.MaxBackoff <= 0 {
			return fmt.Errorf("OUTBOX_MAX_BACKOFF=%q: want a duration such as 5m", v)
		}
	}
	if s.APIURL != "" && !strings.HasSuffix(s.APIURL, "/") {
		s.APIURL += "/" // slack-go appends method names directly
	}
	if s.BotToken != "" {
		if s.QuestionsChannel == "" {
			return fmt.Errorf("SLACK_QUESTIONS_CHANNEL is not set: the staff desk needs a channel ID for members' questions")
		}
		if s.AppToken == "" && s.SigningSecret == "" {
			return fmt.Errorf("set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (Events API over HTTP) to receive staff replies")
		}
	}
	c.Slack = s
	return nil
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

func loadWebhookConfig(getenv func(string) string) (webhookConfig, error) {
	w := webhookConfig{
		URL:            getenv("TELEGRAM_WEBHOOK_URL"),
		Secret:         getenv("TELEGRAM_WEBHOOK_SECRET"),
		MaxConnections: telegram.DefaultMaxConnections,
	}
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || u.Host == "" || u.Scheme != "https" {
			return w, fmt.Errorf("TELEGRAM_WEBHOOK_URL=%q: want the public https:// URL that reaches %s (Telegram requires HTTPS)", w.URL, telegram.WebhookPath)
		}
		switch u.Port() {
		case "", "443", "80", "88", "8443":
		default:
			return w, fmt.Errorf("TELEGRAM_WEBHOOK_URL=%q: Telegram delivers only to ports 443, 80, 88 or 8443", w.URL)
		}
	}
	if w.Secret != "" && !validWebhookSecret(w.Secret) {
		return w, errors.New("TELEGRAM_WEBHOOK_SECRET: want 1 to 256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule)")
	}
	if v := getenv("TELEGRAM_WEBHOOK_MAX_CONNECTIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return w, fmt.Errorf("TELEGRAM_WEBHOOK_MAX_CONNECTIONS=%q: want a number from 1 to 100", v)
		}
		w.MaxConnections = n
	}
	return w, nil
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
