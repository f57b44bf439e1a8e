// Package redisstore keeps bridgebot's sessions and sign-ups in Redis.
//
// Redis is used because every update needs one fast read and one atomic
// write, abandoned conversations must vanish on their own (key expiry is
// the privacy guarantee: nothing lingers about a member who walked away),
// and sign-ups must survive restarts. The same code runs against a real
// server and against miniredis (see StartEmbedded), so the console and
// small deployments need nothing installed.
//
// # Key layout
//
// All keys start with Options.Prefix (default "bridgebot:"):
//
//	{prefix}session:{chatID}  hash: field "v" = version (decimal integer),
//	                          field "d" = bot.Session as JSON, sealed
//	                          (bot/sealed: AES-256-GCM). PEXPIRE
//	                          SessionTTL, refreshed on every save, so an
//	                          abandoned session and its half-filled form
//	                          disappear after SessionTTL of inactivity.
//	{prefix}signup:{chatID}   string: bot.Signup as JSON, sealed. No TTL: a sign-up
//	                          is kept until the member deletes it (/delete).
//	{prefix}signups           sorted set: member = chat ID (decimal), score =
//	                          Signup.Created in Unix milliseconds. It gives
//	                          exports a stable creation order without
//	                          scanning the keyspace.
//	{prefix}rate:{mac}:{min}  string: the member's messages in that minute
//	                          (flood control), INCR by Load; PEXPIRE 61 s, so
//	                          it is gone a minute after its window, and
//	                          deleted at once by /delete (Save with Forget).
//	                          {mac} is the keyring's MAC of the chat ID (as
//	                          tombstones), {min} Unix minutes.
//
// Everything a member gave (answers, the question they typed, the
// deep-link source) is inside the sealed values; only the version, the
// chat IDs in key names and the index stay clear. Values written before
// encryption was enabled (plain JSON) are still read, and sealed by
// `bridgebot rekey` or their next save.
//
// A missing version counts as 0, so a new member's first save expects 0.
// Save is a single Lua script: it checks the version and writes the
// session, the sign-up and the index together, so a crash or a concurrent
// update can never leave a sign-up without its index entry or the reverse.
//
// Redis Cluster: the script touches three keys, which must live in one hash
// slot. Use a prefix with a hash tag, such as "{bridgebot}:", when the
// client is a cluster client.
package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/sealed"
)

// Defaults for Options.
const (
	DefaultPrefix     = "bridgebot:"
	DefaultSessionTTL = 14 * 24 * time.Hour
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Prefix starts every key, so several bots (or tests) can share one
	// Redis database. Default DefaultPrefix.
	Prefix string
	// SessionTTL is how long a session (and its partial form) survives
	// without a save. It bounds how long anything about a member who never
	// finished is kept. Default DefaultSessionTTL.
	SessionTTL time.Duration
	// Keyring seals sessions and sign-ups. Default sealed.Process(), a
	// throwaway key only this process can use (tests, console).
	Keyring *sealed.Keyring
	// Now is the clock, replaceable in tests. It dates the index entry of
	// a sign-up whose Created is zero. Default time.Now.
	Now func() time.Time
	// OwnerTTL is how long after this process dies its undelivered turns
	// are taken over by another (DefaultOwnerTTL); ClaimTTL bounds one
	// delivery (DefaultClaimTTL); TurnTTL drops turns nobody could deliver
	// (DefaultTurnTTL).
	OwnerTTL, ClaimTTL, TurnTTL time.Duration
	// Logger reports recorded turns that cannot be read.
	Logger *slog.Logger
}

// Store is a bot.Store backed by Redis. It is safe for concurrent use:
// all coordination happens in Redis, so several bot processes may share
// one database.
type Store struct {
	rdb        redis.UniversalClient
	prefix     string
	sessionTTL time.Duration
	now        func() time.Time
	ring       *sealed.Keyring
	cache      sessionCache
	turnState
}

var _ bot.Store = (*Store)(nil)

