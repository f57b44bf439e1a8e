package broadcast

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// rateWindow is the span Progress.Rate averages over.
const rateWindow = 10

// Progress is a job's state for a progress bar.
type Progress struct {
	Job
	Done int64   // members processed: Sent+Blocked+Failed+Skipped
	Rate float64 // members processed per second over the last ~10 s (0 in the first 2 s)
	// ETA is the expected time to finish at Rate (at the configured rate
	// while Rate is still 0); 0 when finished, paused or not yet started.
	ETA time.Duration
}

// Tracker reads how far jobs are, for progress bars.
type Tracker struct {
	rdb  redis.UniversalClient
	opts Options
	k    keys
}

// Progress reads a job's counts and recent rate in one round trip.
func (s *Tracker) Progress(ctx context.Context, id string) (Progress, error) {
	id = normID(id)
	pipe := s.rdb.Pipeline()
	jc := pipe.HGetAll(ctx, s.k.job(id))
	rc := pipe.HGetAll(ctx, s.k.rate(id))
	tc := pipe.Time(ctx)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return Progress{}, fmt.Errorf("broadcast: progress %s: %w", id, err)
	}
	if len(jc.Val()) == 0 {
		return Progress{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	j, err := decodeJob(id, jc.Val())
	if err != nil {
		return Progress{}, err
	}
	p := Progress{Job: j, Done: j.Counts.Done()}
	if j.Status != StatusRunning {
		return p, nil
	}
	now := tc.Val()
	sec := now.Unix()
	// Complete seconds only, [sec-window, sec), and not before the start;
	// under two seconds of sending there is no telling yet.
	from := float64(sec - rateWindow)
	if started := float64(j.Started.UnixMilli()) / 1000; started > from {
		from = started
	}
	if span := float64(sec) - from; span >= 2 {
		ring := rc.Val()
		var n int64
		for i := range 16 {
			t, _ := strconv.ParseInt(ring["t"+strconv.Itoa(i)], 10, 64)
			if t >= sec-rateWindow && t < sec {
				c, _ := strconv.ParseInt(ring["c"+strconv.Itoa(i)], 10, 64)
				n += c
			}
		}
		p.Rate = float64(n) / span
	}
	left := max(j.Counts.Total-p.Done, 0)
	rate := p.Rate
	if rate <= 0 {
		rate = s.opts.rateFor(j.Paid)
	}
	p.ETA = EstimateDuration(int(left), rate)
	return p, nil
}
