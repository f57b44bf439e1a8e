package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/sealed"
	"bridgebot/internal/testkit"
)

// waitTimeout bounds every wait for an event in these tests.
const waitTimeout = 20 * time.Second

// ---- helpers ---------------------------------------------------------

// testOptions are fast settings: short backoffs, a short lease.
func testOptions(prefix, name, consumer string, log *slog.Logger) Options {
	return Options{
		Prefix:     prefix,
		Name:       name,
		Partitions: 4,
		Consumer:   consumer,
		Lease:      2 * time.Second,
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
		Grace:      5 * time.Second,
		Logger:     log,
	}
}

// newTestOutbox is an outbox "slack" of the test's own in Redis, with
// testOptions for consumer c1, logging to log (nowhere if nil).
func newTestOutbox(t testing.TB, log *slog.Logger) (*Outbox, *redis.Client) {
	client, prefix := redistest.New(t)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return New(client, testOptions(prefix, "slack", "c1", log)), client
}

// logSink is a slog.Handler keeping every record as one line, so tests
// can wait for a log event and check what was (not) logged.
type logSink struct {
	mu      sync.Mutex
	lines   []string
	waiters map[string]chan struct{}
}

type sinkHandler struct {
	s     *logSink
	attrs []slog.Attr
}

func newLogSink() (*logSink, *slog.Logger) {
	s := &logSink{waiters: map[string]chan struct{}{}}
	return s, slog.New(&sinkHandler{s: s})
}

func (h *sinkHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *sinkHandler) WithGroup(string) slog.Handler            { return h }
func (h *sinkHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &sinkHandler{s: h.s, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *sinkHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	line := b.String()
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.lines = append(h.s.lines, line)
	for sub, ch := range h.s.waiters {
		if strings.Contains(line, sub) {
			close(ch)
			delete(h.s.waiters, sub)
		}
	}
	return nil
}

// next returns a channel closed when a line containing sub is logged
// from now on.
func (s *logSink) next(sub string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.waiters[sub]
	if !ok {
		ch = make(chan struct{})
		s.waiters[sub] = ch
	}
	return ch
}

func (s *logSink) matching(sub string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.lines {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

func (s *logSink) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// delivery is one successful handler call.
type delivery struct {
	id       string
	key      string
	seq      int
	attempts int
	consumer string
	at       time.Time
}

// recorder collects successful deliveries; waiters are woken on each.
type recorder struct {
	mu      sync.Mutex
	got     []delivery
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

// records is a handler that records each entry as consumer's.
func (r *recorder) records(consumer string) Handler {
	return func(_ context.Context, e Entry) error {
		r.add(consumer, e)
		return nil
	}
}

func (r *recorder) add(consumer string, e Entry) {
	seq, err := strconv.Atoi(string(e.Payload))
	if err != nil {
		panic("payload is not a sequence number: " + err.Error())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, delivery{id: e.ID, key: e.Key, seq: seq, attempts: e.Attempts, consumer: consumer, at: time.Now()})
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) snapshot() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// waitFor waits until cond holds for the deliveries so far.
func (r *recorder) waitFor(t testing.TB, what string, cond func([]delivery) bool) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		r.mu.Lock()
		ok, ch := cond(r.got), r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %s; have %d deliveries", what, len(r.snapshot()))
		}
	}
}

// distinct counts the distinct entry IDs delivered.
func distinct(ds []delivery) int {
	seen := map[string]bool{}
	for _, d := range ds {
		seen[d.id] = true
	}
	return len(seen)
}

func (r *recorder) waitDistinct(t testing.TB, n int) {
	t.Helper()
	r.waitFor(t, fmt.Sprintf("%d distinct deliveries", n), func(ds []delivery) bool { return distinct(ds) >= n })
}

// deliveredOnce waits until perKey entries of each key were delivered,
// checks they came in order and with no duplicate, and returns the
// deliveries.
func (r *recorder) deliveredOnce(t *testing.T, keys []string, perKey int) []delivery {
	t.Helper()
	r.waitDistinct(t, len(keys)*perKey)
	ds := r.snapshot()
	if dups := checkOrder(t, ds, keys, perKey); dups != 0 {
		t.Errorf("%d duplicate deliveries", dups)
	}
	return ds
}

// checkOrder checks that each key's entries 1..perKey were delivered, in
// order, and returns the number of duplicate deliveries (a redelivered
// entry must directly repeat the previous one of its key).
func checkOrder(t *testing.T, ds []delivery, keys []string, perKey int) (dups int) {
	t.Helper()
	byKey := map[string][]int{}
	for _, d := range ds {
		byKey[d.key] = append(byKey[d.key], d.seq)
	}
	for _, k := range keys {
		seqs := byKey[k]
		want := 1
		for i, s := range seqs {
			switch {
			case s == want:
				want++
			case i > 0 && s == seqs[i-1]:
				dups++
			default:
				t.Errorf("key %s: delivered %v, out of order at index %d", k, seqs, i)
				return dups
			}
		}
		if want != perKey+1 {
			t.Errorf("key %s: delivered %v, want 1..%d", k, seqs, perKey)
		}
	}
	if len(byKey) != len(keys) {
		t.Errorf("deliveries for %d keys, want %d", len(byKey), len(keys))
	}
	return dups
}

// enqueue adds entries 1..perKey for each key, interleaving keys.
func enqueue(t testing.TB, o *Outbox, keys []string, perKey int) []string {
	t.Helper()
	var ids []string
	for seq := 1; seq <= perKey; seq++ {
		for _, k := range keys {
			id, err := o.Enqueue(context.Background(), k, "msg", []byte(strconv.Itoa(seq)))
			if err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			ids = append(ids, id)
		}
	}
	return ids
}

func keyList(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "chat:" + strconv.Itoa(1000+i)
	}
	return keys
}

