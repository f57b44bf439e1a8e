package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/redisstore/redistest"
)

// savedChat is a store on a fresh prefix that saved chat once, with ch:
// its session cache holds the chat.
func savedChat(t *testing.T, chat int64, ch bot.Change) (*redis.Client, string, *redisstore.Store) {
	t.Helper()
	st, client, prefix := newStore(t, redisstore.Options{})
	mustSave(t, st, mustLoad(t, st, chat).Session, ch)
	return client, prefix, st
}

// tripsOf runs f and returns how many round trips it made.
func tripsOf(rt *redistest.Counter, f func()) int64 {
	before := rt.Count()
	f()
	return rt.Count() - before
}

// A chat this process saved last is loaded without asking Redis, unless
// the update counts for flood control; its save is one round trip.
func TestCachedSessionSkipsTheLoad(t *testing.T) {
	// the first save may load the script (NOSCRIPT, then EVAL): not counted
	client, prefix, st := savedChat(t, 7, bot.Change{Signup: signup(7, t0)})
	rt := new(redistest.Counter)
	client.AddHook(rt)
	ctx := context.Background()

	for i := range 3 {
		var m bot.Member
		if n := tripsOf(rt, func() { m = mustLoad(t, st, 7) }); n != 0 || !m.Cached {
			t.Fatalf("load %d: %d round trips, cached %v; want 0, true", i, n, m.Cached)
		}
		if m.Signup == nil || m.Signup.Answers["name"][0] != "Ana" || m.Session.Version != int64(i+1) {
			t.Fatalf("load %d from the cache: version %d, sign-up %+v", i, m.Session.Version, m.Signup)
		}
		m.Session.Lang = "es"
		if n := tripsOf(rt, func() { mustSave(t, st, m.Session, bot.Change{}) }); n != 1 {
			t.Fatalf("save %d: %d round trips, want 1", i, n)
		}
	}
	// a message counted for flood control: the save counts it
	var counted bot.Member
	n := tripsOf(rt, func() {
		var err error
		if counted, err = st.Load(bot.CountRate(ctx, 20), 7); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 || !counted.Cached || counted.Recent != 0 || counted.Session.Lang != "es" {
		t.Fatalf("counted load: %d round trips, cached %v, recent %d, lang %q; want 0, true, 0 (left to the save), es", n, counted.Cached, counted.Recent, counted.Session.Lang)
	}
	if n := tripsOf(rt, func() { mustSave(t, st, counted.Session, bot.Change{}) }); n != 1 {
		t.Fatalf("counting save: %d round trips, want 1", n)
	}
	keys, err := client.Keys(ctx, prefix+"rate:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("rate keys %v, %v", keys, err)
	}
	if v, err := client.Get(ctx, keys[0]).Int(); err != nil || v != 1 {
		t.Fatalf("rate count %d, %v; want 1", v, err)
	}
}

// Flood control with cached sessions: the save counts the message and
// refuses a member over the limit; the retry's Load reports the count.
func TestCachedSessionCountsMessagesInTheSave(t *testing.T) {
	_, _, st := savedChat(t, 8, bot.Change{})
	ctx := context.Background()
	for i := range 2 {
		c, err := st.Load(bot.CountRate(ctx, 2), 8)
		if err != nil || !c.Cached {
			t.Fatalf("message %d: cached %v, %v", i+1, c.Cached, err)
		}
		mustSave(t, st, c.Session, bot.Change{})
	}
	over, err := st.Load(bot.CountRate(ctx, 2), 8)
	if err != nil || !over.Cached {
		t.Fatalf("third message: cached %v, %v", over.Cached, err)
	}
	if err := st.Save(ctx, over.Session, bot.Change{}); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("save over the limit: %v, want ErrConflict", err)
	}
	retry := mustLoad(t, st, 8)
	if retry.Recent != 3 || retry.Cached || retry.Session.Version != 3 {
		t.Fatalf("retry after the refusal: recent %d, cached %v, version %d; want 3, false, 3", retry.Recent, retry.Cached, retry.Session.Version)
	}
	// a message after that is counted by its Load, as without the cache
	next, err := st.Load(bot.CountRate(ctx, 2), 8)
	if err != nil || next.Recent != 4 {
		t.Fatalf("next message: recent %d, %v; want 4", next.Recent, err)
	}
}

// Two processes on one Redis taking turns on a chat: a session cached by
// one is refused once the other saved, and the retry's Load has the
// other's state without another round trip.
func TestCachedSessionRefusedAfterAnotherProcessSaved(t *testing.T) {
	a, client, prefix := newStore(t, redisstore.Options{})
	rt := new(redistest.Counter)
	client.AddHook(rt)
	b := redisstore.New(client, redisstore.Options{Prefix: prefix})
	ctx := context.Background()

	ma := mustLoad(t, a, 9)
	ma.Session.Source = "from-a"
	mustSave(t, a, ma.Session, bot.Change{})

	mb := mustLoad(t, b, 9)
	if mb.Cached || mb.Session.Source != "from-a" {
		t.Fatalf("b read %+v (cached %v)", mb.Session, mb.Cached)
	}
	mb.Session.Source = "from-b"
	mustSave(t, b, mb.Session, bot.Change{})

	stale := mustLoad(t, a, 9)
	if !stale.Cached || stale.Session.Source != "from-a" {
		t.Fatalf("a's cache: %+v (cached %v)", stale.Session, stale.Cached)
	}
	stale.Session.Source = "lost"
	if err := a.Save(ctx, stale.Session, bot.Change{}); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("save of a stale cached session: %v, want ErrConflict", err)
	}
	var fresh bot.Member
	if n := tripsOf(rt, func() { fresh = mustLoad(t, a, 9) }); n != 0 {
		t.Fatalf("load after a refusal: %d round trips, want 0 (the refusal read it)", n)
	}
	if fresh.Cached || fresh.Session.Source != "from-b" || fresh.Session.Version != 2 {
		t.Fatalf("after the refusal a loaded %+v (cached %v), want b's version 2", fresh.Session, fresh.Cached)
	}
	fresh.Session.Source = "a-again"
	mustSave(t, a, fresh.Session, bot.Change{})
	// and b's own cached copy is now the stale one
	if err := b.Save(ctx, mustLoad(t, b, 9).Session, bot.Change{}); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("b's stale save: %v, want ErrConflict", err)
	}
	if got := mustLoad(t, b, 9); got.Session.Source != "a-again" || got.Session.Version != 3 {
		t.Fatalf("b then reads %+v", got.Session)
	}
}

