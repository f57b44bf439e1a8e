package broadcast

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/telegram/tghtml"
	"bridgebot/bot/tombstone"
	"bridgebot/internal/ctxtime"
)

// sendTimeout bounds one Telegram call.
const sendTimeout = 30 * time.Second

// maxRateLimited bounds 429 answers for one chat before it counts as
// failed (each already waited its retry_after).
const maxRateLimited = 20

// Worker delivers broadcast jobs. Run one per bot process; replicas share
// the work through Redis (see the package documentation).
type Worker struct {
	rdb   redis.UniversalClient
	jobs  *Jobs
	send  Announcer
	opts  Options
	k     keys
	log   *slog.Logger
	token string // this worker's claims are token:n
	seq   atomic.Int64
	gate  *chatGate
	free  *limiter
	paid  *limiter
}

// NewWorker returns a worker delivering through sender.
func NewWorker(client redis.UniversalClient, sender Announcer, opts Options) *Worker {
	opts = opts.withDefaults()
	k := keys{opts.Prefix}
	log := opts.Logger.With(slog.String("consumer", opts.Consumer))
	return &Worker{
		rdb: client, jobs: newJobs(client, opts, NewSubscribers(client, opts)), send: sender, opts: opts, k: k, log: log,
		token: opts.Consumer + "/" + randomHex(4),
		gate:  newChatGate(),
		free:  newLimiter(client, k.limit(false), k.pause(), opts.Rate, log),
		paid:  newLimiter(client, k.limit(true), k.pause(), opts.PaidRate, log),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Run delivers jobs until ctx is done, then returns nil after the messages
// in flight were answered and recorded and its pages handed back (so a
// restarted worker continues at once). Redis or Telegram trouble is
// logged and retried, never returned.
func (w *Worker) Run(ctx context.Context) error {
	w.log.Info("broadcast worker started", slog.Float64("rate", w.opts.Rate),
		slog.Int("concurrency", w.opts.Concurrency), slog.Bool("paid", w.opts.AllowPaid))
	hbCtx, stopHB := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeats(hbCtx)
	}()
	defer func() {
		stopHB()
		<-hbDone
		w.clearHeartbeat(ctx)
	}()
	w.reclaimOwn(ctx)
	failures := 0
	for ctx.Err() == nil {
		wait, err := w.step(ctx)
		if err != nil && ctx.Err() == nil {
			failures++
			wait = backoff(failures, 500*time.Millisecond, 30*time.Second)
			w.log.Warn("broadcast worker: will retry", slog.Any("err", err), slog.Duration("in", wait))
		} else {
			failures = 0
		}
		ctxtime.Sleep(ctx, wait)
	}
	w.log.Info("broadcast worker stopped")
	return nil
}

// reclaimOwn makes the pages that an earlier run of this replica (same
// Consumer) claimed and did not finish claimable at once: that run
// crashed, or they would have been handed back. Best effort: if Redis does
// not answer, they come back when their lease expires.
func (w *Worker) reclaimOwn(ctx context.Context) {
	ids, err := w.rdb.ZRange(ctx, w.k.active(), 0, -1).Result()
	if err != nil {
		w.log.Warn("broadcast worker: cannot look for an earlier run's pages; they return when their lease expires", slog.Any("err", err))
		return
	}
	for _, id := range ids {
		n, err := reclaimScript.Run(ctx, w.rdb, []string{w.k.leases(id), w.k.owners(id)}, w.opts.Consumer+"/", w.token+":").Int()
		if err != nil {
			w.log.Warn("broadcast worker: cannot take back an earlier run's pages; they return when their lease expires",
				slog.String("job", id), slog.Any("err", err))
			continue
		}
		if n > 0 {
			w.log.Info("broadcast: resuming the pages this replica had claimed before it stopped",
				slog.String("job", id), slog.Int("pages", n))
		}
	}
}

// step runs the first runnable job, if any, and says how long to wait
// before looking again.
func (w *Worker) step(ctx context.Context) (time.Duration, error) {
	job, wait, err := w.next(ctx)
	if err != nil || job == nil {
		return wait, err
	}
	return w.runJob(ctx, job)
}

// next finds the first runnable job in send-time order: running, or
// scheduled and due (which it starts). Without one it returns how long
// until the next scheduled job is due, at most PollInterval.
func (w *Worker) next(ctx context.Context) (*Job, time.Duration, error) {
	poll := w.opts.PollInterval
	pipe := w.rdb.Pipeline()
	zc := pipe.ZRangeWithScores(ctx, w.k.active(), 0, -1)
	tc := pipe.Time(ctx)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, poll, fmt.Errorf("broadcast: find jobs: %w", err)
	}
	active, now := zc.Val(), tc.Val()
	if len(active) == 0 {
		return nil, poll, nil
	}
	pipe = w.rdb.Pipeline()
	sts := make([]*redis.SliceCmd, len(active))
	for i, z := range active {
		sts[i] = pipe.HMGet(ctx, w.k.job(z.Member.(string)), "status", "at")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, poll, fmt.Errorf("broadcast: find jobs: %w", err)
	}
	wait := poll
	for i, z := range active {
		id := z.Member.(string)
		vals := sts[i].Val()
		st, _ := vals[0].(string)
		at, _ := vals[1].(string)
		switch st {
		case StatusRunning:
		case StatusScheduled:
			due := fromMS(at)
			if due.After(now) {
				wait = min(wait, due.Sub(now))
				continue
			}
			got, err := startScript.Run(ctx, w.rdb, []string{w.k.job(id)}).Text()
			if err != nil {
				return nil, poll, fmt.Errorf("broadcast: start %s: %w", id, err)
			}
			if got != StatusRunning {
				continue
			}
			w.log.Info("broadcast: scheduled job is due", slog.String("job", id))
		case StatusPaused:
			continue
		default: // finished or gone: not active any more
			w.rdb.ZRem(ctx, w.k.active(), id)
			continue
		}
		j, err := w.jobs.Get(ctx, id)
		if err != nil {
			return nil, poll, err
		}
		return &j, 0, nil
	}
	return nil, max(wait, time.Millisecond), nil
}

