package redistest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestCounter(t *testing.T) {
	ctx := context.Background()
	client, prefix := New(t)
	c := new(Counter)
	client.AddHook(c)
	// Connecting costs round trips too (HELLO, CLIENT SETINFO): warm up.
	client.Ping(ctx)
	client.Pipelined(ctx, func(p redis.Pipeliner) error { p.Ping(ctx); return nil })

	for _, step := range []struct {
		what string
		run  func()
	}{
		{"one command", func() { client.Set(ctx, prefix+"a", "1", 0) }},
		{"one pipeline", func() {
			client.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Get(ctx, prefix+"a")
				p.Get(ctx, prefix+"b")
				return nil
			})
		}},
		{"one transaction", func() {
			client.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Incr(ctx, prefix+"a")
				p.Incr(ctx, prefix+"a")
				return nil
			})
		}},
	} {
		c.Reset()
		step.run()
		if n := c.Count(); n != 1 {
			t.Errorf("%s counted %d", step.what, n)
		}
	}
}

// TestNewCleansOnlyItsPrefix checks, against a real server, that a test's
// keys are deleted when it ends and that nothing else is touched.
func TestNewCleansOnlyItsPrefix(t *testing.T) {
	if os.Getenv("REDIS_URL") == "" {
		t.Skip("REDIS_URL not set: miniredis goes away with the test anyway")
	}
	ctx := context.Background()
	client, other := New(t)
	client.Set(ctx, other+"keep", "1", 0)

	var inner string
	t.Run("inner", func(t *testing.T) {
		c, prefix := New(t)
		inner = prefix
		if !strings.HasPrefix(prefix, "bbtest:") || prefix == other {
			t.Fatalf("prefix %q not unique", prefix)
		}
		for i := range 1500 { // more than one SCAN batch
			c.Set(ctx, prefix+"k"+string(rune('a'+i%26))+strings.Repeat("x", i%7)+":"+string(rune(i)), "v", 0)
		}
	})
	keys, err := client.Keys(ctx, inner+"*").Result()
	if err != nil || len(keys) != 0 {
		t.Errorf("after the test %d keys remain under %s (err %v)", len(keys), inner, err)
	}
	if client.Exists(ctx, other+"keep").Val() != 1 {
		t.Error("cleanup deleted another test's key")
	}
}
