// Package slack is the staff desk: members' questions become threads in
// staff channels on Slack, staff answer in the thread, and the answer
// reaches the member on Telegram.
//
// Everything that crosses a network goes through a durable outbox in Redis
// (bot/outbox): questions to Slack on the "slack" outbox, answers to
// Telegram on the "telegram" outbox, both keyed by member so each thread
// stays in order and survives restarts and outages of either side.
//
// Key layout (all under the configured prefix):
//
//	desk:ticket:{chat}          hash: the member's current question thread
//	                            (gen, channel, ts, status open|answered, lang,
//	                            name, username, signed_up, last, answered_by, answered_at,
//	                            question: the first message, to redraw the root,
//	                            saw_faq, faq_no: the FAQ answer seen before asking);
//	                            name, username and question are sealed (bot/sealed)
//	desk:thread:{channel}:{ts}  string: chat ID of the thread whose root is ts
//	desk:gen:{chat}:{gen}       string: "channel ts" of each question's root
//	desk:root:{chat}:{gen}      string: "channel token ms": a root about to be posted,
//	                            until it is recorded in desk:gen (see postRoot)
//	desk:relayed:{channel}:{ts} string: "chat:message_id" of a staff reply on Telegram
//	                            (its first part), once all of its text was sent
//	desk:relayed:{channel}:{ts}:part:{n}  string: message ID of part n of a long
//	                            reply, once sent (see relayText)
//	desk:relayed:{channel}:{ts}:file:{n}  string: "1" once the reply's n-th file was
//	                            sent, "given-up" if it never can be (see relayReply)
//	desk:keys:{chat}            set: every key above that belongs to the member, for /delete
//	desk:posts:{chat}           set: the bot's Slack posts ("channel ts") and files
//	                            ("file:ID") that carry the member's words, to redact on /delete
//	erased:{hmac}               the member's erasure tombstone (bot/tombstone; see erase.go)
//	desk:open, desk:answered    sets of chat IDs, for /bridge stats
//	desk:event:{event_id}       string with TTL: an event already acted on (set
//	                            with what it queued, atomically: outbox.EnqueueOnce)
//
// Outbox payloads (members' messages, staff replies, sign-ups) are sealed
// by the outbox with the same Keyring.
//
// The bot never relays messages posted by itself or any other bot, and acts
// only on threads whose root it posted (desk:thread).
package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"

	"bridgebot/bot"
	"bridgebot/bot/funnel"
	"bridgebot/bot/outbox"
	"bridgebot/bot/sealed"
	"bridgebot/bot/tombstone"
	"bridgebot/flows"
	"bridgebot/locales"
)

// DefaultQuietTime is how long after the last message a member's new
// message still joins their thread; after it, a new thread starts.
const DefaultQuietTime = 7 * 24 * time.Hour

// DefaultAnsweredRetention is Config.AnsweredRetention's default.
const DefaultAnsweredRetention = 90 * 24 * time.Hour

