package sentlog_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/sealed"
	"bridgebot/bot/sentlog"
	"bridgebot/internal/testkit"
)

// IDs are recorded at once without Run, and in batches while it runs
// (written before Run returns).
func TestAddAtOnceOrBatched(t *testing.T) {
	l, _, _ := newLog(t)
	ctx := context.Background()
	if err := l.Add(ctx, 5, 100); err != nil {
		t.Fatal(err)
	}
	if ids, err := l.Recent(ctx, 5); err != nil || len(ids) != 1 {
		t.Fatalf("without Run: %v, %v", ids, err)
	}
	stop := start(t, l)
	for i := 1; i <= 20; i++ {
		if err := l.Add(ctx, 5, 100+i); err != nil {
			t.Fatal(err)
		}
	}
	waitRecent(t, l, 5, 21)
	l.Add(ctx, 5, 200) // queued as Run stops: written by its last flush
	stop()
	if ids, _ := l.Recent(ctx, 5); len(ids) != 22 {
		t.Fatalf("%d IDs after Run stopped, want 22", len(ids))
	}
}

// Erase forgets IDs still queued for a batch too: nothing written after
// it brings back a key for the erased chat, whichever way the flush and
// the erasure interleave.
func TestEraseDropsQueuedIDs(t *testing.T) {
	l, client, prefix := newLog(t)
	ctx := context.Background()
	start(t, l)
	for i := 1; i <= 10; i++ {
		if err := l.Add(ctx, 5, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Erase(ctx, 5); err != nil {
		t.Fatal(err)
	}
	// Another chat's ID, queued after: once it is written, every batch
	// queued before it has been flushed.
	if err := l.Add(ctx, 6, 1); err != nil {
		t.Fatal(err)
	}
	waitRecent(t, l, 6, 1)
	if ids, _ := l.Recent(ctx, 5); len(ids) != 0 {
		t.Errorf("IDs of the erased chat written after the erasure: %v", ids)
	}
	if keys := client.Keys(ctx, prefix+"sent:*").Val(); len(keys) != 1 {
		t.Errorf("sent-message keys %v: want only the other chat's", keys)
	}
}

// newLog is a log on the test's own keys in Redis, with its client and
// key prefix.
func newLog(t *testing.T) (*sentlog.Log, *redis.Client, string) {
	client, prefix := redistest.New(t)
	return sentlog.New(client, prefix, sealed.Throwaway()), client, prefix
}

// start runs the log's batch writer until the returned stop is called or
// the test ends; Run must return no error.
func start(t *testing.T, l *sentlog.Log) (stop func()) {
	return testkit.Start(t, "sentlog.Run", 5*time.Second, func(ctx context.Context) error {
		return l.Run(ctx, slog.New(slog.DiscardHandler))
	})
}

// waitRecent waits until chat has n recorded IDs (batches are written
// off the caller's path, with no event to wait on but Redis itself).
func waitRecent(t *testing.T, l *sentlog.Log, chat int64, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ids, err := l.Recent(context.Background(), chat)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat %d: %d IDs recorded, want %d: %v", chat, len(ids), n, ids)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
