package broadcast

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Subscriber is a member who opted in to announcements.
type Subscriber struct {
	ChatID int64
	Lang   string   // "en" or "es": the version they get
	Role   string   // a value of Roles, or ""
	Areas  []string // values of Areas
	Border string   // "yes", "no" or "" (not asked)
	Since  time.Time
}

// record is what is stored per subscriber (Since is stored apart so a
// re-subscription keeps it).
type record struct {
	Lang   string   `json:"lang"`
	Role   string   `json:"role,omitempty"`
	Areas  []string `json:"areas,omitempty"`
	Border string   `json:"border,omitempty"`
}

// Unsubscribe reasons.
const (
	ReasonStop    = "stop"    // the member asked (/stop)
	ReasonBlocked = "blocked" // the member blocked the bot (403, my_chat_member kicked)
)

// NormalizeLang maps a language code such as "es-MX" to "en" or "es", or
// "" when it is neither.
func NormalizeLang(code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	if i := strings.IndexAny(code, "-_"); i >= 0 {
		code = code[:i]
	}
	if slices.Contains(Langs, code) {
		return code
	}
	return ""
}

var subscribeScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local since = ARGV[3]
if since == '' then
	local t = redis.call('TIME')
	since = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end
redis.call('HSETNX', KEYS[2], ARGV[1] .. ':since', since)
return 1
`)

// Subscribe opts a member in, or updates their language and profile if
// they already are (idempotent). The original Since is kept; a zero Since
// means now (by the Redis clock, which jobs are compared with).
func (s *Store) Subscribe(ctx context.Context, sub Subscriber) error {
	if sub.ChatID == 0 {
		return errors.New("broadcast: subscribe: no chat ID")
	}
	lang := NormalizeLang(sub.Lang)
	if lang == "" {
		return fmt.Errorf("broadcast: subscribe %d: language %q: want en or es", sub.ChatID, sub.Lang)
	}
	if sub.Border != "" && !slices.Contains(Borders, sub.Border) {
		return fmt.Errorf("broadcast: subscribe %d: border %q: want yes, no or empty", sub.ChatID, sub.Border)
	}
	rec, err := s.opts.sealRecord(record{Lang: lang, Role: sub.Role, Areas: sub.Areas, Border: sub.Border})
	if err != nil {
		return fmt.Errorf("broadcast: subscribe %d: %w", sub.ChatID, err)
	}
	since := ""
	if !sub.Since.IsZero() {
		since = strconv.FormatInt(sub.Since.UnixMilli(), 10)
	}
	id := strconv.FormatInt(sub.ChatID, 10)
	err = subscribeScript.Run(ctx, s.rdb, []string{s.k.subs(), s.k.subsData()}, id, rec, since).Err()
	if err != nil {
		return fmt.Errorf("broadcast: subscribe %d: %w", sub.ChatID, err)
	}
	return nil
}

var unsubscribeScript = redis.NewScript(`
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1], ARGV[1] .. ':since')
if removed == 1 then
	redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
