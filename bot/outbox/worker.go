package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// worker consumes one partition while this process owns its lease.
type worker struct {
	o    *Outbox
	p    int
	h    Handler
	hctx context.Context
	n    *notifier
	log  *slog.Logger

	// lastDelivered is the group's last delivered ID as far as this
	// worker knows: entries after it are new.
	lastDelivered string
	// validUntil is when the lease runs out unless renewed, counted from
	// when the renewal was sent, as nanoseconds since base (monotonic).
	base       time.Time
	validUntil atomic.Int64
	lose       context.CancelFunc
}

func (w *worker) setValidUntil(t time.Time) { w.validUntil.Store(int64(t.Sub(w.base))) }
func (w *worker) valid() bool               { return int64(time.Since(w.base)) < w.validUntil.Load() }

// own consumes the partition, whose lease was just taken (valid until
// validUntil), until ctx is cancelled, the lease is lost, or the partition
// is handed over to balance replicas. It reports the last case, in which it
// already decremented o.held.
func (w *worker) own(ctx context.Context, validUntil time.Time) (shed bool) {
	own, lose := context.WithCancel(ctx)
	w.lose = lose
	w.setValidUntil(validUntil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		w.renew(own)
	}()
	defer func() {
		lose()
		<-renewed
		if !w.o.skipRelease {
			w.release(ctx)
		}
	}()
	w.log.Debug("outbox: partition acquired")

	var rb backoff
	ready := false
	for own.Err() == nil {
		if !ready {
			if err := w.setup(own); err != nil {
				w.redisErr(own, "prepare partition", err, &rb)
				continue
			}
			ready = true
		}
		if w.o.shed() {
			w.log.Debug("outbox: handing partition over to balance replicas")
			return true
		}
		msgs, err := w.next(own)
		if err != nil {
			if strings.HasPrefix(err.Error(), "NOGROUP") {
				ready = false
			}
			w.redisErr(own, "read entries", err, &rb)
			continue
		}
		if rb.n > 0 {
			w.log.Info("outbox: Redis reachable again")
			rb.reset()
		}
		if len(msgs) == 0 {
			w.idle(own)
			continue
		}
		w.process(own, msgs)
	}
	return false
}

// redisErr logs a Redis error (Warn for the first of a streak) and waits
// before the caller tries again.
func (w *worker) redisErr(own context.Context, what string, err error, rb *backoff) {
	if own.Err() != nil {
		return
	}
	if rb.n == 0 {
		w.log.Warn("outbox: Redis error; retrying", slog.String("op", what), slog.Any("err", err))
	} else {
		w.log.Debug("outbox: Redis error; retrying", slog.String("op", what), slog.Any("err", err))
	}
	sleep(own, rb.next(redisMinBackoff, redisMaxBackoff))
}

// renew extends the lease every Lease/3 until own is done. It cancels own
// when the lease turns out to be someone else's, or when it could not be
// renewed before it ran out (Redis unreachable): another replica may own
// the partition by then.
func (w *worker) renew(own context.Context) {
	lease := w.o.opts.Lease
	t := time.NewTicker(lease / 3)
	defer t.Stop()
	for {
		select {
		case <-own.Done():
			return
		case <-t.C:
		}
		sent := time.Now()
		rctx, cancel := context.WithTimeout(own, lease/3)
		ok, err := renewScript.Run(rctx, w.o.client, []string{w.o.leases[w.p]},
			w.o.opts.Consumer, lease.Milliseconds()).Int()
		cancel()
		switch {
		case err == nil && ok == 1:
			w.setValidUntil(sent.Add(lease))
		case err == nil:
			w.log.Warn("outbox: lease lost to another consumer")
			w.lose()
			return
		case own.Err() != nil:
			return
		case !w.valid():
			w.log.Warn("outbox: lease ran out while Redis was unreachable", slog.Any("err", err))
			w.lose()
			return
		}
	}
}

// release gives the lease up if it is still ours.
func (w *worker) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	if err := releaseScript.Run(rctx, w.o.client, []string{w.o.leases[w.p]}, w.o.opts.Consumer).Err(); err != nil {
		w.log.Debug("outbox: cannot release lease; it will expire", slog.Any("err", err))
		return
	}
	w.log.Debug("outbox: partition released")
}

// setup creates the group if needed, learns its last delivered ID, and
// forgets consumers of stopped processes.
func (w *worker) setup(own context.Context) error {
	c, stream := w.o.client, w.o.streams[w.p]
	if err := c.XGroupCreateMkStream(own, stream, group, "0").Err(); err != nil &&
		!strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return err
	}
	groups, err := c.XInfoGroups(own, stream).Result()
	if err != nil {
		return err
	}
	w.lastDelivered = "0-0"
	for _, g := range groups {
		if g.Name == group && g.LastDeliveredID != "" {
			w.lastDelivered = g.LastDeliveredID
		}
	}
	// Best effort: a consumer name is left in the group by every process
	// that ever ran; remove those idle for a while with nothing pending.
	consumers, err := c.XInfoConsumers(own, stream, group).Result()
	if err != nil {
		w.log.Debug("outbox: cannot list consumers", slog.Any("err", err))
		return nil
	}
	for _, cons := range consumers {
		if cons.Name == w.o.opts.Consumer || cons.Pending > 0 || cons.Idle < w.o.opts.Lease {
			continue
		}
		if err := delConsumerScript.Run(own, c, []string{stream}, group, cons.Name).Err(); err != nil {
			w.log.Debug("outbox: cannot remove stale consumer", slog.String("stale", cons.Name), slog.Any("err", err))
		}
	}
	return nil
}

