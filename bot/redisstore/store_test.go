package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/flows"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newStore(t testing.TB, opts redisstore.Options) (*redisstore.Store, *redis.Client, string) {
	t.Helper()
	client, prefix := redistest.New(t)
	opts.Prefix = prefix
	return redisstore.New(client, opts), client, prefix
}

func signup(chatID int64, created time.Time) *bot.Signup {
	return &bot.Signup{
		ChatID:  chatID,
		Lang:    "en",
		Source:  "flyer",
		Answers: flows.Answers{"name": {"Ana"}, "days": {"mon", "wed"}},
		Created: created,
		Updated: created,
	}
}

func mustLoad(t testing.TB, st *redisstore.Store, chatID int64) bot.Member {
	t.Helper()
	m, err := st.Load(context.Background(), chatID)
	if err != nil {
		t.Fatalf("Load(%d): %v", chatID, err)
	}
	return m
}

func mustSave(t testing.TB, st *redisstore.Store, s *bot.Session, ch bot.Change) {
	t.Helper()
	if err := st.Save(context.Background(), s, ch); err != nil {
		t.Fatalf("Save(%d): %v", s.ChatID, err)
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, _, _ := newStore(t, redisstore.Options{})

	m := mustLoad(t, st, 42)
	if want := (&bot.Session{ChatID: 42}); !reflect.DeepEqual(m.Session, want) {
		t.Fatalf("new member session = %+v, want %+v", m.Session, want)
	}
	if m.Signup != nil {
		t.Fatalf("new member sign-up = %+v, want nil", m.Signup)
	}

	s := m.Session
	s.Lang, s.LangChosen, s.Source = "es", true, "flyer"
	s.Form = &flows.State{Flow: "join", Step: "days", Answers: flows.Answers{"name": {"Ana"}}, History: []string{"name"}}
	s.FormUpdated, s.Updated = t0, t0.Add(time.Second)
	s.Rev, s.Pending, s.LastUpdate = 7, "cancel", 1001
	su := signup(42, t0)
	mustSave(t, st, s, bot.Change{Signup: su})
	if s.Version != 1 {
		t.Fatalf("Version after first save = %d, want 1", s.Version)
	}

	got := mustLoad(t, st, 42)
	if !reflect.DeepEqual(got.Session, s) {
		t.Errorf("loaded session = %+v\nwant %+v", got.Session, s)
	}
	if !reflect.DeepEqual(got.Signup, su) {
		t.Errorf("loaded sign-up = %+v\nwant %+v", got.Signup, su)
	}

	// Versions increase by one per save, and a save without a Change
	// leaves the sign-up alone.
	for want := int64(2); want <= 4; want++ {
		got.Session.Rev++
		mustSave(t, st, got.Session, bot.Change{})
		got = mustLoad(t, st, 42)
		if got.Session.Version != want {
			t.Fatalf("Version = %d, want %d", got.Session.Version, want)
		}
		if got.Signup == nil {
			t.Fatal("sign-up lost by a plain save")
		}
	}

	if g, err := st.GetSignup(ctx, 42); err != nil || !reflect.DeepEqual(g, su) {
		t.Errorf("GetSignup(42) = %+v, %v; want %+v", g, err, su)
	}
	if g, err := st.GetSignup(ctx, 43); g != nil || err != nil {
		t.Errorf("GetSignup(43) = %+v, %v; want nil, nil", g, err)
	}
	if n, err := st.CountSignups(ctx); n != 1 || err != nil {
		t.Errorf("CountSignups = %d, %v; want 1", n, err)
	}
}

func TestNegativeChatID(t *testing.T) {
	st, _, _ := newStore(t, redisstore.Options{})
	m := mustLoad(t, st, -1001234)
	mustSave(t, st, m.Session, bot.Change{Signup: signup(-1001234, t0)})
	var ids []int64
	if err := st.Signups(context.Background(), func(s *bot.Signup) error {
		ids = append(ids, s.ChatID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != -1001234 {
		t.Errorf("Signups ids = %v", ids)
	}
}

func TestConflict(t *testing.T) {
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing=%v", existing), func(t *testing.T) {
			ctx := context.Background()
			st, _, _ := newStore(t, redisstore.Options{})
			if existing {
				s := mustLoad(t, st, 1).Session
				mustSave(t, st, s, bot.Change{})
			}
			a := mustLoad(t, st, 1).Session
			b := mustLoad(t, st, 1).Session
			base := a.Version

			a.Lang = "en"
			mustSave(t, st, a, bot.Change{})

			b.Lang = "fr"
			err := st.Save(ctx, b, bot.Change{Signup: signup(1, t0)})
			if !errors.Is(err, bot.ErrConflict) {
				t.Fatalf("second Save = %v, want ErrConflict", err)
			}
			if b.Version != base {
				t.Errorf("Version after conflict = %d, want unchanged %d", b.Version, base)
			}
			m := mustLoad(t, st, 1)
			if m.Session.Lang != "en" || m.Session.Version != base+1 {
				t.Errorf("stored session = %+v, want the first save's", m.Session)
			}
			if m.Signup != nil {
				t.Errorf("conflicting save wrote a sign-up: %+v", m.Signup)
			}
			if n, _ := st.CountSignups(ctx); n != 0 {
				t.Errorf("conflicting save indexed a sign-up: count %d", n)
			}
			// A conflicting Forget deletes nothing either.
			if err := st.Save(ctx, b, bot.Change{Forget: true}); !errors.Is(err, bot.ErrConflict) {
				t.Fatalf("stale Forget = %v, want ErrConflict", err)
			}
			if m := mustLoad(t, st, 1); m.Session.Lang != "en" {
				t.Errorf("stale Forget deleted the session")
			}
		})
	}
}

// TestConcurrentSaves has goroutines race on one chat the way concurrent
// updates do: optimistic concurrency must lose no increment.
func TestConcurrentSaves(t *testing.T) {
	const workers, perWorker = 20, 5
	ctx := context.Background()
	st, _, _ := newStore(t, redisstore.Options{})

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range perWorker {
				for {
					m, err := st.Load(ctx, 7)
					if err != nil {
						errs <- err
						return
					}
					m.Session.Rev++
					err = st.Save(ctx, m.Session, bot.Change{})
					if errors.Is(err, bot.ErrConflict) {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	m := mustLoad(t, st, 7)
	if m.Session.Rev != workers*perWorker || m.Session.Version != workers*perWorker {
		t.Errorf("Rev = %d, Version = %d; want both %d", m.Session.Rev, m.Session.Version, workers*perWorker)
	}
}

func TestForget(t *testing.T) {
	ctx := context.Background()
	st, client, prefix := newStore(t, redisstore.Options{})

	other := mustLoad(t, st, 2).Session
	mustSave(t, st, other, bot.Change{Signup: signup(2, t0)})

	s := mustLoad(t, st, 1).Session
	mustSave(t, st, s, bot.Change{Signup: signup(1, t0)})
	stale := *s
	s.Rev++
	mustSave(t, st, s, bot.Change{})

	mustSave(t, st, s, bot.Change{Forget: true, Signup: signup(1, t0)})
	if s.Version != 0 {
		t.Errorf("Version after Forget = %d, want 0", s.Version)
	}
	for _, k := range []string{prefix + "session:1", prefix + "signup:1"} {
		if n := client.Exists(ctx, k).Val(); n != 0 {
			t.Errorf("%s still exists after Forget", k)
		}
	}
	if err := client.ZScore(ctx, prefix+"signups", "1").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("index entry after Forget: ZSCORE err = %v, want redis.Nil", err)
	}
	m := mustLoad(t, st, 1)
	if !reflect.DeepEqual(m.Session, &bot.Session{ChatID: 1}) || m.Signup != nil {
		t.Errorf("after Forget Load = %+v, %+v; want a new member", m.Session, m.Signup)
	}
	if n, _ := st.CountSignups(ctx); n != 1 {
		t.Errorf("CountSignups = %d, want 1 (the other member)", n)
	}
	// An update loaded before the deletion must not bring the data back.
	if err := st.Save(ctx, &stale, bot.Change{}); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("stale save after Forget = %v, want ErrConflict", err)
	}
	// The returned session can be used again, as a new member's.
	mustSave(t, st, s, bot.Change{})
	if s.Version != 1 {
		t.Errorf("Version after saving again = %d, want 1", s.Version)
	}
}

func TestSessionTTL(t *testing.T) {
	ctx := context.Background()
	st, client, prefix := newStore(t, redisstore.Options{SessionTTL: time.Hour})
	s := mustLoad(t, st, 1).Session
	mustSave(t, st, s, bot.Change{Signup: signup(1, t0)})

	ttl := client.PTTL(ctx, prefix+"session:1").Val()
	if ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("session TTL = %v, want about 1h", ttl)
	}
	// A sign-up is kept until deleted: no TTL (go-redis reports -1).
	for _, k := range []string{prefix + "signup:1", prefix + "signups"} {
		if ttl := client.PTTL(ctx, k).Val(); ttl != -1 {
			t.Errorf("%s PTTL = %v, want none", k, ttl)
		}
	}

	st2 := redisstore.New(client, redisstore.Options{Prefix: prefix})
	mustSave(t, st2, s, bot.Change{})
	ttl = client.PTTL(ctx, prefix+"session:1").Val()
	if ttl <= redisstore.DefaultSessionTTL-time.Minute || ttl > redisstore.DefaultSessionTTL {
		t.Errorf("default session TTL = %v, want about %v", ttl, redisstore.DefaultSessionTTL)
	}
}

// TestSessionExpiry moves miniredis's clock: an abandoned session goes
// away after SessionTTL, an active one does not, and the sign-up stays.
func TestSessionExpiry(t *testing.T) {
	m, client, prefix := redistest.NewMini(t)
	st := redisstore.New(client, redisstore.Options{Prefix: prefix, SessionTTL: time.Hour})

	s := mustLoad(t, st, 1).Session
	s.Form = &flows.State{Flow: "join", Step: "name"}
	mustSave(t, st, s, bot.Change{Signup: signup(1, t0)})

	m.FastForward(40 * time.Minute)
	mustSave(t, st, s, bot.Change{}) // activity refreshes the TTL
	m.FastForward(40 * time.Minute)
	if got := mustLoad(t, st, 1).Session; got.Version != 2 || got.Form == nil {
		t.Fatalf("session expired despite activity: %+v", got)
	}
	if ttl := m.TTL(prefix + "session:1"); ttl != 20*time.Minute {
		t.Errorf("remaining TTL = %v, want 20m", ttl)
	}

	m.FastForward(20*time.Minute + time.Second)
	got := mustLoad(t, st, 1)
	if !reflect.DeepEqual(got.Session, &bot.Session{ChatID: 1}) {
		t.Errorf("abandoned session survived: %+v", got.Session)
	}
	if got.Signup == nil {
		t.Error("sign-up expired with the session")
	}
	// The expired session's stale copy must not resurrect the form.
	if err := st.Save(context.Background(), s, bot.Change{}); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("save of expired session = %v, want ErrConflict", err)
	}
}

