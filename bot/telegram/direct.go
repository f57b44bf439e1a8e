package telegram

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// directTransport is an HTTP/1.1 client transport that does the whole
// exchange on the caller's goroutine: write the request, read the answer,
// hand the connection back when the body has been read.
//
// Why not net/http's Transport: it runs a reading and a writing goroutine
// per connection, so every Bot API call wakes three goroutines in turn,
// and on a small machine those wake-ups (futex calls, the scheduler
// looking for work) cost more CPU than the call's own system calls; they
// were a fifth of the bot's CPU under load. The bot makes one call at a
// time per member, waits for each answer, and reads every answer whole,
// which is the case a synchronous client handles best.
//
// It keeps idle connections per host (TLS for https, HTTP/1.1 only),
// checks that an idle connection is still open before reusing it (the
// check a reading goroutine would otherwise do), bounds every exchange by
// the request's context (deadline and cancellation), and drops a
// connection after any error, an unread body, or "Connection: close".
// Requests it does not handle — through a proxy from the environment,
// other schemes, upgrades, uploads — go to fallback, net/http's own
// transport.
type directTransport struct {
	dialer    net.Dialer
	tlsConfig *tls.Config // nil: system roots, ServerName from the URL
	maxIdle   int         // per host
	idleFor   time.Duration
	fallback  http.RoundTripper
	proxy     func(*http.Request) (*url.URL, error)

	mu   sync.Mutex
	idle map[string][]*directConn
}

// directConn is one connection with its buffers.
type directConn struct {
	key  string
	conn net.Conn
	raw  syscall.RawConn // of the TCP connection under TLS, for the liveness check
	br   *bufio.Reader
	bw   *bufio.Writer
	used time.Time // when it went idle
}

func newDirectTransport(fallback *http.Transport) *directTransport {
	return &directTransport{
		dialer:   net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		maxIdle:  fallback.MaxIdleConnsPerHost,
		idleFor:  fallback.IdleConnTimeout,
		fallback: fallback,
		proxy:    fallback.Proxy,
		idle:     map[string][]*directConn{},
	}
}

func (t *directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.handles(req) {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	key := req.URL.Scheme + "://" + canonicalHost(req.URL)
	pc, err := t.conn(ctx, key, req.URL)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.exchange(ctx, pc, req)
	if err != nil {
		pc.conn.Close()
		return nil, err
	}
	return resp, nil
}

// handles: plain requests to a host, without a proxy in between.
func (t *directTransport) handles(req *http.Request) bool {
	if req.URL == nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
		return false
	}
	if req.Header.Get("Upgrade") != "" || req.Method == http.MethodConnect {
		return false
	}
	// Uploads (a body of unknown or large size: files relayed to members)
	// go to net/http, which reads an early answer (413, 400) while still
	// writing; here it would surface as a failed write.
	if req.Body != nil && req.Body != http.NoBody && (req.ContentLength <= 0 || req.ContentLength > maxDirectBody) {
		return false
	}
	if t.proxy != nil {
		if u, err := t.proxy(req); err != nil || u != nil {
			return false
		}
	}
	return true
}

// exchange writes the request and reads the answer's head; the body is
// read by the caller, through directBody.
func (t *directTransport) exchange(ctx context.Context, pc *directConn, req *http.Request) (*http.Response, error) {
	deadline, _ := ctx.Deadline()
	if err := pc.conn.SetDeadline(deadline); err != nil {
		closeBody(req)
		return nil, err
	}
	// A cancelled context interrupts a blocked read or write at once.
	cancelled := false
	var cmu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		cmu.Lock()
		cancelled = true
		cmu.Unlock()
		_ = pc.conn.SetDeadline(time.Unix(1, 0))
	})
	fail := func(err error) (*http.Response, error) {
		stop()
		cmu.Lock()
		c := cancelled
		cmu.Unlock()
		if c && ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	if err := req.Write(pc.bw); err != nil {
		return fail(err)
	}
	if err := pc.bw.Flush(); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(pc.br, req)
	if err != nil {
		return fail(err)
	}
	keep := !resp.Close && !req.Close
	resp.Body = &directBody{body: resp.Body, t: t, pc: pc, stop: stop, keep: keep}
	return resp, nil
}

