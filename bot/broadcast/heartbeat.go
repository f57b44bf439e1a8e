package broadcast

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Heartbeats: a worker writes one every heartbeatEvery; it counts as live
// for HeartbeatTTL.
const (
	heartbeatEvery = 3 * time.Second
	HeartbeatTTL   = 10 * time.Second
)

// WorkerInfo describes a live worker (its heartbeat).
type WorkerInfo struct {
	Consumer    string    `json:"consumer"`
	Rate        float64   `json:"rate"`
	PaidRate    float64   `json:"paid_rate"`
	AllowPaid   bool      `json:"allow_paid"`
	Concurrency int       `json:"concurrency"`
	Started     time.Time `json:"started"`
	Seen        time.Time `json:"-"`
}

// heartbeats writes the worker's heartbeat (its settings) every
// heartbeatEvery until ctx ends.
func (w *Worker) heartbeats(ctx context.Context) {
	info, _ := json.Marshal(WorkerInfo{
		Consumer: w.opts.Consumer, Rate: w.opts.Rate, PaidRate: w.opts.PaidRate,
		AllowPaid: w.opts.AllowPaid, Concurrency: w.opts.Concurrency, Started: time.Now(),
	})
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		err := heartbeatScript.Run(ctx, w.rdb, []string{w.k.workers(), w.k.workersInfo()}, w.opts.Consumer, string(info)).Err()
		if err != nil && ctx.Err() == nil {
			w.log.Warn("broadcast worker: heartbeat failed", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// clearHeartbeat takes a stopping worker off the list at once.
func (w *Worker) clearHeartbeat(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_, _ = w.rdb.TxPipelined(cctx, func(p redis.Pipeliner) error {
		p.ZRem(cctx, w.k.workers(), w.opts.Consumer)
		p.HDel(cctx, w.k.workersInfo(), w.opts.Consumer)
		return nil
	})
}

// Heartbeats reads the workers' heartbeats: which bots are running to
// deliver broadcasts, and with what settings.
type Heartbeats struct {
	rdb redis.UniversalClient
	k   keys
}

// NewHeartbeats returns the heartbeats on client (not closed by them).
func NewHeartbeats(client redis.UniversalClient, opts Options) *Heartbeats {
	return &Heartbeats{rdb: client, k: keys{opts.withDefaults().Prefix}}
}

// Workers lists the workers with a heartbeat in the last HeartbeatTTL: an
// empty list means no bot is running to deliver broadcasts.
func (s *Heartbeats) Workers(ctx context.Context) ([]WorkerInfo, error) {
	res, err := workersScript.Run(ctx, s.rdb, []string{s.k.workers(), s.k.workersInfo()}, HeartbeatTTL.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("broadcast: workers: %w", err)
	}
	var out []WorkerInfo
	for i := 0; i+1 < len(res); i += 2 {
		var wi WorkerInfo
		_ = json.Unmarshal([]byte(res[i]), &wi)
		wi.Seen = fromMS(res[i+1])
		out = append(out, wi)
	}
	return out, nil
}
