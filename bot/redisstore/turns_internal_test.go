package redisstore

import (
	"context"
	"testing"
	"time"

	"bridgebot/bot/redisstore/redistest"
)

// A save in flight when the process is told to stop (it read the owner
// TTL before Run gave up liveness; its script runs after) must not leave
// the liveness key behind: the other processes would wait OwnerTTL before
// delivering the replies this one left recorded. It made the shutdown
// end-to-end test miss its 10 s once in CI.
func TestShutdownWaitsForSavesRefreshingLiveness(t *testing.T) {
	client, prefix := redistest.New(t)
	s := New(client, Options{Prefix: prefix, OwnerTTL: time.Minute})
	bg := context.Background()
	alive := s.alivePrefix() + s.owner
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	stopped := make(chan struct{})
	go func() { _ = s.Run(ctx); close(stopped) }()
	for deadline := time.Now().Add(5 * time.Second); client.Exists(bg, alive).Val() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Run did not claim liveness")
		}
	}

	ttl, done := s.liveness() // a save has read the owner TTL…
	if ttl == 0 {
		t.Fatal("a running store claims no liveness for its saves")
	}
	cancel()
	select {
	case <-stopped: // gave up liveness without waiting for the save
	case <-time.After(200 * time.Millisecond):
	}
	client.Set(bg, alive, "1", time.Duration(ttl)*time.Millisecond) // …and its script runs now
	done()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the save finished")
	}
	if client.Exists(bg, alive).Val() != 0 {
		t.Fatal("the liveness key outlived the shutdown: other processes wait OwnerTTL for what this one left")
	}
	if ttl, _ := s.liveness(); ttl != 0 {
		t.Fatal("a save after the shutdown still claims liveness")
	}
}
