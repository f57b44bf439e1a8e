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
//	desk:post:{chat}:{entry}    string: "channel thread token ms [ts]": a follow-up, file
//	                            note or sign-up post of outbox entry {entry} ("-" for
//	                            no thread), ts once posted and recorded (see postOnce)
//	desk:upload:{chat}:{entry}  string: "fileID [done]": the file of a member's message
//	                            being uploaded (its ID also in desk:posts), "done" once
//	                            shared and recorded (see uploadOnce)
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

// DefaultAnsweredRetention is TicketTimes.AnsweredRetention's default.
const DefaultAnsweredRetention = 90 * 24 * time.Hour

// Config configures the desk: what it is connected to and reads, then
// four groups: where things go in Slack (Channels), the member's side
// (Member), how long the ticket store keeps things (Tickets) and the
// outboxes' tuning (Outboxes). Only Client, Redis, Member.Messenger and
// Channels.Questions are required.
type Config struct {
	Client *slackapi.Client
	Redis  redis.UniversalClient
	Prefix string // starts every key
	// Keyring seals what members gave in the desk's keys and outboxes.
	// Default sealed.Process() (a throwaway key: tests).
	Keyring *sealed.Keyring
	Logger  *slog.Logger
	Now     func() time.Time

	// What the desk reads. Locales are the staff-facing texts; Flows give
	// sign-up posts and /bridge stats the English labels of steps and
	// options ("Popular educator", not "popular-educator"); Signups and,
	// when set, Funnel feed /bridge stats (the sign-up funnel chart and
	// the FAQ's most asked topics).
	Locales *locales.Catalog
	Flows   map[string]*flows.Flow
	Signups SignupLister
	Funnel  *funnel.Store

	Channels Channels
	Member   MemberSide
	Tickets  TicketTimes
	Outboxes OutboxTuning

	// Observer, if set, is told what the desk does (metrics).
	Observer Observer
}

// Channels is where the desk posts and listens in Slack.
type Channels struct {
	Questions    string   // where questions go by default (required)
	Routes       []Route  // first match wins, before Questions
	Signups      string   // "" = do not post sign-ups
	SignupFields []string // answers shown in sign-up posts
	Commands     []string // where /bridge answers; default all of the above
}

// MemberSide is how staff replies reach members.
type MemberSide struct {
	Messenger Messenger // Telegram (required)
	// ShowStaffName: "BRIDGE team (Ana): …" instead of "BRIDGE team: …".
	ShowStaffName bool
	// MaxFileBytes is the largest staff file carried to a member; larger
	// ones are refused (staff are told). Default 45 MB (the Bot API takes
	// uploads up to 50 MB).
	MaxFileBytes int
	// Sent, when set, records the Telegram messages of staff replies so
	// the member's /wipe deletes them too (bot/sentlog's Log).
	Sent SentRecorder
}

// TicketTimes is how long the ticket store keeps things.
type TicketTimes struct {
	// QuietTime is how long after the last message a member's new message
	// still joins their thread. Default DefaultQuietTime.
	QuietTime time.Duration
	// AnsweredRetention is how long an answered question's mappings and
	// texts are kept after it was answered (reopening it keeps them again),
	// and how long relayed-reply markers live. Default
	// DefaultAnsweredRetention.
	AnsweredRetention time.Duration
	// ErasedTTL is how long a member's erasure is remembered so that work
	// queued before it is dropped. Default tombstone.DefaultTTL (30 days).
	ErasedTTL time.Duration
}

// OutboxTuning tunes the desk's two outboxes (outbox.Options); zero values
// are the outbox's production defaults.
type OutboxTuning struct {
	MinBackoff, MaxBackoff time.Duration
	// Grace is how long a Slack or Telegram call in flight at shutdown
	// may go on (outbox.Options.Grace); set it below the process's
	// shutdown deadline. An entry cut off stays queued for the next
	// process.
	Grace time.Duration
	// DeadRetention and DeadMaxLen bound the dead letters.
	DeadRetention time.Duration
	DeadMaxLen    int64
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

// Desk implements bot.Desk and bot.SignupNotifier: the Slack transport
// (Web API, events, outboxes) around the ticket store it embeds.
type Desk struct {
	*tickets
	cfg       Config
	api       *slackapi.Client
	log       *slog.Logger
	toSlack   *outbox.Outbox
	toMember  *outbox.Outbox
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
	ch, tt := &cfg.Channels, &cfg.Tickets
	if ch.Questions == "" {
		return nil, fmt.Errorf("slack: no questions channel (SLACK_QUESTIONS_CHANNEL)")
	}
	if tt.QuietTime <= 0 {
		tt.QuietTime = DefaultQuietTime
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
	if tt.AnsweredRetention <= 0 {
		tt.AnsweredRetention = DefaultAnsweredRetention
	}
	if cfg.Member.MaxFileBytes <= 0 {
		cfg.Member.MaxFileBytes = maxFileBytes
	}
	if len(ch.SignupFields) == 0 {
		ch.SignupFields = []string{"name", "role", "region", "areas"}
	}
	if len(ch.Commands) == 0 {
		ch.Commands = []string{ch.Questions, ch.Signups}
		for _, r := range ch.Routes {
			ch.Commands = append(ch.Commands, r.Channel)
		}
	}
	auth, err := cfg.Client.AuthTestContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("slack: auth.test: %w", err)
	}
	d := &Desk{
		tickets: &tickets{
			rdb: cfg.Redis, prefix: cfg.Prefix, quiet: tt.QuietTime, answeredRetention: tt.AnsweredRetention,
			ring: cfg.Keyring, graves: tombstone.New(cfg.Redis, cfg.Prefix, cfg.Keyring, tt.ErasedTTL), now: cfg.Now, log: cfg.Logger,
		},
		cfg: cfg, api: cfg.Client, log: cfg.Logger,
		botUserID: auth.UserID, botID: auth.BotID, names: map[string]string{},
	}
	opts := func(name string) outbox.Options {
		ob := cfg.Outboxes
		o := outbox.Options{Prefix: cfg.Prefix, Name: name, Logger: cfg.Logger, MinBackoff: ob.MinBackoff, MaxBackoff: ob.MaxBackoff, Keyring: cfg.Keyring,
			Grace: ob.Grace, DeadRetention: ob.DeadRetention, DeadMaxLen: ob.DeadMaxLen}
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
	if d.cfg.Channels.Signups == "" {
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

// memberQueue is the outbox key of a member's entries (in both outboxes),
// which keeps them in order; erasure purges it.
func memberQueue(chat int64) string { return "chat:" + strconv.FormatInt(chat, 10) }

func (d *Desk) enqueue(ctx context.Context, box *outbox.Outbox, chat int64, kind string, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("slack: encode %s: %w", kind, err)
	}
	if _, err := box.Enqueue(ctx, memberQueue(chat), kind, payload); err != nil {
		return fmt.Errorf("slack: queue %s for %d: %w", kind, chat, err)
	}
	return nil
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
	if _, _, err := box.EnqueueOnce(ctx, once, eventTTL, memberQueue(chat), kind, payload); err != nil {
		return fmt.Errorf("slack: queue %s for %d: %w", kind, chat, err)
	}
	return nil
}

// route picks the channel for a new question.
func (d *Desk) route(lang, topic string) string {
	for _, r := range d.cfg.Channels.Routes {
		if r.Topic != "" && r.Topic == topic {
			return r.Channel
		}
	}
	for _, r := range d.cfg.Channels.Routes {
		if r.Lang != "" && r.Lang == lang {
			return r.Channel
		}
	}
	return d.cfg.Channels.Questions
}
