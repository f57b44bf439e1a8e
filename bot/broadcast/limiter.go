package broadcast

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/internal/ctxtime"
)

// reserveScript reserves ARGV[2] consecutive send slots, ARGV[1] µs apart,
// in a bucket shared by every replica (a GCRA without burst: KEYS[1] holds
// the next free slot). No slot starts before the pause-until of KEYS[2]
// (set after a 429), and none is handed out more than ARGV[3] µs ahead, so
// the slots replicas hold unused stay few (a 429 seen by one replica stops
// the others within that horizon). Times are the Redis server's, in µs.
// It returns the delay in µs from now to the first slot, or, when the
// next free slot is beyond the horizon, minus the delay to it (nothing
// reserved).
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0') or 0,
	tonumber(redis.call('GET', KEYS[2]) or '0') or 0)
if start - now > tonumber(ARGV[3]) then return now - start end
local nxt = start + tonumber(ARGV[1]) * tonumber(ARGV[2])
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.floor((nxt - now) / 1000) + 3600000)
return start - now
`)

// pauseScript makes every replica stop sending for ARGV[1] µs (a 429's
// retry_after): it moves the pause-until of KEYS[2] and the bucket's next
// slot (KEYS[1]) forward, never back.
var pauseScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local till = now + tonumber(ARGV[1])
local keep = math.floor(tonumber(ARGV[1]) / 1000) + 3600000
if till > (tonumber(redis.call('GET', KEYS[2]) or '0') or 0) then
	redis.call('SET', KEYS[2], string.format('%.0f', till), 'PX', keep)
end
if till > (tonumber(redis.call('GET', KEYS[1]) or '0') or 0) then
	redis.call('SET', KEYS[1], string.format('%.0f', till), 'PX', keep)
end
return 1
`)

// limiter hands out send slots of the shared bucket to this worker's
// senders. It reserves a batch (about 100 ms of sending) per round trip
// and releases each slot at its time, so messages leave evenly spaced
// whatever the number of replicas.
type limiter struct {
	rdb      redis.UniversalClient
	key      string
	pauseKey string
	interval time.Duration
	batch    int
	horizon  time.Duration
	maxLate  time.Duration
	log      *slog.Logger

	reserving   sync.Mutex // one sender at a time asks Redis (and may wait)
	mu          sync.Mutex // guards slots; never held while waiting
	slots       []time.Time
	last        time.Time    // the latest slot reserved (guarded by reserving)
	pausedUntil atomic.Int64 // unix ns
}

func newLimiter(rdb redis.UniversalClient, key, pauseKey string, rate float64, log *slog.Logger) *limiter {
	interval := time.Duration(float64(time.Second) / rate)
	return &limiter{
		rdb: rdb, key: key, pauseKey: pauseKey, log: log,
		interval: interval,
		batch:    max(1, int(math.Ceil(rate*0.1))),
		horizon:  max(100*time.Millisecond, 2*interval),
		// A slot used late moves its message closer to the next ones; a
		// little lateness is harmless (the rate has headroom), more is
		// dropped rather than bunching messages up.
		maxLate: max(interval/2, 5*time.Millisecond),
	}
}

// pop takes the next usable slot.
func (l *limiter) pop() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for len(l.slots) > 0 && now.Sub(l.slots[0]) > l.maxLate {
		l.slots = l.slots[1:] // stale: nobody was free to use it
	}
	if len(l.slots) == 0 {
		return time.Time{}, false
	}
	slot := l.slots[0]
	l.slots = l.slots[1:]
	return slot, true
}

// wait blocks until this caller may send one message, or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	for {
		slot, ok := l.pop()
		if !ok {
			l.reserving.Lock()
			slot, ok = l.pop() // another sender may have just reserved
			if !ok {
				if err := l.reserve(ctx); err != nil {
					l.reserving.Unlock()
					return err
				}
				slot, ok = l.pop()
			}
			l.reserving.Unlock()
			if !ok {
				continue
			}
		}
		if !sleepUntil(ctx, slot) {
			return ctx.Err()
		}
		if time.Now().UnixNano() >= l.pausedUntil.Load() {
			return nil
		}
		// A 429 arrived while we waited: this slot is void, and the next
		// reservation starts after the pause.
	}
}

// reserve gets a batch of slots from Redis, waiting while every slot
// within the horizon is taken (or a 429 pause is on) and retrying Redis
// errors, until ctx ends.
func (l *limiter) reserve(ctx context.Context) error {
	// Our own slots still ahead keep the bucket's next slot beyond the
	// horizon: no use asking before they run out.
	if !sleepUntil(ctx, l.last.Add(l.interval-l.horizon)) {
		return ctx.Err()
	}
	failures := 0
	for {
		delay, err := reserveScript.Run(ctx, l.rdb, []string{l.key, l.pauseKey},
			l.interval.Microseconds(), l.batch, l.horizon.Microseconds()).Int64()
		var wait time.Duration
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			failures++
			wait = backoff(failures, 100*time.Millisecond, 5*time.Second)
			l.log.Warn("broadcast: cannot reserve send slots", slog.Any("err", err), slog.Duration("retry_in", wait))
		case delay < 0:
			wait = time.Duration(-delay)*time.Microsecond - l.horizon
		default:
			first := time.Now().Add(time.Duration(delay) * time.Microsecond)
			l.mu.Lock()
			for i := range l.batch {
				l.slots = append(l.slots, first.Add(time.Duration(i)*l.interval))
			}
			l.last = l.slots[len(l.slots)-1]
			l.mu.Unlock()
			return nil
		}
		if !ctxtime.Sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// pause stops every replica's sending for d (a 429's retry_after).
func (l *limiter) pause(ctx context.Context, d time.Duration) {
	until := time.Now().Add(d).UnixNano()
	for {
		cur := l.pausedUntil.Load()
		if cur >= until || l.pausedUntil.CompareAndSwap(cur, until) {
			break
		}
	}
	l.mu.Lock()
	l.slots = nil
	l.mu.Unlock()
	err := pauseScript.Run(ctx, l.rdb, []string{l.key, l.pauseKey}, d.Microseconds()).Err()
	if err != nil {
		// Local senders are paused anyway; other replicas will meet their
		// own 429 and pause too.
		l.log.Warn("broadcast: cannot share a rate-limit pause", slog.Any("err", err))
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool { return ctxtime.Sleep(ctx, time.Until(t)) }

// chatGate keeps one message per second per chat within this worker (a
// retry, or two jobs reaching the same member back to back).
type chatGate struct {
	mu    sync.Mutex
	last  map[int64]time.Time
	order []gateEntry
}

type gateEntry struct {
	chat int64
	at   time.Time
}

func newChatGate() *chatGate { return &chatGate{last: map[int64]time.Time{}} }

const perChatGap = time.Second

// wait blocks until the chat may get a message, then books it.
func (g *chatGate) wait(ctx context.Context, chat int64) error {
	for {
		g.mu.Lock()
		now := time.Now()
		for len(g.order) > 0 && now.Sub(g.order[0].at) >= perChatGap {
			e := g.order[0]
			if g.last[e.chat].Equal(e.at) {
				delete(g.last, e.chat)
			}
			g.order = g.order[1:]
		}
		last, ok := g.last[chat]
		if !ok || now.Sub(last) >= perChatGap {
			g.mu.Unlock()
			return nil
		}
		g.mu.Unlock()
		if !sleepUntil(ctx, last.Add(perChatGap)) {
			return ctx.Err()
		}
	}
}

// mark records a message to the chat now.
func (g *chatGate) mark(chat int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	g.last[chat] = now
	g.order = append(g.order, gateEntry{chat, now})
}
