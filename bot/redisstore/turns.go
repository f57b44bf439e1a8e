package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
)

// Recorded turns
//
// A turn's outputs (its effects and its reply) are written by the same
// script that saves the session (see saveScript), so they exist if and only
// if the turn happened. The process that handled the update then delivers
// them and removes them; if it dies first, they are delivered by whoever
// comes next: a redelivery of the same update, the member's next update, or
// any replica's recovery loop (Engine.Recover). Keys:
//
//	{prefix}turns:{chatID}        list of "{owner}|{entry ID}|{sealed JSON}",
//	                              oldest first; owner is the process that
//	                              recorded it. PEXPIRE TurnTTL. Empty lists
//	                              vanish.
//	{prefix}turns:index           sorted set: chat ID → time its oldest
//	                              undelivered entry was recorded (ms).
//	{prefix}turns:claim:{chatID}  string: the owner ID of the process taking
//	                              over dead processes' entries; PX ClaimTTL.
//	{prefix}turns:alive:{owner}   string: that process is alive; PX OwnerTTL,
//	                              refreshed by every save and by Run.
//
// Each process delivers its own entries; entries whose owner is no longer
// alive are taken over by one claimant at a time, so the entries of a
// process killed mid-delivery are delivered within about OwnerTTL, and
// never by two processes.

// Defaults for the turn log.
const (
	DefaultTurnTTL  = 7 * 24 * time.Hour
	DefaultClaimTTL = time.Minute
	DefaultOwnerTTL = 10 * time.Second
)

func (s *Store) turnsKey(chatID int64) string {
	return s.prefix + "turns:" + strconv.FormatInt(chatID, 10)
}
func (s *Store) turnsIndexKey() string { return s.prefix + "turns:index" }
func (s *Store) claimKey(chatID int64) string {
	return s.prefix + "turns:claim:" + strconv.FormatInt(chatID, 10)
}
func (s *Store) alivePrefix() string { return s.prefix + "turns:alive:" }

// Owner is this store's identity as a deliverer of turns (one per process).
func (s *Store) Owner() string { return s.owner }

// newOwner returns a random owner ID (26 base32 characters: no "|", the
// separator of turn entries).
func newOwner() string { return rand.Text() }

var _ bot.TurnLog = (*Store)(nil)

// sealTurn encodes and seals the entries, setting each one's Sealed form.
func (s *Store) sealTurn(entries []bot.TurnEntry) ([]any, error) {
	out := make([]any, len(entries))
	for i := range entries {
		js, err := json.Marshal(&entries[i])
		if err != nil {
			return nil, fmt.Errorf("encode turn entry %s: %w", entries[i].ID, err)
		}
		entries[i].Sealed = s.owner + "|" + entries[i].ID + "|" + string(s.ring.Seal(js))
		out[i] = entries[i].Sealed
	}
	return out, nil
}

// unackedKey names one stored entry: the chat, the entry's ID and the end
// of its sealed form (the cipher's tag, different at every write), so that
// entries of updates without IDs (the console's, all "0:…") are told apart.
func unackedKey(chatID int64, id, sealed string) string {
	return strconv.FormatInt(chatID, 10) + ":" + id + ":" + sealed[max(0, len(sealed)-16):]
}

// openTurn decodes stored entries, leaving out those this process has
// delivered and not yet removed; one that cannot be opened (a key that is
// gone, corruption) is logged and skipped, never delivered as garbage.
func (s *Store) openTurn(chatID int64, raw []string) []bot.TurnEntry {
	out := make([]bot.TurnEntry, 0, len(raw))
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	for _, r := range raw {
		_, rest, _ := strings.Cut(r, "|")
		id, sealedJSON, _ := strings.Cut(rest, "|")
		if s.delivered(unackedKey(chatID, id, r)) {
			continue // delivered by this process; its removal is on its way, or just written
		}
		js, err := s.ring.OpenLegacy([]byte(sealedJSON))
		var e bot.TurnEntry
		if err == nil {
			err = json.Unmarshal(js, &e)
		}
		if err != nil {
			s.log.Error("unreadable recorded turn entry", slog.Int64("chat", chatID), slog.Any("err", err))
			continue
		}
		e.Sealed = r
		out = append(out, e)
	}
	return out
}

