package sentlog_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/sealed"
	"bridgebot/bot/sentlog"
)

// IDs are recorded at once without Run, and in batches while it runs
// (written before Run returns).
func TestAddAtOnceOrBatched(t *testing.T) {
	client, prefix := redistest.New(t)
	l := sentlog.New(client, prefix, sealed.Throwaway())
	ctx := context.Background()
	if err := l.Add(ctx, 5, 100); err != nil {
		t.Fatal(err)
	}
	if ids, err := l.Recent(ctx, 5); err != nil || len(ids) != 1 {
		t.Fatalf("without Run: %v, %v", ids, err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- l.Run(runCtx, slog.New(slog.DiscardHandler)) }()
	deadline := time.Now().Add(5 * time.Second)
	for i := 1; i <= 20; i++ {
		if err := l.Add(ctx, 5, 100+i); err != nil {
			t.Fatal(err)
		}
	}
	for {
		ids, err := l.Recent(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 21 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("batched IDs never written: %v", ids)
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.Add(ctx, 5, 200) // queued as Run stops: written by its last flush
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ids, _ := l.Recent(ctx, 5); len(ids) != 22 {
		t.Fatalf("%d IDs after Run stopped, want 22", len(ids))
	}
}

// Erase forgets IDs still queued for a batch too: nothing written after
// it brings back a key for the erased chat, whichever way the flush and
// the erasure interleave.
func TestEraseDropsQueuedIDs(t *testing.T) {
	client, prefix := redistest.New(t)
	l := sentlog.New(client, prefix, sealed.Throwaway())
	ctx := context.Background()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- l.Run(runCtx, slog.New(slog.DiscardHandler)) }()
	defer func() {
		stop()
		<-done
	}()
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
	deadline := time.Now().Add(5 * time.Second)
	for {
		ids, err := l.Recent(ctx, 6)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the later ID was never written")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ids, _ := l.Recent(ctx, 5); len(ids) != 0 {
		t.Errorf("IDs of the erased chat written after the erasure: %v", ids)
	}
	if keys := client.Keys(ctx, prefix+"sent:*").Val(); len(keys) != 1 {
		t.Errorf("sent-message keys %v: want only the other chat's", keys)
	}
}