// runner is a Run in the background.
type runner struct {
	cancel context.CancelFunc
	done   chan error
}

func start(t testing.TB, o *Outbox, h Handler) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- o.Run(ctx, h) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for it to return.
func (r *runner) stop(t testing.TB) {
	r.cancel()
	r.wait(t)
}

// wait waits for Run to return (once; later calls return at once).
func (r *runner) wait(t testing.TB) {
	t.Helper()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Run did not return")
	}
}

// runUntil runs o until its handler h calls stop, and returns what Run
// returned; the test fails if Run does not return in time.
func runUntil(t testing.TB, o *Outbox, h func(ctx context.Context, e Entry, stop func()) error) error {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- o.Run(ctx, func(ctx context.Context, e Entry) error { return h(ctx, e, stop) })
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("Run did not stop")
		return nil
	}
}

// keysInDifferentPartitions returns two keys that hash to different
// partitions of o.
func keysInDifferentPartitions(o *Outbox) (string, string) {
	a := "chat:a"
	for i := 0; ; i++ {
		b := "chat:b" + strconv.Itoa(i)
		if o.Partition(b) != o.Partition(a) {
			return a, b
		}
	}
}

// ---- tests -------------------------------------------------------------

func TestOrderWithinKeyUnderRetries(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	opts := testOptions(prefix, "slack", "c1", slog.New(slog.DiscardHandler))
	opts.Now = func() time.Time { return clock }
	o := New(client, opts)
	keys := []string{"chat:123"}
	ids := enqueue(t, o, keys, 10)

	rec := newRecorder()
	var calls2 atomic.Int32
	var bad atomic.Value
	start(t, o, func(ctx context.Context, e Entry) error {
		if e.Kind != "msg" || !e.Enqueued.Equal(clock) || e.Key != "chat:123" {
			bad.Store(fmt.Sprintf("entry %+v", e))
		}
		if string(e.Payload) == "2" && calls2.Add(1) <= 3 {
			return errors.New("slack: 503")
		}
		rec.add("c1", e)
		return nil
	})
	ds := rec.deliveredOnce(t, keys, 10)
	if v := bad.Load(); v != nil {
		t.Errorf("handler got wrong %v", v)
	}
	if n := calls2.Load(); n != 4 {
		t.Errorf("entry 2 handled %d times, want 4", n)
	}
	for i, d := range ds {
		want := 1
		if d.seq == 2 {
			want = 4
		}
		if d.attempts != want || d.id != ids[i] {
			t.Errorf("delivery %d: id %s attempts %d, want %s %d", i, d.id, d.attempts, ids[i], want)
		}
	}

	stopAndCheckEmpty(t, context.Background(), client, o)
}

// stopAndCheckEmpty waits until the outbox holds nothing: no entries, no
// attempt counters (the last acknowledgement follows the last handler
// call).
func stopAndCheckEmpty(t *testing.T, ctx context.Context, client redis.UniversalClient, o *Outbox) {
	t.Helper()
	testkit.Eventually(t, waitTimeout, "empty outbox", func() bool {
		st, err := o.Stats(ctx)
		return err == nil && st.Pending == 0
	})
	for p := range o.opts.Partitions {
		testkit.Eventually(t, waitTimeout, "no attempt counters", func() bool {
			n, err := client.Exists(ctx, o.attempts[p]).Result()
			return err == nil && n == 0
		})
	}
}

