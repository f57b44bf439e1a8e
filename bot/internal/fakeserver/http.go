package fakeserver

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"
)

// Listen starts an HTTP server on a local port, as httptest.NewServer does,
// but returns an error instead of panicking when no port can be had.
func Listen(h http.Handler) (*httptest.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if ln, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			return nil, fmt.Errorf("fake server: listen on a local port: %w", err)
		}
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	return srv, nil
}

// ClientTimeout bounds every request of a Client, so a test with a broken
// bot fails instead of hanging.
const ClientTimeout = 2 * time.Minute

// Client returns an http.Client for srv with ClientTimeout.
func Client(srv *httptest.Server) *http.Client {
	c := *srv.Client() // a copy: httptest shares one client
	c.Timeout = ClientTimeout
	return &c
}

// Write answers with a status and a body of the given content type.
func Write(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// DropConnection closes the TCP connection without answering, as a network
// failure or a crashing proxy would.
func DropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("fakeserver: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// CloneValues deep-copies parameters, so snapshots never alias a server's
// state.
func CloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
