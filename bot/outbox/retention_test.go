package outbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/redisstore/redistest"
)

// Dead letters are not kept forever: each new one trims those older than
// DeadRetention and keeps at most DeadMaxLen.
func TestDeadLettersAreTrimmedByAgeAndLength(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	sink, log := newLogSink()
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(sink.all())
		}
	})
	opts := testOptions(prefix, "slack", "c1", log)
	opts.DeadMaxLen = 3
	o := New(client, opts)
	ctx := context.Background()

	// Two dead letters from long ago.
	for _, id := range []string{"1000-0", "2000-0"} {
		if err := client.XAdd(ctx, &redis.XAddArgs{Stream: o.dead, ID: id, Values: []any{"key", "chat:1", "payload", "old"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rec := newRecorder()
	start(t, o, func(ctx context.Context, e Entry) error {
		if string(e.Payload) == "5" {
			rec.add("c1", e)
			return nil
		}
		return Permanent(errors.New("gone for good"))
	})
	for i := range 5 {
		if _, err := o.Enqueue(ctx, "chat:2", "q", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.Enqueue(ctx, "chat:2", "q", []byte("5")); err != nil {
		t.Fatal(err)
	}
	rec.waitDistinct(t, 1)

	dead, err := client.XRange(ctx, o.dead, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 3 {
		t.Fatalf("%d dead letters, want 3 (DeadMaxLen)", len(dead))
	}
	for _, m := range dead {
		if m.ID == "1000-0" || m.ID == "2000-0" {
			t.Errorf("a dead letter older than the retention is still there: %s", m.ID)
		}
	}
	ring := o.opts.Keyring
	last, _ := ring.Open([]byte(dead[2].Values["payload"].(string)))
	if string(last) != "4" {
		t.Errorf("newest dead letter %q, want the last one given up", last)
	}
}

// PurgeDead deletes a key's dead letters enqueued up to a time — an
// erasure's second pass — and keeps later ones and other keys'.
func TestPurgeDeadUpToATime(t *testing.T) {
	t.Parallel()
	o, client := newTestOutbox(t, nil)
	ctx := context.Background()
	for _, d := range []struct{ key, enq string }{{"chat:1", "1000"}, {"chat:1", "2000"}, {"chat:1", "3000"}, {"chat:2", "1000"}} {
		if err := client.XAdd(ctx, &redis.XAddArgs{Stream: o.dead, Values: []any{"key", d.key, "kind", "q", "payload", "p", "enq", d.enq}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	n, err := o.PurgeDead(ctx, "chat:1", time.UnixMilli(2000))
	if err != nil || n != 2 {
		t.Fatalf("purged %d, %v; want 2", n, err)
	}
	left, err := client.XRange(ctx, o.dead, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range left {
		got = append(got, fmt.Sprint(m.Values["key"], "@", m.Values["enq"]))
	}
	if fmt.Sprint(got) != "[chat:1@3000 chat:2@1000]" {
		t.Errorf("dead letters left: %v", got)
	}
}
