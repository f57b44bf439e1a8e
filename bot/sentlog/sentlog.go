// Package sentlog remembers, for 48 hours, the IDs of the messages the bot
// sent to each member, so /wipe can delete them (Telegram lets a bot delete
// its messages for 48 hours). Only message IDs are kept, never texts.
//
// # Key layout
//
//	{prefix}sent:{mac}   sorted set: member = message ID, score = when it
//	                     was sent (Unix ms); entries older than Window are
//	                     trimmed on every add and the key expires Window
//	                     after the last one. {mac} is the keyring's MAC of
//	                     the chat ID, so the key does not name the member.
//
// /delete erases it (Log implements bot.Eraser).
package sentlog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/sealed"
)

// Window is how long Telegram lets a bot delete a message it sent.
const Window = 48 * time.Hour

// Log records sent message IDs.
type Log struct {
	rdb    redis.UniversalClient
	prefix string
	ring   *sealed.Keyring
	now    func() time.Time
}

// New returns a Log under prefix.
func New(rdb redis.UniversalClient, prefix string, ring *sealed.Keyring) *Log {
	return &Log{rdb: rdb, prefix: prefix, ring: ring, now: time.Now}
}

func (l *Log) keys(chat int64) []string {
	macs := l.ring.MACs(strconv.FormatInt(chat, 10))
	out := make([]string, len(macs))
	for i, m := range macs {
		out[i] = l.prefix + "sent:" + m
	}
	return out
}

// Add records that the bot sent message id to chat (one round trip).
func (l *Log) Add(ctx context.Context, chat int64, id int) error {
	key := l.keys(chat)[0]
	now := l.now()
	pipe := l.rdb.Pipeline()
	pipe.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: id})
	pipe.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(now.Add(-Window).UnixMilli(), 10))
	pipe.PExpire(ctx, key, Window)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("sentlog: add: %w", err)
	}
	return nil
}

// Recent returns the IDs of the messages sent to chat within Window,
// newest first.
func (l *Log) Recent(ctx context.Context, chat int64) ([]int, error) {
	min := strconv.FormatInt(l.now().Add(-Window).UnixMilli(), 10)
	var ids []int
	for _, key := range l.keys(chat) {
		vals, err := l.rdb.ZRevRangeByScore(ctx, key, &redis.ZRangeBy{Min: min, Max: "+inf"}).Result()
		if err != nil {
			return nil, fmt.Errorf("sentlog: read: %w", err)
		}
		for _, v := range vals {
			if n, err := strconv.Atoi(v); err == nil {
				ids = append(ids, n)
			}
		}
	}
	return ids, nil
}

// Erase forgets every message ID of chat (/delete).
func (l *Log) Erase(ctx context.Context, chat int64) error {
	if err := l.rdb.Del(ctx, l.keys(chat)...).Err(); err != nil {
		return fmt.Errorf("sentlog: erase: %w", err)
	}
	return nil
}

// Deleter deletes messages in a chat (bot/telegram's Bot), reporting how
// many it could.
type Deleter interface {
	DeleteMessages(ctx context.Context, chat int64, ids []int) (int, error)
}

// Wiper is /wipe: it deletes the bot's messages of the last 48 hours.
type Wiper struct {
	Log     *Log
	Deleter Deleter
}

// Wipe deletes what Telegram still allows deleting and forgets the IDs.
func (w Wiper) Wipe(ctx context.Context, chat int64) error {
	if w.Log == nil || w.Deleter == nil {
		return errors.New("sentlog: wiper not configured")
	}
	ids, err := w.Log.Recent(ctx, chat)
	if err != nil {
		return err
	}
	if _, err := w.Deleter.DeleteMessages(ctx, chat, ids); err != nil {
		return fmt.Errorf("sentlog: wipe: %w", err)
	}
	return w.Log.Erase(ctx, chat)
}