func TestKeysInOtherPartitionsProceed(t *testing.T) {
	t.Parallel()
	o, _ := newTestOutbox(t, nil)
	stuck, free := keysInDifferentPartitions(o)
	ctx := context.Background()
	for seq := 1; seq <= 2; seq++ {
		if _, err := o.Enqueue(ctx, stuck, "msg", []byte(strconv.Itoa(seq))); err != nil {
			t.Fatal(err)
		}
	}
	for seq := 1; seq <= 5; seq++ {
		if _, err := o.Enqueue(ctx, free, "msg", []byte(strconv.Itoa(seq))); err != nil {
			t.Fatal(err)
		}
	}
	var unblocked atomic.Bool
	rec := newRecorder()
	start(t, o, func(ctx context.Context, e Entry) error {
		if e.Key == stuck && !unblocked.Load() {
			return errors.New("slack: channel unavailable")
		}
		rec.add("c1", e)
		return nil
	})
	countKey := func(ds []delivery, k string) (n int) {
		for _, d := range ds {
			if d.key == k {
				n++
			}
		}
		return n
	}
	rec.waitFor(t, "the free key's entries", func(ds []delivery) bool { return countKey(ds, free) == 5 })
	if n := countKey(rec.snapshot(), stuck); n != 0 {
		t.Fatalf("stuck key delivered %d entries while failing", n)
	}
	unblocked.Store(true)
	rec.waitFor(t, "the stuck key's entries", func(ds []delivery) bool { return countKey(ds, stuck) == 2 })
	ds := rec.snapshot()
	checkOrder(t, only(ds, stuck), []string{stuck}, 2)
	checkOrder(t, only(ds, free), []string{free}, 5)
}

func only(ds []delivery, key string) []delivery {
	var out []delivery
	for _, d := range ds {
		if d.key == key {
			out = append(out, d)
		}
	}
	return out
}

func TestRetryAfterWaitsTheGivenDelay(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	opts := testOptions(prefix, "telegram", "c1", slog.New(slog.DiscardHandler))
	var retries atomic.Int64
	opts.OnRetry = func() { retries.Add(1) }
	o := New(client, opts)
	keys := []string{"chat:7"}
	enqueue(t, o, keys, 2)
	const d = 200 * time.Millisecond
	var (
		mu        sync.Mutex
		calls     []time.Time // start of each call for entry 1
		firstDone time.Time   // end of the first call
	)
	rec := newRecorder()
	start(t, o, func(ctx context.Context, e Entry) error {
		if string(e.Payload) == "1" {
			mu.Lock()
			calls = append(calls, time.Now())
			n := len(calls)
			mu.Unlock()
			if n == 1 {
				defer func() { mu.Lock(); firstDone = time.Now(); mu.Unlock() }()
				return fmt.Errorf("telegram: %w", RetryAfter(d, errors.New("429 Too Many Requests: retry after 0.2")))
			}
		}
		rec.add("c1", e)
		return nil
	})
	rec.waitDistinct(t, 2)
	ds := rec.snapshot()
	checkOrder(t, ds, keys, 2)
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 2 {
		t.Fatalf("entry 1 handled %d times, want 2", len(calls))
	}
	if gap := calls[1].Sub(firstDone); gap < d {
		t.Errorf("retried after %v, want at least %v", gap, d)
	}
	if ds[1].at.Before(ds[0].at) {
		t.Errorf("entry 2 delivered before entry 1")
	}
	if ds[0].attempts != 2 {
		t.Errorf("entry 1 attempts %d, want 2", ds[0].attempts)
	}
	if n := retries.Load(); n != 1 {
		t.Errorf("OnRetry called %d times, want 1 (one rate-limited try)", n)
	}
}

