package broadcast_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/broadcast"
	"bridgebot/bot/sealed"
	"bridgebot/bot/telegram/telegramtest"
)

// What a member chose on the form (language, role, areas, border) is
// sealed in the subscription record; the store still reads and targets it.
func TestSubscriptionRecordsAreSealed(t *testing.T) {
	ring := sealed.Throwaway()
	s, rdb, prefix := newStore(t, broadcast.Options{Keyring: ring})
	ctx := context.Background()
	if err := s.Subscribe(ctx, broadcast.Subscriber{ChatID: 5, Lang: "es", Role: "popular-educator", Areas: []string{"climate", "detention"}, Border: "yes"}); err != nil {
		t.Fatal(err)
	}
	raw, err := rdb.HGet(ctx, prefix+"subs:data", "5").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !sealed.IsSealed([]byte(raw)) || sealed.ValueKeyID([]byte(raw)) != ring.CurrentID() {
		t.Fatalf("record is not sealed under the current key: %q", raw)
	}
	for _, clear := range []string{"popular-educator", "climate", "detention", "yes", "es", "lang"} {
		if strings.Contains(raw, clear) {
			t.Errorf("record shows %q in clear: %q", clear, raw)
		}
	}
	sub, ok, err := s.Subscriber(ctx, 5)
	if err != nil || !ok || sub.Lang != "es" || sub.Role != "popular-educator" || len(sub.Areas) != 2 || sub.Border != "yes" {
		t.Fatalf("subscriber %+v, %v, %v", sub, ok, err)
	}
	aud, _ := broadcast.ParseAudience("area=detention role=popular-educator border=yes lang=es")
	if counts, err := s.Count(ctx, aud); err != nil || counts["es"] != 1 {
		t.Errorf("count of the matching audience: %v, %v", counts, err)
	}
	if counts, err := s.Count(ctx, broadcast.Audience{Areas: []string{"labor"}}); err != nil || counts["es"]+counts["en"] != 0 {
		t.Errorf("count of another audience: %v, %v", counts, err)
	}

	// A process without the key names the key it needs and shows nothing;
	// counting an audience leaves the record out instead of failing.
	stranger := broadcast.New(rdb, broadcast.Options{Prefix: prefix, Keyring: sealed.Throwaway()})
	_, _, err = stranger.Subscriber(ctx, 5)
	var missing *sealed.MissingKeyError
	if !errors.As(err, &missing) || missing.KeyID != ring.CurrentID() {
		t.Errorf("reading without the key: %v, want the missing key %s", err, ring.CurrentID())
	}
	if counts, err := stranger.Count(ctx, broadcast.Audience{}); err != nil || counts["es"] != 0 {
		t.Errorf("count without the key: %v, %v", counts, err)
	}
}

// Records written before sealing (plain JSON) are still read and
// targeted, and a broadcast reaches them; a record nobody can decrypt is
// left out of the broadcast, which still finishes.
func TestClearAndUnreadableRecordsInABroadcast(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sealedIDs := e.members(1, 2, broadcast.Subscriber{Lang: "en", Areas: []string{"labor"}})
	// A subscriber stored before records were sealed.
	e.srv.AddChat(telegramtest.User{ID: 40})
	e.rdb.ZAdd(ctx, e.prefix+"subs", redis.Z{Score: 40, Member: "40"})
	e.rdb.HSet(ctx, e.prefix+"subs:data", "40", `{"lang":"es","areas":["labor"]}`, "40:since", "1")
	// A subscriber sealed under a key this process does not hold.
	e.srv.AddChat(telegramtest.User{ID: 50})
	e.rdb.ZAdd(ctx, e.prefix+"subs", redis.Z{Score: 50, Member: "50"})
	e.rdb.HSet(ctx, e.prefix+"subs:data", "50", sealed.Throwaway().SealString(`{"lang":"en","areas":["labor"]}`), "50:since", "1")

	if sub, ok, err := e.store.Subscriber(ctx, 40); err != nil || !ok || sub.Lang != "es" || sub.Areas[0] != "labor" {
		t.Fatalf("clear record: %+v, %v, %v", sub, ok, err)
	}
	aud := broadcast.Audience{Areas: []string{"labor"}}
	if counts, err := e.store.Count(ctx, aud); err != nil || counts["en"] != 2 || counts["es"] != 1 {
		t.Fatalf("count %v, %v", counts, err)
	}
	e.worker(nil, nil, broadcast.Options{Rate: 100})
	j := e.create(broadcast.Job{Audience: aud})
	j = e.waitStatus(j.ID, broadcast.StatusDone)
	e.exactlyOnce(append(sealedIDs, 40))
	if n := e.srv.Accepted(50); n != 0 {
		t.Errorf("the unreadable subscriber got %d messages", n)
	}
	if j.Counts.Sent != 3 {
		t.Errorf("counts %+v", j.Counts)
	}
	// The finished job keeps only counts: its per-member delivery records
	// (done marks, leases, owners, rate ring) are gone.
	if keys := e.rdb.Keys(ctx, e.prefix+"broadcast:job:"+j.ID+":*").Val(); len(keys) != 0 {
		t.Errorf("delivery records kept after the job finished: %v", keys)
	}
}