// ackScript removes delivered entries and, when none is left, the chat's
// index entry and this owner's claim.
//
//	KEYS[1] turns list, KEYS[2] index, KEYS[3] claim
//	ARGV[1] chat ID, ARGV[2] owner, ARGV[3…] sealed entries
var ackScript = redis.NewScript(`
for i = 3, #ARGV do
	redis.call('LREM', KEYS[1], 1, ARGV[i])
end
if redis.call('LLEN', KEYS[1]) == 0 then
	redis.call('ZREM', KEYS[2], ARGV[1])
	if redis.call('GET', KEYS[3]) == ARGV[2] then
		redis.call('DEL', KEYS[3])
	end
end
return 1
`)

// claimScript returns the chat's entries that are the caller's or whose
// owner is dead — taking the chat's claim first, unless another live
// process holds it (then false): entries of a live process are its own to
// deliver, and a dead one's are taken over by one claimant.
//
//	KEYS[1] claim, KEYS[2] turns list
//	ARGV[1] owner, ARGV[2] alive key prefix, ARGV[3] claim TTL ms,
//	ARGV[4] owner TTL ms
var claimScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. cur) == 1 then
	return false
end
redis.call('SET', ARGV[2] .. ARGV[1], '1', 'PX', ARGV[4])
local out = {}
local took = false
for _, item in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
	local owner = string.match(item, '^([^|]*)|')
	if owner == ARGV[1] then
		table.insert(out, item)
	elseif owner and redis.call('EXISTS', ARGV[2] .. owner) == 0 then
		table.insert(out, item)
		took = true
	end
