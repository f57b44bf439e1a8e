package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"bridgebot/bot"
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
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		RedisURL:     getenv("REDIS_URL"),
		TelegramTok:  getenv("TELEGRAM_BOT_TOKEN"),
		TelegramURL:  or(getenv("TELEGRAM_API_URL"), telegram.DefaultAPIURL),
		FlowsDir:     getenv("FLOWS_DIR"),
		LocalesDir:   getenv("LOCALES_DIR"),
		RedisPrefix:  or(getenv("REDIS_PREFIX"), "bridgebot:"),
		ConsoleLang:  or(getenv("CONSOLE_LANG"), langFromLocale(getenv("LANG"))),
		FormTTL:      bot.DefaultFormTTL,
		Workers:      8,
		PollTimeout:  30 * time.Second,
		UpdateTimout: 60 * time.Second,
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
	if v := getenv("TELEGRAM_POLL_TIMEOUT"); v != "" {
		if c.PollTimeout, err = time.ParseDuration(v); err != nil || c.PollTimeout < 0 || c.PollTimeout > 50*time.Second {
			return c, fmt.Errorf("TELEGRAM_POLL_TIMEOUT=%q: want a duration up to 50s", v)
		}
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
