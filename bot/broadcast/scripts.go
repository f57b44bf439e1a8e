package broadcast

import "github.com/redis/go-redis/v9"

// luaCommon is prepended to the delivery scripts.
//
// finish marks the job done: status, finish time, total = members
// processed; it leaves the active set and its delivery keys go.
// It expects KEYS[1] job, KEYS[jk] active, and the delivery keys listed in
// dk, and the job ID in jid.
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
	redis.call('ZREM', active, jid)
	redis.call('DEL', unpack(dk))
end
local function bounds(lo)
	if lo == '-inf' then return '-inf' end
	return '(' .. lo
end
`

// claimScript gives the caller a page of the job's audience: first a
// range whose lease expired (a crashed or stopped worker's), else the next
// PageSize chats after the cursor. The range is leased to the caller's
// token.
//
//	KEYS[1] job, [2] subs, [3] subs:data, [4] leases, [5] owners, [6] done,
//	[7] active, [8] rate
//	ARGV[1] token, [2] page size, [3] lease ms, [4] job ID
//
// Replies: {status} when the job is not running; {"done"}; {"wait", ms}
// when every range is leased to others (ms until the first lease
// expires); {"ok", range, ids, records, done ids} where records are, per
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
	local i = string.find(rng, ':', 1, true)
	lo, hi = string.sub(rng, 1, i - 1), string.sub(rng, i + 1)
elseif redis.call('HGET', KEYS[1], 'exhausted') ~= '1' then
	lo = redis.call('HGET', KEYS[1], 'cursor')
	if not lo or lo == '' then lo = '-inf' end
	ids = redis.call('ZRANGEBYSCORE', KEYS[2], bounds(lo), '+inf', 'LIMIT', 0, page)
	if #ids < page then redis.call('HSET', KEYS[1], 'exhausted', '1') end
	if #ids > 0 then
		hi = ids[#ids]
		rng = lo .. ':' .. hi
		redis.call('HSET', KEYS[1], 'cursor', hi)
	end
end
if not rng then
	local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
	if #first == 0 then
		finish(now, KEYS[7], ARGV[4], {KEYS[4], KEYS[5], KEYS[6], KEYS[8]})
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
//	[7] subs:data, [8] subs:stats, [9] active
//	ARGV[1] lease ms, [2] job ID, [3] number of pages, then per page:
//	range, token, complete ("1"/"0"), n, then n × (chat, outcome) where
//	outcome is sent, blocked, failed or skipped.
//
// A chat is counted once (ZADD NX on done). A blocked member is
// unsubscribed. A page is renewed, or completed (lease and done marks
// dropped), only by the token that holds it; ranges held by another
// token are reported lost. When the cursor is exhausted and no lease is
// left, the job is done.
//
// Reply: {status, {lost ranges}, {unsubscribed chats}}.
var recordScript = redis.NewScript(luaCommon + `
local st = redis.call('HGET', KEYS[1], 'status')
local live = st == 'running' or st == 'paused'
local now = now_ms()
local lease = tonumber(ARGV[1])
local lost, unsub = {}, {}
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
		local new = st == 'cancelled'
		if live then new = redis.call('ZADD', KEYS[4], 'NX', chat, chat) == 1 end
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
	if owned then
		if complete == '1' then
			local lo, hi = string.match(rng, '^(.*):(.*)$')
			redis.call('ZREM', KEYS[2], rng)
			redis.call('HDEL', KEYS[3], rng)
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
	finish(now, KEYS[9], ARGV[2], {KEYS[2], KEYS[3], KEYS[4], KEYS[5]})
	st = 'done'
end
return {st or 'missing', lost, unsub}
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
