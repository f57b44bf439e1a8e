package broadcast

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/sealed"
)

// Defaults for Options.
const (
	DefaultPrefix       = "bridgebot:"
	DefaultRate         = 25
	DefaultPaidRate     = 950
	DefaultConcurrency  = 8
	DefaultPageSize     = 100
	DefaultLeaseTime    = 8 * time.Second
	DefaultPollInterval = time.Second
	DefaultMaxAttempts  = 5
)

// Options configure a Store and a Worker; the zero value is usable.
type Options struct {
	// Prefix starts every key. Default DefaultPrefix.
	Prefix string
	// Rate is the global send rate in messages per second, shared by all
	// replicas. Default 25 (Telegram allows about 30 for bulk sends).
	Rate float64
	// PaidRate is the rate of paid broadcasts (allow_paid_broadcast), when
	// AllowPaid. Default 950: Telegram's ceiling is 1000 per second, and a
	// little headroom keeps network jitter from ever putting 1001 messages
	// in one second (which Telegram answers with a 429 and a pause).
	PaidRate float64
	// AllowPaid lets jobs with Paid set be sent as paid broadcasts, which
	// cost Telegram Stars. Without it they are sent normally, at Rate.
	AllowPaid bool
	// Concurrency is how many messages a worker has in flight at most.
	// Default 8.
	Concurrency int
	// Consumer names this replica in heartbeats, claims and logs. It must
	// differ between running replicas and should stay the same when a
	// replica restarts (the host name, plus a replica number when one host
	// runs several): a worker starting under a name takes back at once the
	// pages an earlier run under that name claimed and did not finish (it
	// crashed), instead of leaving them to their lease. Default
	// hostname:pid:random, a new name each run.
	Consumer string
	Logger   *slog.Logger
	// Keyring seals subscription records (what a member chose on the
	// form). Every process sharing the data needs the same key. Default
	// sealed.Process(), a throwaway key only this process can use (tests).
	Keyring *sealed.Keyring
	// OnUnsubscribe, if set, is called after a worker unsubscribed a
	// member who blocked the bot.
	OnUnsubscribe func(chatID int64)
	// Footer is one line (Telegram HTML) added under every announcement,
	// by the member's language (the version's when the member's is
	// missing): how to stop them. Left out when the message would be too
	// long with it.
	Footer map[string]string
	// Choices are what audiences may select (NewChoices from the loaded
	// sign-up flow). Default ShippedChoices.
	Choices Choices

	// PageSize is how many subscribers are read (and claimed) at a time:
	// it bounds what a worker or Count holds in memory. Default 100, at
	// most 1000.
	PageSize int
	// LeaseTime is how long a claimed page stays with a worker that stops
	// renewing it (a crash) before another worker takes it over; it is
	// renewed every LeaseTime/3. Default 8s, so an abandoned page is taken
	// over within about 9s (LeaseTime plus PollInterval).
	LeaseTime time.Duration
	// PollInterval is how often an idle worker looks for jobs. Default 1s.
	PollInterval time.Duration
	// MaxAttempts bounds sends to one chat on transient errors (5xx,
	// network) before it counts as failed. Default 5.
	MaxAttempts int
	// RetryBackoff is the first wait before retrying a transient error,
	// doubled each time. Default 1s. (Whatever it is, a worker never sends
	// one chat two messages less than a second apart.)
	RetryBackoff time.Duration
}

