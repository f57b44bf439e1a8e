package sealed_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/sealed"
)

func TestRekeyKeepsTTLAndReportsUnknownKeys(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	oldK, _ := sealed.ParseKey(sealed.GenerateKey())
	newK, _ := sealed.ParseKey(sealed.GenerateKey())
	strayK, _ := sealed.ParseKey(sealed.GenerateKey())
	oldRing, _ := sealed.NewKeyring(oldK)
	stray, _ := sealed.NewKeyring(strayK)
	ring, _ := sealed.NewKeyring(newK, oldK)

	rdb.Set(ctx, prefix+"a", oldRing.Seal([]byte("alpha")), time.Hour)
	rdb.HSet(ctx, prefix+"h", "d", oldRing.Seal([]byte("beta")), "v", "3")
	rdb.Set(ctx, prefix+"legacy", `{"plain":"gamma"}`, 0)
	rdb.Set(ctx, prefix+"counter", "7", 0)
	rdb.Set(ctx, prefix+"stray", stray.Seal([]byte("delta")), 0)
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: prefix + "s", Values: []any{"payload", oldRing.Seal([]byte("queued"))}})
	// A reply held in the turn log (owner|entry|sealed), under the old key
	// and under the new one.
	rdb.RPush(ctx, prefix+"turns:1", "ab12|9:0|"+string(oldRing.Seal([]byte("held"))), "ab12|9:1|"+string(ring.Seal([]byte("fresh"))))

	legacy := func(key, field string) bool { return strings.HasSuffix(key, "legacy") }
	rep, err := sealed.Rekey(ctx, rdb, prefix, ring, legacy)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resealed != 2 || rep.Sealed != 1 || rep.Queued != 2 || rep.Missing[sealed.KeyID(strayK)] != 1 {
		t.Fatalf("report %+v", rep)
	}
	for key, want := range map[string]string{"a": "alpha", "legacy": `{"plain":"gamma"}`} {
		v, _ := rdb.Get(ctx, prefix+key).Bytes()
		if !ring.Current(v) {
			t.Errorf("%s not under the current key", key)
		}
		if p, err := ring.Open(v); err != nil || string(p) != want {
			t.Errorf("%s opens to %q, %v", key, p, err)
		}
	}
	if v, _ := rdb.HGet(ctx, prefix+"h", "d").Bytes(); !ring.Current(v) {
		t.Error("hash field not resealed")
	}
	if v, _ := rdb.HGet(ctx, prefix+"h", "v").Result(); v != "3" {
		t.Errorf("clear field changed to %q", v)
	}
	if v, _ := rdb.Get(ctx, prefix+"counter").Result(); v != "7" {
		t.Errorf("counter changed to %q", v)
	}
	if ttl, _ := rdb.TTL(ctx, prefix+"a").Result(); ttl <= 0 {
		t.Errorf("expiry lost: TTL %v", ttl)
	}
}
