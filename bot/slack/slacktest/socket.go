package slacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"bridgebot/bot/internal/fakeserver"
)

// Ack is a Socket Mode acknowledgement the bot sent.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // the response payload, if any (e.g. a view_submission response_action)
	Known      bool            // the envelope id was one this fake sent
	Time       time.Time
}

type envelope struct {
	id, typ      string
	payload      json.RawMessage
	accepts      bool
	retryAttempt int
	retryReason  string
	sent         bool
	acked        bool
	superseded   bool // redelivered under a new envelope id
}

// maxAckSize is the size at which Slack silently drops Socket Mode responses.
const maxAckSize = 20 * 1024

type socketConn struct {
	n         int  // accept order
	draining  bool // told to disconnect or being dropped: gets no more envelopes (guarded by Server.mu)
	ws        *websocket.Conn
	queue     [][]byte // guarded by Server.mu
	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (c *socketConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

func (c *socketConn) enqueueLocked(msg []byte) {
	c.queue = append(c.queue, msg)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (s *Server) socketConnsLocked() []*socketConn {
	out := make([]*socketConn, 0, len(s.sockets))
	for c := range s.sockets {
		out = append(out, c)
	}
	return out
}

func (s *Server) uuidLocked() string {
	s.seq++
	n := uint64(s.seq)
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(n*2654435761), n&0xffff, n&0xfff, (n*7)&0xfff, n)
}

// apiConnectionsOpen hands out a single-use WebSocket URL.
func (s *Server) apiConnectionsOpen(c *call) (obj, *apiError) {
	ticket := s.uuidLocked()
	s.socketTickets[ticket] = true
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket?ticket=" + ticket + "&app_id=" + url.QueryEscape(s.cfg.appID)
	return obj{"url": u}, nil
}

var upgrader = websocket.Upgrader{
	// slack-go dials with Origin: https://api.slack.com, which gorilla's
	// default same-origin check would reject.
	CheckOrigin:     func(*http.Request) bool { return true },
	ReadBufferSize:  32 * 1024,
	WriteBufferSize: 32 * 1024,
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok := s.socketTickets[ticket] && !s.closed
	delete(s.socketTickets, ticket)
	s.mu.Unlock()
	if !ok {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade already answered
	}
	c := &socketConn{ws: ws, wake: make(chan struct{}, 1), done: make(chan struct{})}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.close()
		return
	}
	s.sockets[c] = true
	s.socketConnect++
	c.n = s.socketConnect
	c.enqueueLocked(mustJSON(obj{
		"type": "hello", "num_connections": len(s.sockets),
		"debug_info":      obj{"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": obj{"app_id": s.cfg.appID},
	}))
	pending := s.pendingEnv
	s.pendingEnv = nil
	for _, id := range pending {
		if env := s.envelopes[id]; env != nil && !env.superseded {
			c.enqueueLocked(envelopeJSON(env))
			env.sent = true
		}
	}
	s.changes.Notify()
	s.mu.Unlock()

	go s.socketWriter(c)
	s.socketReader(c)

	c.close()
	s.mu.Lock()
	delete(s.sockets, c)
	s.changes.Notify()
	s.mu.Unlock()
}

// socketWriter is the only goroutine writing data frames to the connection
// (gorilla/websocket allows one concurrent writer). It pings right away and
// then every ping interval, as slack-go expects Slack to.
func (s *Server) socketWriter(c *socketConn) {
	ticker := time.NewTicker(s.cfg.pingEvery)
	defer ticker.Stop()
	defer c.close()
	ping := func() bool {
		return c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(10*time.Second)) == nil
	}
	first := true
	for {
		s.mu.Lock()
		q := c.queue
		c.queue = nil
		s.mu.Unlock()
		for _, msg := range q {
			_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		}
		if first {
			first = false
			if !ping() {
				return
			}
		}
		select {
		case <-c.wake:
		case <-ticker.C:
			if !ping() {
				return
			}
		case <-c.done:
			return
		}
	}
}

// socketReader records acks until the connection ends.
func (s *Server) socketReader(c *socketConn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if len(data) >= maxAckSize {
			continue // Slack silently drops responses of 20 KB or more
		}
		var res struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &res) != nil || res.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		env := s.envelopes[res.EnvelopeID]
		if env != nil {
			env.acked = true
		}
		s.acks = append(s.acks, Ack{EnvelopeID: res.EnvelopeID, Payload: res.Payload, Known: env != nil, Time: s.now()})
		s.changes.Notify()
		s.mu.Unlock()
	}
}

func envelopeJSON(env *envelope) []byte {
	o := obj{
		"envelope_id":              env.id,
		"payload":                  env.payload,
		"type":                     env.typ,
		"accepts_response_payload": env.accepts,
	}
	if env.typ == "events_api" {
		o["retry_attempt"] = env.retryAttempt
		o["retry_reason"] = env.retryReason
	}
	return mustJSON(o)
}

// newestSocketLocked is the connection envelopes go to: the latest one
// accepted that is not draining (Slack spreads envelopes over an app's
// connections and stops using one once it sent it a disconnect).
func (s *Server) newestSocketLocked() *socketConn {
	var newest *socketConn
	for c := range s.sockets {
		if c.draining {
			continue
		}
		if newest == nil || c.n > newest.n {
			newest = c
		}
	}
	return newest
}

func (s *Server) pushEnvelopeLocked(env *envelope) string {
	s.envelopes[env.id] = env
	s.envOrder = append(s.envOrder, env.id)
	if c := s.newestSocketLocked(); c != nil {
		c.enqueueLocked(envelopeJSON(env))
		env.sent = true
	} else {
		s.pendingEnv = append(s.pendingEnv, env.id)
	}
	s.changes.Notify()
	return env.id
}