func TestPermanentGoesToDeadLetters(t *testing.T) {
	t.Parallel()
	sink, log := newLogSink()
	o, client := newTestOutbox(t, log)
	ctx := context.Background()
	const secret = "my phone number is 555-0199"
	key := "chat:42"
	id1, err := o.Enqueue(ctx, key, "question", []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Enqueue(ctx, key, "question", []byte("2")); err != nil {
		t.Fatal(err)
	}
	var calls1 atomic.Int32
	rec := newRecorder()
	r := start(t, o, func(ctx context.Context, e Entry) error {
		if e.ID == id1 {
			calls1.Add(1)
			return fmt.Errorf("post message: %w", Permanent(errors.New("channel_is_archived")))
		}
		rec.add("c1", e)
		return nil
	})
	rec.waitDistinct(t, 1)
	r.stop(t)

	if n := calls1.Load(); n != 1 {
		t.Errorf("permanent failure handled %d times, want 1", n)
	}
	st, err := o.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Dead != 1 || st.Pending != 0 {
		t.Errorf("stats %+v, want 1 dead, 0 pending", st)
	}
	dead, err := client.XRange(ctx, o.dead, "-", "+").Result()
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %v, %v", dead, err)
	}
	v := dead[0].Values
	// The dead letter keeps the payload sealed, as the stream did.
	stored, _ := v["payload"].(string)
	if strings.Contains(stored, "555-0199") {
		t.Errorf("dead letter payload in plain text: %q", stored)
	}
	if plain, err := sealed.Process().Open([]byte(stored)); err != nil || string(plain) != secret {
		t.Errorf("dead letter payload opens to %q, %v; want the payload", plain, err)
	}
	if v["id"] != id1 || v["key"] != key || v["kind"] != "question" ||
		v["attempts"] != "1" || v["consumer"] != "c1" ||
		!strings.Contains(v["error"].(string), "channel_is_archived") {
		t.Errorf("dead letter %v", v)
	}
	if warns := sink.matching("WARN outbox: giving up"); len(warns) != 1 || !strings.Contains(warns[0], id1) {
		t.Errorf("give-up warnings %q, want one naming %s", warns, id1)
	}
	if strings.Contains(sink.all(), "555-0199") {
		t.Errorf("a payload was logged:\n%s", sink.all())
	}
}

