// Package outbox is a durable, ordered job queue in Redis, shared by all
// replicas of the bot. Every message to Slack and every relay to Telegram
// goes through one: Enqueue stores it before anything is sent, and Run
// hands it to a Handler until the handler succeeds, so an outage of Slack
// or Telegram (or a restart of the bot) delays messages but loses none and
// keeps each conversation in order.
//
// # Key layout
//
// All keys start with Options.Prefix (default "bridgebot:") and the
// outbox's Name (for example "slack" or "telegram"); {p} is a partition
// number in [0, Partitions):
//
//	{prefix}outbox:{name}:{p}           stream: the entries of partition p,
//	                                    fields key, kind, payload, enq (Unix
//	                                    ms). Consumer group "outbox". An
//	                                    entry is deleted (XACK + XDEL) once
//	                                    handled, so XLEN is the backlog.
//	                                    Never trimmed by length.
//	{prefix}outbox:{name}:{p}:lease     string: the Consumer that owns
//	                                    partition p, PX Lease, renewed
//	                                    every Lease/3 while it runs
//	                                    (also while a handler is busy),
//	                                    deleted when it stops cleanly.
//	{prefix}outbox:{name}:{p}:attempts  hash: entry ID → tries started so
//	                                    far, so a restart does not reset
//	                                    Entry.Attempts. Field removed with
//	                                    the entry.
//	{prefix}outbox:{name}:dead          stream: entries given up on
//	                                    (Permanent), fields id (Entry.ID),
//	                                    key, kind,
//	                                    payload, attempts, error, enq,
//	                                    failed (Unix ms), consumer. Kept
//	                                    Options.DeadRetention (30 days) and
//	                                    at most DeadMaxLen entries: each
//	                                    new dead letter trims older ones.
//	{prefix}outbox:{name}:members       sorted set: running consumers, score
//	                                    = Redis time (ms) at which the
//	                                    member counts as gone. Used to split
//	                                    partitions fairly between replicas.
//
// An entry goes to partition FNV-1a(key) mod Partitions, so all entries
// with one key (one Slack thread, one Telegram chat) share a partition.
// Every replica must use the same Partitions; do not change it while
// entries are pending (entries of a partition that no longer exists would
// wait forever, and keys would move between partitions mid-conversation).
//
// # Guarantees
//
//   - Durable: Enqueue returns only after Redis stored the entry; an error
//     means it was not stored (or, rarely, that the reply was lost).
//   - Idempotent on request: EnqueueOnce stores an entry and records a
//     caller's key (such as an event ID) in one atomic step, and stores
//     nothing when the key is already recorded, so a producer that may be
//     asked twice (Slack's event retries) queues its work exactly once.
//   - Ordered: a partition is consumed by at most one consumer at a time
//     (its lease), strictly in stream order and one entry at a time. The
//     head entry is retried until it succeeds or is given up; the entries
//     behind it wait. So entries of one key are handled in Enqueue order
//     (for Enqueue calls that do not overlap in time).
//   - Retried: a plain error is retried with exponential backoff and jitter
//     between MinBackoff and MaxBackoff, without limit: a Slack outage of an
//     hour delays delivery by at most about MaxBackoff after it ends.
//     RetryAfter(d, err) waits exactly d (a 429's Retry-After). Permanent
//     gives up: the entry goes to the dead-letter stream and is logged at
//     Warn once.
//   - Shared: replicas running the same Name and Prefix split the
//     partitions between them (each takes about Partitions/replicas), and
//     the partitions of a replica that stops are taken over: at once after
//     a clean shutdown (which releases the leases), after at most Lease
//     (plus a poll interval, at most a second) after a crash. The lease is
//     renewed by its holder every Lease/3 independently of its handler, so
//     a live holder keeps it however long a call takes; only a holder that
//     cannot reach Redis (or is paused) for Lease loses it.
//   - At least once: a handler that succeeded but whose process died before
//     the acknowledgement reached Redis, or that was still running when its
//     lease was lost (Redis unreachable for longer than Lease, or a process
//     paused longer than Lease), is called again for the same entry by the
//     next owner. Entry.ID is stable across such redeliveries and
//     Entry.Attempts > 1 says an earlier try was started, so a handler that
//     must not repeat itself can record Entry.ID after its side effect and
//     check it first. In the lost-lease case, two replicas may briefly
//     handle one partition at once.
//
// # Shutdown
//
// Run returns nil when its ctx is cancelled, after the handlers that are
// running return. A handler's ctx is not cancelled with Run's ctx: it is
// cancelled Options.Grace (default 10s) later, so a message being sent at
// shutdown normally finishes and is acknowledged instead of being sent
// again by the next process. Backoff waits end at once. Leases are released
// on the way out, so another replica takes over immediately. A handler cut
// off by the end of Grace leaves its entry pending (durable): the next
// owner tries it again. A process with a shutdown deadline sets Grace
// well below it (bridgebot: half of SHUTDOWN_TIMEOUT), so Run returns in
// time: Run then needs only the time for its handlers to notice the
// cancellation and one round trip to release the leases.
//
// # Privacy
//
// Payloads hold members' messages. They are stored in Redis (that is the
// point) sealed with Options.Keyring (bot/sealed: AES-256-GCM), in the
// streams and in the dead letters alike, and never logged: logs carry
// entry IDs, kinds, keys, attempts and error text only. A payload whose
// key is not in the ring is given up as a dead letter (kept sealed) with
// an error naming the key ID it needs.
//
// # Connections
//
// Run keeps one blocking read open per outbox (to wake on entries enqueued
// by other processes) plus short commands per partition, so the client's
// pool should have a few connections per outbox; go-redis's default
// (10 per CPU) is plenty. Redis Cluster is not supported: the wake-up read
// spans the partitions' streams.
package outbox

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/sealed"
)

