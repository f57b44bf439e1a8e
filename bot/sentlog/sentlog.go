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
// The bot's replies are recorded from the Telegram send path (Add, through
// telegram.Config.OnSent); staff replies by the desk (Record), in the
// transaction that checks the member did not erase their data meanwhile.
// /delete erases it (Log implements bot.Eraser).
package sentlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
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

	// While Run runs, Add queues and Run writes every batchDelay: one
	// round trip for many messages, off the member's path.
	mu      sync.Mutex
	running bool
	queue   []sent
	kick    chan struct{}
	// wmu is held while a batch is written and while Erase runs, so an
	// erasure never lands between a batch leaving the queue and reaching
	// Redis (which would bring the member's key back).
	wmu sync.Mutex
}

type sent struct {
	chat int64
	id   int
	at   time.Time
}

// batchDelay is how long queued IDs wait for company; a crash loses at most
// that much of a best-effort record.
const batchDelay = 50 * time.Millisecond

// New returns a Log under prefix.
func New(rdb redis.UniversalClient, prefix string, ring *sealed.Keyring) *Log {
	return &Log{rdb: rdb, prefix: prefix, ring: ring, now: time.Now, kick: make(chan struct{}, 1)}
}

func (l *Log) keys(chat int64) []string { return l.ring.ChatNames(l.prefix+"sent:", chat) }

// Add records that the bot sent message id to chat: queued for Run's next
// batch while Run runs, else written at once (one round trip).
func (l *Log) Add(ctx context.Context, chat int64, id int) error {
	s := sent{chat, id, l.now()}
	l.mu.Lock()
	if l.running {
		l.queue = append(l.queue, s)
		l.mu.Unlock()
		select {
		case l.kick <- struct{}{}:
		default:
		}
		return nil
	}
	l.mu.Unlock()
	return l.write(ctx, []sent{s})
}

// Record queues in p the writes that record message id sent to chat now:
// for a caller that must make the record conditional, in its own
// transaction (the staff desk records a staff reply only if the member
// has not erased their data meanwhile, bot/tombstone).
func (l *Log) Record(ctx context.Context, p redis.Pipeliner, chat int64, id int) {
	l.queueWrite(ctx, p, sent{chat, id, l.now()})
}

func (l *Log) queueWrite(ctx context.Context, p redis.Pipeliner, s sent) {
	key := l.keys(s.chat)[0]
	p.ZAdd(ctx, key, redis.Z{Score: float64(s.at.UnixMilli()), Member: s.id})
	p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(s.at.Add(-Window).UnixMilli(), 10))
	p.PExpire(ctx, key, Window)
}

func (l *Log) write(ctx context.Context, batch []sent) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	pipe := l.rdb.Pipeline()
	for _, s := range batch {
		l.queueWrite(ctx, pipe, s)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("sentlog: add: %w", err)
	}
	return nil
}

// Run writes queued IDs in batches until ctx ends, then writes what is
// left. The record is best effort: a batch that cannot be written is
// logged (log), and /wipe then deletes fewer messages.
func (l *Log) Run(ctx context.Context, log *slog.Logger) error {
	l.mu.Lock()
	l.running = true
	l.mu.Unlock()
	flush := func(ctx context.Context) error {
		l.mu.Lock()
		batch := l.queue
		l.queue = nil
		l.mu.Unlock()
		if len(batch) == 0 {
			return nil
		}
		return l.write(ctx, batch)
	}
	warn := func(err error) {
		if err != nil {
			log.Warn("could not record sent message IDs for /wipe", slog.Any("err", err))
		}
	}
	for {
		select {
		case <-ctx.Done():
			l.mu.Lock()
			l.running = false
			l.mu.Unlock()
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			warn(flush(stop))
			cancel()
			return nil
		case <-l.kick:
			select {
			case <-ctx.Done():
				continue // the last flush, above, writes them
			case <-time.After(batchDelay):
			}
			warn(flush(ctx))
		}
	}
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

// Erase forgets every message ID of chat (/delete), those still queued
// for a batch included.
func (l *Log) Erase(ctx context.Context, chat int64) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	l.queue = slices.DeleteFunc(l.queue, func(s sent) bool { return s.chat == chat })
	l.mu.Unlock()
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
