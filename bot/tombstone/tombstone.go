// Package tombstone remembers, for a while, that a member erased their
// data (/delete), so work queued before the erasure — a staff reply, a
// sign-up post, a thread root being posted — does not bring anything back,
// whatever order things happen in.
//
// # Key layout
//
//	{prefix}erased:{mac}   string: the erasure time (Unix ms), PX TTL
//
// {mac} is an HMAC of the chat ID under the data key (sealed.Keyring.MAC),
// so the tombstone does not name the member: without the key nobody can
// tell whose it is. After a key rotation a tombstone written under a
// retired key is still found (every key's MAC is looked up).
//
// Handlers compare the time their work originates from (when the member
// wrote, when staff replied, when the sign-up was confirmed) with the
// erasure time: work from before the erasure is dropped, work from a
// member who came back afterwards is not. Guard makes a write conditional
// on that comparison atomically (WATCH/MULTI), so a handler cannot
// recreate a key after the erasure deleted it.
package tombstone

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/sealed"
)

// DefaultTTL is how long a tombstone is kept: longer than any queued work
// can wait (outbox retries back off to minutes; an outage of days is
// covered).
const DefaultTTL = 30 * 24 * time.Hour

// Book reads and writes tombstones.
type Book struct {
	rdb    redis.UniversalClient
	prefix string
	ring   *sealed.Keyring
	ttl    time.Duration
}

// New returns a Book. ttl ≤ 0 means DefaultTTL.
func New(rdb redis.UniversalClient, prefix string, ring *sealed.Keyring, ttl time.Duration) *Book {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Book{rdb: rdb, prefix: prefix, ring: ring, ttl: ttl}
}

// keys are the tombstone's possible names, under every key of the ring.
func (b *Book) keys(chat int64) []string { return Names(b.ring, b.prefix, chat) }

// Names are the possible names of chat's tombstone under prefix, one per
// key of ring: what another package checking erasures in a Redis script
// (bot/broadcast, before each send) passes as its keys.
func Names(ring *sealed.Keyring, prefix string, chat int64) []string {
	return ring.ChatNames(prefix+"erased:", chat)
}

// Mark records that the member erased their data at at.
func (b *Book) Mark(ctx context.Context, chat int64, at time.Time) error {
	if err := b.rdb.Set(ctx, b.keys(chat)[0], at.UnixMilli(), b.ttl).Err(); err != nil {
		return fmt.Errorf("tombstone: mark: %w", err)
	}
	return nil
}

// ErasedAt returns when the member last erased their data; zero if not
// within the TTL.
func (b *Book) ErasedAt(ctx context.Context, chat int64) (time.Time, error) {
	return b.read(ctx, b.rdb, b.keys(chat))
}

type getter interface {
	MGet(ctx context.Context, keys ...string) *redis.SliceCmd
}

func (b *Book) read(ctx context.Context, g getter, keys []string) (time.Time, error) {
	vals, err := g.MGet(ctx, keys...).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("tombstone: read: %w", err)
	}
	var latest time.Time
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		if t := time.UnixMilli(ms); t.After(latest) {
			latest = t
		}
	}
	return latest, nil
}

// Covers reports whether an erasure at erased removes work originating at
// origin (from before it, or at the same moment).
func Covers(erased, origin time.Time) bool {
	return !erased.IsZero() && !origin.After(erased)
}

// Erased reports whether work originating at origin was erased since, and
// when.
func (b *Book) Erased(ctx context.Context, chat int64, origin time.Time) (time.Time, bool, error) {
	at, err := b.ErasedAt(ctx, chat)
	if err != nil {
		return time.Time{}, false, err
	}
	return at, Covers(at, origin), nil
}

// Guard runs write in a MULTI/EXEC transaction unless the member erased
// their data after origin; the check and the write are atomic (WATCH on
// the tombstone), so an erasure either comes after the write (and deletes
// what it wrote) or before it (and nothing is written). It returns the
// erasure time and erased = true when it wrote nothing.
func (b *Book) Guard(ctx context.Context, chat int64, origin time.Time, write func(redis.Pipeliner) error) (at time.Time, erased bool, err error) {
	keys := b.keys(chat)
	for range 10 {
		err = b.rdb.Watch(ctx, func(tx *redis.Tx) error {
			at, err = b.read(ctx, tx, keys)
			if err != nil {
				return err
			}
			if erased = Covers(at, origin); erased {
				return nil
			}
			_, err := tx.TxPipelined(ctx, write)
			return err
		}, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			break
		}
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("tombstone: guarded write: %w", err)
	}
	return at, erased, nil
}
