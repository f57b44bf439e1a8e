package broadcast

import "github.com/redis/go-redis/v9"

// luaCommon is prepended to the delivery scripts.
//
// finish marks the job done: status, finish time, total = members
// processed; it leaves the active set, its delivery keys go and so does
// its cursor (a chat ID: a finished job keeps counts, never a member).
// It expects KEYS[1] job, KEYS[jk] active, and the delivery keys listed in
// dk, and the job ID in jid.
//
// span reads a page's bounds "lo:hi" (chat IDs, or -inf) from the job's
// bounds hash; a page claimed before pages had IDs is named by its bounds.
const luaCommon = `
local function now_ms()
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(v) return string.format('%.0f', v) end
local function finish(now, active, jid, dk)
	local c = redis.call('HMGET', KEYS[1], 'sent', 'blocked', 'failed', 'skipped')
	local total = 0
	for _, v in ipairs(c) do total = total + (tonumber(v) or 0) end
	redis.call('HSET', KEYS[1], 'status', 'done', 'finished', num(now), 'total', num(total))
	redis.call('HDEL', KEYS[1], 'cursor')
	redis.call('ZREM', active, jid)
	redis.call('DEL', unpack(dk))
end
local function bounds(lo)
	if lo == '-inf' then return '-inf' end
	return '(' .. lo
end
local function span(bk, pid)
	local b = redis.call('HGET', bk, pid) or pid
	return string.match(b, '^(.*):(.*)$')
end
`

// claimScript gives the caller a page of the job's audience: first a
// range whose lease expired (a crashed or stopped worker's), else the next
// PageSize chats after the cursor, as a new page "p{n}" whose bounds go
// to the bounds hash. The page is leased to the caller's token.
//
//	KEYS[1] job, [2] subs, [3] subs:data, [4] leases, [5] owners, [6] done,
//	[7] active, [8] rate, [9] bounds
//	ARGV[1] token, [2] page size, [3] lease ms, [4] job ID
//
// Replies: {status} when the job is not running; {"done"}; {"wait", ms}
// when every page is leased to others (ms until the first lease
// expires); {"ok", page, ids, records, done ids} where records are, per
// id, its record JSON and since (nil when unsubscribed).
var claimScript = redis.NewScript(luaCommon + `
local st = redis.call('HGET', KEYS[1], 'status')
if st ~= 'running' then return {st or 'missing'} end
local now = now_ms()
local page = tonumber(ARGV[2])
local rng, lo, hi, ids
local exp = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', num(now), 'LIMIT', 0, 1)
if #exp > 0 then
	rng = exp[1]
	lo, hi = span(KEYS[9], rng)
elseif redis.call('HGET', KEYS[1], 'exhausted') ~= '1' then
	lo = redis.call('HGET', KEYS[1], 'cursor')
	if not lo or lo == '' then lo = '-inf' end
	ids = redis.call('ZRANGEBYSCORE', KEYS[2], bounds(lo), '+inf', 'LIMIT', 0, page)
	if #ids < page then redis.call('HSET', KEYS[1], 'exhausted', '1') end
	if #ids > 0 then
		hi = ids[#ids]
		rng = 'p' .. redis.call('HINCRBY', KEYS[1], 'pages', 1)
		redis.call('HSET', KEYS[9], rng, lo .. ':' .. hi)
		redis.call('HSET', KEYS[1], 'cursor', hi)
	end
end
if not rng then
	local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
	if #first == 0 then
		finish(now, KEYS[7], ARGV[4], {KEYS[4], KEYS[5], KEYS[6], KEYS[8], KEYS[9]})
		return {'done'}
	end
	return {'wait', math.max(0, tonumber(first[2]) - now)}
end
redis.call('ZADD', KEYS[4], num(now + tonumber(ARGV[3])), rng)
redis.call('HSET', KEYS[5], rng, ARGV[1])
if not ids then ids = redis.call('ZRANGEBYSCORE', KEYS[2], bounds(lo), hi) end
local recs = {}
if #ids > 0 then
	local f = {}
	for i, id in ipairs(ids) do
		f[2 * i - 1] = id
		f[2 * i] = id .. ':since'
	end
	recs = redis.call('HMGET', KEYS[3], unpack(f))
end
return {'ok', rng, ids, recs, redis.call('ZRANGEBYSCORE', KEYS[6], bounds(lo), hi)}
`)

