package telegramtest

import (
	"fmt"
	"os"
	"testing"
)

// NewServer starts a Server outside a test, for programs such as the load
// generator (cmd/bridgeload). The caller closes it with Close. Misuse that
// fails a test under New (a non-positive user id, an unknown message)
// panics here instead.
func NewServer(opts ...Option) (s *Server, err error) {
	defer func() {
		// httptest panics when it cannot listen on a loopback port.
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("telegramtest: start server: %v", p)
		}
	}()
	return New(processTB{}, opts...), nil
}

// processTB is the testing.TB a Server started by NewServer reports to.
// The Server only calls Helper, Cleanup, Errorf and Fatalf; the embedded
// interface is nil, so any other method would panic (a change to follow
// here).
type processTB struct{ testing.TB }

func (processTB) Helper()        {}
func (processTB) Cleanup(func()) {} // the caller closes the server
func (processTB) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
func (processTB) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("telegramtest: "+format, args...))
}
