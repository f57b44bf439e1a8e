// Package testkit is what tests across the module share, so each does not
// grow its own copy: a buffer that one goroutine writes (a logger, a
// command's output) while the test reads it, a clock that moves only when
// told, running a long-lived part (a worker, a bot) until the test ends,
// waiting for a condition, and the shipped flows and texts.
package testkit

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"bridgebot/flows"
	"bridgebot/locales"
)

// Buffer is a bytes.Buffer safe for concurrent writes and reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Reset forgets what was written.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}

// Clock is a clock that stands still until advanced, safe for concurrent
// use: its Now method is what the code under test is given as its clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock is a clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Go runs run in a goroutine until the test ends; then its context is
// cancelled and the test waits for it to return, so nothing outlives the
// test (its Redis keys and fakes are cleaned up after).
func Go(t testing.TB, run func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// Start runs run in a goroutine until the returned stop is called or the
// test ends. stop cancels run's context and waits up to wait for it to
// return, failing the test if it returned an error or did not stop (what
// names it in the failure). stop may be called more than once.
func Start(t testing.TB, what string, wait time.Duration, run func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: %v", what, err)
				}
			case <-time.After(wait):
				t.Errorf("%s did not stop within %v", what, wait)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Eventually polls cond every 10 ms until it holds, failing the test if
// it does not within timeout (what names the wait): for state that no
// event announces, such as what is in Redis.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Shipped is the flows and texts the bot ships with (flows/default,
// locales), failing the test if they do not load.
func Shipped(t testing.TB) (map[string]*flows.Flow, *locales.Catalog) {
	t.Helper()
	fl, err := flows.Load(flows.Default())
	if err != nil {
		t.Fatal(err)
	}
	cat, err := locales.Load(locales.Default())
	if err != nil {
		t.Fatal(err)
	}
	return fl, cat
}