// jobRun is one worker's delivery of one job, until the job stops being
// runnable, its audience is all claimed, or the worker stops.
type jobRun struct {
	w      *Worker
	job    Job
	lim    *limiter
	anns   map[string]Announcement
	cutoff time.Time
	halt   context.CancelFunc // stop sending (job paused, cancelled, done)

	flushIn chan []rec

	mu    sync.Mutex
	pages map[*page]struct{} // claimed and not completed
}

// page is a claimed range of the audience.
type page struct {
	rng, tok string
	pending  int  // outcomes not yet recorded (guarded by jobRun.mu)
	lost     bool // another worker took it over (guarded by jobRun.mu)
}

// item is one member to send to.
type item struct {
	chat   int64
	lang   string // the version they get
	member string // their own language, for the footer
	pg     *page
}

// rec is one outcome to record, or, with check set, a member to check
// before sending (recordScript); ack, if set, gets the job status after,
// or the check's answer.
type rec struct {
	chat    int64
	outcome string
	pg      *page
	check   bool
	ack     chan string
}

// Outcomes, which are also the job hash's count fields.
const (
	outSent    = "sent"
	outBlocked = "blocked"
	outFailed  = "failed"
	outSkipped = "skipped"
	// outGone: not sent, not counted: the member left or erased their
	// data before their turn came (the check in recordScript).
	outGone = "gone"
)