// recordScript records outcomes, renews or completes leases, and reports
// the job's status: the group commit of a worker.
//
//	KEYS[1] job, [2] leases, [3] owners, [4] done, [5] rate, [6] subs,
//	[7] subs:data, [8] subs:stats, [9] active, [10] bounds, then the
//	possible tombstone names of the chats to check
//	ARGV[1] lease ms, [2] job ID, [3] number of pages, then per page:
//	page, token, complete ("1"/"0"), n, then n × (chat, outcome) where
//	outcome is sent, blocked, failed, skipped, gone (not sent: the member
//	left or erased their data before their turn; not counted), or
//	"?{i}:{n}": not an outcome but a check of a member about to be sent
//	to, whose tombstone names are KEYS[i] to KEYS[i+n-1].
//
// A check is the last look before a message leaves, right after its send
// slot came up (a sender records its previous outcome and checks its next
// member in one round trip): the job still runs, the page is still the
// caller's, and the member is still subscribed, not already done, and did
// not erase their data since subscribing (a tombstone of bot/tombstone
// newer than their subscription). Its answer is "send", "gone" (left,
// erased or already done), "lost" (the page is another worker's) or the
// job's status when it is not running.
//
// A chat is counted once (ZADD NX on done). Only a member still
// subscribed gets a done mark: one who left meanwhile is never claimed
// again, and one who erased their data must leave no trace. A blocked
// member is unsubscribed. A page is renewed, or completed (lease, bounds
// and done marks dropped), only by the token that holds it; pages held by
// another token are reported lost. When the cursor is exhausted and no
// lease is left, the job is done.
//
// Reply: {status, {lost pages}, {unsubscribed chats}, {check answers}}.
var recordScript = redis.NewScript(luaCommon + `
local st = redis.call('HGET', KEYS[1], 'status')
local live = st == 'running' or st == 'paused'
local now = now_ms()
local lease = tonumber(ARGV[1])
local lost, unsub, checks = {}, {}, {}
local function check(chat, owned, spec)
	if st ~= 'running' then return st or 'missing' end
	if not owned then return 'lost' end
	if not redis.call('ZSCORE', KEYS[6], chat) then return 'gone' end
	if redis.call('ZSCORE', KEYS[4], chat) then return 'gone' end
	local since = tonumber(redis.call('HGET', KEYS[7], chat .. ':since') or '') or 0
	local first, cnt = string.match(spec, '^%?(%d+):(%d+)$')
	for k = tonumber(first), tonumber(first) + tonumber(cnt) - 1 do
		local at = tonumber(redis.call('GET', KEYS[k]) or '')
		if at and at >= since then return 'gone' end
	end
	return 'send'
end
local n = 0
local i = 4
for _ = 1, tonumber(ARGV[3]) do
	local rng, tok, complete, cnt = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
	i = i + 4
	local owned = false
	if live then
		owned = redis.call('HGET', KEYS[3], rng) == tok
		if not owned then lost[#lost + 1] = rng end
	end
	for _ = 1, cnt do
		local chat, outcome = ARGV[i], ARGV[i + 1]
		i = i + 2
		if string.sub(outcome, 1, 1) == '?' then
			checks[#checks + 1] = check(chat, owned, outcome)
		elseif outcome ~= 'gone' then
			local new = st == 'cancelled'
			if live then
				if redis.call('ZSCORE', KEYS[6], chat) then
					new = redis.call('ZADD', KEYS[4], 'NX', chat, chat) == 1
				else
					new = not redis.call('ZSCORE', KEYS[4], chat)
				end
			end
			if new then
				redis.call('HINCRBY', KEYS[1], outcome, 1)
				n = n + 1
			end
			if outcome == 'blocked' and redis.call('ZREM', KEYS[6], chat) == 1 then
				redis.call('HDEL', KEYS[7], chat, chat .. ':since')
				redis.call('HINCRBY', KEYS[8], 'blocked', 1)
				unsub[#unsub + 1] = chat
			end
		end
	end
	if owned then
		if complete == '1' then
			local lo, hi = span(KEYS[10], rng)
			redis.call('ZREM', KEYS[2], rng)
			redis.call('HDEL', KEYS[3], rng)
			redis.call('HDEL', KEYS[10], rng)
			redis.call('ZREMRANGEBYSCORE', KEYS[4], bounds(lo), hi)
		else
			redis.call('ZADD', KEYS[2], 'XX', num(now + lease), rng)
		end
	end
end
if n > 0 then
	local sec = math.floor(now / 1000)
	local slot = sec % 16
	if redis.call('HGET', KEYS[5], 't' .. slot) ~= num(sec) then
		redis.call('HSET', KEYS[5], 't' .. slot, num(sec), 'c' .. slot, 0)
	end
	redis.call('HINCRBY', KEYS[5], 'c' .. slot, n)
end
if st == 'running' and redis.call('HGET', KEYS[1], 'exhausted') == '1' and redis.call('ZCARD', KEYS[2]) == 0 then
	finish(now, KEYS[9], ARGV[2], {KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[10]})
	st = 'done'
end
return {st or 'missing', lost, unsub, checks}
`)

