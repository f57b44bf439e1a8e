package outbox

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/internal/ctxtime"
)

const (
	// batch is how many entries one read fetches.
	batch = 32
	// notifyBlock is how long the wake-up read blocks. Partitions that
	// become idle join the read at the next round, so it bounds how late an
	// entry enqueued by another process may be noticed right then.
	notifyBlock = 300 * time.Millisecond
	// idlePoll is how often an idle partition looks for entries on its own,
	// in case the wake-up read fails.
	idlePoll = 5 * time.Second
	// opTimeout bounds the commands run after Run's ctx is cancelled
	// (acknowledging a handled entry, releasing leases).
	opTimeout = 5 * time.Second
	// Backoff for Redis errors (not handler errors).
	redisMinBackoff = 100 * time.Millisecond
	redisMaxBackoff = 2 * time.Second
)

var (
	// acquireScript takes the lease if free, or extends it if already ours.
	acquireScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)
	// renewScript extends the lease only if it is still ours.
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	// releaseScript deletes the lease only if it is still ours.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
	// delConsumerScript removes a consumer from the group only if it has
	// no pending entries, atomically (deleting a consumer drops its
	// pending entries, which would lose them).
	delConsumerScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p == 0 then
  return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return -1`)
)

// Run delivers entries to h until ctx is cancelled, then returns nil (see
// the package doc for shutdown). It keeps going through Redis outages,
// retrying with backoff. It returns an error only for a nil handler or
// when Run is already active on this Outbox.
func (o *Outbox) Run(ctx context.Context, h Handler) error {
	if h == nil {
		return errors.New("outbox: Run with a nil handler")
	}
	if !o.running.CompareAndSwap(false, true) {
		return errors.New("outbox " + o.opts.Name + ": Run is already active")
	}
	defer o.running.Store(false)
	if ctx.Err() != nil {
		return nil
	}

	// Handlers get a ctx that outlives ctx by Grace.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	var (
		graceMu    sync.Mutex
		graceTimer *time.Timer
	)
	stopGrace := context.AfterFunc(ctx, func() {
		graceMu.Lock()
		graceTimer = time.AfterFunc(o.opts.Grace, hcancel)
		graceMu.Unlock()
	})
	defer func() {
		stopGrace()
		graceMu.Lock()
		if graceTimer != nil {
			graceTimer.Stop()
		}
		graceMu.Unlock()
		hcancel()
	}()

	o.held.Store(0)
	o.fair.Store(int64(o.opts.Partitions))
	if err := o.heartbeat(ctx); err != nil && ctx.Err() == nil {
		o.log.Warn("outbox: cannot register with Redis; retrying", slog.Any("err", err))
	}
	o.log.Debug("outbox: running", slog.Int("partitions", o.opts.Partitions))

	n := &notifier{o: o, watch: map[int]string{}, seen: map[int]string{}, changed: make(chan struct{}, 1)}
	// Run does not wait for the notifier: it only reads and wakes workers,
	// and a blocking read on a dead connection can take go-redis's read
	// timeout to fail, which must not delay shutdown. It ends after its
	// current read.
	go n.run(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { o.membership(ctx) })
	for p := range o.opts.Partitions {
		wg.Go(func() { o.partition(ctx, hctx, p, h, n) })
	}
	wg.Wait()

	if !o.skipRelease {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
		defer cancel()
		o.client.ZRem(cctx, o.members, o.opts.Consumer)
	}
	o.log.Debug("outbox: stopped")
	return nil
}

// heartbeat refreshes this consumer's membership and recomputes its fair
// share of partitions: ceil(Partitions / live members).
func (o *Outbox) heartbeat(ctx context.Context) error {
	now, err := o.client.Time(ctx).Result()
	if err != nil {
		return err
	}
	ms := now.UnixMilli()
	lease := o.opts.Lease.Milliseconds()
	var card *redis.IntCmd
	_, err = o.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.ZAdd(ctx, o.members, redis.Z{Score: float64(ms + lease), Member: o.opts.Consumer})
		pipe.ZRemRangeByScore(ctx, o.members, "-inf", "("+strconv.FormatInt(ms, 10))
		card = pipe.ZCard(ctx, o.members)
		pipe.PExpire(ctx, o.members, 2*o.opts.Lease)
		return nil
	})
	if err != nil {
		return err
	}
	members := max(card.Val(), 1)
	P := int64(o.opts.Partitions)
	fair := (P + members - 1) / members
	if old := o.fair.Swap(fair); fair < old {
		o.rebalanceMu.Lock()
		if o.rebalance != nil {
			close(o.rebalance)
			o.rebalance = nil
		}
		o.rebalanceMu.Unlock()
	}
	return nil
}

// rebalanced returns a channel closed when this consumer's fair share of
// partitions next drops.
func (o *Outbox) rebalanced() <-chan struct{} {
	o.rebalanceMu.Lock()
	defer o.rebalanceMu.Unlock()
	if o.rebalance == nil {
		o.rebalance = make(chan struct{})
	}
	return o.rebalance
}

func (o *Outbox) membership(ctx context.Context) {
	t := time.NewTicker(o.opts.Lease / 3)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := o.heartbeat(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			o.log.Warn("outbox: membership heartbeat failed", slog.Any("err", err))
		case err == nil && failing:
			failing = false
			o.log.Info("outbox: membership heartbeat works again")
		}
	}
}

// reserve counts one more partition as held if below the fair share.
func (o *Outbox) reserve() bool {
	for {
		h := o.held.Load()
		if h >= o.fair.Load() {
			return false
		}
		if o.held.CompareAndSwap(h, h+1) {
			return true
		}
	}
}

// shed counts one partition less as held if above the fair share; the
// caller then releases its partition.
func (o *Outbox) shed() bool {
	for {
		h := o.held.Load()
		if h <= o.fair.Load() {
			return false
		}
		if o.held.CompareAndSwap(h, h-1) {
			return true
		}
	}
}

// pollInterval is how often a partition not owned here checks its lease:
// at most a second (±25%), so a crashed owner's partition is taken within
// about Lease plus a second.
func (o *Outbox) pollInterval() time.Duration {
	return min(max(o.opts.Lease/4, 20*time.Millisecond), time.Second)
}

// partition owns partition p whenever it can, until ctx is cancelled.
func (o *Outbox) partition(ctx, hctx context.Context, p int, h Handler, n *notifier) {
	w := &worker{o: o, p: p, h: h, hctx: hctx, n: n, base: time.Now(),
		log: o.log.With(slog.Int("partition", p))}
	for first := true; ; first = false {
		if !first && !ctxtime.Sleep(ctx, jitter(o.pollInterval())) {
			return
		}
		if ctx.Err() != nil {
			return
		}
		if !o.reserve() {
			continue
		}
		sent := time.Now()
		ok, err := acquireScript.Run(ctx, o.client, []string{o.leases[p]},
			o.opts.Consumer, o.opts.Lease.Milliseconds()).Int()
		if err != nil || ok != 1 {
			o.held.Add(-1)
			if err != nil && ctx.Err() == nil {
				w.log.Debug("outbox: cannot acquire lease", slog.Any("err", err))
			}
			continue
		}
		if !w.own(ctx, sent.Add(o.opts.Lease)) {
			o.held.Add(-1)
		}
	}
}

// notifier runs one blocking XREAD over the idle partitions owned here and
// wakes their workers when an entry arrives, from any process.
type notifier struct {
	o       *Outbox
	mu      sync.Mutex
	watch   map[int]string // partition → read entries after this ID
	seen    map[int]string // partition → last ID the read returned
	changed chan struct{}
}

// add watches partition p for entries after id.
func (n *notifier) add(p int, id string) {
	n.mu.Lock()
	n.watch[p] = id
	delete(n.seen, p)
	n.mu.Unlock()
	select {
	case n.changed <- struct{}{}:
	default:
	}
}

// remove stops watching p and returns the last ID seen on it, if any.
func (n *notifier) remove(p int) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.watch, p)
	id := n.seen[p]
	delete(n.seen, p)
	return id
}

func (n *notifier) run(ctx context.Context) {
	var rb backoff
	for ctx.Err() == nil {
		n.mu.Lock()
		parts := make([]int, 0, len(n.watch))
		for p := range n.watch {
			parts = append(parts, p)
		}
		slices.Sort(parts)
		args := make([]string, 2*len(parts))
		for i, p := range parts {
			args[i] = n.o.streams[p]
			args[len(parts)+i] = n.watch[p]
		}
		n.mu.Unlock()
		if len(parts) == 0 {
			select {
			case <-n.changed:
				continue
			case <-ctx.Done():
				return
			}
		}
		res, err := n.o.client.XRead(ctx, &redis.XReadArgs{Streams: args, Count: 1, Block: notifyBlock}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				n.o.log.Debug("outbox: wake-up read failed", slog.Any("err", err))
			}
			// Workers poll on their own meanwhile.
			if !ctxtime.Sleep(ctx, rb.next(redisMinBackoff, redisMaxBackoff)) {
				return
			}
			continue
		}
		rb.reset()
		n.mu.Lock()
		for _, s := range res {
			i := slices.Index(args[:len(parts)], s.Stream)
			if i < 0 || len(s.Messages) == 0 {
				continue
			}
			p := parts[i]
			if _, ok := n.watch[p]; !ok {
				continue
			}
			delete(n.watch, p)
			n.seen[p] = s.Messages[len(s.Messages)-1].ID
			select {
			case n.o.wake[p] <- struct{}{}:
			default:
			}
		}
		n.mu.Unlock()
	}
}

// backoff is exponential backoff for Redis errors.
type backoff struct{ n int }

func (b *backoff) next(lo, hi time.Duration) time.Duration {
	b.n++
	return jitter(expBackoff(b.n, lo, hi))
}

func (b *backoff) reset() { b.n = 0 }

// expBackoff is lo·2^(n-1), capped at hi.
func expBackoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// jitter returns d ±25%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d*3/4 + rand.N(d/2+1)
}

// retryDelay is the wait after the n-th consecutive plain failure of a
// handler: MinBackoff·2^(n-1) ±25%, within [MinBackoff, MaxBackoff].
func (o *Outbox) retryDelay(n int) time.Duration {
	d := jitter(expBackoff(n, o.opts.MinBackoff, o.opts.MaxBackoff))
	return min(max(d, o.opts.MinBackoff), o.opts.MaxBackoff)
}
