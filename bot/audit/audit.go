// Package audit keeps a record in Redis of what was done with members'
// data — exports, broadcasts, erasures, rekeys — who did it, when, and how
// many members it concerned. It never holds member content: no chat IDs,
// names or texts.
//
// # Key layout
//
//	{prefix}audit   stream: fields at (Unix ms), action, actor, count,
//	                detail. Kept as the record, capped at MaxLen entries.
package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Actions.
const (
	ActionExport    = "export"
	ActionBroadcast = "broadcast"
	ActionErasure   = "erasure"
	ActionRekey     = "rekey"
)

// MaxLen bounds the audit stream.
const MaxLen = 100000

// Entry is one audited action.
type Entry struct {
	At     time.Time
	Action string
	// Actor is who did it: "cli:alice", "slack:U123", "member" (a member's
	// own /delete; which member is not recorded).
	Actor string
	// Count is how many members (or values) it concerned.
	Count int64
	// Detail is free text without member content ("signups csv", "job
	// 01H…").
	Detail string
}

// Log appends to and reads the audit stream.
type Log struct {
	rdb redis.UniversalClient
	key string
	now func() time.Time
}

// New returns the audit log under prefix.
func New(rdb redis.UniversalClient, prefix string) *Log {
	return &Log{rdb: rdb, key: prefix + "audit", now: time.Now}
}

// Add queues the entry in pipe, so it is recorded in the same transaction
// as the action itself.
func (l *Log) Add(ctx context.Context, pipe redis.Pipeliner, e Entry) {
	if e.At.IsZero() {
		e.At = l.now()
	}
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: l.key, MaxLen: MaxLen, Values: []any{
		"at", strconv.FormatInt(e.At.UnixMilli(), 10),
		"action", e.Action,
		"actor", e.Actor,
		"count", strconv.FormatInt(e.Count, 10),
		"detail", e.Detail,
	}})
}

// Record appends the entry.
func (l *Log) Record(ctx context.Context, e Entry) error {
	pipe := l.rdb.Pipeline()
	l.Add(ctx, pipe, e)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// Erase records a member's erasure (bot.Eraser); which member is not
// recorded.
func (l *Log) Erase(ctx context.Context, _ int64) error {
	return l.Record(ctx, Entry{Action: ActionErasure, Actor: "member", Count: 1, Detail: "/delete"})
}

// Last returns up to n of the newest entries, oldest first.
func (l *Log) Last(ctx context.Context, n int64) ([]Entry, error) {
	msgs, err := l.rdb.XRevRangeN(ctx, l.key, "+", "-", n).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("audit: read: %w", err)
	}
	out := make([]Entry, len(msgs))
	for i, m := range msgs {
		str := func(k string) string { s, _ := m.Values[k].(string); return s }
		at, _ := strconv.ParseInt(str("at"), 10, 64)
		count, _ := strconv.ParseInt(str("count"), 10, 64)
		out[len(msgs)-1-i] = Entry{At: time.UnixMilli(at), Action: str("action"), Actor: str("actor"), Count: count, Detail: str("detail")}
	}
	return out, nil
}