func collect(t *testing.T, st *redisstore.Store) []*bot.Signup {
	t.Helper()
	var out []*bot.Signup
	if err := st.Signups(context.Background(), func(s *bot.Signup) error {
		out = append(out, s)
		return nil
	}); err != nil {
		t.Fatalf("Signups: %v", err)
	}
	return out
}

func TestSignupsOrderAndPaging(t *testing.T) {
	const n = 450
	ctx := context.Background()
	st, client, prefix := newStore(t, redisstore.Options{})

	// Saved in random order, created in ID order, with runs of three
	// sharing a millisecond so ties land on page boundaries.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, i := range rng.Perm(n) {
		id := int64(1000 + i)
		s := mustLoad(t, st, id).Session
		mustSave(t, st, s, bot.Change{Signup: signup(id, t0.Add(time.Duration(i/3)*time.Millisecond))})
	}
	if c, err := st.CountSignups(ctx); c != n || err != nil {
		t.Fatalf("CountSignups = %d, %v; want %d", c, err, n)
	}

	got := collect(t, st)
	if len(got) != n {
		t.Fatalf("Signups visited %d, want %d", len(got), n)
	}
	seen := map[int64]bool{}
	for i, s := range got {
		if seen[s.ChatID] {
			t.Fatalf("chat %d visited twice", s.ChatID)
		}
		seen[s.ChatID] = true
		if i > 0 && s.Created.Before(got[i-1].Created) {
			t.Fatalf("out of order at %d: %v after %v", i, s.Created, got[i-1].Created)
		}
	}

	// Re-saving a sign-up keeps its place (ZADD NX).
	first := mustLoad(t, st, 1000)
	first.Signup.Updated = t0.Add(time.Hour)
	mustSave(t, st, first.Session, bot.Change{Signup: first.Signup})
	if got := collect(t, st); got[0].ChatID != 1000 || !got[0].Updated.Equal(t0.Add(time.Hour)) {
		t.Errorf("re-saved sign-up moved or was not updated: first is %+v", got[0])
	}

	// Keys that vanished behind the index's back are skipped.
	for _, id := range []int64{1000, 1200, 1449} {
		client.Del(ctx, fmt.Sprintf("%ssignup:%d", prefix, id))
	}
	got = collect(t, st)
	if len(got) != n-3 {
		t.Errorf("after deleting 3 keys Signups visited %d, want %d", len(got), n-3)
	}
	for _, s := range got {
		if s.ChatID == 1000 || s.ChatID == 1200 || s.ChatID == 1449 {
			t.Errorf("visited vanished sign-up %d", s.ChatID)
		}
	}
}

