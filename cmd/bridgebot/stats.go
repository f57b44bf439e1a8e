package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"bridgebot/bot/funnel"
	"bridgebot/flows"
	"bridgebot/locales"
)

// funnelStore is the durable funnel on the bot's Redis, with the engine's
// form TTL (a form past it has expired).
func (c config) funnelStore(client redis.UniversalClient, log *slog.Logger) *funnel.Store {
	return funnel.New(client, funnel.Options{Prefix: c.RedisPrefix, FormTTL: c.FormTTL, Logger: log})
}

// funnelLabels name steps, languages and FAQ topics in English, as staff
// read them.
func funnelLabels(cat *locales.Catalog) funnel.Labels {
	text := func(id string) string {
		t, _ := cat.Text("en", id)
		return t
	}
	return funnel.Labels{
		Text:      text,
		LangName:  func(lang string) string { return text("lang.button." + lang) },
		TopicText: func(id string) string { return text("faq." + id + ".title") },
	}
}

// runStats prints the sign-up funnel and the FAQ counts as text bars.
func runStats(ctx context.Context, c config, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: bridgebot stats")
		return errUsage
	}
	ct, log, client, closeRedis, err := cliSetup(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer closeRedis()
	r, err := funnel.Build(ctx, c.funnelStore(client, log), ct.flows[flows.SignupFlow], locales.Languages, funnelLabels(ct.locales))
	if err != nil {
		return err
	}
	return r.WriteText(stdout)
}

// funnelCollector reports, at scrape time, the forms that expired at each
// step: only Redis knows (a form expires when nobody is there to see it).
// The count is the whole deployment's, the same from every replica.
type funnelCollector struct {
	store   *funnel.Store
	flow    string
	expired *prometheus.Desc
	log     *slog.Logger
}

func newFunnelCollector(store *funnel.Store, log *slog.Logger) *funnelCollector {
	return &funnelCollector{store: store, flow: flows.SignupFlow, log: log,
		expired: prometheus.NewDesc("bridgebot_form_expired", "Forms left unfinished past the form TTL, by flow, the step they were at, and language. Read from Redis: the whole deployment's count, the same on every replica (use max, not sum).", []string{"flow", "step", "lang"}, nil),
	}
}

func (c *funnelCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.expired }

func (c *funnelCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.store.Flow(ctx, c.flow, locales.Languages)
	if err != nil {
		c.log.Debug("metrics: funnel", slog.Any("err", err))
		return
	}
	for lang, fc := range counts {
		for step, sc := range fc.Steps {
			if sc.Expired > 0 {
				ch <- prometheus.MustNewConstMetric(c.expired, prometheus.CounterValue, float64(sc.Expired), c.flow, step, lang)
			}
		}
	}
}