// An erasure by another process (the session and sign-up deleted) makes
// the cached copy useless: the save is refused and the retry sees nothing.
func TestCachedSessionRefusedAfterErasureElsewhere(t *testing.T) {
	client, prefix, a := savedChat(t, 11, bot.Change{Signup: signup(11, t0)})
	b := redisstore.New(client, redisstore.Options{Prefix: prefix})
	ctx := context.Background()

	other := mustLoad(t, b, 11)
	mustSave(t, b, other.Session, bot.Change{Forget: true})

	cached := mustLoad(t, a, 11)
	if !cached.Cached || cached.Signup == nil {
		t.Fatalf("a's cache lost the sign-up early: %+v", cached)
	}
	if err := a.Save(ctx, cached.Session, bot.Change{}); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("save after an erasure elsewhere: %v, want ErrConflict", err)
	}
	after := mustLoad(t, a, 11)
	if after.Signup != nil || after.Session.Version != 0 {
		t.Fatalf("after the erasure a loaded version %d, sign-up %+v", after.Session.Version, after.Signup)
	}
	if su, err := a.GetSignup(ctx, 11); err != nil || su != nil {
		t.Fatalf("sign-up after the erasure: %+v, %v", su, err)
	}
}

// A sign-up removed behind the session's back (by hand, by a tool) also
// refuses a cached save, whose turn believed it existed.
func TestCachedSessionRefusedWhenTheSignupWentAway(t *testing.T) {
	client, prefix, a := savedChat(t, 12, bot.Change{Signup: signup(12, t0)})
	ctx := context.Background()
	if err := client.Del(ctx, prefix+"signup:12").Err(); err != nil {
		t.Fatal(err)
	}
	cached := mustLoad(t, a, 12)
	if err := a.Save(ctx, cached.Session, bot.Change{}); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("save with the sign-up gone: %v, want ErrConflict", err)
	}
	if after := mustLoad(t, a, 12); after.Signup != nil {
		t.Fatalf("sign-up still seen: %+v", after.Signup)
	}
}

// Recorded turns that are still waiting (delivery failed, flood control,
// a crash) are never skipped by a cached load: the save is refused and the
// retry's Load shows them, so they are delivered before the new turn.
func TestCachedSessionRefusedWhileTurnsWait(t *testing.T) {
	reply := bot.Response{ChatID: 13, Messages: []bot.Message{{Text: "hello"}}}
	_, _, a := savedChat(t, 13, bot.Change{Turn: []bot.TurnEntry{{ID: "1:0", Update: 1, Created: time.Now(), Reply: &reply}}})
	ctx := context.Background()

	cached := mustLoad(t, a, 13)
	if !cached.Cached || len(cached.Pending) != 0 {
		t.Fatalf("cached load: %+v", cached)
	}
	if err := a.Save(ctx, cached.Session, bot.Change{}); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("cached save with a turn waiting: %v, want ErrConflict", err)
	}
	after := mustLoad(t, a, 13)
	if len(after.Pending) != 1 || after.Pending[0].Reply == nil || after.Pending[0].Reply.Messages[0].Text != "hello" {
		t.Fatalf("the waiting turn is not shown: %+v", after.Pending)
	}
	mustSave(t, a, after.Session, bot.Change{})
}
