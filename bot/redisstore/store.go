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
// for every update, so it costs one round trip.
func (s *Store) Load(ctx context.Context, chatID int64) (bot.Member, error) {
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
	sess, err := s.decodeSession(chatID, hm.Val())
	if err != nil {
		return bot.Member{}, fmt.Errorf("redisstore: load session %d: %w", chatID, err)
	}
	m := bot.Member{Session: sess}
	if recent != nil {
		m.Recent = recent.Val()
	}
	if len(turns.Val()) > 0 {
		m.Pending = s.openTurn(chatID, turns.Val())
	}
	raw, err := get.Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return bot.Member{}, fmt.Errorf("redisstore: load sign-up %d: %w", chatID, err)
	default:
		if m.Signup, err = s.decodeSignup(raw); err != nil {
			return bot.Member{}, fmt.Errorf("redisstore: load sign-up %d: %w", chatID, err)
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
//	ARGV[11] turn TTL ms, ARGV[12…] sealed entries
//
// With "forget", KEYS[7…] are the member's flood-control counters, deleted
// with the rest.
//
// It returns 1 when written, 0 on a version conflict (nothing written).
var saveScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'v')
if not cur then cur = '0' end
if cur ~= ARGV[1] then
	return 0
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
if #ARGV >= 12 then
	for i = 12, #ARGV do
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
// not s.Version it returns bot.ErrConflict, unwrapped so callers may
// compare it directly, and writes nothing.
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
		s.liveness(),
		s.turnTTL.Milliseconds(),
	}
	entries, err := s.sealTurn(ch.Turn)
	if err != nil {
		return fail(err)
	}
	args = append(args, entries...)
	keys := []string{s.sessionKey(id), s.signupKey(id), s.signupsKey(),
		s.turnsKey(id), s.turnsIndexKey(), s.alivePrefix() + s.owner}
	if ch.Forget {
		keys = append(keys, s.rateKeys(id)...)
	}
	ok, err := saveScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return fail(err)
	}
	if ok == 0 {
		return bot.ErrConflict
	}
	if ch.Forget {
		sess.Version = 0
	} else {
		sess.Version = next
	}
	return nil
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