// Config configures the desk.
type Config struct {
	Client    *slackapi.Client
	Redis     redis.UniversalClient
	Prefix    string
	Messenger Messenger // the member side: Telegram
	Locales   *locales.Catalog
	Signups   SignupLister
	Logger    *slog.Logger

	// Flows give sign-up posts and /bridge stats the English labels of
	// steps and options ("Popular educator", not "popular-educator").
	Flows map[string]*flows.Flow
	// Funnel, when set, gives /bridge stats the sign-up funnel chart and
	// the FAQ's most asked topics.
	Funnel *funnel.Store

	QuestionsChannel string   // where questions go by default
	Routes           []Route  // first match wins, before QuestionsChannel
	SignupsChannel   string   // "" = do not post sign-ups
	SignupFields     []string // answers shown in sign-up posts
	CommandChannels  []string // where /bridge answers; default the two above
	ShowStaffName    bool     // "BRIDGE team (Ana): …" instead of "BRIDGE team: …"
	QuietTime        time.Duration
	Now              func() time.Time
	// MaxFileBytes is the largest staff file carried to a member; larger
	// ones are refused (staff are told). Default 45 MB (the Bot API takes
	// uploads up to 50 MB).
	MaxFileBytes int
	// Keyring seals what members gave in the desk's keys and outboxes.
	// Default sealed.Process() (a throwaway key: tests).
	Keyring *sealed.Keyring
	// ErasedTTL is how long a member's erasure is remembered so that work
	// queued before it is dropped. Default tombstone.DefaultTTL (30 days).
	ErasedTTL time.Duration
	// AnsweredRetention is how long an answered question's mappings and
	// texts are kept after it was answered (reopening it keeps them again),
	// and how long relayed-reply markers live. Default
	// DefaultAnsweredRetention.
	AnsweredRetention time.Duration
	// DeadRetention and DeadMaxLen bound the outboxes' dead letters
	// (outbox.Options); zero values are the outbox's defaults.
	DeadRetention time.Duration
	DeadMaxLen    int64
	// Outbox tuning for tests; zero values are production defaults.
	OutboxMinBackoff, OutboxMaxBackoff time.Duration
	// Sent, when set, records the Telegram messages of staff replies so
	// the member's /wipe deletes them too (bot/sentlog's Log).
	Sent SentRecorder
	// Observer, if set, is told what the desk does (metrics).
	Observer Observer
}

// SentRecorder records a message sent to a member for /wipe. The desk
// calls Record inside the transaction that checks the member's tombstone,
// so a reply landing after an erasure leaves no record behind.
type SentRecorder interface {
	Record(ctx context.Context, p redis.Pipeliner, chat int64, id int)
}

// Observer is told what the desk does, so operators can watch it (the
// binary turns these into Prometheus metrics). Methods must be quick and
// must not block; they get no member content.
type Observer interface {
	// QuestionAnswered: staff marked a member's question answered (✅ or
	// the button), in the member's language.
	QuestionAnswered(lang string)
	// OutboxRetry: a message to staff ("slack") or to a member
	// ("telegram") failed and will be tried again.
	OutboxRetry(direction string)
}

// Route sends questions in a language, or about an FAQ topic, to another
// channel. Written in configuration as "lang:es=C123" or "topic:cost=C456".
type Route struct {
	Lang, Topic, Channel string
}

// ParseRoutes reads SLACK_ROUTES: comma-separated rules.
func ParseRoutes(s string) ([]Route, error) {
	var out []Route
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		rule, channel, ok := strings.Cut(part, "=")
		kind, value, ok2 := strings.Cut(rule, ":")
		if !ok || !ok2 || channel == "" || value == "" {
			return nil, fmt.Errorf("route %q: want lang:es=CHANNEL or topic:cost=CHANNEL", part)
		}
		switch kind {
		case "lang":
			out = append(out, Route{Lang: value, Channel: channel})
		case "topic":
			out = append(out, Route{Topic: value, Channel: channel})
		default:
			return nil, fmt.Errorf("route %q: unknown rule %q (want lang or topic)", part, kind)
		}
	}
	return out, nil
}

// Messenger is what the desk needs of the member's side (Telegram).
type Messenger interface {
	SendText(ctx context.Context, chatID int64, html string) (int, error)
	EditText(ctx context.Context, chatID int64, messageID int, html string) error
	SendFile(ctx context.Context, chatID int64, f bot.File) (int, error)
	Fetch(ctx context.Context, fileID string) (bot.File, error)
}

// SignupLister iterates sign-ups, for stats.
type SignupLister interface {
	Signups(ctx context.Context, fn func(*bot.Signup) error) error
}

// Desk implements bot.Desk and bot.SignupNotifier.
type Desk struct {
	cfg       Config
	api       *slackapi.Client
	rdb       redis.UniversalClient
	log       *slog.Logger
	toSlack   *outbox.Outbox
	toMember  *outbox.Outbox
	now       func() time.Time
	ring      *sealed.Keyring
	graves    *tombstone.Book
	botUserID string
	botID     string

	namesMu sync.Mutex
	names   map[string]string // Slack user ID → first name

	extensions []Extension
}

