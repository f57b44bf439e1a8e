package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"bridgebot/bot/internal/fakeserver"
)

// SecretHeader is the header carrying the webhook's secret_token in every
// delivery.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// WithWebhookRetry sets the wait before the first redelivery of an update
// whose webhook delivery failed (default 100ms); it doubles with every
// further failure of that update, up to 1s. Telegram waits longer; tests
// should not have to.
func WithWebhookRetry(first time.Duration) Option {
	return func(c *config) { c.hookRetry = first }
}

// Delivery is one webhook delivery attempt the server made.
type Delivery struct {
	UpdateID int
	Attempt  int    // 1 for the first try of this update
	Status   int    // HTTP status answered; 0 if no answer came
	Err      string // transport error when Status is 0
	Time     time.Time
}

// OK reports whether the bot acknowledged the update (any 2xx).
func (d Delivery) OK() bool { return d.Status >= 200 && d.Status < 300 }

// hookState is webhook delivery: like Telegram, the server POSTs each
// pending update to the webhook as JSON, at most max_connections at once,
// one at a time per chat and in order, and keeps an update (retrying it
// later) until the bot answers 2xx.
type hookState struct {
	target        string              // set by RouteWebhook: where deliveries go
	inFlight      map[int64]bool      // update keys with a delivery under way
	retryAt       map[int64]time.Time // real time before which a key waits
	attempts      map[int]int         // failed attempts per update id
	deliveries    []Delivery
	lastError     string
	lastErrorDate time.Time

	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the delivery loop and every delivery ended
	active int           // deliveries running, for done
}

// RouteWebhook makes the server deliver webhook updates to base (such as
// http://127.0.0.1:8080) instead of the public HTTPS URL the bot set,
// keeping the URL's path and query: what a TLS-terminating reverse proxy in
// front of the bot does. Without a route nothing is delivered (the public
// URL is not reachable from a test) and updates stay pending.
func (s *Server) RouteWebhook(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook.target = strings.TrimRight(base, "/")
	s.changes.Notify()
}

// Deliveries returns every webhook delivery attempt, in the order they
// were answered.
func (s *Server) Deliveries() []Delivery {
	return fakeserver.Locked(&s.mu, func() []Delivery { return append([]Delivery(nil), s.hook.deliveries...) })
}

// Acknowledged reports whether the bot answered a delivery of the update
// with 2xx.
func (s *Server) Acknowledged(updateID int) bool {
	return fakeserver.Locked(&s.mu, func() bool { return s.acknowledgedLocked(updateID) })
}

func (s *Server) acknowledgedLocked(updateID int) bool {
	for _, d := range s.hook.deliveries {
		if d.UpdateID == updateID && d.OK() {
			return true
		}
	}
	return false
}

// WaitAcknowledged waits until the bot acknowledged a delivery of the
// update, failing the test after timeout.
func (s *Server) WaitAcknowledged(tb testing.TB, updateID int, timeout time.Duration) {
	tb.Helper()
	if !s.changes.Await(timeout, func() bool { return s.Acknowledged(updateID) }) {
		tb.Fatalf("telegramtest: update %d not acknowledged within %v; deliveries: %+v", updateID, timeout, s.Deliveries())
	}
}

// DeliveriesInFlight is the number of webhook deliveries sent and not yet
// answered. A delivery's outcome is recorded only after the bot's answer
// arrives, so a test that stopped the bot waits for this to reach 0
// before asking what was acknowledged.
func (s *Server) DeliveriesInFlight() int {
	return fakeserver.Locked(&s.mu, func() int { return len(s.hook.inFlight) })
}

// checkWebhookURL applies Telegram's rules for webhook URLs: HTTPS, on
// port 443, 80, 88 or 8443.
func checkWebhookURL(raw string) *apiError {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return badRequest("bad webhook: invalid webhook URL specified")
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return badRequest("bad webhook: HTTPS url must be provided for webhook")
	}
	switch u.Port() {
	case "", "443", "80", "88", "8443":
		return nil
	}
	return badRequest("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
}

func (s *Server) webhookMaxConnectionsLocked() int {
	n := 40
	if v := s.webhook.Params.Get("max_connections"); v != "" {
		var m int
		if err := json.Unmarshal([]byte(v), &m); err == nil && m > 0 {
			n = min(m, 100)
		}
	}
	return n
}

// updateKey is the chat an update belongs to, for per-chat ordering of
// webhook deliveries; an update without a chat gets a key of its own.
func updateKey(raw []byte, id int) int64 {
	var u struct {
		Message       *struct{ Chat struct{ ID int64 } } `json:"message"`
		EditedMessage *struct{ Chat struct{ ID int64 } } `json:"edited_message"`
		CallbackQuery *struct {
			From    struct{ ID int64 }
			Message *struct{ Chat struct{ ID int64 } }
		} `json:"callback_query"`
		MyChatMember *struct{ Chat struct{ ID int64 } } `json:"my_chat_member"`
	}
	if json.Unmarshal(raw, &u) == nil {
		switch {
		case u.Message != nil:
			return u.Message.Chat.ID
		case u.EditedMessage != nil:
			return u.EditedMessage.Chat.ID
		case u.CallbackQuery != nil && u.CallbackQuery.Message != nil:
			return u.CallbackQuery.Message.Chat.ID
		case u.CallbackQuery != nil:
			return u.CallbackQuery.From.ID
		case u.MyChatMember != nil:
			return u.MyChatMember.Chat.ID
		}
	}
	// Chat IDs stay far below this, so it cannot clash with one.
	return 1<<62 + int64(id)
}