// Defaults for Options.
const (
	DefaultPrefix     = "bridgebot:"
	DefaultName       = "default"
	DefaultPartitions = 8
	DefaultLease      = 10 * time.Second
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Minute
	DefaultGrace      = 10 * time.Second
	// DefaultDeadRetention is how long dead letters are kept; they hold
	// members' messages (sealed), so not forever.
	DefaultDeadRetention = 30 * 24 * time.Hour
	DefaultDeadMaxLen    = 10000
)

// group is the consumer group every replica reads partitions through.
const group = "outbox"

// Entry is one queued job as the handler sees it.
type Entry struct {
	// ID identifies the entry within the outbox: "{partition}/{stream
	// ID}", such as "3/1718000000000-0". It is what Enqueue returned and
	// the same on every redelivery, so a handler may dedupe on it. (Bare
	// stream IDs are unique only within one partition's stream.)
	ID string
	// Key orders entries: entries with one key are handled in the order
	// they were enqueued. For example "chat:123" or a Slack thread.
	Key string
	// Kind tells the handler what Payload holds.
	Kind string
	// Payload is the handler's data, stored as given.
	Payload []byte
	// Attempts is the number of this try: 1 the first time the handler is
	// called for the entry, 2 for the first retry, and so on. It is kept in
	// Redis, so it keeps counting across restarts and hand-overs; after a
	// crash or a shutdown it may count one try more than actually ran,
	// never fewer. Attempts > 1 means an earlier try may have had its
	// effect.
	Attempts int
	// Enqueued is when Enqueue stored the entry (Options.Now).
	Enqueued time.Time

	// stored is the payload as stored (sealed), what a dead letter keeps.
	stored []byte
}

// Handler delivers one entry. It returns nil when done; RetryAfter(d, err)
// to be called again after exactly d; Permanent(err) to give the entry up
// (it is moved to the dead-letter stream); any other error to be called
// again after a backoff. The entries behind it in its partition wait
// meanwhile. Errors may be wrapped: they are recognised with errors.As.
//
// The handler may be called again for an entry it already handled (see
// the package doc); it is never called for two entries of one partition
// at once by one process. Its ctx has no deadline: the handler should
// bound its own calls (an HTTP client timeout), since a handler that
// hangs holds up its partition.
type Handler func(ctx context.Context, e Entry) error

