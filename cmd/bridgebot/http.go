package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxRequestBody bounds every request body the HTTP server reads.
const maxRequestBody = 1 << 20

// opsServer is run's one HTTP server: Telegram's webhook, Slack's events,
// /healthz, /readyz and /metrics. It listens from the start, so health
// checks answer while the bot connects; the webhook and Slack routes answer
// 503 until their handlers are in place.
type opsServer struct {
	srv   *http.Server
	ln    net.Listener
	mux   *http.ServeMux
	ready *readiness
	log   *slog.Logger
	errc  chan error

	webhook, slack lateHandler
	drain          func() // stops taking updates; set with the webhook

	stopOnce sync.Once
	stopErr  error

	connMu sync.Mutex
	fresh  map[net.Conn]bool // accepted connections that sent nothing yet
}

// startHTTP listens on HTTP_ADDR and starts serving.
func startHTTP(c config, client *redis.Client, m *metrics, log *slog.Logger) (*opsServer, error) {
	ln, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on HTTP_ADDR %s: %w", c.HTTPAddr, err)
	}
	s := &opsServer{
		ln: ln, mux: http.NewServeMux(), log: log, errc: make(chan error, 1), drain: func() {}, fresh: map[net.Conn]bool{},
		ready: newReadiness(func(ctx context.Context) error { return client.Ping(ctx).Err() }, log),
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	s.mux.Handle("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", m.handler(log))
	if c.Webhook.URL != "" {
		s.mux.Handle("/telegram/webhook", countStatus(&s.webhook, m.webhook))
	}
	if c.Slack.SigningSecret != "" {
		s.mux.Handle("/slack/", &s.slack)
	}
	s.srv = &http.Server{
		Handler: bounded(s.mux),
		// Slow or idle clients cannot hold connections. Writing may wait
		// for an update to be handled (a webhook delivery is answered
		// after it), which the dispatcher bounds by its update timeout.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      c.UpdateTimeout + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnState:         s.track,
	}
	log.Info("serving HTTP", slog.String("addr", ln.Addr().String()))
	go func() { s.errc <- s.srv.Serve(ln) }()
	return s, nil
}

// run waits until ctx ends (or serving fails), then shuts down within
// timeout: see shutdown.
func (s *opsServer) run(ctx context.Context, timeout time.Duration) error {
	select {
	case err := <-s.errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return s.shutdown(sctx)
	}
}

// shutdown stops taking updates (the webhook answers 503 so Telegram
// delivers again, to another replica; /readyz answers 503 so the balancer
// stops sending), then waits for requests in flight: a webhook delivery
// is answered once its update is handled.
func (s *opsServer) shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.ready.draining.Store(true)
		s.drain()
		// net/http waits 5 s for a connection that never sent a request
		// (clients and balancers open spare ones); nothing is lost by
		// closing those at once.
		done := make(chan struct{})
		go func() {
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				s.closeFresh()
				select {
				case <-done:
					return
				case <-t.C:
				}
			}
		}()
		err := s.srv.Shutdown(ctx)
		close(done)
		if err != nil {
			s.stopErr = fmt.Errorf("http server shutdown: %w", err)
			s.srv.Close()
		}
	})
	return s.stopErr
}

// track follows which connections have not sent a request yet.
func (s *opsServer) track(c net.Conn, state http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if state == http.StateNew {
		s.fresh[c] = true
	} else {
		delete(s.fresh, c)
	}
}

// closeFresh closes the connections that have not sent a request. A
// connection turns active on a request's first byte, before any handler
// runs, so no request being handled is cut.
func (s *opsServer) closeFresh() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c := range s.fresh {
		c.Close()
		delete(s.fresh, c)
	}
}

// close stops at once; for returning early when the bot failed to start.
func (s *opsServer) close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.shutdown(ctx)
}

// bounded limits every request body, whatever the handler.
func bounded(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		h.ServeHTTP(w, r)
	})
}

// lateHandler is a route whose handler is set once the bot is connected;
// until then it answers 503, which Telegram and Slack retry.
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) set(h http.Handler) { l.h.Store(&h) }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := l.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.Error(w, "starting", http.StatusServiceUnavailable)
}

// readiness is /readyz: 200 once every part connected (Telegram getMe and
// setup, Slack auth.test when configured) while Redis answers; 503 with a
// short reason otherwise, and from the start of a shutdown.
type readiness struct {
	ping     func(context.Context) error
	log      *slog.Logger
	draining atomic.Bool

	mu      sync.Mutex
	waiting map[string]string // part → why it is not ready
}

func newReadiness(ping func(context.Context) error, log *slog.Logger) *readiness {
	return &readiness{ping: ping, log: log, waiting: map[string]string{}}
}

// wait marks a part as not ready yet.
func (r *readiness) wait(part, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiting[part] = why
}

// done marks a part as ready.
func (r *readiness) done(part string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.waiting, part)
}

func (r *readiness) reasons(ctx context.Context) []string {
	if r.draining.Load() {
		return []string{"shutting down"}
	}
	r.mu.Lock()
	parts := slices.Sorted(maps.Keys(r.waiting))
	var out []string
	for _, p := range parts {
		out = append(out, p+": "+r.waiting[p])
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := r.ping(ctx); err != nil {
		r.log.Debug("readyz: redis is not answering", slog.Any("err", err))
		out = append(out, "redis: not answering")
	}
	return out
}

func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if why := r.reasons(req.Context()); len(why) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, strings.Join(why, "\n")+"\n")
		return
	}
	io.WriteString(w, "ready\n")
}

// errShutdownTimeout is returned when in-flight work outlived
// SHUTDOWN_TIMEOUT; updates not acknowledged are delivered again.
var errShutdownTimeout = errors.New("shutdown did not finish in time")