func (s *Server) startHookDelivery() {
	s.hook.inFlight = map[int64]bool{}
	s.hook.retryAt = map[int64]time.Time{}
	s.hook.attempts = map[int]int{}
	s.hook.ctx, s.hook.cancel = context.WithCancel(context.Background())
	s.hook.done = make(chan struct{})
	t := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 100,
	}
	// Telegram gives up on a delivery after about a minute.
	s.hook.client = &http.Client{Transport: t, Timeout: 60 * time.Second}
	s.mu.Lock()
	s.hook.active = 1 // the loop
	s.mu.Unlock()
	go s.hookLoop()
}

func (s *Server) stopHookDelivery() {
	s.hook.cancel()
	<-s.hook.done
	s.hook.client.CloseIdleConnections()
}

// hookEndedLocked counts one delivery goroutine (or the loop) out.
func (s *Server) hookEndedLocked() {
	s.hook.active--
	if s.hook.active == 0 {
		close(s.hook.done)
	}
}

func (s *Server) hookLoop() {
	for {
		s.mu.Lock()
		next := s.startDeliveriesLocked()
		changed := s.changes.Changed()
		s.mu.Unlock()
		var retry <-chan time.Time
		var t *time.Timer
		if !next.IsZero() {
			t = time.NewTimer(time.Until(next))
			retry = t.C
		}
		stopped := false
		select {
		case <-changed:
		case <-retry:
		case <-s.hook.ctx.Done():
			stopped = true
		}
		if t != nil {
			t.Stop()
		}
		if stopped {
			s.mu.Lock()
			s.hookEndedLocked()
			s.mu.Unlock()
			return
		}
	}
}

// startDeliveriesLocked starts a delivery for the oldest pending update of
// every chat that has none under way and is not waiting to retry, within
// max_connections. It returns the earliest time a waiting chat may retry
// (zero if none).
func (s *Server) startDeliveriesLocked() time.Time {
	var next time.Time
	if s.webhook.URL == "" || s.hook.target == "" || s.hook.ctx.Err() != nil {
		return next
	}
	u, err := url.Parse(s.webhook.URL)
	if err != nil {
		return next
	}
	target := s.hook.target + u.RequestURI()
	limit := s.webhookMaxConnectionsLocked()
	now := time.Now()
	seen := map[int64]bool{}
	for _, up := range s.updates {
		if seen[up.key] {
			continue // a later update of a chat waits for the earlier one
		}
		seen[up.key] = true
		if s.hook.inFlight[up.key] {
			continue
		}
		if at, ok := s.hook.retryAt[up.key]; ok && now.Before(at) {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		if len(s.hook.inFlight) >= limit {
			break
		}
		delete(s.hook.retryAt, up.key)
		s.hook.inFlight[up.key] = true
		s.hook.active++
		go s.deliver(up, s.hook.attempts[up.id]+1, target, s.webhook.SecretToken)
	}
	return next
}

// deliver POSTs one update and records the outcome.
func (s *Server) deliver(up queuedUpdate, attempt int, target, secret string) {
	d := Delivery{UpdateID: up.id, Attempt: attempt}
	var answer []byte
	var answerType string
	req, err := http.NewRequestWithContext(s.hook.ctx, http.MethodPost, target, bytes.NewReader(up.raw))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		if secret != "" {
			req.Header.Set(SecretHeader, secret)
		}
		var resp *http.Response
		if resp, err = s.hook.client.Do(req); err == nil {
			answer, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			d.Status = resp.StatusCode
			answerType = resp.Header.Get("Content-Type")
		}
	}
	if err != nil {
		d.Err = err.Error()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.hookEndedLocked()
	d.Time = s.now()
	if d.OK() {
		s.webhookAnswerLocked(answerType, answer)
	}
	delete(s.hook.inFlight, up.key)
	s.hook.deliveries = append(s.hook.deliveries, d)
	if d.OK() {
		delete(s.hook.attempts, up.id)
		for i, q := range s.updates {
			if q.id == up.id {
				s.updates = append(s.updates[:i:i], s.updates[i+1:]...)
				break
			}
		}
	} else {
		s.hook.attempts[up.id] = attempt
		wait := min(s.cfg.hookRetry<<min(attempt-1, 10), time.Second)
		s.hook.retryAt[up.key] = time.Now().Add(wait)
		s.hook.lastErrorDate = s.now()
		if d.Status != 0 {
			s.hook.lastError = fmt.Sprintf("Wrong response from the webhook: %d %s", d.Status, http.StatusText(d.Status))
		} else {
			s.hook.lastError = "Connection refused"
		}
	}
	s.changes.Notify()
}

// webhookAnswerLocked performs the method a bot may put in its answer to a
// delivery ("Making requests when getting updates": a JSON object with a
// "method" field and that method's parameters), as Telegram does. Like
// Telegram, it tells the bot nothing of the outcome; the call is recorded
// among Requests with ViaWebhook set.
func (s *Server) webhookAnswerLocked(contentType string, body []byte) {
	if ct, _, _ := mime.ParseMediaType(contentType); ct != "application/json" || len(bytes.TrimSpace(body)) == 0 {
		return
	}
	p := &params{values: url.Values{}, files: map[string]*upload{}}
	if err := p.readJSON(bytes.NewReader(body)); err != nil {
		return
	}
	method := p.values.Get("method")
	p.values.Del("method")
	m, known := methods[strings.ToLower(method)]
	if method == "" || !known {
		return
	}
	rec := &Request{Method: m.name, Params: p.values, Time: s.now(), ViaWebhook: true}
	s.requests = append(s.requests, rec)
	_, aerr := s.invoke(m.fn, &call{ctx: context.Background(), method: m.name, p: p})
	rec.Status = http.StatusOK
	if aerr != nil {
		rec.Status = httpStatus(aerr.code)
	}
	s.changes.Notify()
}
