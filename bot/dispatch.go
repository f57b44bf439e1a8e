package bot

import (
	"context"
	"log/slog"
	"sync"
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
	wg      sync.WaitGroup
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
	d := &Dispatcher{h: h, log: log, timeout: timeout, queues: make([]chan job, workers)}
	for i := range d.queues {
		q := make(chan job, 64)
		d.queues[i] = q
		d.wg.Add(1)
		go d.work(q)
	}
	return d
}

func (d *Dispatcher) work(q chan job) {
	defer d.wg.Done()
	for j := range q {
		d.handle(j)
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
	i := int(uint64(u.ChatID) % uint64(len(d.queues)))
	d.queues[i] <- job{ctx: ctx, u: u, done: done}
}

// HandleBatch dispatches a batch and waits until every update in it has
// been handled: a transport confirms updates to the platform only then.
func (d *Dispatcher) HandleBatch(ctx context.Context, us []Update) {
	var wg sync.WaitGroup
	wg.Add(len(us))
	for _, u := range us {
		d.Dispatch(ctx, u, wg.Done)
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