func (w *Worker) runJob(ctx context.Context, job *Job) (time.Duration, error) {
	paid := job.Paid && w.opts.AllowPaid
	lim := w.free
	if paid {
		lim = w.paid
	}
	anns := map[string]Announcement{}
	for _, l := range job.langs() {
		anns[l] = job.Announcement(l, w.opts.AllowPaid)
	}
	cutoff := job.Started
	if cutoff.IsZero() {
		cutoff = time.Now()
	}
	runCtx, halt := context.WithCancel(ctx)
	defer halt()
	r := &jobRun{
		w: w, job: *job, lim: lim, anns: anns, cutoff: cutoff, halt: halt,
		flushIn: make(chan []rec, 2*w.opts.Concurrency+4),
		pages:   map[*page]struct{}{},
	}
	w.log.Debug("broadcast: working on job", slog.String("job", job.ID), slog.Bool("paid", paid))

	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		r.flushLoop(ctx)
	}()
	items := make(chan item, w.opts.PageSize)
	var senders sync.WaitGroup
	for range w.opts.Concurrency {
		senders.Add(1)
		go func() {
			defer senders.Done()
			r.sendLoop(runCtx, items)
		}()
	}
	wait, err := r.produce(runCtx, items)
	close(items)
	senders.Wait()
	close(r.flushIn)
	<-flushed
	r.release(ctx)
	return wait, err
}

// produce claims pages and queues their members for the senders.
func (r *jobRun) produce(ctx context.Context, items chan<- item) (time.Duration, error) {
	w := r.w
	for ctx.Err() == nil {
		tok := w.token + ":" + strconv.FormatInt(w.seq.Add(1), 10)
		res, err := claimScript.Run(ctx, w.rdb, []string{
			w.k.job(r.job.ID), w.k.subs(), w.k.subsData(), w.k.leases(r.job.ID), w.k.owners(r.job.ID),
			w.k.done(r.job.ID), w.k.active(), w.k.rate(r.job.ID), w.k.bounds(r.job.ID),
		}, tok, w.opts.PageSize, w.opts.LeaseTime.Milliseconds(), r.job.ID).Slice()
		if err != nil {
			if ctx.Err() != nil {
				return 0, nil
			}
			return 0, fmt.Errorf("broadcast: claim a page of %s: %w", r.job.ID, err)
		}
		kind, _ := res[0].(string)
		switch kind {
		case "ok":
		case "wait":
			ms, _ := res[1].(int64)
			return min(time.Duration(ms)*time.Millisecond, w.opts.PollInterval), nil
		case StatusDone:
			w.log.Info("broadcast: job done", slog.String("job", r.job.ID))
			return 0, nil
		default: // paused, cancelled, scheduled, missing
			w.log.Info("broadcast: job stopped", slog.String("job", r.job.ID), slog.String("status", kind))
			r.halt()
			return 0, nil
		}
		pg := &page{tok: tok}
		pg.rng, _ = res[1].(string)
		todo, skipped := r.members(pg, asSlice(res, 2), asSlice(res, 3), asSlice(res, 4))
		r.mu.Lock()
		pg.pending = len(todo) + len(skipped)
		r.pages[pg] = struct{}{}
		r.mu.Unlock()
		if len(skipped) > 0 || pg.pending == 0 {
			select { // record the skipped (or complete an empty page)
			case r.flushIn <- skipped:
			case <-ctx.Done():
				return 0, nil
			}
		}
		for _, it := range todo {
			select {
			case items <- it:
			case <-ctx.Done():
				return 0, nil
			}
		}
	}
	return 0, nil
}

// members turns a claimed page into members to send to and members to
// count as skipped. Chats already done, unsubscribed, outside the
// audience or subscribed after the job started are left out.
func (r *jobRun) members(pg *page, ids, recs, done []any) (todo []item, skipped []rec) {
	bad := unreadable{}
	defer bad.report(r.w.log, "sending "+r.job.ID)
	isDone := make(map[string]bool, len(done))
	for _, d := range done {
		if s, ok := d.(string); ok {
			isDone[s] = true
		}
	}
	for i, raw := range ids {
		id, _ := raw.(string)
		if isDone[id] || 2*i+1 >= len(recs) {
			continue
		}
		sub, ok, err := r.w.opts.decodeSubscriber(id, recs[2*i], recs[2*i+1])
		if err != nil {
			bad.add(err)
		}
		if !ok || !r.job.Audience.Match(sub) || sub.Since.After(r.cutoff) {
			continue
		}
		if v := r.job.VersionFor(sub.Lang); v != "" {
			todo = append(todo, item{chat: sub.ChatID, lang: v, member: sub.Lang, pg: pg})
		} else {
			skipped = append(skipped, rec{chat: sub.ChatID, outcome: outSkipped, pg: pg})
		}
	}
	return todo, skipped
}