func (o Options) withDefaults() Options {
	o.Prefix = cmp.Or(o.Prefix, DefaultPrefix)
	o.Rate = positiveOr(o.Rate, DefaultRate)
	o.PaidRate = positiveOr(o.PaidRate, DefaultPaidRate)
	o.Concurrency = positiveOr(o.Concurrency, DefaultConcurrency)
	if o.Consumer == "" {
		host, _ := os.Hostname()
		o.Consumer = host + ":" + strconv.Itoa(os.Getpid()) + ":" + randomHex(2)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Choices.isZero() {
		o.Choices, _ = ShippedChoices() // the shipped content is checked by its tests
	}
	if o.Keyring == nil {
		o.Keyring = sealed.Process()
	}
	o.PageSize = min(positiveOr(o.PageSize, DefaultPageSize), 1000)
	o.LeaseTime = positiveOr(o.LeaseTime, DefaultLeaseTime)
	o.PollInterval = positiveOr(o.PollInterval, DefaultPollInterval)
	o.MaxAttempts = positiveOr(o.MaxAttempts, DefaultMaxAttempts)
	o.RetryBackoff = positiveOr(o.RetryBackoff, time.Second)
	return o
}

// positiveOr is v, or def when v is not positive (unset or nonsense).
func positiveOr[T int | float64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// rateFor is the send rate of a job.
func (o Options) rateFor(paid bool) float64 {
	if paid && o.AllowPaid {
		return o.PaidRate
	}
	return o.Rate
}

// Store is broadcasting's data in Redis, for wiring: the pieces below in
// one value, each used by whoever needs it (the engine takes Subscribers,
// the Slack composer and the CLI the jobs and their progress, `bridgebot
// broadcast` the heartbeats), and Erase, which crosses them. It is safe for
// concurrent use, and any number of processes may share the data.
type Store struct {
	*Subscribers // who opted in (the engine's bot.Subscriptions)
	*Jobs        // broadcasts: create, read, pause, resume, cancel
	*Tracker     // a job's progress for a progress bar
	*Heartbeats  // the workers that are running
}

// Control is what the organizers' tools (the Slack composer, `bridgebot
// broadcast`) do with broadcasts: the jobs and their progress. A *Store
// has it.
type Control interface {
	Choices() Choices
	Preview(ctx context.Context, j Job) (Preview, error)
	Create(ctx context.Context, j Job) (Job, error)
	Get(ctx context.Context, id string) (Job, error)
	List(ctx context.Context, limit int) ([]Job, error)
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	Cancel(ctx context.Context, id string) error
	Progress(ctx context.Context, id string) (Progress, error)
}

var _ Control = (*Store)(nil)

// New returns a Store on client (not closed by the Store).
func New(client redis.UniversalClient, opts Options) *Store {
	opts = opts.withDefaults()
	subs := NewSubscribers(client, opts)
	return &Store{
		Subscribers: subs,
		Jobs:        newJobs(client, opts, subs),
		Tracker:     &Tracker{rdb: client, opts: opts, k: keys{opts.Prefix}},
		Heartbeats:  NewHeartbeats(client, opts),
	}
}

// keys names every key (see the package documentation).
type keys struct{ p string }

func (k keys) subs() string            { return k.p + "subs" }
func (k keys) subsData() string        { return k.p + "subs:data" }
func (k keys) subsStats() string       { return k.p + "subs:stats" }
func (k keys) jobs() string            { return k.p + "broadcast:jobs" }
func (k keys) active() string          { return k.p + "broadcast:active" }
func (k keys) job(id string) string    { return k.p + "broadcast:job:" + id }
func (k keys) leases(id string) string { return k.job(id) + ":leases" }
func (k keys) owners(id string) string { return k.job(id) + ":owners" }
func (k keys) done(id string) string   { return k.job(id) + ":done" }
func (k keys) bounds(id string) string { return k.job(id) + ":bounds" }
func (k keys) rate(id string) string   { return k.job(id) + ":rate" }
func (k keys) pause() string           { return k.p + "broadcast:pause" }
func (k keys) workers() string         { return k.p + "broadcast:workers" }
func (k keys) workersInfo() string     { return k.p + "broadcast:workers:info" }

func (k keys) limit(paid bool) string {
	if paid {
		return k.p + "broadcast:limit:paid"
	}
	return k.p + "broadcast:limit"
}

// Errors of job operations.
var (
	ErrNotFound = errors.New("broadcast: no such broadcast")
	// ErrState wraps refusals such as pausing a finished broadcast.
	ErrState = errors.New("broadcast: not possible in this state")
)

// serverTime reads the Redis clock, which every replica shares.
func serverTime(ctx context.Context, rdb redis.UniversalClient) (time.Time, error) {
	t, err := rdb.Time(ctx).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("broadcast: redis TIME: %w", err)
	}
	return t, nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v string) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}
