package slack_test

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/funnel"
	"bridgebot/bot/slack"
	"bridgebot/bot/slack/slacktest"
	"bridgebot/flows"
)

// /bridge stats posts the funnel chart to the channel, through Slack's
// upload flow, with the FAQ's most asked topics and the unmatched count.
func TestStatsUploadsTheFunnelChart(t *testing.T) {
	fl, err := flows.Load(flows.Default())
	if err != nil {
		t.Fatal(err)
	}
	var fs *funnel.Store
	f := newFixtureWith(t, fixtureOptions{config: func(c *slack.Config) {
		fs = funnel.New(c.Redis, funnel.Options{Prefix: c.Prefix})
		c.Flows, c.Funnel = fl, fs
	}})
	now := time.Now()
	for range 3 {
		fs.FormArrived("signup", "name", "es", now, true)
	}
	fs.FormLeft("signup", "name", "es", now, bot.FormCancelled)
	fs.FAQ(bot.FAQAnswered, "cost", "es")
	fs.FAQ(bot.FAQAnswered, "cost", "es")
	fs.FAQ(bot.FAQUnmatched, "", "es")
	if err := fs.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	resp := slacktest.PostSigned(t, f.url+"/slack/commands", f.sl.SlashCommand(channel, staff, "/bridge", "stats"), secret)
	if body := slacktest.BodyString(resp); !strings.Contains(body, "funnel chart is on its way") {
		t.Fatalf("stats reply: %s", body)
	}
	var up slacktest.Upload
	f.sl.WaitFor(t, wait, func() bool {
		for _, u := range f.sl.Uploads() {
			if u.Completed && u.Channel == channel {
				up = u
				return true
			}
		}
		return false
	})
	cfg, err := png.DecodeConfig(bytes.NewReader(up.Data))
	if err != nil || !strings.HasSuffix(up.Name, ".png") {
		t.Fatalf("upload %q is not a PNG: %v", up.Name, err)
	}
	if cfg.Width != funnel.ChartWidth || cfg.Height != 2*funnel.PanelHeight {
		t.Fatalf("chart is %dx%d", cfg.Width, cfg.Height)
	}
	for _, want := range []string{"*Español* — 3 started, 0 sign-ups", "most stopped at *Name* (1)", "How much", "” 2", "could not match: 1"} {
		if !strings.Contains(up.InitialComment, want) {
			t.Errorf("comment lacks %q:\n%s", want, up.InitialComment)
		}
	}
}
