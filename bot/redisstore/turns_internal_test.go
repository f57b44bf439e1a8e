package redisstore

import (
	"context"
	"testing"
	"time"

	"bridgebot/bot"
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

// A read of the chat's recorded turns that listed them just before their
// removal was written, and decodes them just after, must not hand them
// out again: with two replicas taking turns with one member it sent old
// questions a second time. Both ways a removal is written are covered:
// the batch that Run writes and the immediate one without Run.
func TestEntriesListedBeforeTheirRemovalAreNotDeliveredAgain(t *testing.T) {
	for _, batched := range []bool{true, false} {
		client, prefix := redistest.New(t)
		s := New(client, Options{Prefix: prefix})
		bg := context.Background()
		const chat = 4242
		m, err := s.Load(bg, chat)
		if err != nil {
			t.Fatal(err)
		}
		sess := m.Session
		sess.Lang = "en"
		turn := []bot.TurnEntry{{ID: "7:0", Update: 7, Reply: &bot.Response{ChatID: chat, Messages: []bot.Message{{Text: "Question 2"}}}}}
		if err := s.Save(bg, sess, bot.Change{Turn: turn}); err != nil {
			t.Fatal(err)
		}
		listed := client.LRange(bg, s.turnsKey(chat), 0, -1).Val() // the other read, before the removal
		if len(listed) != 1 {
			t.Fatalf("recorded: %v", listed)
		}
		if batched {
			s.ackMu.Lock()
			s.acking = true
			s.ackMu.Unlock()
		}
		if err := s.Delivered(bg, chat, turn); err != nil {
			t.Fatal(err)
		}
		if batched {
			s.ackMu.Lock()
			batch := s.acks
			s.acks = nil
			s.ackMu.Unlock()
			s.acked(batch, s.writeAcks(bg, batch)) // as Run's flush does
		}
		if n := client.LLen(bg, s.turnsKey(chat)).Val(); n != 0 {
			t.Fatalf("batched=%v: %d entries left in Redis", batched, n)
		}
		if got := s.openTurn(chat, listed); len(got) != 0 {
			t.Fatalf("batched=%v: entries listed before their removal handed out again: %+v", batched, got)
		}
	}
}
