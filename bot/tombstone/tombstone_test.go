package tombstone_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/sealed"
	"bridgebot/bot/tombstone"
)

func TestTombstoneGuardsWritesFromBeforeTheErasure(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	oldRing := sealed.Throwaway()
	book := tombstone.New(rdb, prefix, oldRing, time.Hour)
	erasedAt := time.UnixMilli(time.Now().UnixMilli())
	if err := book.Mark(ctx, 4242, erasedAt); err != nil {
		t.Fatal(err)
	}
	keys, _ := rdb.Keys(ctx, prefix+"*").Result()
	if len(keys) != 1 || strings.Contains(keys[0], "4242") {
		t.Fatalf("tombstone keys %v: want one, not named after the chat", keys)
	}
	if ttl, _ := rdb.PTTL(ctx, keys[0]).Result(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("tombstone TTL %v", ttl)
	}

	write := func(p redis.Pipeliner) error { p.Set(ctx, prefix+"x", "1", 0); return nil }
	at, erased, err := book.Guard(ctx, 4242, erasedAt.Add(-time.Second), write)
	if err != nil || !erased || !at.Equal(erasedAt) {
		t.Fatalf("Guard of earlier work: at %v erased %v err %v", at, erased, err)
	}
	if n, _ := rdb.Exists(ctx, prefix+"x").Result(); n != 0 {
		t.Fatal("a write from before the erasure went through")
	}
	if _, erased, err := book.Guard(ctx, 4242, erasedAt.Add(time.Second), write); err != nil || erased {
		t.Fatalf("Guard of later work: erased %v err %v", erased, err)
	}
	if _, erased, _ := book.Guard(ctx, 99, erasedAt, write); erased {
		t.Fatal("another member counts as erased")
	}
}

func TestTombstoneAfterRotation(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t)
	oldK, _ := sealed.ParseKey(sealed.GenerateKey())
	newK, _ := sealed.ParseKey(sealed.GenerateKey())
	oldRing, _ := sealed.NewKeyring(oldK)
	rotated, _ := sealed.NewKeyring(newK, oldK)
	at := time.UnixMilli(time.Now().UnixMilli())
	if err := tombstone.New(rdb, prefix, oldRing, 0).Mark(ctx, 7, at); err != nil {
		t.Fatal(err)
	}
	got, err := tombstone.New(rdb, prefix, rotated, 0).ErasedAt(ctx, 7)
	if err != nil || !got.Equal(at) {
		t.Fatalf("after rotation ErasedAt = %v, %v; want %v", got, err, at)
	}
}