var (
	_ bot.Desk           = (*Desk)(nil)
	_ bot.SignupNotifier = (*Desk)(nil)
)

// New checks the token (auth.test) and returns the desk. Run must be
// running for anything to be delivered.
func New(ctx context.Context, cfg Config) (*Desk, error) {
	if cfg.QuestionsChannel == "" {
		return nil, fmt.Errorf("slack: no questions channel (SLACK_QUESTIONS_CHANNEL)")
	}
	if cfg.QuietTime <= 0 {
		cfg.QuietTime = DefaultQuietTime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Keyring == nil {
		cfg.Keyring = sealed.Process()
	}
	if cfg.AnsweredRetention <= 0 {
		cfg.AnsweredRetention = DefaultAnsweredRetention
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = maxFileBytes
	}
	if len(cfg.SignupFields) == 0 {
		cfg.SignupFields = []string{"name", "role", "region", "areas"}
	}
	if len(cfg.CommandChannels) == 0 {
		cfg.CommandChannels = []string{cfg.QuestionsChannel, cfg.SignupsChannel}
		for _, r := range cfg.Routes {
			cfg.CommandChannels = append(cfg.CommandChannels, r.Channel)
		}
	}
	auth, err := cfg.Client.AuthTestContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("slack: auth.test: %w", err)
	}
	d := &Desk{
		cfg: cfg, api: cfg.Client, rdb: cfg.Redis, log: cfg.Logger, now: cfg.Now, ring: cfg.Keyring,
		botUserID: auth.UserID, botID: auth.BotID, names: map[string]string{},
		graves: tombstone.New(cfg.Redis, cfg.Prefix, cfg.Keyring, cfg.ErasedTTL),
	}
	opts := func(name string) outbox.Options {
		o := outbox.Options{Prefix: cfg.Prefix, Name: name, Logger: cfg.Logger, MinBackoff: cfg.OutboxMinBackoff, MaxBackoff: cfg.OutboxMaxBackoff, Keyring: cfg.Keyring,
			DeadRetention: cfg.DeadRetention, DeadMaxLen: cfg.DeadMaxLen}
		if cfg.Observer != nil {
			o.OnRetry = func() { cfg.Observer.OutboxRetry(name) }
		}
		return o
	}
	d.toSlack = outbox.New(cfg.Redis, opts("slack"))
	d.toMember = outbox.New(cfg.Redis, opts("telegram"))
	return d, nil
}

// Run delivers both outboxes until ctx ends.
func (d *Desk) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- d.toSlack.Run(ctx, d.deliverToSlack) }()
	go func() { errc <- d.toMember.Run(ctx, d.deliverToMember) }()
	err1, err2 := <-errc, <-errc
	if err1 != nil {
		return err1
	}
	return err2
}

func (d *Desk) key(parts ...string) string {
	return d.cfg.Prefix + "desk:" + strings.Join(parts, ":")
}

func (d *Desk) ticketKey(chat int64) string { return d.key("ticket", strconv.FormatInt(chat, 10)) }

// ticket is a member's current question thread.
type ticket struct {
	Gen        int64
	Channel    string
	TS         string
	Status     string
	Lang       string
	Name       string
	Username   string
	SignedUp   bool
	Last       time.Time
	AnsweredBy string
	AnsweredAt time.Time
	Question   string // the first message, shown on the root
	FAQ        faqSeen
	exists     bool
}

const (
	statusOpen     = "open"
	statusAnswered = "answered"
)

