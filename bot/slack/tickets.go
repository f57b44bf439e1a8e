package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/sealed"
	"bridgebot/bot/tombstone"
)

// tickets is the desk's state in Redis — each member's question thread,
// its mapping to Slack threads, idempotency marks, retention and erasure
// tombstones (the key layout is in desk.go) — with no Slack in it: the
// Desk, which embeds it, is the Slack transport around it.
type tickets struct {
	rdb               redis.UniversalClient
	prefix            string
	quiet             time.Duration // QuietTime: when a new message starts a new thread
	answeredRetention time.Duration
	ring              *sealed.Keyring
	graves            *tombstone.Book
	now               func() time.Time
	log               *slog.Logger
}

func (tk *tickets) key(parts ...string) string {
	return tk.prefix + "desk:" + strings.Join(parts, ":")
}

func (tk *tickets) ticketKey(chat int64) string { return tk.key("ticket", strconv.FormatInt(chat, 10)) }

func (tk *tickets) loadTicket(ctx context.Context, chat int64) (ticket, error) {
	m, err := tk.rdb.HGetAll(ctx, tk.ticketKey(chat)).Result()
	if err != nil {
		return ticket{}, fmt.Errorf("slack: load ticket %d: %w", chat, err)
	}
	if len(m) == 0 {
		return ticket{}, nil
	}
	t := ticket{exists: true, Channel: m["channel"], TS: m["ts"], Status: m["status"], Lang: m["lang"],
		Name: tk.open(chat, "name", m["name"]), Username: tk.open(chat, "username", m["username"]),
		SignedUp: m["signed_up"] == "1", AnsweredBy: m["answered_by"], Question: tk.open(chat, "question", m["question"])}
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

func (tk *tickets) active(t ticket) bool {
	return t.exists && tk.now().Sub(t.Last) < tk.quiet
}

// onceKey names the idempotency mark of a member's turn effect (kept
// eventTTL): the chat ID appears only as a MAC under the data key, so no
// key is named after a member, and an erasure need not find it.
func (tk *tickets) onceKey(kind string, chat int64, key string) string {
	return tk.key("once:" + kind + ":" + tk.ring.MAC(strconv.FormatInt(chat, 10)+":"+key))
}

func (tk *tickets) threadChat(ctx context.Context, channel, threadTS string) (int64, bool, error) {
	if threadTS == "" {
		return 0, false, nil
	}
	v, err := tk.rdb.Get(ctx, tk.key("thread", channel, threadTS)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("slack: find thread: %w", err)
	}
	chat, err := strconv.ParseInt(v, 10, 64)
	return chat, err == nil, nil
}

// OpenQuestions counts the members whose question is open now (a
// gauge for operators; /bridge stats also prunes expired ones).
func (tk *tickets) OpenQuestions(ctx context.Context) (int64, error) {
	n, err := tk.rdb.SCard(ctx, tk.key("open")).Result()
	if err != nil {
		return 0, fmt.Errorf("slack: open questions: %w", err)
	}
	return n, nil
}

// genThread is where a thread generation's root was posted ("" if not yet).
// Each question keeps its own thread, so messages queued for an older
// question still land in it after the member has asked a new one.
func (tk *tickets) genThread(ctx context.Context, chat, gen int64) (channel, ts string, err error) {
	v, err := tk.rdb.Get(ctx, tk.key("gen", strconv.FormatInt(chat, 10), strconv.FormatInt(gen, 10))).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("find thread: %w", err)
	}
	channel, ts, _ = strings.Cut(v, " ")
	return channel, ts, nil
}

// Retention. An answered question's mappings and texts (the ticket with
// the question, the thread and generation mappings, relayed markers, the
// member's key list) expire TicketTimes.AnsweredRetention after the question
// was answered; reopening it, or the member writing again, keeps them
// again. Relayed-reply markers and root, post and upload intents always
// expire after AnsweredRetention. The record of the bot's own posts with
// the member's words (desk:posts:{chat}) is kept without expiry: it is
// what lets a later /delete redact those posts, which Slack keeps. The
// open and answered sets are pruned of members whose ticket has expired
// whenever /bridge stats counts them.

