package bot

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Handler handles one update (the Engine).
type Handler interface {
	Handle(ctx context.Context, u Update) error
}

// Dispatcher runs updates concurrently across chats while keeping each
// chat's updates in order: a chat always maps to the same worker. Errors
// are logged here, once, at the edge.
type Dispatcher struct {
	h       Handler
	log     *slog.Logger
	timeout time.Duration
	queues  []chan job
	workers []worker
	wg      sync.WaitGroup
}

// worker is what a queue's updates are counted and run under.
type worker struct {
	// pending counts the queue's updates from before they are queued
	// until they are handled: 0 means nothing queued and nothing running.
	pending atomic.Int64
	// running is held while one of the queue's updates is handled, by
	// the queue's goroutine or by a caller handling it itself (DispatchHere).
	running sync.Mutex
}

type job struct {
	ctx  context.Context
	u    Update
	done func()
}

// NewDispatcher starts workers goroutines. Each update gets at most timeout
// to be handled, so one stuck call cannot hold a chat forever.
func NewDispatcher(h Handler, workers int, timeout time.Duration, log *slog.Logger) *Dispatcher {
	if workers < 1 {
		workers = 1
	}
	d := &Dispatcher{h: h, log: log, timeout: timeout, queues: make([]chan job, workers), workers: make([]worker, workers)}
	for i := range d.queues {
		q := make(chan job, 64)
		d.queues[i] = q
		d.wg.Add(1)
		go d.work(q, &d.workers[i])
	}
	return d
}

func (d *Dispatcher) work(q chan job, w *worker) {
	defer d.wg.Done()
	for j := range q {
		w.running.Lock()
		d.handle(j)
		w.running.Unlock()
		w.pending.Add(-1)
	}
}

func (d *Dispatcher) handle(j job) {
	defer j.done()
	ctx := context.WithoutCancel(j.ctx) // finish what was started on shutdown
	if d.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	start := time.Now()
	if err := d.h.Handle(ctx, j.u); err != nil {
		d.log.Error("update failed", slog.Int64("chat", j.u.ChatID), slog.Int64("update", j.u.ID), slog.Any("err", err))
		return
	}
	d.log.Debug("update handled", slog.Int64("chat", j.u.ChatID), slog.Int64("update", j.u.ID), slog.Duration("took", time.Since(start)))
}

// Dispatch queues u on its chat's worker; done is called when it has been
// handled (successfully or not). It blocks while that worker's queue is full.
func (d *Dispatcher) Dispatch(ctx context.Context, u Update, done func()) {
	i := d.queue(u)
	d.workers[i].pending.Add(1)
	d.queues[i] <- job{ctx: ctx, u: u, done: done}
}

// DispatchHere is Dispatch for a caller that waits for the update to be
// handled anyway (a webhook delivery): when its chat's worker has nothing
// queued or running, the update is handled on the calling goroutine,
// which spares handing it to the worker and waking the caller again
// (two goroutine switches, on a small machine a tenth of an update's
// CPU). Otherwise it is queued behind the chat's earlier updates. Either
// way the chat's updates run one at a time, in order, and done is called
// once u is handled; DispatchHere may return before that only when u was
// queued.
func (d *Dispatcher) DispatchHere(ctx context.Context, u Update, done func()) {
	i := d.queue(u)
	w := &d.workers[i]
	// running is taken before the chat is claimed: claiming first would
	// leave an instant in which an update dispatched after this one could
	// reach the worker, take running and be handled first.
	if !w.running.TryLock() {
		d.Dispatch(ctx, u, done)
		return
	}
	if !w.pending.CompareAndSwap(0, 1) {
		w.running.Unlock()
		d.Dispatch(ctx, u, done)
		return
	}
	// Nothing queued or running: updates dispatched from now on wait
	// for this one (the worker takes running after it). Released even
	// if the handler panics: on this goroutine the panic may be recovered
	// (net/http does for a webhook delivery), and the worker, which
	// serves other chats too, must not wait for it forever.
	defer w.pending.Add(-1)
	defer w.running.Unlock()
	d.handle(job{ctx: ctx, u: u, done: done})
}

func (d *Dispatcher) queue(u Update) int { return int(uint64(u.ChatID) % uint64(len(d.queues))) }

// HandleBatch dispatches a batch and waits until every update in it has
// been handled: a transport confirms updates to the platform only then.
// The last update is handled on the calling goroutine when it can be
// (DispatchHere): a batch of one, usual when updates come one at a time,
// then involves no other goroutine.
func (d *Dispatcher) HandleBatch(ctx context.Context, us []Update) {
	var wg sync.WaitGroup
	wg.Add(len(us))
	for i, u := range us {
		if i == len(us)-1 {
			d.DispatchHere(ctx, u, wg.Done)
		} else {
			d.Dispatch(ctx, u, wg.Done)
		}
	}
	wg.Wait()
}

// Close stops the workers after the queued updates are handled.
func (d *Dispatcher) Close() {
	for _, q := range d.queues {
		close(q)
	}
	d.wg.Wait()
}