func (r *jobRun) isLost(pg *page) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return pg.lost
}

// sendLoop sends queued members one at a time. Each outcome is recorded
// before the next message leaves, in the same round trip as the check of
// that next member (deliver), or at once when no member is queued: a
// worker never has more than Concurrency messages sent but not recorded.
func (r *jobRun) sendLoop(ctx context.Context, items <-chan item) {
	var prev []rec // the last outcome, not yet recorded
	for {
		var it item
		var ok bool
		select {
		case it, ok = <-items:
		default:
			prev = r.commit(prev) // nothing queued: record now
			it, ok = <-items
		}
		if !ok {
			break
		}
		if ctx.Err() != nil || r.isLost(it.pg) {
			continue // drain: the page goes back to the pool unfinished
		}
		outcome, sent := r.deliver(ctx, it, &prev)
		if sent {
			prev = r.commit(prev) // when the check could not take it
			prev = []rec{{chat: it.chat, outcome: outcome, pg: it.pg}}
		}
	}
	r.commit(prev)
}

// commit records recs (if any) and waits until they are; it returns nil.
func (r *jobRun) commit(recs []rec) []rec {
	if len(recs) == 0 {
		return nil
	}
	ack := make(chan string, len(recs))
	for i := range recs {
		recs[i].ack = ack
	}
	r.flushIn <- recs
	for range recs {
		<-ack
	}
	return nil
}

// deliver sends to one member, with retries; ok is false when it stopped
// without an outcome (job halted, page lost or worker stopping before a
// send). Right before each attempt it checks the member (check), which
// also records *prev.
func (r *jobRun) deliver(ctx context.Context, it item, prev *[]rec) (outcome string, ok bool) {
	w := r.w
	ann := withFooter(r.anns[it.lang], w.opts.Footer, it.member, it.lang)
	attempts, limited := 0, 0
	for {
		if len(*prev) > 0 && r.lim.pausedUntil.Load() > time.Now().UnixNano() {
			*prev = r.commit(*prev) // a 429 pause: do not leave it unrecorded that long
		}
		if w.gate.wait(ctx, it.chat) != nil || r.lim.wait(ctx) != nil || r.isLost(it.pg) {
			return "", false
		}
		switch r.check(it, prev) {
		case checkSend:
		case outGone:
			return outGone, true
		case checkLost:
			return "", false
		default: // the job stopped (paused, cancelled, done), or the worker
			r.halt()
			return "", false
		}
		w.gate.mark(it.chat)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		err := w.send.SendAnnouncement(sctx, it.chat, ann)
		cancel()
		after, limitedNow := bot.RetryAfter(err)
		switch {
		case err == nil:
			return outSent, true
		case limitedNow:
			limited++
			w.log.Warn("broadcast: rate limited by Telegram, pausing every sender", slog.Duration("retry_after", after))
			r.lim.pause(context.WithoutCancel(ctx), max(after, time.Second))
			if limited >= maxRateLimited {
				return outFailed, true
			}
		case errors.Is(err, bot.ErrBlocked):
			return outBlocked, true
		case errors.Is(err, bot.ErrChatNotFound), errors.Is(err, bot.ErrRejected):
			w.log.Debug("broadcast: message refused", slog.Int64("chat", it.chat), slog.Any("err", err))
			return outFailed, true
		default:
			attempts++
			if attempts >= w.opts.MaxAttempts {
				w.log.Warn("broadcast: giving up on a member after transient errors",
					slog.Int64("chat", it.chat), slog.Int("attempts", attempts), slog.Any("err", err))
				return outFailed, true
			}
			wait := backoff(attempts, w.opts.RetryBackoff, 30*time.Second)
			w.log.Debug("broadcast: transient error, will retry", slog.Int64("chat", it.chat),
				slog.Int("attempt", attempts), slog.Duration("in", wait), slog.Any("err", err))
			if !ctxtime.Sleep(ctx, wait) {
				return "", false
			}
		}
	}
}

