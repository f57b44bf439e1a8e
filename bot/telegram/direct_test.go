package telegram

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer counts the connections its clients opened.
func countingServer(t *testing.T, tlsOn bool, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &conns
}

func testDirect(t *testing.T) *directTransport {
	t.Helper()
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 4
	d := newDirectTransport(base)
	d.proxy = nil
	t.Cleanup(d.CloseIdleConnections)
	return d
}

// post sends a form POST as the Bot API library does and decodes the JSON
// answer without reading past its end, then closes the body.
func post(t *testing.T, rt http.RoundTripper, ctx context.Context, u string) (map[string]any, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(url.Values{"chat_id": {"7"}, "text": {"hola"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func echo(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "text": r.PostForm.Get("text"), "method": r.Method})
}

func TestDirectTransportReusesConnection(t *testing.T) {
	srv, conns := countingServer(t, false, echo)
	d := testDirect(t)
	for i := range 20 {
		out, err := post(t, d, context.Background(), srv.URL+"/bot1:x/sendMessage")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if out["text"] != "hola" || out["method"] != "POST" {
			t.Fatalf("request %d: answer %v", i, out)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("20 sequential requests opened %d connections, want 1", n)
	}
}

func TestDirectTransportChunkedAnswer(t *testing.T) {
	srv, conns := countingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,`)
		w.(http.Flusher).Flush() // no Content-Length: chunked
		_, _ = io.WriteString(w, `"result":"`+strings.Repeat("x", 40000)+`"}`)
	})
	d := testDirect(t)
	for range 3 {
		out, err := post(t, d, context.Background(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := out["result"].(string); len(s) != 40000 {
			t.Fatalf("result of %d bytes, want 40000", len(s))
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("chunked answers opened %d connections, want 1", n)
	}
}

// The server closing idle connections (a restart, its keep-alive timeout)
// costs a new connection, never a failed request.
func TestDirectTransportServerClosedIdleConnection(t *testing.T) {
	srv, conns := countingServer(t, false, echo)
	d := testDirect(t)
	for i := range 5 {
		if _, err := post(t, d, context.Background(), srv.URL); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		srv.CloseClientConnections()
	}
	if n := conns.Load(); n != 5 {
		t.Fatalf("opened %d connections, want 5 (one per closed one)", n)
	}
}

func TestDirectTransportConnectionClose(t *testing.T) {
	srv, conns := countingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		echo(w, r)
	})
	d := testDirect(t)
	for i := range 3 {
		if _, err := post(t, d, context.Background(), srv.URL); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("opened %d connections, want 3", n)
	}
	if idle := len(d.idle["http://"+canonicalHost(mustURL(t, srv.URL))]); idle != 0 {
		t.Fatalf("%d connections kept after Connection: close", idle)
	}
}

// A deadline or a cancellation ends a request whose answer does not come,
// and the connection it spoiled is not reused.
func TestDirectTransportDeadlineAndCancel(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	srv, _ := countingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		echo(w, r)
	})
	d := testDirect(t)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := post(t, d, ctx, srv.URL+"/slow"); !errors.Is(err, context.DeadlineExceeded) {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("past the deadline: err = %v, want a timeout", err)
		}
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := post(t, d, ctx2, srv.URL+"/slow")
		errc <- err
	}()
	cancel2()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled: err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled request did not return")
	}
	once.Do(func() { close(release) })

	if _, err := post(t, d, context.Background(), srv.URL); err != nil {
		t.Fatalf("after a timeout and a cancellation: %v", err)
	}
}

// A body closed long before its end is not read to the end: the
// connection is dropped, and the next request gets a fresh one.
func TestDirectTransportEarlyClose(t *testing.T) {
	srv, conns := countingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("y", 1<<20))
	})
	d := testDirect(t)
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := d.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		var b [10]byte
		if _, err := io.ReadFull(resp.Body, b[:]); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("opened %d connections, want 2 (an unread body cannot be reused)", n)
	}
}

func TestDirectTransportTLS(t *testing.T) {
	srv, conns := countingServer(t, true, echo)
	d := testDirect(t)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	d.tlsConfig = &tls.Config{RootCAs: pool}
	for i := range 3 {
		out, err := post(t, d, context.Background(), srv.URL)
		if err != nil || out["text"] != "hola" {
			t.Fatalf("request %d over TLS: %v, %v", i, out, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("opened %d TLS connections, want 1", n)
	}
	srv.CloseClientConnections()
	if _, err := post(t, d, context.Background(), srv.URL); err != nil {
		t.Fatalf("after the server closed the TLS connection: %v", err)
	}

	// A certificate the client does not trust is refused.
	d2 := testDirect(t)
	if _, err := post(t, d2, context.Background(), srv.URL); err == nil {
		t.Fatal("an untrusted certificate was accepted")
	}
}

// Requests through a proxy (HTTPS_PROXY) go to net/http's transport.
func TestDirectTransportProxyFallsBack(t *testing.T) {
	srv, _ := countingServer(t, false, echo)
	d := testDirect(t)
	var proxied atomic.Int64
	d.proxy = func(*http.Request) (*url.URL, error) { proxied.Add(1); return url.Parse("http://proxy.invalid:3128") }
	d.fallback = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return http.DefaultTransport.RoundTrip(r)
	})
	var fellBack atomic.Int64
	fb := d.fallback
	d.fallback = roundTripFunc(func(r *http.Request) (*http.Response, error) { fellBack.Add(1); return fb.RoundTrip(r) })
	if _, err := post(t, d, context.Background(), srv.URL); err != nil {
		t.Fatal(err)
	}
	if proxied.Load() != 1 || fellBack.Load() != 1 {
		t.Fatalf("proxy consulted %d times, fallback used %d times; want 1 and 1", proxied.Load(), fellBack.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Uploads of unknown length (multipart through a pipe, as the library
// sends files) go to net/http.
func TestDirectTransportUploadsFallBack(t *testing.T) {
	srv, _ := countingServer(t, false, echo)
	d := testDirect(t)
	var fellBack atomic.Int64
	d.fallback = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		fellBack.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	pr, pw := io.Pipe()
	go func() { _, _ = io.WriteString(pw, "text=hola"); pw.Close() }()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, pr)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if fellBack.Load() != 1 {
		t.Fatalf("an upload of unknown length went direct")
	}
}
