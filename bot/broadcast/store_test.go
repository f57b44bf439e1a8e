package broadcast_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/redisstore/redistest"
)

func newStore(t *testing.T, o broadcast.Options) (*broadcast.Store, *redis.Client, string) {
	t.Helper()
	rdb, prefix := redistest.New(t)
	o.Prefix = prefix
	return broadcast.New(rdb, o), rdb, prefix
}

func TestSubscriptions(t *testing.T) {
	s, _, _ := newStore(t, broadcast.Options{})
	ctx := context.Background()
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.Subscribe(ctx, bot.Subscription{ChatID: 5, Lang: "es-MX", Role: "organizer", Areas: []string{"labor"}, Since: since}); err != nil {
		t.Fatal(err)
	}
	// Again, with a new language: an update that keeps Since.
	if err := s.Subscribe(ctx, bot.Subscription{ChatID: 5, Lang: "en", Border: "no"}); err != nil {
		t.Fatal(err)
	}
	sub, ok, err := s.Subscription(ctx, 5)
	if err != nil || !ok || sub.Lang != "en" || sub.Border != "no" || sub.Role != "" || !sub.Since.Equal(since) {
		t.Errorf("subscriber %+v, %v, %v", sub, ok, err)
	}
	counts, err := s.Count(ctx, broadcast.Audience{})
	if err != nil || counts["en"] != 1 || counts["es"] != 0 {
		t.Errorf("count %v, %v", counts, err)
	}
	if yes, _ := s.IsSubscribed(ctx, 5); !yes {
		t.Error("not subscribed")
	}
	for _, bad := range []bot.Subscription{{ChatID: 6, Lang: "fr"}, {ChatID: 0, Lang: "en"}, {ChatID: 6, Lang: "en", Border: "maybe"}} {
		if err := s.Subscribe(ctx, bad); err == nil {
			t.Errorf("Subscribe(%+v) accepted", bad)
		}
	}
	was, err := s.Unsubscribe(ctx, 5, bot.UnsubscribeStop)
	if err != nil || !was {
		t.Errorf("unsubscribe: %v, %v", was, err)
	}
	was, err = s.Unsubscribe(ctx, 5, bot.UnsubscribeStop)
	if err != nil || was {
		t.Errorf("second unsubscribe: %v, %v", was, err)
	}
	if _, err := s.Unsubscribe(ctx, 5, "bored"); err == nil {
		t.Error("unknown reason accepted")
	}
	if yes, _ := s.IsSubscribed(ctx, 5); yes {
		t.Error("still subscribed")
	}
	if _, ok, _ := s.Subscription(ctx, 5); ok {
		t.Error("record kept after unsubscribe")
	}
	got, err := s.UnsubscribeCounts(ctx)
	if err != nil || got[bot.UnsubscribeStop] != 1 || got[bot.UnsubscribeBlocked] != 0 {
		t.Errorf("unsubscribe counts %v, %v", got, err)
	}
	// Re-subscribing starts a new Since.
	if err := s.Subscribe(ctx, bot.Subscription{ChatID: 5, Lang: "es"}); err != nil {
		t.Fatal(err)
	}
	if sub, _, _ := s.Subscription(ctx, 5); sub.Since.Equal(since) || time.Since(sub.Since) > time.Minute {
		t.Errorf("since after re-subscribing: %v", sub.Since)
	}
}