// releaseScript hands ranges back at once (lease expired), when a worker
// stops working on a job before finishing them.
//
//	KEYS[1] leases, [2] owners; ARGV pairs of range, token
var releaseScript = redis.NewScript(`
for i = 1, #ARGV, 2 do
	if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then
		redis.call('ZADD', KEYS[1], 'XX', 0, ARGV[i])
	end
end
return 1
`)

// reclaimScript hands back at once (lease expired) the ranges held by an
// earlier run of this consumer: tokens "{consumer}/{hex}:{n}" whose
// instance is not the caller's.
//
//	KEYS[1] leases, [2] owners; ARGV[1] "{consumer}/", [2] "{token}:"
//
// Reply: the number of ranges handed back.
var reclaimScript = redis.NewScript(`
local n = 0
local owners = redis.call('HGETALL', KEYS[2])
for i = 1, #owners, 2 do
	local rng, tok = owners[i], owners[i + 1]
	if string.sub(tok, 1, #ARGV[1]) == ARGV[1] and string.sub(tok, 1, #ARGV[2]) ~= ARGV[2]
		and string.match(string.sub(tok, #ARGV[1] + 1), '^%x+:%d+$') then
		n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', 0, rng)
	end
end
return n
`)

// startScript turns a scheduled job whose time has come into a running one.
//
//	KEYS[1] job. Reply: the status after.
var startScript = redis.NewScript(luaCommon + `
local st = redis.call('HGET', KEYS[1], 'status')
if st ~= 'scheduled' then return st or 'missing' end
local now = now_ms()
if (tonumber(redis.call('HGET', KEYS[1], 'at') or '0') or 0) > now then return st end
redis.call('HSET', KEYS[1], 'status', 'running')
local started = redis.call('HGET', KEYS[1], 'started')
if not started or started == '' or started == '0' then
	redis.call('HSET', KEYS[1], 'started', num(now))
end
return 'running'
`)

// heartbeatScript records a live worker.
//
//	KEYS[1] workers, [2] workers:info; ARGV[1] consumer, [2] info JSON
var heartbeatScript = redis.NewScript(luaCommon + `
local now = now_ms()
redis.call('ZADD', KEYS[1], num(now), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', num(now - 86400000))
for _, c in ipairs(old) do
	redis.call('ZREM', KEYS[1], c)
	redis.call('HDEL', KEYS[2], c)
end
return 1
`)