// Options configures an Outbox. The zero value is usable.
type Options struct {
	// Prefix starts every key. Default DefaultPrefix.
	Prefix string
	// Name separates outboxes sharing a prefix, such as "slack" and
	// "telegram". Default DefaultName.
	Name string
	// Partitions is the number of independently ordered streams, the unit
	// of parallelism and of sharing between replicas. Every replica must
	// use the same value. Default DefaultPartitions.
	Partitions int
	// Consumer names this process in the consumer group and in leases. It
	// must be unique among running replicas. Default
	// "{hostname}-{pid}-{random}".
	Consumer string
	// Lease is how long a partition stays owned by a consumer that stopped
	// renewing it (crashed), which bounds how long a crash delays its
	// partitions. A running consumer renews it every Lease/3, whatever its
	// handler is doing. Default DefaultLease.
	Lease time.Duration
	// MinBackoff and MaxBackoff bound the wait before retrying an entry
	// whose handler failed with a plain error: about MinBackoff·2^(n-1)
	// after the n-th consecutive failure, ±25% jitter, capped at
	// MaxBackoff. Defaults DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Grace is how long a running handler's ctx outlives Run's ctx at
	// shutdown; set it below any deadline the process has to stop by (see
	// Shutdown in the package doc). Default DefaultGrace.
	Grace time.Duration
	// Logger receives the outbox's logs. Default slog.Default().
	Logger *slog.Logger
	// DeadRetention is how long a dead letter is kept (trimmed when a new
	// one is added). Default DefaultDeadRetention.
	DeadRetention time.Duration
	// DeadMaxLen bounds the dead-letter stream. Default DefaultDeadMaxLen.
	DeadMaxLen int64
	// Keyring seals payloads. Default sealed.Process(), a throwaway key
	// only this process can use (tests).
	Keyring *sealed.Keyring
	// Now is the clock for Entry.Enqueued and dead-letter timestamps.
	// Default time.Now. Waits always use the real clock.
	Now func() time.Time
	// OnRetry, if set, is called each time a handler failed and its entry
	// will be tried again (rate limited or a plain error), so operators
	// can see an outage building up before anything is given up (metrics).
	// It must not block.
	OnRetry func()
}

// Outbox is a durable, ordered, shared job queue. Enqueue and Stats are
// safe for concurrent use; Run may be active once at a time per Outbox.
type Outbox struct {
	client redis.UniversalClient
	opts   Options
	log    *slog.Logger

	streams  []string // per partition
	leases   []string
	attempts []string
	dead     string
	members  string

	// wake[p] is signalled by Enqueue in this process, so the owner of p
	// here starts at once without waiting for Redis to tell it.
	wake []chan struct{}

	running atomic.Bool
	held    atomic.Int64 // partitions owned (or being acquired) by Run
	fair    atomic.Int64 // how many partitions this consumer should own

	// rebalance is closed when fair drops, so idle partitions are handed
	// over at once rather than at their next poll.
	rebalanceMu sync.Mutex
	rebalance   chan struct{}

	// skipRelease makes Run exit like a crashed process: leases and
	// membership are left to expire. For tests.
	skipRelease bool
}

// New returns an Outbox on client. It does not contact Redis.
func New(client redis.UniversalClient, opts Options) *Outbox {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Partitions <= 0 {
		opts.Partitions = DefaultPartitions
	}
	if opts.Consumer == "" {
		opts.Consumer = defaultConsumer()
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Lease < 30*time.Millisecond {
		opts.Lease = 30 * time.Millisecond
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = opts.MinBackoff
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Keyring == nil {
		opts.Keyring = sealed.Process()
	}
	if opts.DeadRetention <= 0 {
		opts.DeadRetention = DefaultDeadRetention
	}
	if opts.DeadMaxLen <= 0 {
		opts.DeadMaxLen = DefaultDeadMaxLen
	}
	base := opts.Prefix + "outbox:" + opts.Name + ":"
	o := &Outbox{
		client:  client,
		opts:    opts,
		log:     opts.Logger.With(slog.String("outbox", opts.Name), slog.String("consumer", opts.Consumer)),
		dead:    base + "dead",
		members: base + "members",
	}
	for p := range opts.Partitions {
		s := base + strconv.Itoa(p)
		o.streams = append(o.streams, s)
		o.leases = append(o.leases, s+":lease")
		o.attempts = append(o.attempts, s+":attempts")
		o.wake = append(o.wake, make(chan struct{}, 1))
	}
	o.fair.Store(int64(opts.Partitions))
	return o
}

func defaultConsumer() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text())
}