func TestRestartDeliversTheRest(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	log := slog.New(slog.DiscardHandler)
	a := New(client, testOptions(prefix, "slack", "replica-a", log))
	keys := keyList(3)
	enqueue(t, a, keys, 10)

	rec := newRecorder()
	var handledA atomic.Int32
	err := runUntil(t, a, func(ctx context.Context, e Entry, stop func()) error {
		rec.add("a", e)
		if handledA.Add(1) == 10 {
			stop() // shut down mid-stream; this entry is still acknowledged
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := distinct(rec.snapshot()); n < 10 || n >= 30 {
		t.Fatalf("replica A delivered %d entries before stopping, want 10..29", n)
	}

	b := New(client, testOptions(prefix, "slack", "replica-b", log))
	start(t, b, rec.records("b"))
	rec.waitDistinct(t, 30)
	ds := rec.snapshot()
	if dups := checkOrder(t, ds, keys, 10); dups > 1 {
		t.Errorf("%d duplicates, want at most 1", dups)
	}
	if len(ds) > 31 {
		t.Errorf("%d deliveries of 30 entries", len(ds))
	}
	stopAndCheckEmpty(t, context.Background(), client, b)
}

func TestAttemptsSurviveRestart(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	log := slog.New(slog.DiscardHandler)
	a := New(client, testOptions(prefix, "slack", "replica-a", log))
	enqueue(t, a, []string{"chat:9"}, 1)
	ra := start(t, a, func(ctx context.Context, e Entry) error {
		return errors.New("slack: 500")
	})
	// Wait until a few tries were counted in Redis, then stop.
	testkit.Eventually(t, waitTimeout, "two tries", func() bool {
		vals, err := client.HGetAll(context.Background(), a.attempts[a.Partition("chat:9")]).Result()
		if err != nil {
			return false
		}
		for _, v := range vals {
			if n, _ := strconv.Atoi(v); n >= 2 {
				return true
			}
		}
		return false
	})
	ra.stop(t)
	vals, _ := client.HGetAll(context.Background(), a.attempts[a.Partition("chat:9")]).Result()
	var before int
	for _, v := range vals {
		before, _ = strconv.Atoi(v)
	}

	b := New(client, testOptions(prefix, "slack", "replica-b", log))
	rec := newRecorder()
	start(t, b, rec.records("b"))
	rec.waitDistinct(t, 1)
	if got := rec.snapshot()[0].attempts; got != before+1 {
		t.Errorf("after %d tries the new process reports attempt %d, want %d", before, got, before+1)
	}
}

func TestDownForAWhile(t *testing.T) {
	t.Parallel()
	o, _ := newTestOutbox(t, nil)
	keys := keyList(5)
	enqueue(t, o, keys, 10)
	const outage = 300 * time.Millisecond
	var (
		once     sync.Once
		began    time.Time
		failures atomic.Int32
	)
	rec := newRecorder()
	start(t, o, func(ctx context.Context, e Entry) error {
		once.Do(func() { began = time.Now() })
		if time.Since(began) < outage {
			failures.Add(1)
			return errors.New("slack: 503 service unavailable")
		}
		rec.add("c1", e)
		return nil
	})
	ds := rec.deliveredOnce(t, keys, 10)
	if len(ds) != 50 {
		t.Errorf("%d deliveries, want 50", len(ds))
	}
	if failures.Load() < 5 {
		t.Errorf("only %d failed tries during the outage", failures.Load())
	}
}

func TestTwoReplicasShare(t *testing.T) {
	t.Parallel()
	clientA, prefix := redistest.New(t)
	ao := clientA.Options()
	clientB := redis.NewClient(&redis.Options{Addr: ao.Addr, DB: ao.DB, Username: ao.Username, Password: ao.Password})
	t.Cleanup(func() { clientB.Close() })
	log := slog.New(slog.DiscardHandler)
	optsA := testOptions(prefix, "slack", "replica-a", log)
	optsA.Partitions, optsA.Lease = 8, 600*time.Millisecond
	optsB := optsA
	optsB.Consumer = "replica-b"
	a, b := New(clientA, optsA), New(clientB, optsB)

	rec := newRecorder()
	var inFlight sync.Map // partition → consumer handling it now
	var overlap atomic.Int32
	handler := func(name string, o *Outbox) Handler {
		return func(ctx context.Context, e Entry) error {
			p := o.Partition(e.Key)
			if _, busy := inFlight.LoadOrStore(p, name); busy {
				overlap.Add(1)
			}
			defer inFlight.Delete(p)
			rec.add(name, e)
			return nil
		}
	}
	start(t, a, handler("a", a))
	rb := start(t, b, handler("b", b))

	// The replicas split the partitions between them.
	ctx := context.Background()
	testkit.Eventually(t, waitTimeout, "both replicas owning partitions", func() bool {
		st, err := a.Stats(ctx)
		if err != nil {
			return false
		}
		owners := map[string]int{}
		for _, p := range st.Partitions {
			owners[p.Owner]++
		}
		return owners["replica-a"] == 4 && owners["replica-b"] == 4
	})

	keys := keyList(20)
	var wg sync.WaitGroup
	for i, k := range keys {
		o := a
		if i%2 == 1 {
			o = b
		}
		wg.Go(func() {
			for seq := 1; seq <= 10; seq++ {
				if _, err := o.Enqueue(ctx, k, "msg", []byte(strconv.Itoa(seq))); err != nil {
					t.Errorf("Enqueue: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	rec.waitDistinct(t, 200)
	ds := rec.snapshot()
	if dups := checkOrder(t, ds, keys, 10); dups != 0 || len(ds) != 200 {
		t.Errorf("%d deliveries with %d duplicates, want 200 and 0", len(ds), dups)
	}
	by := map[string]int{}
	for _, d := range ds {
		by[d.consumer]++
	}
	if by["a"] == 0 || by["b"] == 0 {
		t.Errorf("deliveries per replica %v: want both to work", by)
	}
	if n := overlap.Load(); n != 0 {
		t.Errorf("a partition was handled by two replicas at once %d times", n)
	}
	t.Logf("deliveries per replica: %v", by)

	// B leaves cleanly: A takes all partitions over and delivers the rest.
	rb.stop(t)
	for _, k := range keys {
		if _, err := b.Enqueue(ctx, k, "msg", []byte("11")); err != nil {
			t.Fatal(err)
		}
	}
	ds = rec.deliveredOnce(t, keys, 11)
	for _, d := range ds[200:] {
		if d.consumer != "a" {
			t.Errorf("entry %s delivered by %s after B stopped", d.id, d.consumer)
		}
	}
}

func TestRedisDownAndBack(t *testing.T) {
	t.Parallel()
	m, client, prefix := redistest.NewMini(t)
	sink, log := newLogSink()
	opts := testOptions(prefix, "slack", "c1", log)
	opts.Lease = 300 * time.Millisecond
	o := New(client, opts)
	keys := []string{"chat:5"}
	rec := newRecorder()
	start(t, o, rec.records("c1"))
	ctx := context.Background()
	enqueue(t, o, keys, 3)
	rec.waitDistinct(t, 3)
	// Let the last acknowledgement land: an entry handled but not yet
	// acknowledged when Redis goes away is (rightly) handled again.
	testkit.Eventually(t, waitTimeout, "acknowledgements", func() bool {
		st, err := o.Stats(ctx)
		return err == nil && st.Pending == 0
	})

	leaseGone := sink.next("lease ran out")
	began := time.Now()
	m.Close()
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, err := o.Enqueue(ectx, keys[0], "msg", []byte("4"))
	cancel()
	if err == nil {
		t.Fatal("Enqueue succeeded with Redis down")
	}
	select {
	case <-leaseGone:
	case <-time.After(waitTimeout):
		t.Fatalf("Run did not notice Redis going away; log:\n%s", sink.all())
	}
	t.Logf("outage noticed after %v", time.Since(began))
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	// go-redis keeps failing fast for about a second after dial errors.
	testkit.Eventually(t, waitTimeout, "Enqueue to work again", func() bool {
		_, err := o.Enqueue(ctx, keys[0], "msg", []byte("4"))
		return err == nil
	})
	t.Logf("Enqueue works %v after the restart", time.Since(restarted))
	for seq := 5; seq <= 6; seq++ {
		if _, err := o.Enqueue(ctx, keys[0], "msg", []byte(strconv.Itoa(seq))); err != nil {
			t.Fatalf("Enqueue after restart: %v", err)
		}
	}
	rec.waitDistinct(t, 6)
	t.Logf("delivered %v after the restart", time.Since(restarted))
	if dups := checkOrder(t, rec.snapshot(), keys, 6); dups != 0 {
		t.Errorf("%d duplicates", dups)
	}
}

// expiringRedis is a Redis whose keys expire in real time: the real one
// with REDIS_URL, else miniredis with its TTL clock running.
func expiringRedis(t *testing.T) (*redis.Client, string) {
	if os.Getenv("REDIS_URL") != "" {
		return redistest.New(t)
	}
	m, client, prefix := redistest.NewMini(t)
	m.ClockTTL(true)
	return client, prefix
}

func TestLeaseTakeoverAfterCrash(t *testing.T) {
	t.Parallel()
	client, prefix := expiringRedis(t)
	log := slog.New(slog.DiscardHandler)
	optsA := testOptions(prefix, "slack", "replica-a", log)
	optsA.Lease = 600 * time.Millisecond
	a := New(client, optsA)
	a.skipRelease = true // exits like a killed process
	key := "chat:77"
	keys := []string{key}
	enqueue(t, a, keys, 10)

	rec := newRecorder()
	var crashedAt time.Time
	runUntil(t, a, func(ctx context.Context, e Entry, kill func()) error {
		if string(e.Payload) == "5" {
			crashedAt = time.Now()
			kill()
			return errors.New("killed mid-send")
		}
		rec.add("a", e)
		return nil
	})
	ctx := context.Background()
	if owner, _ := client.Get(ctx, a.leases[a.Partition(key)]).Result(); owner != "replica-a" {
		t.Fatalf("lease owner after the crash %q, want replica-a still", owner)
	}

	optsB := optsA
	optsB.Consumer = "replica-b"
	b := New(client, optsB)
	start(t, b, rec.records("b"))
	ds := rec.deliveredOnce(t, keys, 10)
	for _, d := range ds {
		if want := map[bool]string{true: "a", false: "b"}[d.seq < 5]; d.consumer != want {
			t.Errorf("entry %d delivered by %s, want %s", d.seq, d.consumer, want)
		}
		if d.seq == 5 {
			if d.attempts != 2 {
				t.Errorf("entry 5 attempts %d after a crashed try, want 2", d.attempts)
			}
			if waited := d.at.Sub(crashedAt); waited < optsA.Lease/2 {
				t.Errorf("taken over %v after the crash, before the lease (%v) could expire", waited, optsA.Lease)
			}
		}
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	o, _ := newTestOutbox(t, nil)
	ctx := context.Background()
	st, err := o.Stats(ctx)
	if err != nil || st.Pending != 0 || st.Dead != 0 || !st.Oldest.IsZero() || len(st.Partitions) != 4 {
		t.Fatalf("empty stats %+v, %v", st, err)
	}
	keys := keyList(6)
	enqueue(t, o, keys, 2)
	st, err = o.Stats(ctx)
	if err != nil || st.Pending != 12 || st.Oldest.IsZero() {
		t.Fatalf("stats %+v, %v", st, err)
	}
	for _, k := range keys {
		if st.Partitions[o.Partition(k)].Pending == 0 {
			t.Errorf("partition of %s shows nothing pending", k)
		}
	}
	if age := time.Since(st.Oldest); age < -time.Minute || age > time.Minute {
		t.Errorf("oldest entry %v old", age)
	}
}

func TestRunArguments(t *testing.T) {
	o, _ := newTestOutbox(t, nil)
	if err := o.Run(context.Background(), nil); err == nil {
		t.Error("Run accepted a nil handler")
	}
	r := start(t, o, func(context.Context, Entry) error { return nil })
	testkit.Eventually(t, waitTimeout, "Run to start", o.running.Load)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := o.Run(ctx, func(context.Context, Entry) error { return nil }); err == nil {
		t.Error("second concurrent Run accepted")
	}
	r.stop(t)
}

func TestErrorHelpers(t *testing.T) {
	base := errors.New("boom")
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	p := fmt.Errorf("wrapped: %w", Permanent(base))
	if !IsPermanent(p) || !errors.Is(p, base) || IsPermanent(base) {
		t.Error("Permanent not recognised through wrapping")
	}
	r := fmt.Errorf("wrapped: %w", RetryAfter(3*time.Second, base))
	if d, ok := RetryAfterDelay(r); !ok || d != 3*time.Second || !errors.Is(r, base) {
		t.Errorf("RetryAfterDelay = %v, %v", d, ok)
	}
	if _, ok := RetryAfterDelay(base); ok {
		t.Error("plain error has a retry delay")
	}
	if RetryAfter(time.Second, nil).Error() == "" {
		t.Error("RetryAfter(d, nil) has no text")
	}
}

func TestHandlerPanicIsRetried(t *testing.T) {
	t.Parallel()
	o, _ := newTestOutbox(t, nil)
	enqueue(t, o, []string{"chat:1"}, 2)
	var panicked atomic.Bool
	rec := newRecorder()
	start(t, o, func(ctx context.Context, e Entry) error {
		if !panicked.Swap(true) {
			panic("nil map")
		}
		rec.add("c1", e)
		return nil
	})
	rec.waitDistinct(t, 2)
	checkOrder(t, rec.snapshot(), []string{"chat:1"}, 2)
}

func TestBackoffBounds(t *testing.T) {
	o := New(nil, Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	for n := 1; n <= 40; n++ {
		d := o.retryDelay(n)
		lo := min(100*time.Millisecond<<(n-1), time.Second) * 3 / 4
		if n > 10 {
			lo = time.Second * 3 / 4
		}
		if d < 100*time.Millisecond || d > time.Second || d < lo {
			t.Errorf("retry %d: %v outside bounds", n, d)
		}
	}
}

func TestShutdownGrace(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	opts := testOptions(prefix, "slack", "c1", slog.New(slog.DiscardHandler))
	opts.Grace = 200 * time.Millisecond
	o := New(client, opts)
	enqueue(t, o, []string{"chat:1"}, 2)
	started := make(chan struct{})
	var calls atomic.Int32
	r := start(t, o, func(ctx context.Context, e Entry) error {
		if calls.Add(1) == 1 {
			close(started)
		}
		<-ctx.Done() // a send that is still going when shutdown starts
		return nil   // and completes
	})
	select {
	case <-started:
	case <-time.After(waitTimeout):
		t.Fatal("handler not called")
	}
	stopping := time.Now()
	r.stop(t)
	if took := time.Since(stopping); took < opts.Grace {
		t.Errorf("handler ctx cancelled %v after shutdown began, want the %v grace", took, opts.Grace)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times during shutdown, want 1", n)
	}
	// The entry in flight was acknowledged; the one behind it waits.
	st, err := o.Stats(context.Background())
	if err != nil || st.Pending != 1 {
		t.Errorf("after shutdown: %+v, %v; want 1 pending", st, err)
	}
}

func TestEnqueueOnceStoresOneEntryPerKey(t *testing.T) {
	client, prefix := redistest.New(t)
	o := New(client, testOptions(prefix, "once", "c1", nil))
	ctx := context.Background()
	once := prefix + "event:Ev1"
	id1, added, err := o.EnqueueOnce(ctx, once, time.Hour, "chat:1", "msg", []byte("1"))
	if err != nil || !added || id1 == "" {
		t.Fatalf("first: %q %v %v", id1, added, err)
	}
	id2, added, err := o.EnqueueOnce(ctx, once, time.Hour, "chat:1", "msg", []byte("1"))
	if err != nil || added || id2 != id1 {
		t.Fatalf("again: %q %v %v, want %q not added", id2, added, err, id1)
	}
	if ttl := client.PTTL(ctx, once).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("idempotency key TTL %v", ttl)
	}
	rec := newRecorder()
	start(t, o, func(_ context.Context, e Entry) error { rec.add("c1", e); return nil })
	rec.waitDistinct(t, 1)
	// A plain entry behind it proves nothing else was stored before it.
	if _, err := o.Enqueue(ctx, "chat:1", "msg", []byte("2")); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "the entry behind", func(ds []delivery) bool { return len(ds) >= 2 })
	if ds := rec.snapshot(); len(ds) != 2 || ds[0].id != id1 || ds[1].seq != 2 {
		t.Fatalf("deliveries %+v, want %s then the next", ds, id1)
	}
}

// A live holder whose handler takes many lease periods keeps the lease
// (renewed meanwhile): a second replica polling all along never gets the
// partition, and the entry is handled once.
func TestSlowHandlerKeepsLease(t *testing.T) {
	t.Parallel()
	client, prefix := expiringRedis(t)
	sink, log := newLogSink()
	optsA := testOptions(prefix, "slack", "replica-a", log)
	optsA.Partitions, optsA.Lease = 1, 300*time.Millisecond
	a := New(client, optsA)
	key := "chat:9"
	enqueue(t, a, []string{key}, 2)
	rec := newRecorder()
	inCall := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	start(t, a, func(ctx context.Context, e Entry) error {
		if calls.Add(1) == 1 {
			close(inCall)
			<-release // a call lasting several leases
		}
		rec.add("a", e)
		return nil
	})
	select {
	case <-inCall:
	case <-time.After(waitTimeout):
		t.Fatal("handler not called")
	}
	optsB := optsA
	optsB.Consumer = "replica-b"
	b := New(client, optsB)
	start(t, b, rec.records("b"))
	// Wait, by the lease's own clock, for it to be renewed six times (two
	// full lease periods with B polling): were renewals tied to the
	// handler, it would have expired and B taken the partition.
	ctx := context.Background()
	lease := a.leases[0]
	renewals, last := 0, time.Duration(0)
	testkit.Eventually(t, waitTimeout, "six renewals of the lease", func() bool {
		ttl, err := client.PTTL(ctx, lease).Result()
		if err != nil {
			return false
		}
		if owner, _ := client.Get(ctx, lease).Result(); owner != "replica-a" {
			t.Fatalf("lease owner %q while A's handler is running", owner)
		}
		if last > 0 && ttl > last {
			renewals++
		}
		last = ttl
		return renewals >= 6
	})
	close(release)
	ds := rec.deliveredOnce(t, []string{key}, 2)
	for _, d := range ds {
		if d.consumer != "a" || d.attempts != 1 {
			t.Errorf("entry %d delivered by %s on attempt %d, want a on 1", d.seq, d.consumer, d.attempts)
		}
	}
	if lost := sink.matching("lease"); len(lost) > 0 {
		t.Errorf("lease logs: %q", lost)
	}
}

// At shutdown a call still running after Grace is cancelled; Run returns,
// the entry stays queued and the leases are released, so another
// consumer delivers it at once — long before the (here one-minute) lease
// could have expired.
func TestShutdownCancelsAfterGraceAndReleases(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	opts := testOptions(prefix, "slack", "c1", slog.New(slog.DiscardHandler))
	opts.Grace, opts.Lease = 100*time.Millisecond, time.Minute
	o := New(client, opts)
	key := "chat:4"
	enqueue(t, o, []string{key}, 1)
	inCall := make(chan struct{})
	r := start(t, o, func(ctx context.Context, e Entry) error {
		close(inCall)
		<-ctx.Done() // a call that would go on and on
		return ctx.Err()
	})
	select {
	case <-inCall:
	case <-time.After(waitTimeout):
		t.Fatal("handler not called")
	}
	r.stop(t)
	ctx := context.Background()
	for p := range opts.Partitions {
		if n := client.Exists(ctx, o.leases[p]).Val(); n != 0 {
			t.Errorf("lease of partition %d left after a clean shutdown", p)
		}
	}
	if st, err := o.Stats(ctx); err != nil || st.Pending != 1 {
		t.Fatalf("after shutdown: %+v, %v; want the cut-off entry pending", st, err)
	}
	opts2 := opts
	opts2.Consumer = "c2"
	rec := newRecorder()
	start(t, New(client, opts2), func(ctx context.Context, e Entry) error {
		rec.add("c2", e)
		return nil
	})
	ds := rec.deliveredOnce(t, []string{key}, 1)
	if ds[0].attempts != 2 {
		t.Errorf("attempts %d, want 2 (the cut-off try counted)", ds[0].attempts)
	}
}