end
if took then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
end
return out
`)

// Claim implements bot.TurnLog.
func (s *Store) Claim(ctx context.Context, chatID int64) ([]bot.TurnEntry, bool, error) {
	keys := []string{s.claimKey(chatID), s.turnsKey(chatID)}
	res, err := claimScript.Run(ctx, s.rdb, keys, s.owner, s.alivePrefix(), s.claimTTL.Milliseconds(), s.ownerTTL.Milliseconds()).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: claim turns of %d: %w", chatID, err)
	}
	return s.openTurn(chatID, res), true, nil
}

// Stale implements bot.TurnLog.
func (s *Store) Stale(ctx context.Context, age time.Duration, limit int) ([]int64, error) {
	max := strconv.FormatInt(s.now().Add(-age).UnixMilli(), 10)
	ids, err := s.rdb.ZRangeByScore(ctx, s.turnsIndexKey(), &redis.ZRangeBy{Min: "-inf", Max: max, Count: int64(limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: stale turns: %w", err)
	}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// ack is a batch of delivered entries of one chat.
type ack struct {
	chatID  int64
	entries []bot.TurnEntry
}

// Delivered implements bot.TurnLog. While Run is running, removals are
// batched and written together (one round trip for many turns, off the
// member's path); otherwise they are written at once.
func (s *Store) Delivered(ctx context.Context, chatID int64, entries []bot.TurnEntry) error {
	if len(entries) == 0 {
		return nil
	}
	batch := []ack{{chatID, entries}}
	s.ackMu.Lock()
	// known as delivered from now on: a read listing them before their
	// removal is written skips them (see removedMemory)
	if s.unacked == nil {
		s.unacked = map[string]struct{}{}
		s.unackedChats = map[int64]int{}
	}
	for _, e := range entries {
		s.unacked[unackedKey(chatID, e.ID, e.Sealed)] = struct{}{}
	}
	s.unackedChats[chatID]++
	if s.acking {
		s.acks = append(s.acks, batch[0])
		if len(s.acks) == 1 {
			select {
			case s.ackKick <- struct{}{}:
			default:
			}
		}
		s.ackMu.Unlock()
		return nil
	}
	s.ackMu.Unlock()
	err := s.writeAcks(ctx, batch)
	s.acked(batch, err)
	return err
}

// acked ends the pending removal of batch, written (err nil) or not: the
// entries are known as removed for a while, or delivered again later.
func (s *Store) acked(batch []ack, err error) {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	if err == nil {
		s.removedLately(batch)
	}
	for _, a := range batch {
		for _, e := range a.entries {
			delete(s.unacked, unackedKey(a.chatID, e.ID, e.Sealed))
		}
		if s.unackedChats[a.chatID]--; s.unackedChats[a.chatID] <= 0 {
			delete(s.unackedChats, a.chatID)
		}
	}
}

// removedMemory is how long entries whose removal was written stay known
// as delivered. A Load or a Claim that listed the chat's entries just
// before the removal was written decodes them after it: without this
// memory it would deliver them a second time (two replicas taking turns
// with one chat showed it: old questions sent again).
const removedMemory = 10 * time.Second

// removedLately remembers the entries of batch as removed (ackMu held).
// Two generations of at most removedMemory each bound what is kept.
func (s *Store) removedLately(batch []ack) {
	now := time.Now() // real time, whatever clock dates the data
	if s.removed == nil || now.Sub(s.removedSince) > removedMemory {
		s.removedPrev, s.removed, s.removedSince = s.removed, map[string]struct{}{}, now
	}
	for _, a := range batch {
		for _, e := range a.entries {
			s.removed[unackedKey(a.chatID, e.ID, e.Sealed)] = struct{}{}
		}
	}
}

// delivered reports whether this process delivered the entry and its
// removal is pending or was written lately (ackMu held).
func (s *Store) delivered(key string) bool {
	if _, ok := s.unacked[key]; ok {
		return true
	}
	if _, ok := s.removed[key]; ok {
		return true
	}
	_, ok := s.removedPrev[key]
	return ok
}

func (s *Store) writeAcks(ctx context.Context, acks []ack) error {
	pipe := s.rdb.Pipeline()
	for _, a := range acks {
		args := []any{strconv.FormatInt(a.chatID, 10), s.owner}
		for _, e := range a.entries {
			args = append(args, e.Sealed)
		}
		// EVAL, not EVALSHA: a pipeline cannot recover from NOSCRIPT
		ackScript.Eval(ctx, pipe, []string{s.turnsKey(a.chatID), s.turnsIndexKey(), s.claimKey(a.chatID)}, args...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redisstore: remove delivered turns: %w", err)
	}
	return nil
}

// Run keeps this process alive as a deliverer (so its entries are not
// taken over) and writes batched removals of delivered entries, until ctx
// ends; then it writes what is left and gives up its liveness, so that
// other processes deliver its undelivered entries at once.
func (s *Store) Run(ctx context.Context) error {
	s.ackMu.Lock()
	s.acking = true
	s.ackMu.Unlock()
	beat := time.NewTicker(s.ownerTTL / 3)
	defer beat.Stop()
	alive := s.alivePrefix() + s.owner
	flush := func(ctx context.Context) {
		s.ackMu.Lock()
		batch := s.acks
		s.acks = nil
		s.ackMu.Unlock()
		if len(batch) == 0 {
			return
		}
		err := s.writeAcks(ctx, batch)
		if err != nil {
			// the entries stay recorded: delivered again later, which the
			// effects' idempotency keys absorb
			s.log.Warn("could not remove delivered turns", slog.Int("chats", len(batch)), slog.Any("err", err))
		}
		s.acked(batch, err)
	}
	s.rdb.Set(ctx, alive, "1", s.ownerTTL)
	epoch := s.checkEpoch(ctx, "")
	for {
		select {
		case <-ctx.Done():
			s.ackMu.Lock()
			s.acking = false
			s.stopped = true
			s.ackMu.Unlock()
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			flush(stop)
			// hand back what is left: another process may deliver it now,
			// once no save in flight can set the key again
			s.waitRefreshes(stop)
			s.rdb.Del(stop, alive)
			cancel()
			return nil
		case <-beat.C:
			s.rdb.Set(ctx, alive, "1", s.ownerTTL)
			epoch = s.checkEpoch(ctx, epoch)
			flush(ctx)
		case <-s.ackKick:
			// let a few more turns join the batch
			select {
			case <-ctx.Done():
				continue // the last flush writes them, on a live context
			case <-time.After(ackDelay):
			}
			flush(ctx)
		}
	}
}

// checkEpoch notices that Redis lost its data (restarted without
// persistence, or flushed): the epoch key, written once by the first
// process, is gone or was written anew. It says so loudly, once, and
// writes a new epoch; everything else re-creates itself (sessions start
// over, outbox groups are re-created on NOGROUP, broadcast IDs are random).
// It returns the epoch now in force ("" if Redis does not answer).
func (s *Store) checkEpoch(ctx context.Context, known string) string {
	key := s.prefix + "epoch"
	now := newOwner() + "@" + s.now().UTC().Format(time.RFC3339)
	if err := s.rdb.SetNX(ctx, key, now, 0).Err(); err != nil {
		return known
	}
	cur, err := s.rdb.Get(ctx, key).Result()
	if err != nil {
		return known
	}
	if known != "" && cur != known {
		s.log.Error("Redis lost its data: sessions, sign-ups, subscriptions and queues written before are gone. "+
			"Check Redis persistence (appendonly yes); the bot goes on with what it has now",
			slog.String("previous_epoch", known), slog.String("epoch", cur))
	}
	return cur
}

// liveness is the owner TTL a save refreshes, "0" once Run is ending: a
// process shutting down hands its undelivered entries to the others. A
// save given a TTL calls done once its script has run: Run waits for
// those before it gives up liveness, so that a save in flight at
// shutdown cannot bring the key back after it (the other processes would
// then wait OwnerTTL before delivering what this one left).
func (s *Store) liveness() (ms int64, done func()) {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	if s.stopped {
		return 0, func() {}
	}
	s.refreshing.Add(1)
	return s.ownerTTL.Milliseconds(), s.refreshing.Done
}

// waitRefreshes waits, until ctx ends, for the saves that may still
// refresh this process's liveness (see liveness).
func (s *Store) waitRefreshes(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.refreshing.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// ackDelay is how long removals wait for company: short enough that a
// crash right after it doubles little, long enough to batch under load.
const ackDelay = 20 * time.Millisecond

// turnState is the delivery state of a Store.
type turnState struct {
	owner              string
	claimTTL, ownerTTL time.Duration
	turnTTL            time.Duration
	log                *slog.Logger

	ackMu   sync.Mutex
	acking  bool
	acks    []ack
	ackKick chan struct{}
	stopped bool // Run is ending: saves no longer claim liveness
	// refreshing counts the saves that may still refresh liveness.
	refreshing sync.WaitGroup
	// unacked are entries delivered whose removal is not written yet
	// ("{chat}:{id}"): not to be delivered again meanwhile.
	unacked map[string]struct{}
	// removed and removedPrev are entries whose removal this process
	// wrote lately, since removedSince and the window before (see
	// removedMemory).
	removed, removedPrev map[string]struct{}
	removedSince         time.Time
	// unackedChats counts, per chat, the batches of unacked entries: its
	// recorded turns are not empty yet, so a cached session would be
	// refused (cache.go).
	unackedChats map[int64]int
}

// removing reports whether delivered entries of the chat wait for their
// removal to be written.
func (s *Store) removing(chatID int64) bool {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	return s.unackedChats[chatID] > 0
}

// replaceScript puts a new form of an entry in its place.
//
//	KEYS[1] turns list; ARGV[1] old stored entry, ARGV[2] new one
var replaceScript = redis.NewScript(`
local i = redis.call('LPOS', KEYS[1], ARGV[1])
if not i then
	return 0
end
redis.call('LSET', KEYS[1], i, ARGV[2])
return 1
`)

// Replace implements bot.TurnLog: the entry keeps its place, with new
// content (a reply of which some messages went out).
func (s *Store) Replace(ctx context.Context, chatID int64, old bot.TurnEntry, updated bot.TurnEntry) error {
	sealedNew, err := s.sealTurn([]bot.TurnEntry{updated})
	if err != nil {
		return fmt.Errorf("redisstore: replace turn entry: %w", err)
	}
	if err := replaceScript.Run(ctx, s.rdb, []string{s.turnsKey(chatID)}, old.Sealed, sealedNew[0]).Err(); err != nil {
		return fmt.Errorf("redisstore: replace turn entry %d %s: %w", chatID, old.ID, err)
	}
	return nil
}