// Count reads the subscribers a page at a time: round trips grow with the
// number of subscribers and each reads at most PageSize of them.
func TestCountIsPaged(t *testing.T) {
	s, rdb, prefix := newStore(t, broadcast.Options{PageSize: 10})
	ctx := context.Background()
	for i := range 95 {
		lang := "en"
		if i%5 == 0 {
			lang = "es"
		}
		if err := s.Subscribe(ctx, bot.Subscription{ChatID: int64(1000 + i), Lang: lang}); err != nil {
			t.Fatal(err)
		}
	}
	counter := new(redistest.Counter)
	c := redis.NewClient(rdb.Options())
	t.Cleanup(func() { c.Close() })
	c.AddHook(counter)
	paged := broadcast.New(c, broadcast.Options{Prefix: prefix, PageSize: 10})
	if _, err := paged.Count(ctx, broadcast.Audience{}); err != nil { // loads the script
		t.Fatal(err)
	}
	counter.Reset()
	got, err := paged.Count(ctx, broadcast.Audience{})
	if err != nil || got["en"] != 76 || got["es"] != 19 {
		t.Fatalf("count %v, %v", got, err)
	}
	if n := counter.Count(); n != 10 {
		t.Errorf("%d round trips for 95 subscribers in pages of 10, want 10", n)
	}
	// Each stops when asked, having read one page only.
	counter.Reset()
	stop := errors.New("stop")
	seen := 0
	err = paged.Each(ctx, broadcast.Audience{}, func(bot.Subscription) error {
		seen++
		if seen == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || counter.Count() != 1 {
		t.Errorf("early stop: %v after %d round trips", err, counter.Count())
	}
}

func TestCreateValidates(t *testing.T) {
	s, _, _ := newStore(t, broadcast.Options{})
	ctx := context.Background()
	_, err := s.Create(ctx, broadcast.Job{
		Texts:       map[string]string{"en": "ok", "es": "<b>sin cerrar", "fr": "bonjour"},
		ButtonLabel: map[string]string{"en": strings.Repeat("x", 70)},
		ButtonURL:   "ftp://example.org",
		Audience:    broadcast.Audience{Roles: []string{"boss"}},
	})
	var ve *broadcast.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a ValidationError", err)
	}
	all := strings.Join(ve.Problems, "\n")
	for _, want := range []string{`unknown language "fr"`, "Spanish text: line 1, column 1: <b> is never closed", "70 characters", "button: link", `unknown role "boss"`} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	for _, j := range []broadcast.Job{
		{},
		{Texts: map[string]string{"en": "  "}},
		{Texts: map[string]string{"en": "x"}, ButtonURL: "https://example.org"},
		{Texts: map[string]string{"en": "x"}, ButtonLabel: map[string]string{"en": "Go"}},
	} {
		if _, err := s.Create(ctx, j); !errors.As(err, &ve) {
			t.Errorf("Create(%+v) = %v, want a ValidationError", j, err)
		}
	}
	if list, _ := s.List(ctx, 10); len(list) != 0 {
		t.Errorf("invalid jobs were stored: %+v", list)
	}
}

func TestJobTransitions(t *testing.T) {
	s, _, _ := newStore(t, broadcast.Options{})
	ctx := context.Background()
	j, err := s.Create(ctx, broadcast.Job{Texts: map[string]string{"es": "hola"}, At: time.Now().Add(time.Hour), CreatedBy: "cli:ana"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		op   func(context.Context, string) error
		want string
		ok   bool
	}{
		{s.Resume, broadcast.StatusScheduled, false},
		{s.Pause, broadcast.StatusPaused, true},
		{s.Pause, broadcast.StatusPaused, false},
		{s.Resume, broadcast.StatusScheduled, true}, // never started: back on schedule
		{s.Cancel, broadcast.StatusCancelled, true},
		{s.Cancel, broadcast.StatusCancelled, false},
		{s.Resume, broadcast.StatusCancelled, false},
	}
	for i, st := range steps {
		err := st.op(ctx, j.ID)
		if st.ok != (err == nil) || (!st.ok && !errors.Is(err, broadcast.ErrState)) {
			t.Errorf("step %d: %v", i, err)
		}
		got, err := s.Get(ctx, j.ID)
		if err != nil || got.Status != st.want {
			t.Errorf("step %d: status %q, %v; want %q", i, got.Status, err, st.want)
		}
	}
	got, _ := s.Get(ctx, j.ID)
	if got.Finished.IsZero() || got.CreatedBy != "cli:ana" || got.Texts["es"] != "hola" || got.At.IsZero() {
		t.Errorf("audit after cancel: %+v", got)
	}
	if _, err := s.Get(ctx, "999"); !broadcast.IsNotFound(err) {
		t.Errorf("Get(missing) = %v", err)
	}
	if err := s.Pause(ctx, "999"); !broadcast.IsNotFound(err) {
		t.Errorf("Pause(missing) = %v", err)
	}
}

// Job IDs are ULIDs: time-ordered, random, never a counter Redis could
// forget. After the test's keys are deleted (Redis lost its data), a new
// job's ID is new, and the old ID finds nothing.
func TestJobIDsSurviveDataLoss(t *testing.T) {
	s, rdb, prefix := newStore(t, broadcast.Options{})
	ctx := context.Background()
	job := broadcast.Job{Texts: map[string]string{"en": "hi"}, At: time.Now().Add(time.Hour)}
	var ids []string
	for range 3 {
		j, err := s.Create(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	j, err := s.Create(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, j.ID)
	seen := map[string]bool{}
	for i, id := range ids {
		if len(id) != 26 || strings.Trim(id, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
			t.Errorf("ID %q is not a ULID", id)
		}
		if seen[id] {
			t.Errorf("ID %q given twice", id)
		}
		seen[id] = true
		if i > 0 && id[:10] < ids[i-1][:10] {
			t.Errorf("IDs not in creation order: %v", ids)
		}
	}
	if _, err := s.Get(ctx, ids[0]); !broadcast.IsNotFound(err) {
		t.Errorf("old ID after the data loss: %v", err)
	}
	if got, err := s.Get(ctx, strings.ToLower(j.ID)); err != nil || got.ID != j.ID {
		t.Errorf("ID typed in lower case: %+v %v", got, err)
	}
}
