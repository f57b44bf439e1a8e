package main

import (
	"errors"
	"strings"
	"testing"

	"bridgebot/bot/sealed"
)

// Every configuration problem is reported by one start, each naming its
// variable; check prints them too.
func TestConfigReportsEveryProblemAtOnce(t *testing.T) {
	vars := map[string]string{
		"FORM_TTL": "soon", "WORKERS": "0", "MEMBER_RATE_LIMIT": "0", "TELEGRAM_POLL_TIMEOUT": "2m", "SHUTDOWN_TIMEOUT": "-1s",
		"HTTP_ADDR": "8080", "TELEGRAM_API_URL": "api.telegram.org", "REDIS_URL": "mysql://x",
		"BRIDGE_DATA_KEY": "short", "BROADCAST_RATE": "99", "TELEGRAM_WEBHOOK_URL": "http://bot.example.org/hook",
		"SLACK_BOT_TOKEN": "xoxb-1", "LOG_LEVEL": "loud", "LOG_FORMAT": "xml", "FLOWS_DIR": t.TempDir() + "/missing",
	}
	e := &env{t: t, vars: vars}
	_, errOut, err := e.cli("run")
	var ce configError
	if !errors.As(err, &ce) {
		t.Fatalf("run: %v\n%s", err, errOut)
	}
	want := []string{"FORM_TTL", "WORKERS", "MEMBER_RATE_LIMIT", "TELEGRAM_POLL_TIMEOUT", "SHUTDOWN_TIMEOUT", "HTTP_ADDR", "TELEGRAM_API_URL",
		"REDIS_URL", "BRIDGE_DATA_KEY", "BROADCAST_RATE", "TELEGRAM_WEBHOOK_URL", "SLACK_QUESTIONS_CHANNEL", "SLACK_APP_TOKEN", "LOG_LEVEL", "LOG_FORMAT", "FLOWS_DIR"}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("no problem about %s in:\n%v", w, err)
		}
	}
	if len(ce) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(ce), len(want), err)
	}
	out, _, err := e.cli("check")
	if err == nil || strings.Count(out, "configuration: ") != len(want) {
		t.Errorf("check: %v\n%s", err, out)
	}

	for _, tc := range []struct{ vars map[string]string }{
		{map[string]string{"REDIS_SENTINEL_ADDRS": "127.0.0.1:26379"}},
		{map[string]string{"REDIS_SENTINEL_MASTER": "bridge"}},
		{map[string]string{"REDIS_SENTINEL_ADDRS": "127.0.0.1:26379", "REDIS_SENTINEL_MASTER": "bridge", "REDIS_URL": "redis://x:6379"}},
		{map[string]string{"REDIS_SENTINEL_ADDRS": "sentinel", "REDIS_SENTINEL_MASTER": "bridge"}},
	} {
		if _, err := loadConfig(func(k string) string { return tc.vars[k] }); err == nil || !strings.Contains(err.Error(), "REDIS_") {
			t.Errorf("%v: %v", tc.vars, err)
		}
	}
}

// check says which features the configuration turns on, and no secret.
func TestCheckPrintsEnabledFeatures(t *testing.T) {
	key := sealed.GenerateKey()
	e := &env{t: t, vars: map[string]string{
		"TELEGRAM_BOT_TOKEN": "123:SECRET-TOKEN", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/webhook",
		"REDIS_SENTINEL_ADDRS": "10.0.0.1:26379,10.0.0.2:26379", "REDIS_SENTINEL_MASTER": "bridge", "REDIS_PASSWORD": "REDIS-SECRET",
		"SLACK_BOT_TOKEN": "xoxb-SECRET", "SLACK_APP_TOKEN": "xapp-SECRET", "SLACK_QUESTIONS_CHANNEL": "C0QUESTIONS",
		"SLACK_ORGANIZERS": "U1,U2", "BROADCAST_PAID": "true", "BRIDGE_DATA_KEY": key, "HTTP_ADDR": ":9090",
	}}
	out, _, err := e.cli("check")
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	for _, w := range []string{
		"telegram:     webhook at https://bot.example.org/telegram/webhook",
		`redis:        master "bridge" through Sentinel at 10.0.0.1:26379, 10.0.0.2:26379`,
		"staff desk:   on, Socket Mode; questions to C0QUESTIONS",
		"broadcasts:   25/s, paid broadcasts up to 950/s; from the command line and from Slack (2 organizers)",
		"metrics:      /metrics, /healthz and /readyz on :9090",
		"encryption:   AES-256-GCM with BRIDGE_DATA_KEY",
		"flows and locales are valid",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("check output lacks %q:\n%s", w, out)
		}
	}
	for _, secret := range []string{"SECRET", key} {
		if strings.Contains(out, secret) {
			t.Errorf("check prints a secret (%s):\n%s", secret, out)
		}
	}
	e.vars = map[string]string{"REDIS_URL": "redis://:hunter2@db:6379/0"}
	out, _, _ = e.cli("check")
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "telegram:     no TELEGRAM_BOT_TOKEN") || !strings.Contains(out, "staff desk:   off") {
		t.Errorf("check:\n%s", out)
	}
}
