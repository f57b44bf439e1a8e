package telegramtest

import (
	"bytes"
	"encoding/json"
	"net/url"
	"time"

	"bridgebot/bot/internal/fakeserver"
)

// queuedUpdate is an update waiting for confirmation. raw is served verbatim.
type queuedUpdate struct {
	id  int
	raw []byte
	// key is the chat the update belongs to: webhook deliveries of one key
	// go one at a time, in order, as Telegram's are.
	key int64
}

// poller is the getUpdates request currently waiting. Telegram allows one:
// a newer request terminates the older with 409 Conflict.
type poller struct {
	superseded chan struct{}
}

// maxPollTimeout is the Bot API server's cap on getUpdates' timeout.
const maxPollTimeout = 50 * time.Second

// enqueueLocked assigns the next update_id and queues the update.
func (s *Server) enqueueLocked(u wireUpdate) int {
	u.UpdateID = s.nextUpdateID
	s.nextUpdateID++
	raw, err := json.Marshal(u)
	if err != nil {
		panic("telegramtest: marshal update: " + err.Error())
	}
	s.updates = append(s.updates, queuedUpdate{id: u.UpdateID, raw: raw, key: updateKey(raw, u.UpdateID)})
	s.changes.Notify()
	return u.UpdateID
}

// PushRaw queues a raw update verbatim, for robustness tests with updates
// the client cannot decode. Its update_id is read from the JSON when
// possible (the caller assigns it, see NextUpdateID); otherwise the next id
// is used for ordering and confirmation. Invalid JSON makes the whole
// getUpdates answer invalid, as a corrupting proxy would. It returns the id.
func (s *Server) PushRaw(raw string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var head struct {
		UpdateID *int `json:"update_id"`
	}
	id := s.nextUpdateID
	if json.Unmarshal([]byte(raw), &head) == nil && head.UpdateID != nil {
		id = *head.UpdateID
	}
	s.nextUpdateID = max(s.nextUpdateID, id+1)
	s.updates = append(s.updates, queuedUpdate{id: id, raw: []byte(raw), key: updateKey([]byte(raw), id)})
	s.changes.Notify()
	return id
}

// NextUpdateID is the update_id the next simulated update will get.
func (s *Server) NextUpdateID() int {
	return fakeserver.Locked(&s.mu, func() int { return s.nextUpdateID })
}

// confirmLocked applies getUpdates' offset: a positive offset confirms (and
// forgets) every update below it; a negative one keeps only the last -offset.
func (s *Server) confirmLocked(offset int) {
	switch {
	case offset > 0:
		i := 0
		for i < len(s.updates) && s.updates[i].id < offset {
			i++
		}
		s.updates = s.updates[i:]
		s.confirmed = max(s.confirmed, offset)
	case offset < 0:
		if keep := -offset; keep < len(s.updates) {
			s.updates = s.updates[len(s.updates)-keep:]
		}
		if len(s.updates) > 0 {
			s.confirmed = max(s.confirmed, s.updates[0].id)
		}
	}
}

func (s *Server) batchLocked(limit int) rawResult {
	n := min(limit, len(s.updates))
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, u := range s.updates[:n] {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(u.raw)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// handleGetUpdates long-polls: it answers at once when updates are pending,
// else waits up to timeout seconds for one. It runs with s.mu held and
// releases it while waiting.
func (s *Server) handleGetUpdates(c *call) (any, *apiError) {
	if s.webhook.URL != "" {
		return nil, &apiError{code: 409, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	offset, _, _ := c.p.int("offset")
	limit, ok, _ := c.p.int("limit")
	if !ok {
		limit = 100
	}
	limit = min(max(limit, 1), 100)
	secs, _, _ := c.p.int("timeout")
	timeout := min(time.Duration(max(secs, 0))*time.Second, maxPollTimeout)

	s.confirmLocked(int(offset))
	if s.poller != nil {
		close(s.poller.superseded)
	}
	me := &poller{superseded: make(chan struct{})}
	s.poller = me
	s.changes.Notify() // the confirmation is visible before the poll ends
	defer func() {
		if s.poller == me {
			s.poller = nil
		}
	}()

	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	for {
		if len(s.updates) > 0 || timeout == 0 {
			return s.batchLocked(int(limit)), nil
		}
		changed := s.changes.Changed()
		s.mu.Unlock()
		var err *apiError
		done := false
		select {
		case <-changed:
		case <-expired:
			done = true
		case <-s.closing:
			done = true
		case <-c.ctx.Done():
			err = errClientGone
		case <-me.superseded:
			err = &apiError{code: 409, desc: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		}
		s.mu.Lock()
		if err != nil {
			return nil, err
		}
		if done {
			return s.batchLocked(int(limit)), nil
		}
	}
}

// Webhook is the webhook configuration the bot set.
type Webhook struct {
	URL         string
	SecretToken string
	Params      url.Values
}

func (s *Server) handleSetWebhook(c *call) (any, *apiError) {
	u := c.p.str("url")
	if c.p.bool("drop_pending_updates") {
		s.updates = nil
	}
	if u == "" {
		return s.deleteWebhookLocked()
	}
	if _, ok := checkedLink(u); !ok {
		return nil, badRequest("bad webhook: invalid webhook URL specified")
	}
	if aerr := checkWebhookURL(u); aerr != nil {
		return nil, aerr
	}
	secret := c.p.str("secret_token")
	if len(secret) > 256 || !validSecret(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	s.webhook = Webhook{URL: u, SecretToken: secret, Params: c.p.clone()}
	return described{true, "Webhook was set"}, nil
}

func validSecret(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func (s *Server) handleDeleteWebhook(c *call) (any, *apiError) {
	if c.p.bool("drop_pending_updates") {
		s.updates = nil
	}
	return s.deleteWebhookLocked()
}

func (s *Server) deleteWebhookLocked() (any, *apiError) {
	if s.webhook.URL == "" {
		return described{true, "Webhook is already deleted"}, nil
	}
	s.webhook = Webhook{}
	return described{true, "Webhook was deleted"}, nil
}

func (s *Server) handleGetWebhookInfo(*call) (any, *apiError) {
	info := wireWebhookInfo{URL: s.webhook.URL, PendingUpdateCount: len(s.updates)}
	if s.webhook.URL != "" {
		info.MaxConnections = s.webhookMaxConnectionsLocked()
		if v := s.webhook.Params.Get("allowed_updates"); v != "" {
			_ = json.Unmarshal([]byte(v), &info.AllowedUpdates)
		}
		if !s.hook.lastErrorDate.IsZero() {
			info.LastErrorDate = s.hook.lastErrorDate.Unix()
			info.LastErrorMessage = s.hook.lastError
		}
	}
	return info, nil
}

// Webhook returns the webhook the bot set; a zero URL means none.
func (s *Server) Webhook() Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhook
	w.Params = fakeserver.CloneValues(w.Params)
	return w
}

// ConfirmedOffset is the highest offset a getUpdates call has confirmed
// (every update below it is forgotten), 0 if none.
func (s *Server) ConfirmedOffset() int {
	return fakeserver.Locked(&s.mu, func() int { return s.confirmed })
}

// Pending is the number of updates not yet confirmed, delivered or not.
func (s *Server) Pending() int {
	return fakeserver.Locked(&s.mu, func() int { return len(s.updates) })
}

// Polling reports whether a getUpdates long poll is waiting right now, so a
// test can wait for the bot to be listening.
func (s *Server) Polling() bool {
	return fakeserver.Locked(&s.mu, func() bool { return s.poller != nil })
}