// next returns the next entries of the partition in stream order: first
// those already delivered to some consumer but not acknowledged (left by
// a previous owner or by an earlier read of ours), claimed for this
// consumer, then new ones. None means the partition is empty.
func (w *worker) next(own context.Context) ([]redis.XMessage, error) {
	c, stream, me := w.o.client, w.o.streams[w.p], w.o.opts.Consumer
	claim := redis.XAutoClaimArgs{Stream: stream, Group: group, Consumer: me, MinIdle: 0, Start: "0-0", Count: batch}
	for range 2 {
		msgs, _, err := c.XAutoClaim(own, &claim).Result()
		if err != nil {
			return nil, err
		}
		if len(msgs) > 0 {
			return msgs, nil
		}
		res, err := c.XReadGroup(own, &redis.XReadGroupArgs{
			Group: group, Consumer: me, Streams: []string{stream, ">"}, Count: batch, Block: -1,
		}).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if len(res) == 0 || len(res[0].Messages) == 0 {
			return nil, nil
		}
		msgs = res[0].Messages
		if last := msgs[len(msgs)-1].ID; compareIDs(last, w.lastDelivered) > 0 {
			w.lastDelivered = last
		}
		// Only if another consumer read from this partition after our
		// claim (it held the lease before us and has not noticed losing
		// it) is an older entry pending elsewhere; handle it first.
		one := claim
		one.Count = 1
		ids, _, err := c.XAutoClaimJustID(own, &one).Result()
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 || compareIDs(ids[0], msgs[0].ID) >= 0 {
			return msgs, nil
		}
		w.log.Warn("outbox: older entry was pending at another consumer; handling it first",
			slog.String("id", ids[0]))
	}
	return nil, nil
}

// idle waits for an entry: enqueued here, seen by the notifier, or found
// by polling.
func (w *worker) idle(own context.Context) {
	rebalanced := w.o.rebalanced()
	w.n.add(w.p, w.lastDelivered)
	t := time.NewTimer(idlePoll)
	select {
	case <-rebalanced:
	case <-w.o.wake[w.p]:
	case <-t.C:
	case <-own.Done():
	}
	t.Stop()
	if id := w.n.remove(w.p); id != "" && compareIDs(id, w.lastDelivered) > 0 {
		w.lastDelivered = id
	}
}

// process handles msgs in order, each until acknowledged; it stops early
// when own is done.
func (w *worker) process(own context.Context, msgs []redis.XMessage) {
	var pre int64 // attempt number already counted for msgs[i], or 0
	for i, m := range msgs {
		if own.Err() != nil {
			return
		}
		next := ""
		if i+1 < len(msgs) {
			next = msgs[i+1].ID
		}
		e, perr := w.o.parse(w.p, m)
		var err error
		switch {
		case len(m.Values) == 0: // deleted while pending: nothing to do
			pre, err = w.finish(own, m.ID, e, next, nil)
		case perr != nil:
			w.log.Warn("outbox: malformed entry; moved to dead letters", slog.String("id", e.ID), slog.Any("err", perr))
			pre, err = w.finish(own, m.ID, e, next, perr)
		default:
			pre, err = w.deliver(own, m.ID, e, pre, next)
		}
		if err != nil {
			return
		}
	}
}

// parse reads a stream entry and opens its payload.
func (o *Outbox) parse(p int, m redis.XMessage) (Entry, error) {
	e := Entry{ID: entryID(p, m.ID)}
	key, ok1 := m.Values["key"].(string)
	kind, _ := m.Values["kind"].(string)
	payload, ok2 := m.Values["payload"].(string)
	e.Key, e.Kind, e.stored = key, kind, []byte(payload)
	if enq, ok := m.Values["enq"].(string); ok {
		if ms, err := strconv.ParseInt(enq, 10, 64); err == nil {
			e.Enqueued = time.UnixMilli(ms)
		}
	}
	if !ok1 || !ok2 {
		return e, errors.New("outbox: malformed entry: no key or payload field")
	}
	plain, err := o.opts.Keyring.OpenLegacy(e.stored)
	if err != nil {
		return e, fmt.Errorf("outbox: open payload: %w", err)
	}
	e.Payload = plain
	return e, nil
}