func (d *Desk) loadTicket(ctx context.Context, chat int64) (ticket, error) {
	m, err := d.rdb.HGetAll(ctx, d.ticketKey(chat)).Result()
	if err != nil {
		return ticket{}, fmt.Errorf("slack: load ticket %d: %w", chat, err)
	}
	if len(m) == 0 {
		return ticket{}, nil
	}
	t := ticket{exists: true, Channel: m["channel"], TS: m["ts"], Status: m["status"], Lang: m["lang"],
		Name: d.open(chat, "name", m["name"]), Username: d.open(chat, "username", m["username"]),
		SignedUp: m["signed_up"] == "1", AnsweredBy: m["answered_by"], Question: d.open(chat, "question", m["question"])}
	t.FAQ = faqSeen{Entry: m["saw_faq"], DidNotHelp: m["faq_no"] == "1"}
	t.Gen, _ = strconv.ParseInt(m["gen"], 10, 64)
	if v, err := strconv.ParseInt(m["last"], 10, 64); err == nil {
		t.Last = time.Unix(v, 0)
	}
	if v, err := strconv.ParseInt(m["answered_at"], 10, 64); err == nil && v > 0 {
		t.AnsweredAt = time.Unix(v, 0)
	}
	return t, nil
}

func (d *Desk) active(t ticket) bool {
	return t.exists && d.now().Sub(t.Last) < d.cfg.QuietTime
}

// Active reports whether the member's new messages join a thread (bot.Desk).
func (d *Desk) Active(ctx context.Context, chatID int64) (bool, error) {
	t, err := d.loadTicket(ctx, chatID)
	if err != nil {
		return false, err
	}
	return d.active(t), nil
}

// memberMsg is a member's message on its way to Slack.
type memberMsg struct {
	Chat       int64           `json:"chat"`
	Gen        int64           `json:"gen"`
	NewThread  bool            `json:"new,omitempty"`
	Reopen     bool            `json:"reopen,omitempty"`
	Lang       string          `json:"lang"`
	Name       string          `json:"name"`
	Username   string          `json:"username,omitempty"`
	SignedUp   bool            `json:"signed_up,omitempty"`
	Text       string          `json:"text,omitempty"`
	Topic      string          `json:"topic,omitempty"`
	Attachment *bot.Attachment `json:"attachment,omitempty"`
	At         time.Time       `json:"at"`
	FAQ        faqSeen         `json:"faq,omitzero"`
}

// Relay queues a member's message for their thread, starting a new thread
// when asked to or when the last one has gone quiet (bot.Desk). The ticket
// is updated at once, so the member's next message already joins it even
// before Slack has seen the first.
func (d *Desk) Relay(ctx context.Context, m bot.DeskMessage) error {
	once := ""
	if m.Key != "" {
		// a turn delivered again after a crash: relayed once
		once = d.onceKey("relay", m.ChatID, m.Key)
		if n, err := d.rdb.Exists(ctx, once).Result(); err != nil {
			return fmt.Errorf("slack: relay %d: %w", m.ChatID, err)
		} else if n > 0 {
			return nil
		}
	}
	t, err := d.loadTicket(ctx, m.ChatID)
	if err != nil {
		return err
	}
	now := d.now()
	msg := memberMsg{Chat: m.ChatID, Lang: m.Lang, Name: m.FirstName, Username: m.Username, SignedUp: m.SignedUp,
		Text: m.Text, Topic: m.Topic, Attachment: m.Attachment, At: now,
		FAQ: faqSeen{Entry: m.SawFAQ, DidNotHelp: m.FAQDidNotHelp}}
	chat := strconv.FormatInt(m.ChatID, 10)
	fields := map[string]any{"last": now.Unix(), "lang": m.Lang, "name": d.seal(m.FirstName), "username": d.seal(m.Username), "signed_up": boolStr(m.SignedUp)}
	pipe := d.rdb.TxPipeline()
	if t.exists && t.Status == statusAnswered {
		// The member speaks again: what was to expire with the answered
		// question is kept again (see retention.go).
		if err := d.keep(ctx, pipe, m.ChatID, m.New || !d.active(t)); err != nil {
			return err
		}
	}
	switch {
	case m.New || !d.active(t):
		msg.NewThread = true
		msg.Gen = t.Gen + 1
		fields["gen"], fields["status"], fields["channel"], fields["ts"] = msg.Gen, statusOpen, "", ""
		fields["answered_by"], fields["answered_at"], fields["question"] = "", 0, ""
		fields["saw_faq"], fields["faq_no"] = msg.FAQ.Entry, boolStr(msg.FAQ.DidNotHelp)
		pipe.SAdd(ctx, d.key("open"), chat)
		pipe.SRem(ctx, d.key("answered"), chat)
	case t.Status == statusAnswered:
		msg.Gen, msg.Reopen = t.Gen, true
		fields["status"] = statusOpen
		pipe.SAdd(ctx, d.key("open"), chat)
		pipe.SRem(ctx, d.key("answered"), chat)
	default:
		msg.Gen = t.Gen
	}
	pipe.HSet(ctx, d.ticketKey(m.ChatID), fields)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("slack: update ticket %d: %w", m.ChatID, err)
	}
	return d.enqueueOnce(ctx, d.toSlack, once, m.ChatID, kindMember, msg)
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// SignupConfirmed posts a new or updated sign-up to the sign-ups channel
// (bot.SignupNotifier).
func (d *Desk) SignupConfirmed(ctx context.Context, s *bot.Signup, updated bool) error {
	if d.cfg.SignupsChannel == "" {
		return nil
	}
	once := ""
	if key := bot.EffectKey(ctx); key != "" {
		once = d.onceKey("signup-post", s.ChatID, key)
	}
	return d.enqueueOnce(ctx, d.toSlack, once, s.ChatID, kindSignup, signupMsg{Signup: *s, Updated: updated})
}

