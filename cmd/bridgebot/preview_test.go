package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/redisstore/redistest"
)

// The store's preview of a job, as the CLI prints it.
func TestPreview(t *testing.T) {
	rdb, prefix := redistest.New(t)
	s := broadcast.New(rdb, broadcast.Options{Prefix: prefix, Rate: 25})
	ctx := context.Background()
	for i := range 40 {
		_ = s.Subscribe(ctx, bot.Subscription{ChatID: int64(i + 1), Lang: "en", Areas: []string{"labor"}})
	}
	for i := range 10 {
		_ = s.Subscribe(ctx, bot.Subscription{ChatID: int64(i + 100), Lang: "es", Areas: []string{"climate"}})
	}
	j := broadcast.Job{Texts: map[string]string{"en": "<b>Apply</b> by Friday"}, ButtonURL: "https://example.org", ButtonLabel: map[string]string{"en": "Apply"}}
	p, err := s.Preview(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	if p.Recipients != 40 || p.Skipped != 10 || p.Duration != 1600*time.Millisecond {
		t.Errorf("preview %+v", p)
	}
	out := renderPreview(p)
	for _, want := range []string{"Audience: all subscribers", "English:     40 members  get the English version",
		"Spanish:     10 members  get nothing", "Recipients: 40 (10 skipped); about 2s at 25 messages/s",
		"Apply by Friday", "[ Apply ] → https://example.org"} {
		if !strings.Contains(out, want) {
			t.Errorf("preview lacks %q:\n%s", want, out)
		}
	}
	j.Fallback = true
	j.Audience = broadcast.Audience{Areas: []string{"climate"}}
	p, err = s.Preview(ctx, j)
	if err != nil || p.Recipients != 10 || p.Groups[1].Gets != "en" {
		t.Errorf("fallback preview %+v, %v", p, err)
	}
	if !strings.Contains(renderPreview(p), "get the English version (fallback") {
		t.Errorf("fallback preview:\n%s", renderPreview(p))
	}
}
