package fakeserver

import (
	"fmt"
	"log"
	"runtime/debug"
	"sync"
	"testing"
)

// Fataler is the part of testing.TB a waiting helper needs.
type Fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Reporter is where a fake reports a bug of its own (Errorf: a handler
// panicked, the server goes on) or a misuse by its caller (Fatalf: the
// caller cannot go on). A testing.TB is one; Standalone is one for
// programs.
type Reporter interface {
	Fataler
	Errorf(format string, args ...any)
}

// Standalone is the Reporter of a fake running outside a test: Errorf logs
// (to log.Default when Log is nil) and Fatalf panics, as httptest does for
// errors it cannot return.
type Standalone struct {
	Log *log.Logger
}

// Helper does nothing.
func (Standalone) Helper() {}

// Errorf logs.
func (r Standalone) Errorf(format string, args ...any) {
	l := r.Log
	if l == nil {
		l = log.Default()
	}
	l.Printf(format, args...)
}

// Fatalf panics with the message.
func (Standalone) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// Recover runs a handler, turning a panic (a bug in the fake) into an error
// report and the answer failed, rather than a server stuck with its lock
// held. name prefixes the report, e.g. "telegramtest: sendMessage".
func Recover[R, E any](r Reporter, name string, handler func() (R, E), failed E) (res R, err E) {
	defer func() {
		if p := recover(); p != nil {
			r.Errorf("%s panicked: %v\n%s", name, p, debug.Stack())
			var zero R
			res, err = zero, failed
		}
	}()
	return handler()
}

// Locked returns f() run with mu held: the body of a server's getters.
func Locked[T any](mu *sync.Mutex, f func() T) T {
	mu.Lock()
	defer mu.Unlock()
	return f()
}

// ForTest is the New of a fake: it starts the server with start reporting
// to tb, fails the test if it cannot, and closes it at the test's cleanup.
// name prefixes the failure, e.g. "telegramtest".
func ForTest[S interface{ Close() }](tb testing.TB, name string, start func(Reporter) (S, error)) S {
	tb.Helper()
	s, err := start(tb)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Map returns f of each item, nil for nil: the snapshot of a server's list.
func Map[A, B any](items []A, f func(A) B) []B {
	if items == nil {
		return nil
	}
	out := make([]B, len(items))
	for i, v := range items {
		out[i] = f(v)
	}
	return out
}