// workersScript lists the workers seen within ARGV[1] ms.
//
//	KEYS[1] workers, [2] workers:info. Reply: {info JSON, last seen ms, ...}
var workersScript = redis.NewScript(luaCommon + `
local now = now_ms()
local live = redis.call('ZRANGEBYSCORE', KEYS[1], num(now - tonumber(ARGV[1])), '+inf', 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
	out[#out + 1] = redis.call('HGET', KEYS[2], live[i]) or ''
	out[#out + 1] = live[i + 1]
end
return out
`)

// eraseScript removes a member from the subscriptions and from every
// job's delivery state: done marks, and every bound that is their chat ID
// (a job's cursor, a page's lo or hi) moves down to the next chat ID
// below it that the job still knows (subscribed or done), or -inf. No
// subscriber lies between the two once the member is gone, so every
// page still covers the same members and the cursor still follows the
// last one claimed. A finished job's cursor equal to the chat (from
// before finished jobs dropped it) is deleted. Pages from before pages had
// IDs, named by their bounds, get an ID first (their worker then sees
// them as lost and another takes them over).
//
//	KEYS[1] subs, [2] subs:data, then per job: job, bounds, done, leases,
//	owners
//	ARGV[1] chat
var eraseScript = redis.NewScript(`
local chat = ARGV[1]
redis.call('ZREM', KEYS[1], chat)
redis.call('HDEL', KEYS[2], chat, chat .. ':since')
local function below(key)
	local r = redis.call('ZREVRANGEBYSCORE', key, '(' .. chat, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
	if #r == 0 then return nil end
	return tonumber(r[2])
end
for i = 3, #KEYS, 5 do
	local job, bk, done, leases, owners = KEYS[i], KEYS[i + 1], KEYS[i + 2], KEYS[i + 3], KEYS[i + 4]
	redis.call('ZREM', done, chat)
	local prev
	local function before()
		if not prev then
			local a, b = below(KEYS[1]), below(done)
			local p = a or b
			if a and b then p = math.max(a, b) end
			if p then prev = string.format('%.0f', p) else prev = '-inf' end
		end
		return prev
	end
	local st = redis.call('HGET', job, 'status')
	if redis.call('HGET', job, 'cursor') == chat then
		if st == 'done' or st == 'cancelled' then
			redis.call('HDEL', job, 'cursor')
		else
			redis.call('HSET', job, 'cursor', before())
		end
	end
	local ls = redis.call('ZRANGE', leases, 0, -1, 'WITHSCORES')
	for j = 1, #ls, 2 do
		local pid = ls[j]
		if string.find(pid, ':', 1, true) and redis.call('HEXISTS', bk, pid) == 0 then
			local lo, hi = string.match(pid, '^(.*):(.*)$')
			if lo == chat or hi == chat then
				local np = 'p' .. redis.call('HINCRBY', job, 'pages', 1)
				redis.call('ZREM', leases, pid)
				redis.call('ZADD', leases, ls[j + 1], np)
				local tok = redis.call('HGET', owners, pid)
				redis.call('HDEL', owners, pid)
				if tok then redis.call('HSET', owners, np, tok) end
				redis.call('HSET', bk, np, pid)
			end
		end
	end
	local b = redis.call('HGETALL', bk)
	for j = 1, #b, 2 do
		local lo, hi = string.match(b[j + 1], '^(.*):(.*)$')
		if lo == chat or hi == chat then
			if lo == chat then lo = before() end
			if hi == chat then
				hi = before()
				if lo ~= '-inf' and (hi == '-inf' or tonumber(hi) < tonumber(lo)) then hi = lo end
			end
			redis.call('HSET', bk, b[j], lo .. ':' .. hi)
		end
	end
end
return 1
`)
