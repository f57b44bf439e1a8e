package broadcast

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/locales"
)

// Subscribers keeps who wants announcements and what an audience may
// select them by (their sealed records, the reasons they left): the
// engine's bot.Subscriptions. A Store embeds it, its jobs walk it; it
// knows nothing of jobs.
type Subscribers struct {
	rdb  redis.UniversalClient
	opts Options
	k    keys
}

var _ bot.Subscriptions = (*Subscribers)(nil)

// NewSubscribers returns the subscriptions on client (not closed by them).
func NewSubscribers(client redis.UniversalClient, opts Options) *Subscribers {
	opts = opts.withDefaults()
	return &Subscribers{rdb: client, opts: opts, k: keys{opts.Prefix}}
}

// record is what is stored per subscriber (Since is stored apart so a
// re-subscription keeps it).
type record struct {
	Lang   string   `json:"lang"`
	Role   string   `json:"role,omitempty"`
	Areas  []string `json:"areas,omitempty"`
	Border string   `json:"border,omitempty"`
}

// NormalizeLang maps a language code such as "es-MX" to "en" or "es", or
// "" when it is neither.
func NormalizeLang(code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	if i := strings.IndexAny(code, "-_"); i >= 0 {
		code = code[:i]
	}
	if slices.Contains(locales.Languages, code) {
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
func (s *Subscribers) Subscribe(ctx context.Context, sub bot.Subscription) error {
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
// subscribed. reason is bot.UnsubscribeStop or bot.UnsubscribeBlocked; each is counted (see
// UnsubscribeCounts).
func (s *Subscribers) Unsubscribe(ctx context.Context, chatID int64, reason string) (was bool, err error) {
	if reason != bot.UnsubscribeStop && reason != bot.UnsubscribeBlocked {
		return false, fmt.Errorf("broadcast: unsubscribe: reason %q: want %q or %q", reason, bot.UnsubscribeStop, bot.UnsubscribeBlocked)
	}
	n, err := unsubscribeScript.Run(ctx, s.rdb, []string{s.k.subs(), s.k.subsData(), s.k.subsStats()},
		strconv.FormatInt(chatID, 10), reason).Int()
	if err != nil {
		return false, fmt.Errorf("broadcast: unsubscribe %d: %w", chatID, err)
	}
	return n == 1, nil
}

// IsSubscribed reports whether the member is subscribed.
func (s *Subscribers) IsSubscribed(ctx context.Context, chatID int64) (bool, error) {
	err := s.rdb.ZScore(ctx, s.k.subs(), strconv.FormatInt(chatID, 10)).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("broadcast: is subscribed %d: %w", chatID, err)
	}
	return true, nil
}

// Subscription returns a member's subscription; ok is false if they are not
// subscribed.
func (s *Subscribers) Subscription(ctx context.Context, chatID int64) (sub bot.Subscription, ok bool, err error) {
	id := strconv.FormatInt(chatID, 10)
	vals, err := s.rdb.HMGet(ctx, s.k.subsData(), id, id+":since").Result()
	if err != nil {
		return bot.Subscription{}, false, fmt.Errorf("broadcast: subscriber %d: %w", chatID, err)
	}
	sub, ok, err = s.opts.decodeSubscriber(id, vals[0], vals[1])
	if err != nil {
		return bot.Subscription{}, false, fmt.Errorf("broadcast: subscriber %d: %w", chatID, err)
	}
	return sub, ok, nil
}

// UnsubscribeCounts returns how many unsubscriptions there were by reason
// ("stop", "blocked"), since the beginning.
func (s *Subscribers) UnsubscribeCounts(ctx context.Context) (map[string]int64, error) {
	m, err := s.rdb.HGetAll(ctx, s.k.subsStats()).Result()
	if err != nil {
		return nil, fmt.Errorf("broadcast: unsubscribe counts: %w", err)
	}
	out := map[string]int64{bot.UnsubscribeStop: 0, bot.UnsubscribeBlocked: 0}
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
func (s *Subscribers) Each(ctx context.Context, a Audience, fn func(bot.Subscription) error) error {
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
func (s *Subscribers) Count(ctx context.Context, a Audience) (map[string]int, error) {
	out := map[string]int{}
	for _, l := range locales.Languages {
		out[l] = 0
	}
	err := s.Each(ctx, a, func(sub bot.Subscription) error {
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