// directBody hands the connection back once the answer was read to its
// end, and closes it if the body is closed before that (what is left on
// the wire would be read as the next answer).
type directBody struct {
	body io.ReadCloser
	t    *directTransport
	pc   *directConn
	stop func() bool
	keep bool
	done bool
}

func (b *directBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

// Close reads what is left of a short answer first: a JSON decoder stops
// at the end of the value without reading the end of the body, and the
// connection is reusable only once the body was read to its end.
func (b *directBody) Close() error {
	var buf [512]byte
	for drained := 0; !b.done && drained < maxDrain; {
		n, _ := b.Read(buf[:]) // finishes at the end or on an error
		drained += n
	}
	if !b.done {
		b.finish(false)
	}
	return nil
}

// maxDirectBody is the largest request body sent directly: Bot API
// calls with text are a few KiB.
const maxDirectBody = 256 << 10

// maxDrain bounds what Close reads to keep a connection: more is cheaper
// to reconnect than to read.
const maxDrain = 64 << 10

// finish releases the connection: back to the idle list when the body
// was read to its end and nothing interrupted the exchange, else closed.
func (b *directBody) finish(complete bool) {
	b.done = true
	b.body.Close()
	// stop returns false when the cancellation already fired: the
	// connection's deadline is spoiled.
	if b.stop() && complete && b.keep && b.pc.conn.SetDeadline(time.Time{}) == nil {
		b.t.put(b.pc)
		return
	}
	b.pc.conn.Close()
}

// conn returns an idle connection to key that is still open, or dials.
func (t *directTransport) conn(ctx context.Context, key string, u *url.URL) (*directConn, error) {
	now := time.Now()
	t.mu.Lock()
	for list := t.idle[key]; len(list) > 0; list = t.idle[key] {
		pc := list[len(list)-1]
		t.idle[key] = list[:len(list)-1]
		t.mu.Unlock()
		if (t.idleFor <= 0 || now.Sub(pc.used) < t.idleFor) && pc.alive() {
			return pc, nil
		}
		pc.conn.Close()
		t.mu.Lock()
	}
	t.mu.Unlock()
	return t.dial(ctx, key, u)
}

func (t *directTransport) put(pc *directConn) {
	pc.used = time.Now()
	t.mu.Lock()
	if list := t.idle[pc.key]; len(list) < max(t.maxIdle, 1) {
		t.idle[pc.key] = append(list, pc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	pc.conn.Close()
}

// alive reports whether the peer has not closed an idle connection: a
// non-blocking peek (one system call) finds nothing to read. Anything
// readable (end of stream, a TLS close_notify, stray bytes) means the
// connection cannot carry a new exchange.
func (pc *directConn) alive() bool {
	if pc.br.Buffered() > 0 {
		return false
	}
	if pc.raw == nil {
		return true
	}
	ok := false
	err := pc.raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ok = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true // never wait
	})
	return err == nil && ok
}

func (t *directTransport) dial(ctx context.Context, key string, u *url.URL) (*directConn, error) {
	addr := canonicalHost(u)
	c, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	pc := &directConn{key: key, conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		pc.raw, _ = sc.SyscallConn()
	}
	if u.Scheme == "https" {
		cfg := &tls.Config{}
		if t.tlsConfig != nil {
			cfg = t.tlsConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		pc.conn = tc
	}
	pc.br = bufio.NewReaderSize(pc.conn, 16<<10)
	pc.bw = bufio.NewWriterSize(pc.conn, 8<<10)
	return pc, nil
}

// CloseIdleConnections closes the idle connections (and the fallback's).
func (t *directTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*directConn{}
	t.mu.Unlock()
	for _, list := range idle {
		for _, pc := range list {
			pc.conn.Close()
		}
	}
	if ci, ok := t.fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// canonicalHost is host:port, with the scheme's default port.
func canonicalHost(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