// TestSignupsTies puts more sign-ups in one millisecond than fit a page:
// the score cursor must still visit each exactly once.
func TestSignupsTies(t *testing.T) {
	const n = 450
	st, _, _ := newStore(t, redisstore.Options{})
	for i := range n {
		id := int64(i + 1)
		s := &bot.Session{ChatID: id}
		created := t0
		if i >= 400 {
			created = t0.Add(time.Millisecond)
		}
		mustSave(t, st, s, bot.Change{Signup: signup(id, created)})
	}
	seen := map[int64]bool{}
	for _, s := range collect(t, st) {
		if seen[s.ChatID] {
			t.Fatalf("chat %d visited twice", s.ChatID)
		}
		seen[s.ChatID] = true
	}
	if len(seen) != n {
		t.Errorf("visited %d, want %d", len(seen), n)
	}
}

// TestSignupsWhileForgetting deletes members during an export, as /delete
// may: the others must all still be visited.
func TestSignupsWhileForgetting(t *testing.T) {
	const n = 450
	ctx := context.Background()
	st, _, _ := newStore(t, redisstore.Options{})
	for i := range n {
		id := int64(i + 1)
		mustSave(t, st, &bot.Session{ChatID: id}, bot.Change{Signup: signup(id, t0.Add(time.Duration(i)*time.Second))})
	}
	visited := 0
	err := st.Signups(ctx, func(s *bot.Signup) error {
		visited++
		if s.ChatID%2 == 0 {
			m, err := st.Load(ctx, s.ChatID)
			if err != nil {
				return err
			}
			return st.Save(ctx, m.Session, bot.Change{Forget: true})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if visited != n {
		t.Errorf("visited %d, want %d", visited, n)
	}
	if c, _ := st.CountSignups(ctx); c != n/2 {
		t.Errorf("CountSignups = %d, want %d", c, n/2)
	}
}

func TestSignupsStopsOnError(t *testing.T) {
	st, _, _ := newStore(t, redisstore.Options{})
	for i := range 5 {
		id := int64(i + 1)
		mustSave(t, st, &bot.Session{ChatID: id}, bot.Change{Signup: signup(id, t0.Add(time.Duration(i)*time.Second))})
	}
	stop := errors.New("stop")
	calls := 0
	err := st.Signups(context.Background(), func(*bot.Signup) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Errorf("Signups = %v after %d calls; want fn's error as is after 2", err, calls)
	}
}

func TestSignupZeroCreatedUsesNow(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(time.Hour)
	st, client, prefix := newStore(t, redisstore.Options{Now: func() time.Time { return now }})
	mustSave(t, st, &bot.Session{ChatID: 1}, bot.Change{Signup: signup(1, time.Time{})})
	score, err := client.ZScore(ctx, prefix+"signups", "1").Result()
	if err != nil || int64(score) != now.UnixMilli() {
		t.Errorf("score = %v, %v; want %d", score, err, now.UnixMilli())
	}
}

// TestRoundTrips holds Load and Save to one round trip each: they run for
// every update, and latency to Redis dominates the bot's response time.
func TestRoundTrips(t *testing.T) {
	st, client, _ := newStore(t, redisstore.Options{})
	c := new(redistest.Counter)
	client.AddHook(c)

	// Warm up: the first script call may need EVAL after NOSCRIPT.
	mustSave(t, st, mustLoad(t, st, 99).Session, bot.Change{})

	check := func(what string, f func()) {
		t.Helper()
		c.Reset()
		f()
		if n := c.Count(); n != 1 {
			t.Errorf("%s took %d round trips, want 1", what, n)
		}
	}
	var m bot.Member
	check("Load (new member)", func() { m = mustLoad(t, st, 1) })
	check("Save", func() { mustSave(t, st, m.Session, bot.Change{}) })
	check("Save with sign-up", func() { mustSave(t, st, m.Session, bot.Change{Signup: signup(1, t0)}) })
	check("Load with sign-up", func() { m = mustLoad(t, st, 1) })
	check("Save with Forget", func() { mustSave(t, st, m.Session, bot.Change{Forget: true}) })
}

// TestRedisDown checks that an unreachable Redis gives errors quickly, not
// panics or hangs, and that the store recovers once Redis is back.
func TestRedisDown(t *testing.T) {
	ctx := context.Background()
	m, _, prefix := redistest.NewMini(t)
	client := redis.NewClient(&redis.Options{
		Addr:            m.Addr(),
		DialTimeout:     200 * time.Millisecond,
		DialerRetries:   1,
		ReadTimeout:     200 * time.Millisecond,
		WriteTimeout:    200 * time.Millisecond,
		MaxRetries:      1,
		MinRetryBackoff: time.Millisecond,
		MaxRetryBackoff: 5 * time.Millisecond,
	})
	t.Cleanup(func() { client.Close() })
	st := redisstore.New(client, redisstore.Options{Prefix: prefix})
	s := mustLoad(t, st, 1).Session
	mustSave(t, st, s, bot.Change{Signup: signup(1, t0)})

	m.Close()
	timed := func(what string, f func() error) {
		t.Helper()
		start := time.Now()
		err := f()
		if err == nil {
			t.Errorf("%s with Redis down: no error", what)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s with Redis down took %v", what, d)
		}
	}
	// a chat this store never saw (one it saved last comes from the
	// session cache; the save after it then fails, below)
	timed("Load", func() error { _, err := st.Load(ctx, 2); return err })
	timed("Save", func() error {
		before := s.Version
		err := st.Save(ctx, s, bot.Change{})
		if s.Version != before {
			t.Errorf("failed Save changed Version to %d", s.Version)
		}
		return err
	})
	timed("GetSignup", func() error { _, err := st.GetSignup(ctx, 1); return err })
	timed("Signups", func() error { return st.Signups(ctx, func(*bot.Signup) error { return nil }) })
	timed("CountSignups", func() error { _, err := st.CountSignups(ctx); return err })

	if err := m.Restart(); err != nil {
		t.Fatalf("restart miniredis: %v", err)
	}
	got := mustLoad(t, st, 1)
	if got.Session.Version != 1 || got.Signup == nil {
		t.Errorf("after restart Load = %+v, %+v", got.Session, got.Signup)
	}
	mustSave(t, st, got.Session, bot.Change{})
	if got.Session.Version != 2 {
		t.Errorf("Version after restart save = %d, want 2", got.Session.Version)
	}
}

func TestCorruptData(t *testing.T) {
	ctx := context.Background()
	st, client, prefix := newStore(t, redisstore.Options{})

	client.HSet(ctx, prefix+"session:1", "v", "3", "d", "{not json")
	client.HSet(ctx, prefix+"session:2", "v", "three", "d", "{}")
	client.Set(ctx, prefix+"signup:3", "[", 0)
	client.ZAdd(ctx, prefix+"signups", redis.Z{Score: 1, Member: "3"})

	for _, id := range []int64{1, 2, 3} {
		_, err := st.Load(ctx, id)
		if err == nil {
			t.Errorf("Load(%d) of corrupt data: no error", id)
		} else if !strings.Contains(err.Error(), fmt.Sprint(id)) {
			t.Errorf("Load(%d) error %q does not name the chat", id, err)
		}
	}
	if _, err := st.GetSignup(ctx, 3); err == nil {
		t.Error("GetSignup of corrupt JSON: no error")
	}
	if err := st.Signups(ctx, func(*bot.Signup) error { return nil }); err == nil {
		t.Error("Signups over corrupt JSON: no error")
	}
	// A session with a corrupt version cannot be overwritten by accident.
	if err := st.Save(ctx, &bot.Session{ChatID: 2}, bot.Change{}); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("Save over corrupt version = %v, want ErrConflict", err)
	}
}

func TestSaveErrors(t *testing.T) {
	st, _, _ := newStore(t, redisstore.Options{})
	if err := st.Save(context.Background(), nil, bot.Change{}); err == nil {
		t.Error("Save(nil): no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := st.Save(ctx, &bot.Session{ChatID: 123}, bot.Change{})
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "redisstore: save session 123: ") {
		t.Errorf("Save with cancelled context = %v", err)
	}
}

func TestStartEmbedded(t *testing.T) {
	addr, stop, err := redisstore.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	st := redisstore.New(client, redisstore.Options{})
	s := mustLoad(t, st, 5).Session
	mustSave(t, st, s, bot.Change{Signup: signup(5, t0)})
	if n, err := st.CountSignups(context.Background()); n != 1 || err != nil {
		t.Errorf("CountSignups = %d, %v", n, err)
	}
}

// BenchmarkLoadSave measures one update's storage cost: a Load and a Save.
// roundtrips/op is the number that matters in production.
func BenchmarkLoadSave(b *testing.B) {
	ctx := context.Background()
	st, client, _ := newStore(b, redisstore.Options{})
	c := new(redistest.Counter)
	client.AddHook(c)
	mustSave(b, st, mustLoad(b, st, 1).Session, bot.Change{}) // load the script
	c.Reset()
	for b.Loop() {
		m, err := st.Load(ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		m.Session.Rev++
		if err := st.Save(ctx, m.Session, bot.Change{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(c.Count())/float64(b.N), "roundtrips/op")
}

// /delete removes the member's flood-control counters (named by a MAC of
// their chat ID) with the rest, this minute's and the last one's; another
// member's stay.
func TestForgetDeletesFloodCounters(t *testing.T) {
	ctx := context.Background()
	now := t0
	st, client, prefix := newStore(t, redisstore.Options{Now: func() time.Time { return now }})
	counted := bot.CountRate(ctx, 20)
	if _, err := st.Load(counted, 1); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute) // the next window
	if _, err := st.Load(counted, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(counted, 2); err != nil {
		t.Fatal(err)
	}
	if keys := client.Keys(ctx, prefix+"rate:*").Val(); len(keys) != 3 {
		t.Fatalf("flood counters before Forget: %v, want 3", keys)
	}
	s := mustLoad(t, st, 1).Session
	mustSave(t, st, s, bot.Change{Signup: signup(1, t0)})
	mustSave(t, st, s, bot.Change{Forget: true})
	keys := client.Keys(ctx, prefix+"rate:*").Val()
	if len(keys) != 1 {
		t.Fatalf("flood counters after Forget: %v, want only the other member's", keys)
	}
	if m, err := st.Load(counted, 2); err != nil || m.Recent != 2 {
		t.Errorf("the other member's counter: %d, %v; want 2", m.Recent, err)
	}
}