// Consumer returns this outbox's consumer name.
func (o *Outbox) Consumer() string { return o.opts.Consumer }

// Partition returns the partition entries with key go to.
func (o *Outbox) Partition(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(o.opts.Partitions))
}

// Enqueue stores a job for Run to hand to the handler, behind the earlier
// entries with the same key, and returns its ID (see Entry.ID). When it returns
// nil the entry is in Redis and will be delivered even if this process
// stops now. It fails when Redis is unreachable; nothing is buffered in
// memory.
func (o *Outbox) Enqueue(ctx context.Context, key, kind string, payload []byte) (string, error) {
	p := o.Partition(key)
	payload = o.opts.Keyring.Seal(payload)
	id, err := o.client.XAdd(ctx, &redis.XAddArgs{
		Stream: o.streams[p],
		Values: []any{
			"key", key,
			"kind", kind,
			"payload", payload,
			"enq", strconv.FormatInt(o.opts.Now().UnixMilli(), 10),
		},
	}).Result()
	if err != nil {
		return "", fmt.Errorf("outbox %s: enqueue %s for %s: %w", o.opts.Name, kind, key, err)
	}
	select {
	case o.wake[p] <- struct{}{}:
	default:
	}
	return entryID(p, id), nil
}

// enqueueOnceScript stores an entry unless its idempotency key is
// already recorded, and records the key, in one atomic step.
//
//	KEYS[1] stream, [2] idempotency key
//	ARGV[1] key, [2] kind, [3] payload, [4] enq, [5] TTL ms, [6] partition
//
// Reply: {1, entry ID} when stored, {0, entry ID} when the key was
// already recorded (the ID the first call stored).
var enqueueOnceScript = redis.NewScript(`
local old = redis.call('GET', KEYS[2])
if old then return {0, old} end
local sid = redis.call('XADD', KEYS[1], '*', 'key', ARGV[1], 'kind', ARGV[2], 'payload', ARGV[3], 'enq', ARGV[4])
local id = ARGV[6] .. '/' .. sid
redis.call('SET', KEYS[2], id, 'PX', ARGV[5])
return {1, id}
`)

// EnqueueOnce is Enqueue made idempotent by a caller's key, such as
// "{prefix}desk:event:{event_id}" for an event that may be delivered
// again: the entry is stored and onceKey recorded (for ttl) in one atomic
// step, so either both happen or neither does, and a later call with the
// same onceKey stores nothing. It returns the entry's ID and whether this
// call stored it (false: an earlier call did, and id is that entry's).
// onceKey should carry the outbox's prefix; it is a plain string key.
func (o *Outbox) EnqueueOnce(ctx context.Context, onceKey string, ttl time.Duration, key, kind string, payload []byte) (id string, added bool, err error) {
	p := o.Partition(key)
	payload = o.opts.Keyring.Seal(payload)
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	res, err := enqueueOnceScript.Run(ctx, o.client, []string{o.streams[p], onceKey},
		key, kind, payload, strconv.FormatInt(o.opts.Now().UnixMilli(), 10), ttl.Milliseconds(), p).Slice()
	if err != nil {
		return "", false, fmt.Errorf("outbox %s: enqueue %s for %s once: %w", o.opts.Name, kind, key, err)
	}
	if len(res) != 2 {
		return "", false, fmt.Errorf("outbox %s: enqueue %s for %s once: unexpected reply %v", o.opts.Name, kind, key, res)
	}
	n, _ := res[0].(int64)
	id, _ = res[1].(string)
	if n == 1 {
		select {
		case o.wake[p] <- struct{}{}:
		default:
		}
	}
	return id, n == 1, nil
}