end
return removed
`)

// Unsubscribe opts a member out at once; was reports whether they were
// subscribed. reason is ReasonStop or ReasonBlocked; each is counted (see
// UnsubscribeCounts).
func (s *Store) Unsubscribe(ctx context.Context, chatID int64, reason string) (was bool, err error) {
	if reason != ReasonStop && reason != ReasonBlocked {
		return false, fmt.Errorf("broadcast: unsubscribe: reason %q: want %q or %q", reason, ReasonStop, ReasonBlocked)
	}
	n, err := unsubscribeScript.Run(ctx, s.rdb, []string{s.k.subs(), s.k.subsData(), s.k.subsStats()},
		strconv.FormatInt(chatID, 10), reason).Int()
	if err != nil {
		return false, fmt.Errorf("broadcast: unsubscribe %d: %w", chatID, err)
	}
	return n == 1, nil
}

// IsSubscribed reports whether the member is subscribed.
func (s *Store) IsSubscribed(ctx context.Context, chatID int64) (bool, error) {
	err := s.rdb.ZScore(ctx, s.k.subs(), strconv.FormatInt(chatID, 10)).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("broadcast: is subscribed %d: %w", chatID, err)
	}
	return true, nil
}

// Subscriber returns a member's subscription; ok is false if they are not
// subscribed.
func (s *Store) Subscriber(ctx context.Context, chatID int64) (sub Subscriber, ok bool, err error) {
	id := strconv.FormatInt(chatID, 10)
	vals, err := s.rdb.HMGet(ctx, s.k.subsData(), id, id+":since").Result()
	if err != nil {
		return Subscriber{}, false, fmt.Errorf("broadcast: subscriber %d: %w", chatID, err)
	}
	sub, ok, err = s.opts.decodeSubscriber(id, vals[0], vals[1])
	if err != nil {
		return Subscriber{}, false, fmt.Errorf("broadcast: subscriber %d: %w", chatID, err)
	}
	return sub, ok, nil
}

// UnsubscribeCounts returns how many unsubscriptions there were by reason
// ("stop", "blocked"), since the beginning.
func (s *Store) UnsubscribeCounts(ctx context.Context) (map[string]int64, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.subsStats()).Result()
	if err != nil {
		return nil, fmt.Errorf("broadcast: unsubscribe counts: %w", err)
	}
	out := map[string]int64{ReasonStop: 0, ReasonBlocked: 0}
	for k, v := range m {
		out[k], _ = strconv.ParseInt(v, 10, 64)
	}
	return out, nil
}

// pageScript returns up to ARGV[2] subscribers after chat ID ARGV[1] ("" =
// from the start) with their records: {ids, {rec1, since1, rec2, ...}}.
var pageScript = redis.NewScript(`
local min = '-inf'
if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], min, '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then return {{}, {}} end
local f = {}
for i, id in ipairs(ids) do
	f[2 * i - 1] = id
	f[2 * i] = id .. ':since'
end
return {ids, redis.call('HMGET', KEYS[2], unpack(f))}
`)

// Each calls fn for every subscriber in the audience, in chat ID order,
// reading PageSize of them per round trip: memory stays flat whatever the
// number of subscribers. An error from fn stops the walk and is returned.
// Records that cannot be decrypted (their key is not configured) are left
// out and logged once, by the key they need.
func (s *Store) Each(ctx context.Context, a Audience, fn func(Subscriber) error) error {
	bad := unreadable{}
	defer bad.report(s.opts.Logger, "reading the audience")
	cursor := ""
	for {
		res, err := pageScript.Run(ctx, s.rdb, []string{s.k.subs(), s.k.subsData()}, cursor, s.opts.PageSize).Slice()
		if err != nil {
			return fmt.Errorf("broadcast: read subscribers: %w", err)
		}
		ids, recs := asSlice(res, 0), asSlice(res, 1)
		for i, raw := range ids {
			id, _ := raw.(string)
			cursor = id
			if 2*i+1 >= len(recs) {
				break
			}
			sub, ok, err := s.opts.decodeSubscriber(id, recs[2*i], recs[2*i+1])
			if err != nil {
				bad.add(err)
			}
			if !ok || !a.Match(sub) {
				continue
			}
			if err := fn(sub); err != nil {
				return err
			}
		}
		if len(ids) < s.opts.PageSize {
			return nil
		}
	}
}

// Count returns how many subscribers of the audience there are per
// language, streaming the subscribers in pages.
func (s *Store) Count(ctx context.Context, a Audience) (map[string]int, error) {
	out := map[string]int{}
	for _, l := range Langs {
		out[l] = 0
	}
	err := s.Each(ctx, a, func(sub Subscriber) error {
		out[sub.Lang]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func asSlice(v []any, i int) []any {
	if i >= len(v) {
		return nil
	}
	s, _ := v[i].([]any)
	return s
}
