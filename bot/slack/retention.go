package slack

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Retention. An answered question's mappings and texts (the ticket with
// the question, the thread and generation mappings, relayed markers, the
// member's key list) expire Config.AnsweredRetention after the question
// was answered; reopening it, or the member writing again, keeps them
// again. Relayed-reply markers and root intents always expire after
// AnsweredRetention. The record of the bot's own posts with the member's
// words (desk:posts:{chat}) is kept without expiry: it is what lets a
// later /delete redact those posts, which Slack keeps. The open and
// answered sets are pruned of members whose ticket has expired whenever
// /bridge stats counts them.

// expireAnswered sets the member's desk keys to expire AnsweredRetention
// from now (in pipe, which the caller executes).
func (d *Desk) expireAnswered(ctx context.Context, pipe redis.Pipeliner, chat int64, keys []string) {
	ttl := d.cfg.AnsweredRetention
	id := strconv.FormatInt(chat, 10)
	pipe.PExpire(ctx, d.ticketKey(chat), ttl)
	pipe.PExpire(ctx, d.key("keys", id), ttl)
	for _, k := range keys {
		if d.expiresAnyway(k) {
			continue
		}
		pipe.PExpire(ctx, k, ttl)
	}
}

// keep undoes expireAnswered (in pipe). With newThread only the ticket and
// the key list are kept: the answered thread's own keys still expire.
func (d *Desk) keep(ctx context.Context, pipe redis.Pipeliner, chat int64, newThread bool) error {
	id := strconv.FormatInt(chat, 10)
	pipe.Persist(ctx, d.ticketKey(chat))
	pipe.Persist(ctx, d.key("keys", id))
	if newThread {
		return nil
	}
	keys, err := d.rdb.SMembers(ctx, d.key("keys", id)).Result()
	if err != nil {
		return fmt.Errorf("slack: keep question %d: %w", chat, err)
	}
	for _, k := range keys {
		if !d.expiresAnyway(k) {
			pipe.Persist(ctx, k)
		}
	}
	return nil
}

// expiresAnyway tells the keys that always have their own expiry.
func (d *Desk) expiresAnyway(key string) bool {
	return strings.HasPrefix(key, d.key("relayed")+":") || strings.HasPrefix(key, d.key("root")+":")
}

// pruneStats drops from the open and answered sets the members whose
// ticket has expired (or was erased).
func (d *Desk) pruneStats(ctx context.Context) error {
	for _, set := range []string{d.key("open"), d.key("answered")} {
		ids, err := d.rdb.SMembers(ctx, set).Result()
		if err != nil {
			return fmt.Errorf("slack: prune %s: %w", set, err)
		}
		if len(ids) == 0 {
			continue
		}
		pipe := d.rdb.Pipeline()
		exists := make([]*redis.IntCmd, len(ids))
		for i, id := range ids {
			exists[i] = pipe.Exists(ctx, d.key("ticket", id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("slack: prune %s: %w", set, err)
		}
		var gone []any
		for i, c := range exists {
			if c.Val() == 0 {
				gone = append(gone, ids[i])
			}
		}
		if len(gone) > 0 {
			if err := d.rdb.SRem(ctx, set, gone...).Err(); err != nil {
				return fmt.Errorf("slack: prune %s: %w", set, err)
			}
		}
	}
	return nil
}
