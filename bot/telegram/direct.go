package telegram

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
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
	key    string
	conn   net.Conn
	raw    syscall.RawConn       // of the TCP connection under TLS, for the liveness check
	peek   func(fd uintptr) bool // pc.peekIdle
	peekOK bool
	br     *bufio.Reader
	bw     *bufio.Writer
	used   time.Time // when it went idle
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
	pc, err := t.conn(ctx, time.Time{}, key, req.URL) // ctx carries the client's deadline
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
	stop := context.AfterFunc(ctx, func() { _ = pc.conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		// stop is false when the cancellation fired (ctx is done).
		if !stop() {
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

// conn returns an idle connection to key that is still open, or dials;
// deadline (zero: none) bounds dialing and the TLS handshake, besides ctx.
func (t *directTransport) conn(ctx context.Context, deadline time.Time, key string, u *url.URL) (*directConn, error) {
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
	return t.dial(ctx, deadline, key, u)
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
	pc.peekOK = false
	err := pc.raw.Read(pc.peek)
	return err == nil && pc.peekOK
}

// peekIdle is alive's non-blocking peek, bound to its connection once
// (pc.peek) so that checking costs no allocation.
func (pc *directConn) peekIdle(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	pc.peekOK = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	return true // never wait
}

func (t *directTransport) dial(ctx context.Context, deadline time.Time, key string, u *url.URL) (*directConn, error) {
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	addr := canonicalHost(u)
	c, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	pc := &directConn{key: key, conn: c}
	pc.peek = pc.peekIdle
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

// post is the lean exchange of the hot Bot API calls: it writes a
// form-encoded POST to path on the host of key straight onto an idle
// connection, reads the answer's status line and the few headers that
// frame its body, and reads the body whole into buf (grown as needed,
// returned). No http.Request or http.Response is built: those, the
// header maps and net/http's client layers were a third of the cost of a
// call besides its system calls.
//
// The rules are exchange's: the connection is reused only when the
// answer was read to its end and neither the deadline nor a cancellation
// interrupted it; any error closes it. deadline (zero: none) bounds the
// whole exchange, and a cancelled ctx interrupts it at once.
//
// status is the answer's HTTP status, 0 when none was read.
func (t *directTransport) post(ctx context.Context, deadline time.Time, key string, u *url.URL, path string, body []byte, buf []byte) (status int, out []byte, err error) {
	if err := ctx.Err(); err != nil {
		return 0, buf, err
	}
	pc, err := t.conn(ctx, deadline, key, u)
	if err != nil {
		return 0, buf, err
	}
	if err := pc.conn.SetDeadline(deadline); err != nil {
		pc.conn.Close()
		return 0, buf, err
	}
	stop := func() bool { return true }
	if ctx.Done() != nil {
		// A cancelled context interrupts a blocked read or write at once.
		stop = context.AfterFunc(ctx, func() { _ = pc.conn.SetDeadline(time.Unix(1, 0)) })
	}
	status, out, keep, err := pc.roundTrip(u.Host, path, body, buf)
	if err != nil {
		// stop is false when the cancellation fired (ctx is done).
		if !stop() {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		pc.conn.Close()
		return status, out, err
	}
	// stop is false when the cancellation fired: the connection's
	// deadline is spoiled.
	if stop() && keep && pc.conn.SetDeadline(time.Time{}) == nil {
		t.put(pc)
	} else {
		pc.conn.Close()
	}
	return status, out, nil
}

// errAnswerTooLarge: an answer over maxAnswer is not read.
var errAnswerTooLarge = errors.New("telegram: answer larger than 4 MiB")

// roundTrip writes the request and reads the answer whole; keep is
// whether the connection may carry another exchange.
func (pc *directConn) roundTrip(host, path string, body, buf []byte) (status int, out []byte, keep bool, err error) {
	w := pc.bw
	w.WriteString("POST ")
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: ")
	var num [20]byte
	w.Write(strconv.AppendInt(num[:0], int64(len(body)), 10))
	w.WriteString("\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return 0, buf, false, err
	}
	h, err := readHead(pc.br)
	if err != nil {
		return 0, buf, false, err // no answer, as net/http reports a malformed head
	}
	out, err = readBody(pc.br, h, buf[:0])
	return h.status, out, err == nil && h.keep, err
}

// head is what of an answer's head frames its body.
type head struct {
	status  int
	length  int64 // -1: not given
	chunked bool
	keep    bool
}

// readHead reads the status line and headers of an answer, skipping
// informational (1xx) answers.
func readHead(br *bufio.Reader) (head, error) {
	for {
		h := head{length: -1}
		line, err := readLine(br)
		if err != nil {
			return h, err
		}
		// HTTP/1.x SSS reason
		if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
			return h, fmt.Errorf("telegram: malformed HTTP status line %q", statusExcerpt(line))
		}
		for _, c := range line[9:12] {
			if c < '0' || c > '9' {
				return h, fmt.Errorf("telegram: malformed HTTP status line %q", statusExcerpt(line))
			}
			h.status = h.status*10 + int(c-'0')
		}
		h.keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told
		for {
			line, err := readLine(br)
			if err != nil {
				return head{status: h.status}, err
			}
			if len(line) == 0 {
				break
			}
			name, value, ok := bytes.Cut(line, []byte{':'})
			if !ok {
				return head{status: h.status}, errors.New("telegram: malformed HTTP header")
			}
			value = bytes.Trim(value, " \t")
			switch {
			case asciiEqualFold(name, "Content-Length"):
				n, err := strconv.ParseInt(string(value), 10, 64)
				if err != nil || n < 0 || (h.length >= 0 && h.length != n) {
					return head{status: h.status}, errors.New("telegram: bad Content-Length")
				}
				h.length = n
			case asciiEqualFold(name, "Transfer-Encoding"):
				if !asciiEqualFold(value, "chunked") {
					return head{status: h.status}, fmt.Errorf("telegram: unsupported Transfer-Encoding %q", truncateBytes(value, 40))
				}
				h.chunked = true
			case asciiEqualFold(name, "Connection"):
				for tok := range bytes.SplitSeq(value, []byte{','}) {
					if asciiEqualFold(bytes.Trim(tok, " \t"), "close") {
						h.keep = false
					}
				}
			}
		}
		if h.status >= 100 && h.status < 200 {
			if h.status == http.StatusSwitchingProtocols {
				return head{status: h.status}, errors.New("telegram: unexpected 101 Switching Protocols")
			}
			continue // 100 Continue, 103 Early Hints: the answer follows
		}
		switch {
		case h.chunked:
			h.length = -1 // chunked framing wins (RFC 9112 6.3)
		case h.length < 0 && h.status != http.StatusNoContent && h.status != http.StatusNotModified:
			h.keep = false // the body ends with the connection
		}
		return h, nil
	}
}

// readBody reads a body framed as h says, appending it to buf.
func readBody(br *bufio.Reader, h head, buf []byte) ([]byte, error) {
	switch {
	case h.status == http.StatusNoContent || h.status == http.StatusNotModified:
		return buf, nil
	case h.chunked:
		for {
			line, err := readLine(br)
			if err != nil {
				return buf, noEOF(err)
			}
			if i := bytes.IndexAny(line, "; \t"); i >= 0 {
				line = line[:i] // chunk extensions
			}
			n, err := strconv.ParseUint(string(line), 16, 63)
			if err != nil || len(line) == 0 {
				return buf, errors.New("telegram: malformed chunked encoding")
			}
			if n == 0 {
				for { // trailers, up to the blank line
					line, err := readLine(br)
					if err != nil {
						return buf, noEOF(err)
					}
					if len(line) == 0 {
						return buf, nil
					}
				}
			}
			if buf, err = readN(br, buf, int64(n)); err != nil {
				return buf, err
			}
			if line, err := readLine(br); err != nil || len(line) != 0 {
				if err == nil {
					err = errors.New("telegram: malformed chunked encoding")
				}
				return buf, noEOF(err)
			}
		}
	case h.length >= 0:
		return readN(br, buf, h.length)
	default:
		// No framing: the body runs to the end of the connection, which
		// is then not kept (readHead cleared h.keep).
		for {
			if len(buf) > maxAnswer {
				return buf, errAnswerTooLarge
			}
			buf = slicesGrow(buf, 4096)
			n, err := br.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				return buf, nil
			}
			if err != nil {
				return buf, err
			}
		}
	}
}

// readN appends exactly n bytes from br to buf.
func readN(br *bufio.Reader, buf []byte, n int64) ([]byte, error) {
	if n > maxAnswer || int64(len(buf))+n > maxAnswer {
		return buf, errAnswerTooLarge
	}
	start := len(buf)
	buf = slicesGrow(buf, int(n))[:start+int(n)]
	if _, err := io.ReadFull(br, buf[start:]); err != nil {
		return buf[:start], noEOF(err)
	}
	return buf, nil
}

// readLine reads one line without its line ending (CRLF or LF).
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errors.New("telegram: HTTP header line too long")
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// noEOF: an answer cut short is an unexpected end, as net/http says.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func slicesGrow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), max(len(b)+n, 2*cap(b)))
	copy(nb, b)
	return nb
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// statusExcerpt is the start of a malformed status line for an error: at
// most 40 bytes, and nothing from its first '/' on (past a leading
// "HTTP/"). Something that echoes the request back answers with the
// request line, whose path holds the token.
func statusExcerpt(line []byte) string {
	n := 0
	if bytes.HasPrefix(line, []byte("HTTP/")) {
		n = len("HTTP/")
	}
	if i := bytes.IndexByte(line[n:], '/'); i >= 0 {
		line = line[:n+i]
	}
	return truncateBytes(line, 40)
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
