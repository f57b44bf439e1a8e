package outbox

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bridgebot/bot/redisstore/redistest"
)

// BenchmarkEnqueueDeliver measures the whole path: 8 producers enqueue
// b.N entries over 64 keys while Run (8 partitions, a handler that does
// nothing) delivers them; it ends when the last one was handled. It
// reports entries/s and Redis round trips per entry (Enqueue's included).
// Against a real server: REDIS_URL=redis://127.0.0.1:6379/0.
func BenchmarkEnqueueDeliver(b *testing.B) {
	client, prefix := redistest.New(b)
	counter := new(redistest.Counter)
	client.AddHook(counter)
	o := New(client, Options{Prefix: prefix, Name: "bench", Logger: slog.New(slog.DiscardHandler)})
	keys := keyList(64)

	var delivered, target atomic.Int64
	target.Store(1)
	done := make(chan struct{}, 1)
	start(b, o, func(ctx context.Context, e Entry) error {
		if delivered.Add(1) == target.Load() {
			done <- struct{}{}
		}
		return nil
	})
	// Warm up: partitions owned, groups created, connections dialled.
	if _, err := o.Enqueue(context.Background(), keys[0], "msg", []byte("0")); err != nil {
		b.Fatal(err)
	}
	waitDone(b, done)

	payload := []byte(strconv.Itoa(1 << 20)) // a short message
	target.Store(1 + int64(b.N))
	counter.Reset()
	b.ResetTimer()
	began := time.Now()
	const producers = 8
	var wg sync.WaitGroup
	for w := range producers {
		wg.Go(func() {
			for i := w; i < b.N; i += producers {
				// i ≡ w (mod 8) and 8 divides 64, so producer w alone
				// enqueues keys w, w+8, …: each key in order.
				k := keys[i%len(keys)]
				if _, err := o.Enqueue(context.Background(), k, "msg", payload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitDone(b, done)
	elapsed := time.Since(began)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(counter.Count())/float64(b.N), "roundtrips/entry")
}

func waitDone(b *testing.B, done <-chan struct{}) {
	b.Helper()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatal("entries not delivered")
	}
}