// New returns a Store using client. The client is not closed by the Store.
func New(client redis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Keyring == nil {
		opts.Keyring = sealed.Process()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{
		ring:       opts.Keyring,
		rdb:        client,
		prefix:     opts.Prefix,
		sessionTTL: opts.SessionTTL,
		now:        opts.Now,
		turnState: turnState{
			owner:    newOwner(),
			ownerTTL: or(opts.OwnerTTL, DefaultOwnerTTL),
			claimTTL: or(opts.ClaimTTL, DefaultClaimTTL),
			turnTTL:  or(opts.TurnTTL, DefaultTurnTTL),
			log:      opts.Logger,
			ackKick:  make(chan struct{}, 1),
		},
	}
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (s *Store) sessionKey(chatID int64) string {
	return s.prefix + "session:" + strconv.FormatInt(chatID, 10)
}

func (s *Store) signupKey(chatID int64) string {
	return s.prefix + "signup:" + strconv.FormatInt(chatID, 10)
}

func (s *Store) signupsKey() string { return s.prefix + "signups" }

// rateWindow is flood control's fixed window; a counter key outlives its
// window by a second, so a late INCR still finds it, then expires.
const rateWindow = time.Minute

func (s *Store) rateKey(chatID int64, now time.Time) string {
	return s.prefix + "rate:" + s.ring.MAC(strconv.FormatInt(chatID, 10)) + ":" +
		strconv.FormatInt(now.UnixMilli()/rateWindow.Milliseconds(), 10)
}

// rateKeys are every flood-control counter of the member that may still
// exist: a counter outlives its window by a second, so the current
// window's, the one before and, in the first second, the one before that.
// /delete removes them: they are named after the member's chat (by MAC).
func (s *Store) rateKeys(chatID int64) []string {
	now := s.now()
	return []string{s.rateKey(chatID, now), s.rateKey(chatID, now.Add(-rateWindow)), s.rateKey(chatID, now.Add(-2*rateWindow))}
}

// Load returns the member's session and sign-up, and counts the update
// for flood control when the engine asks (bot.CountRate; Member.Recent). All go in one pipeline: Load runs
// for every update, so it costs one round trip — or none, when the chat
// is in the session cache (cache.go; Member.Cached: the save counts the
// update) or a refused save just read it.
func (s *Store) Load(ctx context.Context, chatID int64) (bot.Member, error) {
	// While delivered turns of the chat wait for their removal, a cached
	// session would be refused (turns waiting): read what Redis has (or
	// what a refused save just read).
	limit := bot.RateLimit(ctx)
	if bot.RateCounted(ctx) && limit <= 0 {
		limit = 1 << 62 // counted without a limit: count, never refuse
	}
	if e := s.cache.take(chatID, limit, !s.removing(chatID)); e != nil {
		if e.state == stateSaved {
			return bot.Member{Session: e.sess, Signup: e.signup, Cached: true}, nil
		}
		m, err := s.member(chatID, e.fresh.hm, e.fresh.signup, e.fresh.turns)
		if err != nil {
			s.cache.drop(chatID)
			return bot.Member{}, fmt.Errorf("redisstore: load session %d: %w", chatID, err)
		}
		m.Recent = max(e.fresh.recent, 0)
		s.cache.loaded(chatID, m.Session, m.Signup, false)
		return m, nil
	}
	pipe := s.rdb.Pipeline()
	hm := pipe.HMGet(ctx, s.sessionKey(chatID), "v", "d")
	get := pipe.Get(ctx, s.signupKey(chatID))
	turns := pipe.LRange(ctx, s.turnsKey(chatID), 0, -1)
	var recent *redis.IntCmd
	if bot.RateCounted(ctx) {
		rk := s.rateKey(chatID, s.now())
		recent = pipe.Incr(ctx, rk)
		pipe.PExpire(ctx, rk, rateWindow+time.Second)
	}
	// A missing sign-up makes Exec report redis.Nil; the commands' own
	// errors are checked below.
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return bot.Member{}, fmt.Errorf("redisstore: load session %d: %w", chatID, err)
	}
	var signup any
	switch raw, err := get.Result(); {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return bot.Member{}, fmt.Errorf("redisstore: load sign-up %d: %w", chatID, err)
	default:
		signup = raw
	}
	m, err := s.member(chatID, hm.Val(), signup, turns.Val())
	if err != nil {
		return bot.Member{}, fmt.Errorf("redisstore: load session %d: %w", chatID, err)
	}
	if recent != nil {
		m.Recent = recent.Val()
	}
	s.cache.loaded(chatID, m.Session, m.Signup, false)
	return m, nil
}

// member decodes what Load (or a refused save) read: HMGET v d, the
// sign-up (a string, or nil for none) and the recorded turns.
func (s *Store) member(chatID int64, hm []any, signup any, turns []string) (bot.Member, error) {
	sess, err := s.decodeSession(chatID, hm)
	if err != nil {
		return bot.Member{}, err
	}
	m := bot.Member{Session: sess}
	if len(turns) > 0 {
		m.Pending = s.openTurn(chatID, turns)
	}
	if raw, ok := signup.(string); ok {
		if m.Signup, err = s.decodeSignup(raw); err != nil {
			return bot.Member{}, fmt.Errorf("sign-up: %w", err)
		}
	}
	return m, nil
}

// decodeSession builds a session from HMGET v d. Missing fields come back
// as nil: no session yet, so a fresh one at version 0.
func (s *Store) decodeSession(chatID int64, vals []any) (*bot.Session, error) {
	if len(vals) != 2 {
		return nil, fmt.Errorf("HMGET returned %d values, want 2", len(vals))
	}
	sess := &bot.Session{}
	if v, ok := vals[0].(string); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("corrupt version %q", v)
		}
		sess.Version = n
	}
	if d, ok := vals[1].(string); ok {
		version := sess.Version
		js, err := s.ring.OpenLegacy([]byte(d))
		if err != nil {
			return nil, fmt.Errorf("open session: %w", err)
		}
		if err := json.Unmarshal(js, sess); err != nil {
			return nil, fmt.Errorf("corrupt session JSON: %w", err)
		}
		sess.Version = version
	}
	// The key is authoritative, whatever the JSON says.
	sess.ChatID = chatID
	return sess, nil
}