// check's answers besides outGone and a job status.
const (
	checkSend = "send"
	checkLost = "lost"
)

// check asks recordScript whether the member may still be sent to, in the
// round trip that records *prev (then cleared), after the send slot came
// up. It returns checkSend, outGone, checkLost, or the job's status when
// it is not running ("" when the worker is stopping).
func (r *jobRun) check(it item, prev *[]rec) string {
	ack, answer := make(chan string, len(*prev)), make(chan string, 1)
	batch := *prev
	for i := range batch {
		batch[i].ack = ack
	}
	*prev = nil
	r.flushIn <- append(batch, rec{chat: it.chat, pg: it.pg, check: true, ack: answer})
	for range batch {
		<-ack
	}
	return <-answer
}

// flushLoop is the group commit: it records outcomes in batches (one
// round trip for everything waiting), renews the leases of this worker's
// pages, and completes finished pages. It ends when flushIn is closed and
// drained.
func (r *jobRun) flushLoop(ctx context.Context) {
	tick := time.NewTicker(r.w.opts.LeaseTime / 3)
	defer tick.Stop()
	for {
		var batch []rec
		select {
		case b, ok := <-r.flushIn:
			if !ok {
				return
			}
			batch = b
		drain:
			for len(batch) < 512 {
				select {
				case more, ok := <-r.flushIn:
					if !ok {
						break drain
					}
					batch = append(batch, more...)
				default:
					break drain
				}
			}
		case <-tick.C:
		}
		r.flush(ctx, batch)
	}
}

// flush records a batch, retrying Redis errors. While the worker runs it
// keeps trying (nothing is sent meanwhile: senders wait for their ack);
// once it is stopping it gives up after a few tries, and those chats are
// sent again after the lease expires (the in-flight duplicates).
func (r *jobRun) flush(ctx context.Context, batch []rec) {
	w := r.w
	for attempt := 1; ; attempt++ {
		st, answers, err := r.record(batch)
		if err == nil {
			if st != StatusRunning {
				r.halt()
			}
			ack(batch, st, answers)
			return
		}
		if ctx.Err() != nil && attempt >= 3 {
			w.log.Warn("broadcast: could not record outcomes while stopping", slog.Int("messages", len(batch)), slog.Any("err", err))
			r.halt()
			ack(batch, "", nil)
			return
		}
		wait := backoff(attempt, 100*time.Millisecond, 5*time.Second)
		w.log.Warn("broadcast: cannot record outcomes, will retry", slog.Any("err", err), slog.Duration("in", wait))
		ctxtime.Sleep(ctx, wait)
	}
}

// ack answers a recorded batch: the job status, or a check's answer
// ("" when there is none).
func ack(batch []rec, status string, answers map[int]string) {
	for i, x := range batch {
		switch {
		case x.ack == nil:
		case x.check:
			x.ack <- answers[i]
		default:
			x.ack <- status
		}
	}
}