// expireAnswered sets the member's desk keys to expire AnsweredRetention
// from now (in pipe, which the caller executes).
func (tk *tickets) expireAnswered(ctx context.Context, pipe redis.Pipeliner, chat int64, keys []string) {
	ttl := tk.answeredRetention
	id := strconv.FormatInt(chat, 10)
	pipe.PExpire(ctx, tk.ticketKey(chat), ttl)
	pipe.PExpire(ctx, tk.key("keys", id), ttl)
	for _, k := range keys {
		if tk.expiresAnyway(k) {
			continue
		}
		pipe.PExpire(ctx, k, ttl)
	}
}

// keep undoes expireAnswered (in pipe). With newThread only the ticket and
// the key list are kept: the answered thread's own keys still expire.
func (tk *tickets) keep(ctx context.Context, pipe redis.Pipeliner, chat int64, newThread bool) error {
	id := strconv.FormatInt(chat, 10)
	pipe.Persist(ctx, tk.ticketKey(chat))
	pipe.Persist(ctx, tk.key("keys", id))
	if newThread {
		return nil
	}
	keys, err := tk.rdb.SMembers(ctx, tk.key("keys", id)).Result()
	if err != nil {
		return fmt.Errorf("slack: keep question %d: %w", chat, err)
	}
	for _, k := range keys {
		if !tk.expiresAnyway(k) {
			pipe.Persist(ctx, k)
		}
	}
	return nil
}

// expiresAnyway tells the keys that always have their own expiry.
func (tk *tickets) expiresAnyway(key string) bool {
	for _, kind := range []string{"relayed", "root", "post", "upload"} {
		if strings.HasPrefix(key, tk.key(kind)+":") {
			return true
		}
	}
	return false
}

// pruneStats drops from the open and answered sets the members whose
// ticket has expired (or was erased).
func (tk *tickets) pruneStats(ctx context.Context) error {
	for _, set := range []string{tk.key("open"), tk.key("answered")} {
		ids, err := tk.rdb.SMembers(ctx, set).Result()
		if err != nil {
			return fmt.Errorf("slack: prune %s: %w", set, err)
		}
		if len(ids) == 0 {
			continue
		}
		pipe := tk.rdb.Pipeline()
		exists := make([]*redis.IntCmd, len(ids))
		for i, id := range ids {
			exists[i] = pipe.Exists(ctx, tk.key("ticket", id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("slack: prune %s: %w", set, err)
		}
		var gone []any
		for i, c := range exists {
			if c.Val() == 0 {
				gone = append(gone, ids[i])
			}
		}
		if len(gone) > 0 {
			if err := tk.rdb.SRem(ctx, set, gone...).Err(); err != nil {
				return fmt.Errorf("slack: prune %s: %w", set, err)
			}
		}
	}
	return nil
}

// seal encrypts a member's words for a desk key; "" stays "" (nothing to
// hide, and a cleared field stays recognisably empty).
func (tk *tickets) seal(s string) string {
	if s == "" {
		return ""
	}
	return tk.ring.SealString(s)
}

// open decrypts a sealed ticket field. A field that cannot be opened (its
// key was retired and left out of the ring, or it was altered) is reported
// with the key ID it needs and read as "": the desk goes on without it
// rather than showing garbage.
func (tk *tickets) open(chat int64, field, v string) string {
	p, err := tk.ring.OpenString(v)
	if err != nil {
		tk.log.Warn("cannot decrypt a desk field", slog.Int64("chat", chat), slog.String("field", field),
			slog.String("key_id", sealed.ValueKeyID([]byte(v))), slog.Any("err", err))
		return ""
	}
	return p
}

func (tk *tickets) postsKey(chat int64) string { return tk.key("posts", strconv.FormatInt(chat, 10)) }

// erased reports whether the member erased their data after origin (see
// bot/tombstone).
func (tk *tickets) erased(ctx context.Context, chat int64, origin time.Time) (time.Time, bool, error) {
	at, gone, err := tk.graves.Erased(ctx, chat, origin)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("slack: %w", err)
	}
	return at, gone, nil
}

// guard runs write unless the member erased their data after origin, and
// reports that case (see tombstone.Book.Guard).
func (tk *tickets) guard(ctx context.Context, chat int64, origin time.Time, write func(redis.Pipeliner)) (time.Time, bool, error) {
	at, gone, err := tk.graves.Guard(ctx, chat, origin, func(p redis.Pipeliner) error { write(p); return nil })
	if err != nil {
		return time.Time{}, false, fmt.Errorf("slack: %w", err)
	}
	return at, gone, nil
}