func (s *Store) decodeSignup(raw string) (*bot.Signup, error) {
	js, err := s.ring.OpenLegacy([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("open sign-up: %w", err)
	}
	su := new(bot.Signup)
	if err := json.Unmarshal(js, su); err != nil {
		return nil, fmt.Errorf("corrupt sign-up JSON: %w", err)
	}
	return su, nil
}

// saveScript checks the version and applies the whole change atomically.
// Versions are compared as strings, as written by Save: no Lua number
// conversion can round them.
//
//	KEYS[1] session hash, KEYS[2] sign-up string, KEYS[3] sign-up index
//	ARGV[1] expected version, ARGV[2] next version, ARGV[3] session JSON,
//	ARGV[4] session TTL in ms, ARGV[5] op: "save", "signup" or "forget",
//	ARGV[6] chat ID (index member), ARGV[7] sign-up JSON, ARGV[8] its score
//
// and records the turn's outputs (redisstore/turns.go):
//
//	KEYS[4] turns list, KEYS[5] turns index, KEYS[6] this process's liveness key
//	ARGV[9] now ms, ARGV[10] owner TTL ms ("0": do not refresh it),
//	ARGV[11] turn TTL ms, ARGV[12] the cache check, ARGV[13] and ARGV[14]
//	the count (below), ARGV[15…] sealed entries
//
// A session from the session cache (cache.go) was not read from Redis
// for this turn: ARGV[12] is then "1" or "0", whether the cache holds a
// sign-up, and the script also refuses when the chat has recorded turns
// waiting or its sign-up's presence differs — everything a Load would
// have shown the turn. ("" for a session Load read.)
//
// Such a session's update, when it is a message, was not counted for
// flood control by a Load either: KEYS[7] is then the rate key, ARGV[13]
// the limit ("" when the save does not count) and ARGV[14] the key's
// TTL in ms. The script counts it first, whatever happens next, and
// refuses a member over the limit.
//
// With "forget", every key from KEYS[7] on is a flood-control counter of
// the member (the one just counted, if any, and those rateKeys lists),
// deleted with the rest.
//
// It returns 1 when written. When it refuses (nothing written but the
// count) it returns the chat as a Load would read it: {0, version,
// session, sign-up, turns, count (-1: not counted)}, so the retry needs
// no second round trip.
var saveScript = redis.NewScript(`
local n = -1
if ARGV[13] ~= '' then
	n = redis.call('INCR', KEYS[7])
	redis.call('PEXPIRE', KEYS[7], ARGV[14])
end
local cur = redis.call('HGET', KEYS[1], 'v')
if not cur then cur = '0' end
local ok = cur == ARGV[1] and (n < 0 or n <= tonumber(ARGV[13]))
if ok and ARGV[12] ~= '' then
	ok = redis.call('LLEN', KEYS[4]) == 0 and redis.call('EXISTS', KEYS[2]) == tonumber(ARGV[12])
end
if not ok then
	local hm = redis.call('HMGET', KEYS[1], 'v', 'd')
	return {0, hm[1], hm[2], redis.call('GET', KEYS[2]), redis.call('LRANGE', KEYS[4], 0, -1), n}
end
if ARGV[5] == 'forget' then
	redis.call('DEL', KEYS[1], KEYS[2])
	redis.call('ZREM', KEYS[3], ARGV[6])
	for i = 7, #KEYS do
		redis.call('DEL', KEYS[i])
	end
else
	redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
	redis.call('PEXPIRE', KEYS[1], ARGV[4])
	if ARGV[5] == 'signup' then
		redis.call('SET', KEYS[2], ARGV[7])
		redis.call('ZADD', KEYS[3], 'NX', ARGV[8], ARGV[6])
	end
end
if #ARGV >= 15 then
	for i = 15, #ARGV do
		redis.call('RPUSH', KEYS[4], ARGV[i])
	end
	redis.call('PEXPIRE', KEYS[4], ARGV[11])
	redis.call('ZADD', KEYS[5], 'NX', ARGV[9], ARGV[6])
	if ARGV[10] ~= '0' then
		redis.call('SET', KEYS[6], '1', 'PX', ARGV[10])
	end
end
return 1
`)

// Save writes the session and the change in one round trip (one script
// call; only the very first call on a server whose script cache lacks the
// script costs a second, for EVAL after NOSCRIPT). If the stored version is
// not s.Version (or a session from the cache no longer matches the chat)
// it returns bot.ErrConflict, unwrapped so callers may compare it
// directly, and writes nothing; the next Load of the chat then returns
// what the refusal read.
//
// With ch.Forget the session, the sign-up and the index entry are deleted
// and ch.Signup is ignored: deleting wins. The session is then gone, so
// s.Version becomes 0, as a Load would report; otherwise it is incremented.
// A re-saved sign-up keeps its original place in the export order.
func (s *Store) Save(ctx context.Context, sess *bot.Session, ch bot.Change) error {
	if sess == nil {
		return errors.New("redisstore: save: nil session")
	}
	id := sess.ChatID
	fail := func(err error) error {
		return fmt.Errorf("redisstore: save session %d: %w", id, err)
	}
	next := sess.Version + 1
	out := s.cache.handedOut(id, sess)
	check, limit := "", ""
	if out != nil && out.hit {
		check = "0"
		if out.signup != nil {
			check = "1"
		}
		if out.count > 0 {
			limit = strconv.FormatInt(out.count, 10)
		}
	}
	op, sessJSON, signupJSON, score := "save", "", "", int64(0)
	switch {
	case ch.Forget:
		op = "forget"
	case ch.Signup != nil:
		js, err := json.Marshal(ch.Signup)
		if err != nil {
			return fail(fmt.Errorf("encode sign-up: %w", err))
		}
		created := ch.Signup.Created
		if created.IsZero() {
			created = s.now()
		}
		op, signupJSON, score = "signup", string(s.ring.Seal(js)), created.UnixMilli()
	}
	if !ch.Forget {
		js, err := json.Marshal(sess)
		if err != nil {
			return fail(fmt.Errorf("encode session: %w", err))
		}
		sessJSON = string(s.ring.Seal(js))
	}
	live, liveDone := s.liveness()
	defer liveDone()
	args := []any{
		strconv.FormatInt(sess.Version, 10),
		strconv.FormatInt(next, 10),
		sessJSON,
		max(s.sessionTTL.Milliseconds(), 1), // PEXPIRE 0 would delete the key
		op,
		strconv.FormatInt(id, 10),
		signupJSON,
		score,
		s.now().UnixMilli(),
		live,
		s.turnTTL.Milliseconds(),
		check,
		limit,
		(rateWindow + time.Second).Milliseconds(),
	}
	entries, err := s.sealTurn(ch.Turn)
	if err != nil {
		return fail(err)
	}
	args = append(args, entries...)
	keys := []string{s.sessionKey(id), s.signupKey(id), s.signupsKey(),
		s.turnsKey(id), s.turnsIndexKey(), s.alivePrefix() + s.owner}
	if limit != "" {
		keys = append(keys, s.rateKey(id, s.now()))
	}
	if ch.Forget {
		keys = append(keys, s.rateKeys(id)...)
	}
	res, err := saveScript.Run(ctx, s.rdb, keys, args...).Result()
	if err != nil {
		s.cache.drop(id)
		return fail(err)
	}
	if refused, ok := res.([]any); ok {
		if fr, ok := freshFrom(refused); ok {
			s.cache.put(id, &cacheEntry{state: stateFresh, fresh: fr})
		} else {
			s.cache.drop(id)
		}
		return bot.ErrConflict
	}
	if n, ok := res.(int64); !ok || n != 1 {
		s.cache.drop(id)
		return fail(fmt.Errorf("unexpected save script answer %v", res))
	}
	if ch.Forget {
		sess.Version = 0
		s.cache.drop(id)
		return nil
	}
	sess.Version = next
	if out == nil {
		s.cache.drop(id) // its sign-up is unknown here
		return nil
	}
	signup := out.signup
	if ch.Signup != nil {
		signup = ch.Signup
	}
	s.cache.put(id, &cacheEntry{state: stateSaved, sess: sess, signup: signup})
	return nil
}

// freshFrom reads a refusal of the save script: {0, version, session,
// sign-up, turns, count}, missing values as nil.
func freshFrom(r []any) (freshRead, bool) {
	if len(r) != 6 {
		return freshRead{}, false
	}
	n, ok := r[5].(int64)
	if !ok {
		return freshRead{}, false
	}
	items, ok := r[4].([]any)
	if !ok {
		return freshRead{}, false
	}
	turns := make([]string, 0, len(items))
	for _, it := range items {
		str, ok := it.(string)
		if !ok {
			return freshRead{}, false
		}
		turns = append(turns, str)
	}
	return freshRead{hm: []any{r[1], r[2]}, signup: r[3], turns: turns, recent: n}, true
}

// GetSignup returns the member's sign-up, or nil, nil when there is none.
func (s *Store) GetSignup(ctx context.Context, chatID int64) (*bot.Signup, error) {
	raw, err := s.rdb.Get(ctx, s.signupKey(chatID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: get sign-up %d: %w", chatID, err)
	}
	su, err := s.decodeSignup(raw)
	if err != nil {
		return nil, fmt.Errorf("redisstore: get sign-up %d: %w", chatID, err)
	}
	return su, nil
}
