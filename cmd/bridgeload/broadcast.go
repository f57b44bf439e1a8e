// The broadcast mode measures broadcast delivery end to end: it
// subscribes n fake members in Redis, starts a fake Telegram Bot API
// server that enforces Telegram's flood limits with real 429 answers
// (telegramtest, in a child process so its bookkeeping does not count
// against the worker's memory), runs a broadcast.Worker through the real
// telegram client, and reports the achieved rate against the limit, 429s,
// duplicates, missing members and the worker process's peak heap.
//
//	go run ./cmd/bridgeload -mode broadcast -n 10000          # 25/s: ~400 s
//	go run ./cmd/bridgeload -mode broadcast -n 10000 -paid    # paid: ~11 s
//	go run ./cmd/bridgeload -mode broadcast -n 100000 -paid   # paid: ~105 s
//
// Redis: REDIS_URL (keys under a random prefix, deleted afterwards), or an
// in-memory miniredis in the child process.

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/telegram"
)

// Result is what one run measured.
type Result struct {
	N               int
	Limit           float64 // the configured send rate
	TelegramLimit   int     // the fake's global limit for this kind of broadcast
	Achieved        float64 // accepted messages per second, first to last
	Accepted        int
	RateLimited     int // 429 answers
	Duplicates      int // messages beyond the first per member
	Missing         int // members who got nothing
	MaxPerSecond    int // most messages the fake accepted in one second
	Duration        time.Duration
	BaseHeap        uint64 // HeapInuse after seeding, before delivery
	PeakHeap        uint64 // highest HeapInuse during delivery
	PeakHeapAlloc   uint64
	Counts          broadcast.Counts
	Seeding         time.Duration
	Paid            bool
	Concurrency     int
	RedisRoundTrips int64
}