// SocketEvent delivers an Events API payload (from an event builder) over
// Socket Mode as an events_api envelope and returns its envelope_id. With no
// usable connection open (none yet, or all told to disconnect) it is queued
// and sent after the next hello.
func (s *Server) SocketEvent(eventJSON []byte) (envelopeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !json.Valid(eventJSON) {
		s.report.Errorf("slacktest: SocketEvent: payload is not JSON: %q", eventJSON)
	}
	return s.pushEnvelopeLocked(&envelope{id: s.uuidLocked(), typ: "events_api", payload: append(json.RawMessage(nil), eventJSON...)})
}

// SocketInteractive delivers an interactivity payload (block_actions,
// view_submission...) as an interactive envelope. payload is the JSON
// ([]byte or string) or the form from BlockAction/ViewSubmission.
func (s *Server) SocketInteractive(payload any) (envelopeID string) {
	var raw []byte
	switch p := payload.(type) {
	case url.Values:
		raw = []byte(p.Get("payload"))
	case string:
		raw = []byte(p)
	case []byte:
		raw = p
	case json.RawMessage:
		raw = p
	default:
		s.report.Errorf("slacktest: SocketInteractive: unsupported payload %T", payload)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &head) != nil {
		s.report.Errorf("slacktest: SocketInteractive: payload is not JSON: %q", raw)
	}
	accepts := head.Type == "view_submission" || head.Type == "block_suggestion"
	return s.pushEnvelopeLocked(&envelope{id: s.uuidLocked(), typ: "interactive", payload: append(json.RawMessage(nil), raw...), accepts: accepts})
}

// SocketSlashCommand delivers a slash command (from SlashCommand) as a
// slash_commands envelope; the payload is the form's fields as a JSON object.
func (s *Server) SocketSlashCommand(values url.Values) (envelopeID string) {
	fields := map[string]string{}
	for k := range values {
		fields[k] = values.Get(k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushEnvelopeLocked(&envelope{id: s.uuidLocked(), typ: "slash_commands", payload: mustJSON(fields), accepts: true})
}

// SocketRetryUnacked redelivers every sent but unacknowledged envelope under
// a new envelope id with retry_attempt incremented (retry_reason "timeout"),
// as Slack does, and returns the new ids.
func (s *Server) SocketRetryUnacked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, id := range slices.Clone(s.envOrder) {
		env := s.envelopes[id]
		if !env.sent || env.acked || env.superseded {
			continue
		}
		env.superseded = true
		next := *env
		next.id, next.sent, next.superseded = s.uuidLocked(), false, false
		next.retryAttempt++
		next.retryReason = "timeout"
		ids = append(ids, s.pushEnvelopeLocked(&next))
	}
	return ids
}

// SocketDisconnect sends Slack's disconnect message (reason e.g.
// "refresh_requested", "warning") on every open connection; slack-go then
// reconnects through apps.connections.open.
func (s *Server) SocketDisconnect(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := mustJSON(obj{"type": "disconnect", "reason": reason, "debug_info": obj{"host": "applink-fake"}})
	for c := range s.sockets {
		c.enqueueLocked(msg)
		c.draining = true
	}
	s.changes.Notify()
}

// SocketDrop closes every open Socket Mode connection abruptly, as a
// network failure would.
func (s *Server) SocketDrop() {
	s.mu.Lock()
	conns := s.socketConnsLocked()
	for _, c := range conns {
		c.draining = true
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// SocketConnections is the number of open Socket Mode connections.
func (s *Server) SocketConnections() int {
	return fakeserver.Locked(&s.mu, func() int { return len(s.sockets) })
}

// SocketConnects is the number of Socket Mode connections ever accepted.
func (s *Server) SocketConnects() int {
	return fakeserver.Locked(&s.mu, func() int { return s.socketConnect })
}

// WaitSocketConnected waits until at least n Socket Mode connections have
// ever been accepted (n=1: the bot connected; n=2: it reconnected once) and
// one that gets envelopes is open.
func (s *Server) WaitSocketConnected(tb testing.TB, n int, timeout time.Duration) {
	tb.Helper()
	ok := s.changes.Await(timeout, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.socketConnect >= n && s.newestSocketLocked() != nil
	})
	if !ok {
		tb.Fatalf("slacktest: no Socket Mode connection #%d within %v (connects so far: %d, open: %d)",
			n, timeout, s.SocketConnects(), s.SocketConnections())
	}
}

// Acks returns the acknowledgements received, in order.
func (s *Server) Acks() []Ack {
	return fakeserver.Locked(&s.mu, func() []Ack { return slices.Clone(s.acks) })
}

// Unacked returns the envelope ids not acknowledged yet (sent or still
// queued), oldest first; redelivered envelopes count under their new id.
func (s *Server) Unacked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range s.envOrder {
		if env := s.envelopes[id]; !env.acked && !env.superseded {
			out = append(out, id)
		}
	}
	return out
}

// WaitAck waits for the bot to acknowledge an envelope and returns the ack.
func (s *Server) WaitAck(tb testing.TB, envelopeID string, timeout time.Duration) Ack {
	tb.Helper()
	found, ok := fakeserver.AwaitFirst(s.changes, timeout, s.Acks, func(a Ack) bool { return a.EnvelopeID == envelopeID })
	if !ok {
		tb.Fatalf("slacktest: envelope %s not acknowledged within %v (open connections: %d, unacked: %v)",
			envelopeID, timeout, s.SocketConnections(), s.Unacked())
	}
	return found
}