type signupMsg struct {
	Signup  bot.Signup `json:"signup"`
	Updated bool       `json:"updated,omitempty"`
}

// Outbox entry kinds.
const (
	kindMember     = "member"      // to Slack: a member's message
	kindRootUpdate = "root_update" // to Slack: redraw a thread root
	kindSignup     = "signup"      // to Slack: a sign-up post
	kindReply      = "reply"       // to Telegram: a staff reply
	kindEdit       = "edit"        // to Telegram: a staff edit
)

func (d *Desk) enqueue(ctx context.Context, box *outbox.Outbox, chat int64, kind string, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("slack: encode %s: %w", kind, err)
	}
	if _, err := box.Enqueue(ctx, "chat:"+strconv.FormatInt(chat, 10), kind, payload); err != nil {
		return fmt.Errorf("slack: queue %s for %d: %w", kind, chat, err)
	}
	return nil
}

// onceKey names the idempotency mark of a member's turn effect (kept
// eventTTL): the chat ID appears only as a MAC under the data key, so no
// key is named after a member, and an erasure need not find it.
func (d *Desk) onceKey(kind string, chat int64, key string) string {
	return d.key("once:" + kind + ":" + d.ring.MAC(strconv.FormatInt(chat, 10)+":"+key))
}

// enqueueOnce queues like enqueue, stored atomically with the idempotency
// key once (an event's mark, kept eventTTL); a second call with the same
// key queues nothing. With once == "" it is enqueue.
func (d *Desk) enqueueOnce(ctx context.Context, box *outbox.Outbox, once string, chat int64, kind string, v any) error {
	if once == "" {
		return d.enqueue(ctx, box, chat, kind, v)
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("slack: encode %s: %w", kind, err)
	}
	if _, _, err := box.EnqueueOnce(ctx, once, eventTTL, "chat:"+strconv.FormatInt(chat, 10), kind, payload); err != nil {
		return fmt.Errorf("slack: queue %s for %d: %w", kind, chat, err)
	}
	return nil
}

// route picks the channel for a new question.
func (d *Desk) route(lang, topic string) string {
	for _, r := range d.cfg.Routes {
		if r.Topic != "" && r.Topic == topic {
			return r.Channel
		}
	}
	for _, r := range d.cfg.Routes {
		if r.Lang != "" && r.Lang == lang {
			return r.Channel
		}
	}
	return d.cfg.QuestionsChannel
}
