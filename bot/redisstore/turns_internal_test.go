package redisstore

import (
	"context"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/internal/testkit"
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

// A claim whose script Redis ran before the removal of entries this
// process delivered, but whose reply is filtered after that removal was
// written, must not return those entries: the engine would deliver them
// again. With two replicas behind round-robin under CPU load, a replica
// re-sent replies it had already delivered (old questions re-appeared)
// this way: the other replica's entries made it claim, and its own
// batched removal landed between the claim's read and its filter.
func TestClaimDuringBatchedRemovalSkipsDelivered(t *testing.T) {
	client, prefix := redistest.New(t)
	s := New(client, Options{Prefix: prefix})
	bg := context.Background()
	const chat = 4242
	entries := []bot.TurnEntry{
		{ID: "u1.0", Update: 1, Reply: &bot.Response{ChatID: chat, Messages: []bot.Message{{Text: "Question 9"}}}},
		{ID: "u2.0", Update: 2, Reply: &bot.Response{ChatID: chat, Messages: []bot.Message{{Text: "Question 11"}}}},
	}
	stored, err := s.sealTurn(entries)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.RPush(bg, s.turnsKey(chat), stored...).Err(); err != nil {
		t.Fatal(err)
	}
	// Delivered while batching (as under Run): the removal is queued,
	// the entries are hidden from claims meanwhile.
	s.ackMu.Lock()
	s.acking = true
	s.ackMu.Unlock()
	if err := s.Delivered(bg, chat, entries); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	stopped := make(chan struct{})
	defer func() { cancel(); <-stopped }()
	flushed := false
	s.claimRead = func() {
		// The claim's script has read both entries. Only now does Run
		// start writing the batched removal; give it every chance to
		// finish before the claim's reply is filtered.
		go func() { _ = s.Run(ctx); close(stopped) }()
		deadline := time.After(2 * time.Second)
		for s.removing(chat) {
			select {
			case <-deadline:
				return // held back until the claim is done: right
			case <-time.After(5 * time.Millisecond):
			}
		}
		flushed = true
	}
	got, ok, err := s.Claim(bg, chat)
	if err != nil || !ok {
		t.Fatalf("Claim: %v, %v", ok, err)
	}
	if len(got) != 0 {
		t.Errorf("claim returned %d delivered entries (removal written mid-claim: %v); they would be sent again", len(got), flushed)
	}
	s.claimRead = nil
	testkit.Eventually(t, 10*time.Second, "the delivered entries removed", func() bool {
		return client.LLen(bg, s.turnsKey(chat)).Val() == 0
	})
}
