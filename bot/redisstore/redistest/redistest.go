// Package redistest gives tests a Redis to talk to: a real server when
// REDIS_URL is set (so CI can check behaviour against the real thing), an
// in-process miniredis otherwise (so `go test` needs nothing installed).
//
// Tests of several packages may run at once against one real server, so
// each test gets its own key prefix and cleans up only under it; nothing
// here ever flushes a database.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// New returns a client and a key prefix unique to this test, such as
// "bbtest:1f2e3d4c5b6a7988:". With REDIS_URL set it connects there and,
// when the test ends, deletes the keys under the prefix; otherwise it
// starts a miniredis that lives as long as the test. Either way the client
// is closed at the end of the test.
func New(tb testing.TB) (client *redis.Client, prefix string) {
	tb.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		_, client, prefix = NewMini(tb)
		return client, prefix
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("redistest: REDIS_URL is not a valid Redis URL: %v", err)
	}
	client = redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		// Only the address and database: the URL may hold a password.
		tb.Fatalf("redistest: cannot reach Redis at %s (db %d) from REDIS_URL: %v; unset REDIS_URL to use miniredis",
			opts.Addr, opts.DB, err)
	}
	prefix = uniquePrefix(tb)
	// Cleanups run last-in first-out: delete the keys, then close.
	tb.Cleanup(func() { client.Close() })
	tb.Cleanup(func() {
		if err := deletePrefix(client, prefix); err != nil {
			tb.Errorf("redistest: delete keys %s*: %v", prefix, err)
		}
	})
	return client, prefix
}

// NewMini always starts a miniredis, for tests that need to control the
// server: stop and restart it (m.Close, m.Restart) or move its clock
// (m.FastForward).
func NewMini(tb testing.TB) (*miniredis.Miniredis, *redis.Client, string) {
	tb.Helper()
	m := miniredis.RunT(tb)
	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	tb.Cleanup(func() { client.Close() })
	return m, client, uniquePrefix(tb)
}

func uniquePrefix(tb testing.TB) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("redistest: random prefix: %v", err)
	}
	return "bbtest:" + hex.EncodeToString(b[:]) + ":"
}

// deletePrefix removes the keys under prefix with SCAN and DEL, leaving
// everything else on the shared server alone. The prefix is random hex, so
// it holds no glob characters.
func deletePrefix(client *redis.Client, prefix string) error {
	// The test's context is already cancelled when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var cursor uint64
	for {
		keys, next, err := client.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// Counter is a go-redis hook counting round trips to the server: each
// command and each pipeline counts one, whatever it contains. Benchmarks
// and tests use it to hold the store to its round-trip budget, which
// matters more than CPU time for a bot waiting on the network.
//
// go-redis sends a new connection's handshake (HELLO, CLIENT SETINFO)
// through the same hooks, and those are real round trips too, so they are
// counted: warm the client up (one command and one pipeline) and Reset
// before measuring steady-state cost.
//
//	c := new(redistest.Counter)
//	client.AddHook(c)
type Counter struct {
	n atomic.Int64
}

var _ redis.Hook = (*Counter)(nil)

// Count returns the round trips since the last Reset.
func (c *Counter) Count() int64 { return c.n.Load() }

// Reset sets the count to zero.
func (c *Counter) Reset() { c.n.Store(0) }

// DialHook does not count: connecting is not a command.
func (c *Counter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook counts one per command.
func (c *Counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts one per pipeline or transaction.
func (c *Counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}
