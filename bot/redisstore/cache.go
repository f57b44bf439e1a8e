package redisstore

import (
	"sync"

	"bridgebot/bot"
)

// Session cache
//
// Every update used to cost two round trips to Redis: Load, then the save
// script. On this kind of machine a round trip costs more CPU than the
// turn itself, so the store keeps, per chat, what its last successful save
// wrote (the session at its new version, and the sign-up), and a Load is
// answered from it without asking Redis. A message's count for flood
// control is then taken by the save, which refuses a member over the
// limit (the retry's Load reports the count, and the engine drops the
// update as it would have).
//
// Nothing is trusted that Redis has not confirmed: a save of a session
// that came from the cache is checked by the save script against what a
// Load would have read — the version (another replica, or an erasure,
// moved it), no recorded turns waiting (a crash, flood control, a delivery
// that failed), and the sign-up's presence — and refused otherwise. A
// refused save (from the cache or not) answers with the chat's current
// state, read atomically by the same script, and the retry's Load takes it
// from there: a conflict costs no extra round trip either.
//
// The cache is bounded (maxCached chats; an arbitrary one makes room), and
// its entries are handed out, not shared: a Load takes the chat's entry,
// the turn changes the session as it likes, and only a successful save
// puts it back. The engine handles one update of a chat at a time, so a
// session is never in two turns of one process at once.

// maxCached bounds the chats the cache holds: about 3 KiB each.
const maxCached = 4096

type cacheState uint8

const (
	// stateSaved: sess and signup are what this process's last save of
	// the chat wrote, at sess.Version.
	stateSaved cacheState = iota + 1
	// stateOut: handed out by Load (hit says whether from stateSaved);
	// Save recognises its session by pointer.
	stateOut
	// stateFresh: a refused save's reading of the chat (raw), for the
	// retry's Load.
	stateFresh
)

type cacheEntry struct {
	state cacheState
	hit   bool // stateOut: the session came from the cache, unchecked
	// count: stateOut, a hit whose update the save counts for flood
	// control, with this limit (0: not counted there)
	count  int64
	sess   *bot.Session
	signup *bot.Signup
	fresh  freshRead
}

// freshRead is the chat as the save script read it when it refused.
type freshRead struct {
	hm     []any // HMGET v d
	signup any   // GET: string, or nil
	turns  []string
	recent int64 // the member's count this minute, if the save counted
}

type sessionCache struct {
	mu      sync.Mutex
	entries map[int64]*cacheEntry
}

// take returns the chat's entry for a Load, marking it handed out; nil
// when the Load must read Redis. limit > 0: the update counts for flood
// control, which a saved session leaves to its save and a refusal's
// reading cannot do (it counted an earlier update). saved false: not a
// saved session (it would be refused), only a refusal's reading.
func (c *sessionCache) take(chatID int64, limit int64, saved bool) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[chatID]
	if e == nil || e.state == stateOut || (limit > 0 && e.state == stateFresh) || (!saved && e.state == stateSaved) {
		return nil
	}
	out := *e
	e.state, e.hit, e.fresh = stateOut, out.state == stateSaved, freshRead{}
	if e.hit {
		e.count = limit
	}
	return &out
}

// loaded records the session and sign-up a Load read from Redis (or
// from a refused save's reading), so the save of that session can be
// cached.
func (c *sessionCache) loaded(chatID int64, sess *bot.Session, signup *bot.Signup, hit bool) {
	c.put(chatID, &cacheEntry{state: stateOut, hit: hit, sess: sess, signup: signup})
}

// handedOut returns the handed-out entry for sess, nil if sess is not the
// one the chat's last Load returned.
func (c *sessionCache) handedOut(chatID int64, sess *bot.Session) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[chatID]
	if e == nil || e.state != stateOut || e.sess != sess {
		return nil
	}
	out := *e
	return &out
}

func (c *sessionCache) put(chatID int64, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[int64]*cacheEntry{}
	}
	if _, ok := c.entries[chatID]; !ok && len(c.entries) >= maxCached {
		for id := range c.entries {
			delete(c.entries, id)
			break
		}
	}
	c.entries[chatID] = e
}

func (c *sessionCache) drop(chatID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, chatID)
}
