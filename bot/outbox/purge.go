package outbox

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// purgePage is how many stream entries Purge reads per round trip.
const purgePage = 500

// Purge deletes every entry with key that is waiting in the outbox, and
// every dead letter with that key: a member's erasure (/delete). It returns
// the waiting entries it deleted (payloads opened, so the caller can tell
// whoever is waiting for them; an entry whose payload cannot be opened is
// deleted all the same and returned without it) and how many dead letters
// it deleted. An entry being handled at that moment (or already read by a
// worker) is still handed to the handler once; handlers of erasable work
// check a tombstone (bot/tombstone).
func (o *Outbox) Purge(ctx context.Context, key string) (purged []Entry, dead int, err error) {
	p := o.Partition(key)
	purged, err = o.purgeStream(ctx, p, o.streams[p], key, o.attempts[p])
	if err != nil {
		return nil, 0, err
	}
	gone, err := o.purgeStream(ctx, p, o.dead, key, "")
	if err != nil {
		return purged, 0, err
	}
	return purged, len(gone), nil
}

// PurgeDead deletes the dead letters with key that were enqueued at or
// before before: an erasure's second pass, run behind the member's work
// that was in flight during the first (Purge), which may have become a
// dead letter since. Later ones (a member who came back) are kept. It
// returns how many it deleted.
func (o *Outbox) PurgeDead(ctx context.Context, key string, before time.Time) (int, error) {
	gone, err := o.purgeStreamIf(ctx, o.Partition(key), o.dead, key, "", func(e Entry) bool { return !e.Enqueued.After(before) })
	return len(gone), err
}

func (o *Outbox) purgeStream(ctx context.Context, p int, stream, key, attempts string) ([]Entry, error) {
	return o.purgeStreamIf(ctx, p, stream, key, attempts, nil)
}

func (o *Outbox) purgeStreamIf(ctx context.Context, p int, stream, key, attempts string, match func(Entry) bool) ([]Entry, error) {
	var out []Entry
	start := "-"
	for {
		msgs, err := o.client.XRangeN(ctx, stream, start, "+", purgePage).Result()
		if err != nil {
			return out, fmt.Errorf("outbox %s: purge %s: %w", o.opts.Name, key, err)
		}
		var ids []string
		for _, m := range msgs {
			if k, _ := m.Values["key"].(string); k == key {
				e, _ := o.parse(p, m)
				if match != nil && !match(e) {
					continue
				}
				ids = append(ids, m.ID)
				out = append(out, e)
			}
		}
		if len(ids) > 0 {
			_, err := o.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.XDel(ctx, stream, ids...)
				if attempts != "" {
					pipe.HDel(ctx, attempts, ids...)
				}
				return nil
			})
			if err != nil {
				return out, fmt.Errorf("outbox %s: purge %s: %w", o.opts.Name, key, err)
			}
		}
		if len(msgs) < purgePage {
			return out, nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// EnqueueBehind is Enqueue into the partition of behind instead of key's:
// the entry is handled after every entry of behind enqueued before it
// (including one being handled now), but carries key, so the stored entry
// need not name behind. For example an erasure's clean-up runs after the
// member's in-flight messages without the queue naming the member.
func (o *Outbox) EnqueueBehind(ctx context.Context, behind, key, kind string, payload []byte) (string, error) {
	p := o.Partition(behind)
	id, err := o.client.XAdd(ctx, &redis.XAddArgs{
		Stream: o.streams[p],
		Values: []any{
			"key", key,
			"kind", kind,
			"payload", o.opts.Keyring.Seal(payload),
			"enq", strconv.FormatInt(o.opts.Now().UnixMilli(), 10),
		},
	}).Result()
	if err != nil {
		return "", fmt.Errorf("outbox %s: enqueue %s: %w", o.opts.Name, kind, err)
	}
	select {
	case o.wake[p] <- struct{}{}:
	default:
	}
	return entryID(p, id), nil
}