// record runs recordScript for a batch plus every page of ours that needs
// renewing or completing. It returns the job status and the answers of
// the batch's checks by their index in batch.
func (r *jobRun) record(batch []rec) (string, map[int]string, error) {
	w := r.w
	byPage := map[*page][]int{}
	outcomes := map[*page]int{}
	for i, x := range batch {
		byPage[x.pg] = append(byPage[x.pg], i)
		if !x.check {
			outcomes[x.pg]++
		}
	}
	keys := []string{
		w.k.job(r.job.ID), w.k.leases(r.job.ID), w.k.owners(r.job.ID), w.k.done(r.job.ID), w.k.rate(r.job.ID),
		w.k.subs(), w.k.subsData(), w.k.subsStats(), w.k.active(), w.k.bounds(r.job.ID),
	}
	var checks []int // batch indices of the checks, in the script's order
	entries := func(args []any, idx []int) []any {
		for _, i := range idx {
			x := batch[i]
			outcome := x.outcome
			if x.check {
				names := tombstone.Names(w.opts.Keyring, w.k.p, x.chat)
				outcome = fmt.Sprintf("?%d:%d", len(keys)+1, len(names))
				keys = append(keys, names...)
				checks = append(checks, i)
			}
			args = append(args, x.chat, outcome)
		}
		return args
	}
	r.mu.Lock()
	var order []*page
	for pg := range r.pages {
		order = append(order, pg)
	}
	args := []any{w.opts.LeaseTime.Milliseconds(), r.job.ID, 0}
	complete := map[*page]bool{}
	n := 0
	for _, pg := range order {
		idx := byPage[pg]
		if pg.lost {
			continue
		}
		done := pg.pending-outcomes[pg] == 0
		complete[pg] = done
		args = append(args, pg.rng, pg.tok, flag(done), len(idx))
		args = entries(args, idx)
		n++
	}
	// Outcomes of pages no longer ours (lost) are still recorded.
	for pg, idx := range byPage {
		if _, ours := r.pages[pg]; ours && !pg.lost {
			continue
		}
		args = append(args, pg.rng, pg.tok, "0", len(idx))
		args = entries(args, idx)
		n++
	}
	r.mu.Unlock()
	if n == 0 {
		return StatusRunning, nil, nil
	}
	args[2] = n
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := recordScript.Run(ctx, w.rdb, keys, args...).Slice()
	if err != nil {
		return "", nil, err
	}
	st, _ := res[0].(string)
	answers := map[int]string{}
	for j, a := range asSlice(res, 3) {
		if j < len(checks) {
			answers[checks[j]], _ = a.(string)
		}
	}
	lost := map[string]bool{}
	for _, x := range asSlice(res, 1) {
		if s, ok := x.(string); ok {
			lost[s] = true
		}
	}
	r.mu.Lock()
	for pg, k := range outcomes {
		pg.pending -= k
	}
	for _, pg := range order {
		switch {
		case lost[pg.rng]:
			pg.lost = true
			delete(r.pages, pg)
			w.log.Warn("broadcast: a page was taken over by another worker", slog.String("job", r.job.ID), slog.String("range", pg.rng))
		case complete[pg]:
			delete(r.pages, pg)
		}
	}
	r.mu.Unlock()
	for _, x := range asSlice(res, 2) {
		s, _ := x.(string)
		chat, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			continue
		}
		w.log.Info("broadcast: member blocked the bot; unsubscribed", slog.Int64("chat", chat))
		if w.opts.OnUnsubscribe != nil {
			w.opts.OnUnsubscribe(chat)
		}
	}
	return st, answers, nil
}

// release hands back the pages this worker claimed but did not finish
// (job paused or worker stopping), so they are claimable at once.
func (r *jobRun) release(ctx context.Context) {
	r.mu.Lock()
	var args []any
	for pg := range r.pages {
		args = append(args, pg.rng, pg.tok)
	}
	r.pages = map[*page]struct{}{}
	r.mu.Unlock()
	if len(args) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err := releaseScript.Run(cctx, r.w.rdb, []string{r.w.k.leases(r.job.ID), r.w.k.owners(r.job.ID)}, args...).Err()
	if err != nil {
		r.w.log.Warn("broadcast: could not hand back pages; they return when their lease expires", slog.Any("err", err))
	}
}

// backoff is exponential from base, capped, with ±20% jitter.
func backoff(attempt int, base, ceiling time.Duration) time.Duration {
	d := time.Duration(float64(base) * math.Pow(2, float64(min(attempt-1, 20))))
	d = min(d, ceiling)
	jitter := time.Duration(mrand.Int64N(int64(d)/5 + 1))
	if mrand.IntN(2) == 0 {
		return d + jitter
	}
	return max(d-jitter, base)
}

// withFooter adds the footer in the member's language (else the
// version's) under the announcement, unless it would then be too long or
// invalid.
func withFooter(a Announcement, footers map[string]string, member, version string) Announcement {
	f := strings.TrimSpace(footers[member])
	if f == "" {
		f = strings.TrimSpace(footers[version])
	}
	if f == "" {
		return a
	}
	if html := a.HTML + "\n\n" + f; tghtml.Validate(html) == nil {
		a.HTML = html
	}
	return a
}
