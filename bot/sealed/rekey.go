package sealed

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RekeyReport counts what Rekey did.
type RekeyReport struct {
	Scanned  int // keys looked at
	Resealed int // values re-encrypted under the current key
	Sealed   int // plain values from before encryption, now sealed
	Current  int // values already under the current key
	// Missing counts values whose key is not in the ring, by key ID: they
	// were left as they are.
	Missing map[string]int
	Corrupt int // values that fail authentication, left as they are
	// Queued counts stream entries (outbox queues, dead letters) and list
	// items (replies held in the turn log) sealed under a retired key:
	// they are work in flight, not rewritten in place, so keep that key in
	// BRIDGE_DATA_KEYS_OLD until they have drained or expired.
	Queued int
	// Changed is how many values were concurrently modified while being
	// resealed (they were written anew meanwhile, under the current key).
	Changed int
}

// Legacy reports whether a value that is not sealed (one written before
// encryption was enabled) should be: key is the full key name, field the
// hash field ("" for a string).
type Legacy func(key, field string) bool

var casString = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
	return 1
end
return 0
`)

var casHash = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
	redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
	return 1
end
return 0
`)

// Rekey re-encrypts under the current key every sealed value in the
// strings and hashes under prefix (and seals the plain values legacy
// names). Each value is replaced only if it is still what was read (a
// compare-and-set in Redis), keeping its expiry, so it is safe while the
// bot runs. Stream entries and list items are only counted (see
// RekeyReport.Queued).
func Rekey(ctx context.Context, rdb redis.UniversalClient, prefix string, ring *Keyring, legacy Legacy) (RekeyReport, error) {
	rep := RekeyReport{Missing: map[string]int{}}
	iter := rdb.Scan(ctx, 0, escapeGlob(prefix)+"*", 500).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		rep.Scanned++
		typ, err := rdb.Type(ctx, key).Result()
		if err != nil {
			return rep, fmt.Errorf("sealed: rekey: type of %s: %w", key, err)
		}
		switch typ {
		case "string":
			v, err := rdb.Get(ctx, key).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return rep, fmt.Errorf("sealed: rekey: read %s: %w", key, err)
			}
			if err := rep.one(ctx, ring, v, legacy != nil && legacy(key, ""), func(nv string) (int, error) {
				return casString.Run(ctx, rdb, []string{key}, v, nv).Int()
			}); err != nil {
				return rep, fmt.Errorf("sealed: rekey %s: %w", key, err)
			}
		case "hash":
			m, err := rdb.HGetAll(ctx, key).Result()
			if err != nil {
				return rep, fmt.Errorf("sealed: rekey: read %s: %w", key, err)
			}
			for field, v := range m {
				if err := rep.one(ctx, ring, v, legacy != nil && legacy(key, field), func(nv string) (int, error) {
					return casHash.Run(ctx, rdb, []string{key}, field, v, nv).Int()
				}); err != nil {
					return rep, fmt.Errorf("sealed: rekey %s %s: %w", key, field, err)
				}
			}
		case "stream":
			if err := rep.stream(ctx, rdb, ring, key); err != nil {
				return rep, err
			}
		case "list":
			items, err := rdb.LRange(ctx, key, 0, -1).Result()
			if err != nil {
				return rep, fmt.Errorf("sealed: rekey: read list %s: %w", key, err)
			}
			for _, it := range items {
				if v := listSealed(it); IsSealed(v) && !ring.Current(v) {
					rep.Queued++
				}
			}
		}
	}
	if err := iter.Err(); err != nil {
		return rep, fmt.Errorf("sealed: rekey: scan: %w", err)
	}
	return rep, nil
}

func (rep *RekeyReport) one(ctx context.Context, ring *Keyring, v string, legacy bool, cas func(string) (int, error)) error {
	b := []byte(v)
	if !IsSealed(b) {
		if !legacy || v == "" {
			return nil
		}
		return rep.swap(cas, string(ring.Seal(b)), &rep.Sealed)
	}
	nv, changed, err := ring.Reseal(b)
	var missing *MissingKeyError
	var corrupt *CorruptError
	switch {
	case errors.As(err, &missing):
		rep.Missing[missing.KeyID]++
		return nil
	case errors.As(err, &corrupt):
		rep.Corrupt++
		return nil
	case err != nil:
		return err
	case !changed:
		rep.Current++
		return nil
	}
	return rep.swap(cas, string(nv), &rep.Resealed)
}

// swap writes v in place of the value read, through cas, and counts it in
// done, or as Changed if the value was modified meanwhile (cas wrote
// nothing).
func (rep *RekeyReport) swap(cas func(string) (int, error), v string, done *int) error {
	n, err := cas(v)
	if err != nil {
		return err
	}
	if n == 1 {
		*done++
	} else {
		rep.Changed++
	}
	return nil
}

func (rep *RekeyReport) stream(ctx context.Context, rdb redis.UniversalClient, ring *Keyring, key string) error {
	start := "-"
	for {
		msgs, err := rdb.XRangeN(ctx, key, start, "+", 500).Result()
		if err != nil {
			return fmt.Errorf("sealed: rekey: read stream %s: %w", key, err)
		}
		for _, m := range msgs {
			for _, v := range m.Values {
				s, _ := v.(string)
				if b := []byte(s); IsSealed(b) && !ring.Current(b) {
					rep.Queued++
				}
			}
		}
		if len(msgs) < 500 {
			return nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

// listSealed is the sealed value of a list item: the item itself, or what
// follows its first two "|"-separated fields (the turn log's
// "owner|entry|sealed", bot/redisstore).
func listSealed(item string) []byte {
	if IsSealed([]byte(item)) {
		return []byte(item)
	}
	parts := strings.SplitN(item, "|", 3)
	if len(parts) != 3 {
		return nil
	}
	return []byte(parts[2])
}

// MissingIDs lists the key IDs of Missing, sorted.
func (rep RekeyReport) MissingIDs() []string {
	out := make([]string, 0, len(rep.Missing))
	for id := range rep.Missing {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// escapeGlob escapes SCAN MATCH's special characters in a literal prefix
// (such as a Redis Cluster hash tag "{bridgebot}:").
func escapeGlob(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}