// entryID is an Entry.ID: the partition and the stream ID.
func entryID(p int, streamID string) string { return strconv.Itoa(p) + "/" + streamID }

// PartitionStats describes one partition.
type PartitionStats struct {
	// Pending is the number of entries not yet handled, including the one
	// being tried.
	Pending int64
	// Oldest is when the oldest pending entry was stored (Redis clock);
	// zero when Pending is 0.
	Oldest time.Time
	// Owner is the consumer holding the partition's lease; "" if none.
	Owner string
}

// Stats is a snapshot of an outbox.
type Stats struct {
	Partitions []PartitionStats
	// Pending is the sum of the partitions' Pending.
	Pending int64
	// Oldest is the earliest of the partitions' Oldest; zero if none.
	Oldest time.Time
	// Dead is the number of entries in the dead-letter stream.
	Dead int64
}

// Stats reads the backlog per partition and the dead-letter count, in one
// round trip.
func (o *Outbox) Stats(ctx context.Context) (Stats, error) {
	n := o.opts.Partitions
	lens := make([]*redis.IntCmd, n)
	heads := make([]*redis.XMessageSliceCmd, n)
	owners := make([]*redis.StringCmd, n)
	var dead *redis.IntCmd
	cmds, _ := o.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for p := range n {
			lens[p] = pipe.XLen(ctx, o.streams[p])
			heads[p] = pipe.XRangeN(ctx, o.streams[p], "-", "+", 1)
			owners[p] = pipe.Get(ctx, o.leases[p])
		}
		dead = pipe.XLen(ctx, o.dead)
		return nil
	})
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) { // Nil: no owner
			return Stats{}, fmt.Errorf("outbox %s: stats: %w", o.opts.Name, err)
		}
	}
	st := Stats{Partitions: make([]PartitionStats, n), Dead: dead.Val()}
	for p := range n {
		ps := PartitionStats{Pending: lens[p].Val(), Owner: owners[p].Val()}
		if msgs := heads[p].Val(); len(msgs) > 0 {
			ps.Oldest = idTime(msgs[0].ID)
		}
		st.Partitions[p] = ps
		st.Pending += ps.Pending
		if !ps.Oldest.IsZero() && (st.Oldest.IsZero() || ps.Oldest.Before(st.Oldest)) {
			st.Oldest = ps.Oldest
		}
	}
	return st, nil
}

// idTime is the time part of a stream ID ("ms-seq").
func idTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// compareIDs orders stream IDs: -1, 0 or 1. Malformed parts count as 0.
func compareIDs(a, b string) int {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	for _, pair := range [2][2]string{{am, bm}, {as, bs}} {
		x, _ := strconv.ParseUint(pair[0], 10, 64)
		y, _ := strconv.ParseUint(pair[1], 10, 64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}

// RetryAfter tells Run to call the handler again for the same entry after
// exactly d, for a 429 with Retry-After (Slack) or retry_after (Telegram).
// A d ≤ 0 waits MinBackoff. err may be nil.
func RetryAfter(d time.Duration, err error) error {
	return &retryAfterError{after: d, err: err}
}

type retryAfterError struct {
	after time.Duration
	err   error
}

func (e *retryAfterError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("retry after %v", e.after)
	}
	return fmt.Sprintf("retry after %v: %v", e.after, e.err)
}

func (e *retryAfterError) Unwrap() error { return e.err }

// Permanent tells Run to give the entry up: it is acknowledged, moved to
// the dead-letter stream with err's text, and logged at Warn. Use it for
// errors a retry cannot fix (channel archived, bot blocked by the member,
// malformed payload). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was made by Permanent (possibly
// wrapped).
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfterDelay reports the delay of a RetryAfter error (possibly
// wrapped).
func RetryAfterDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}
