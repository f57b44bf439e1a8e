package main

import (
	"log/slog"
	"os"
	"strconv"
	"strings"

	"bridgebot/bot/broadcast"
	"bridgebot/flows"
)

// broadcastConfig is the bot's broadcast delivery settings.
type broadcastConfig struct {
	Rate        float64 // BROADCAST_RATE, messages per second for all replicas together (default 25)
	Paid        bool    // BROADCAST_PAID: allow paid broadcasts (they cost Telegram Stars)
	PaidRate    float64 // BROADCAST_PAID_RATE (default 950; Telegram's ceiling is 1000)
	Concurrency int     // BROADCAST_CONCURRENCY, messages in flight per replica; 0 = not set (see concurrency)
	Replica     string  // REPLICA_ID: tells apart replicas that run on one host
}

// loadBroadcastConfig reads BROADCAST_RATE, BROADCAST_PAID,
// BROADCAST_PAID_RATE, BROADCAST_CONCURRENCY and REPLICA_ID.
func loadBroadcastConfig(getenv func(string) string, ps *configProblems) broadcastConfig {
	b := broadcastConfig{Rate: broadcast.DefaultRate, PaidRate: broadcast.DefaultPaidRate,
		Replica: strings.TrimSpace(getenv("REPLICA_ID"))}
	var err error
	if v := getenv("BROADCAST_RATE"); v != "" {
		if b.Rate, err = strconv.ParseFloat(v, 64); err != nil || b.Rate <= 0 || b.Rate > 30 {
			ps.addf("BROADCAST_RATE=%q: want messages per second, more than 0 and at most 30 (Telegram's limit)", v)
		}
	}
	if v := getenv("BROADCAST_PAID"); v != "" {
		if b.Paid, err = strconv.ParseBool(v); err != nil {
			ps.addf("BROADCAST_PAID=%q: want true or false", v)
		}
	}
	if v := getenv("BROADCAST_PAID_RATE"); v != "" {
		if b.PaidRate, err = strconv.ParseFloat(v, 64); err != nil || b.PaidRate <= 0 || b.PaidRate > 1000 {
			ps.addf("BROADCAST_PAID_RATE=%q: want messages per second, more than 0 and at most 1000", v)
		}
	}
	if v := getenv("BROADCAST_CONCURRENCY"); v != "" {
		if b.Concurrency, err = strconv.Atoi(v); err != nil || b.Concurrency < 1 || b.Concurrency > 256 {
			ps.addf("BROADCAST_CONCURRENCY=%q: want a number from 1 to 256", v)
		}
	}
	return b
}

// broadcastOptions are the bot's broadcast settings, shared by its
// store and its worker, with the footer and choices of the loaded content.
func (c config) broadcastOptions(log *slog.Logger, ct content) broadcast.Options {
	b := c.Broadcast
	return broadcast.Options{
		Prefix: c.RedisPrefix, Rate: b.Rate, PaidRate: b.PaidRate, AllowPaid: b.Paid,
		Concurrency: concurrency(b), Logger: log, Consumer: replicaName(b.Replica),
		Footer: footers(ct.locales), Choices: ct.audienceChoices(),
	}
}

// audienceChoices are what broadcasts may select: the loaded sign-up
// flow's roles and areas, and the languages, named by the loaded texts.
func (ct content) audienceChoices() broadcast.Choices {
	return broadcast.NewChoices(ct.flows[flows.SignupFlow], ct.locales)
}

// replicaName is the broadcast worker's name, the same across restarts so
// a restarted replica takes its unfinished work back at once: the host
// name, and REPLICA_ID when set.
func replicaName(id string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "bridgebot"
	}
	if id == "" {
		return host
	}
	return host + ":" + id
}

// concurrency sizes the messages in flight. Each sender waits for
// Telegram's answer (~100 ms) before its next message, so paid broadcasts
// at hundreds per second need many in flight unless the operator set
// BROADCAST_CONCURRENCY. The rate limiter still caps the pace; the price is
// more possible duplicates if a replica crashes mid-send.
func concurrency(b broadcastConfig) int {
	switch {
	case b.Concurrency > 0:
		return b.Concurrency // set explicitly: kept, even if it equals the default
	case b.Paid:
		return min(256, max(broadcast.DefaultConcurrency, int(b.PaidRate*0.25)))
	}
	return broadcast.DefaultConcurrency
}