func runBroadcast(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (Result, error) {
	fs := flag.NewFlagSet("bridgeload -mode broadcast", flag.ContinueOnError)
	rate := fs.Float64("rate", broadcast.DefaultRate, "send rate of free broadcasts (messages/s)")
	paid := fs.Bool("paid", false, "a paid broadcast (allow_paid_broadcast)")
	paidRate := fs.Float64("paid-rate", broadcast.DefaultPaidRate, "send rate of paid broadcasts (messages/s)")
	conc := fs.Int("concurrency", broadcast.DefaultConcurrency, "messages in flight")
	page := fs.Int("page", broadcast.DefaultPageSize, "subscribers per page")
	var fake fakeOptions
	fake.flags(fs)
	verbose := fs.Bool("v", false, "log the worker at debug level")
	if err := fs.Parse(args); err != nil {
		return Result{}, err
	}
	res := Result{N: fake.n, Paid: *paid, Concurrency: *conc, Limit: *rate, TelegramLimit: fake.limit}
	if *paid {
		res.Limit, res.TelegramLimit = *paidRate, fake.paidLimit
	}

	// The fake Telegram (and, without REDIS_URL, a miniredis) in a child.
	redisURL := getenv("REDIS_URL")
	fake.miniredis = redisURL == ""
	hello, stopFake, err := startFake(ctx, fake)
	if err != nil {
		return res, err
	}
	defer stopFake()
	if redisURL == "" {
		redisURL = "redis://" + hello.Redis
	}

	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return res, fmt.Errorf("REDIS_URL: %w", err)
	}
	opt.PoolSize = max(opt.PoolSize, 4*(*conc))
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	counter := new(redistest.Counter)
	rdb.AddHook(counter)
	prefix := fmt.Sprintf("bridgeload:%d:%d:", os.Getpid(), time.Now().UnixNano())
	defer deletePrefix(rdb, prefix)

	// The worker's client counts round trips; seeding and watching use
	// their own.
	watch := redis.NewClient(opt)
	defer watch.Close()
	store := broadcast.New(watch, broadcast.Options{Prefix: prefix, PageSize: *page})
	seedStart := time.Now()
	if err := seed(ctx, store, fake.n); err != nil {
		return res, err
	}
	res.Seeding = time.Since(seedStart)

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 4 * (*conc)
	tg, err := telegram.New(ctx, telegram.Config{Token: hello.Token, APIURL: hello.URL, Transport: transport})
	if err != nil {
		return res, err
	}
	logLevel := slog.LevelWarn
	if *verbose {
		logLevel = slog.LevelDebug
	}
	w := broadcast.NewWorker(rdb, tg, broadcast.Options{
		Prefix: prefix, Rate: *rate, PaidRate: *paidRate, AllowPaid: *paid, Concurrency: *conc, PageSize: *page,
		PollInterval: 100 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel})),
	})

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.BaseHeap = ms.HeapInuse
	sampling, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	var peak, peakAlloc atomic.Uint64
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak.Store(max(peak.Load(), ms.HeapInuse))
			peakAlloc.Store(max(peakAlloc.Load(), ms.HeapAlloc))
			select {
			case <-sampling.Done():
				return
			case <-t.C:
			}
		}
	}()

	wctx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		_ = w.Run(wctx)
	}()
	job, err := store.Create(ctx, broadcast.Job{
		CreatedBy: "bridgeload", Paid: *paid,
		Texts: map[string]string{"en": "<b>BRIDGE Institute</b>: applications are open.", "es": "<b>Instituto BRIDGE</b>: ya puedes inscribirte."},
	})
	if err != nil {
		stopWorker()
		return res, err
	}
	fmt.Fprintf(stdout, "broadcasting to %d subscribers at %.0f/s (paid %v, concurrency %d)...\n", fake.n, res.Limit, *paid, *conc)
	start := time.Now()
	lastReport := start
	for {
		j, err := store.Get(ctx, job.ID)
		if err != nil {
			stopWorker()
			return res, err
		}
		if j.Status == broadcast.StatusDone {
			res.Counts = j.Counts
			break
		}
		if time.Since(lastReport) >= 30*time.Second {
			fmt.Fprintf(stdout, "  %v: %d/%d\n", time.Since(start).Round(time.Second), j.Counts.Done(), j.Counts.Total)
			lastReport = time.Now()
		}
		if ctx.Err() != nil {
			stopWorker()
			return res, ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.Duration = time.Since(start)
	res.RedisRoundTrips = counter.Count()
	stopWorker()
	<-workerDone
	stopSampling()
	sampler.Wait()
	res.PeakHeap, res.PeakHeapAlloc = peak.Load(), peakAlloc.Load()

	stats, err := hello.stats(ctx)
	if err != nil {
		return res, err
	}
	res.Accepted, res.RateLimited, res.Duplicates, res.Missing = stats.Accepted, stats.RateLimited, stats.Duplicates, stats.Missing
	res.MaxPerSecond = stats.MaxPerSecond
	if stats.Accepted > 1 {
		res.Achieved = float64(stats.Accepted-1) / stats.Last.Sub(stats.First).Seconds()
	}
	report(stdout, res)
	return res, nil
}

func report(w io.Writer, r Result) {
	kind := "free"
	if r.Paid {
		kind = "paid"
	}
	fmt.Fprintf(w, "subscribers        %d (%s broadcast, concurrency %d; seeding took %v)\n", r.N, kind, r.Concurrency, r.Seeding.Round(time.Millisecond))
	fmt.Fprintf(w, "achieved rate      %.1f msg/s against %.0f configured (%.1f%%), Telegram limit %d/s\n",
		r.Achieved, r.Limit, r.Achieved/r.Limit*100, r.TelegramLimit)
	fmt.Fprintf(w, "max in one second  %d\n", r.MaxPerSecond)
	fmt.Fprintf(w, "duration           %v\n", r.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "429 answers        %d\n", r.RateLimited)
	fmt.Fprintf(w, "accepted           %d; duplicates %d; missing %d\n", r.Accepted, r.Duplicates, r.Missing)
	fmt.Fprintf(w, "job counts         %+v\n", r.Counts)
	fmt.Fprintf(w, "peak heap in use   %.1f MiB (%.1f MiB before delivery; peak live %.1f MiB)\n",
		mib(r.PeakHeap), mib(r.BaseHeap), mib(r.PeakHeapAlloc))
	fmt.Fprintf(w, "worker round trips %d to Redis (%.2f per message)\n", r.RedisRoundTrips, float64(r.RedisRoundTrips)/float64(max(r.Accepted, 1)))
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// seed subscribes n members (chat IDs 1_000_001…), both languages, from
// a few goroutines.
func seed(ctx context.Context, store *broadcast.Store, n int) error {
	const workers = 16
	var next atomic.Int64
	errc := make(chan error, workers)
	for range workers {
		go func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					errc <- nil
					return
				}
				lang := "en"
				if i%3 == 0 {
					lang = "es"
				}
				err := store.Subscribe(ctx, bot.Subscription{ChatID: firstChat + i, Lang: lang, Areas: []string{"labor"}})
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var first error
	for range workers {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

const firstChat = 1_000_001

func deletePrefix(rdb *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return
		}
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		if next == 0 {
			return
		}
		cursor = next
	}
}