// deliver calls the handler for e (stream ID sid) until it succeeds or
// gives up, then acknowledges e. attempt is e's try number if already
// counted in Redis (else 0). It returns the try number counted for the
// entry next (see finish), or own's error if ownership ended first.
func (w *worker) deliver(own context.Context, sid string, e Entry, attempt int64, next string) (int64, error) {
	var rb backoff
	failures := 0
	for {
		if err := own.Err(); err != nil {
			return 0, err
		}
		if attempt == 0 {
			n, err := w.o.client.HIncrBy(own, w.o.attempts[w.p], sid, 1).Result()
			if err != nil {
				w.redisErr(own, "count attempt", err, &rb)
				continue
			}
			attempt = n
		}
		if !w.valid() {
			// The renewer has not managed to extend the lease in time:
			// another replica may own the partition now.
			w.lose()
			return 0, context.Canceled
		}
		e.Attempts, attempt = int(attempt), 0
		log := w.log.With(slog.String("id", e.ID), slog.String("key", e.Key), slog.String("kind", e.Kind),
			slog.Int("attempt", e.Attempts))
		herr := w.call(e)
		var ra *retryAfterError
		switch {
		case herr == nil:
			if e.Attempts > 1 {
				log.Info("outbox: delivered after retries")
			}
			return w.finish(own, sid, e, next, nil)
		case IsPermanent(herr):
			log.Warn("outbox: giving up on entry; moved to dead letters", slog.Any("err", herr))
			return w.finish(own, sid, e, next, herr)
		case errors.As(herr, &ra):
			d := ra.after
			if d <= 0 {
				d = w.o.opts.MinBackoff
			}
			logRetry(log, e.Attempts, "outbox: rate limited; retrying after the given delay", d, herr)
			w.o.retried()
			sleep(own, d)
		default:
			failures++
			d := w.o.retryDelay(failures)
			logRetry(log, e.Attempts, "outbox: handler failed; retrying", d, herr)
			w.o.retried()
			sleep(own, d)
		}
	}
}

// retried tells Options.OnRetry, if any, of a retry.
func (o *Outbox) retried() {
	if o.opts.OnRetry != nil {
		o.opts.OnRetry()
	}
}

// logRetry logs a retry at Warn for attempts 1, 2, 4, 8, … and at Debug
// otherwise, so an outage of hours does not flood the log.
func logRetry(log *slog.Logger, attempt int, msg string, d time.Duration, err error) {
	level := slog.LevelDebug
	if attempt > 0 && bits.OnesCount(uint(attempt)) == 1 {
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, msg, slog.Duration("retry_in", d), slog.Any("err", err))
}

// call runs the handler, turning a panic into an ordinary (retried) error.
func (w *worker) call(e Entry) (err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("outbox: handler panicked", slog.String("id", e.ID), slog.String("kind", e.Kind),
				slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("outbox: handler panicked: %v", r)
		}
	}()
	return w.h(w.hctx, e)
}

// finish acknowledges and deletes e (stream ID sid), first recording it
// as a dead letter if dead is not nil. In the same round trip it counts
// the first try of the entry with stream ID next (if not ""), whose try
// number it returns (0 if not counted). It retries on Redis errors while the partition is owned, and
// tries once even after Run's ctx is cancelled, so a handled entry is not
// handled again by the next process.
func (w *worker) finish(own context.Context, sid string, e Entry, next string, dead error) (int64, error) {
	var rb backoff
	stream, attempts := w.o.streams[w.p], w.o.attempts[w.p]
	deadDone := dead == nil
	for {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(own), opTimeout)
		var (
			xadd *redis.StringCmd
			incr *redis.IntCmd
		)
		_, err := w.o.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			if !deadDone {
				xadd = pipe.XAdd(ctx, &redis.XAddArgs{Stream: w.o.dead, MaxLen: w.o.opts.DeadMaxLen, Values: []any{
					"id", e.ID,
					"key", e.Key,
					"kind", e.Kind,
					"payload", e.stored,
					"attempts", strconv.Itoa(e.Attempts),
					"error", dead.Error(),
					"enq", strconv.FormatInt(e.Enqueued.UnixMilli(), 10),
					"failed", strconv.FormatInt(w.o.opts.Now().UnixMilli(), 10),
					"consumer", w.o.opts.Consumer,
				}})
				minID := w.o.opts.Now().Add(-w.o.opts.DeadRetention).UnixMilli()
				pipe.XTrimMinID(ctx, w.o.dead, strconv.FormatInt(max(minID, 0), 10))
			}
			pipe.XAck(ctx, stream, group, sid)
			pipe.XDel(ctx, stream, sid)
			pipe.HDel(ctx, attempts, sid)
			if next != "" {
				incr = pipe.HIncrBy(ctx, attempts, next, 1)
			}
			return nil
		})
		cancel()
		if xadd != nil && xadd.Err() == nil {
			deadDone = true
		}
		if err == nil {
			if incr != nil {
				return incr.Val(), nil
			}
			return 0, nil
		}
		// Count the next entry's try on its own later: this one may have
		// been counted already.
		next = ""
		if own.Err() != nil {
			w.log.Warn("outbox: cannot acknowledge entry; it will be handled again",
				slog.String("id", e.ID), slog.String("key", e.Key), slog.String("kind", e.Kind), slog.Any("err", err))
			return 0, own.Err()
		}
		w.redisErr(own, "acknowledge", err, &rb)
	}
}
