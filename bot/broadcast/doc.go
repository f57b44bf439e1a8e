// Package broadcast sends institute announcements to the members who opted
// in, each in their own language, as durable jobs in Redis delivered by a
// rate-limited Worker that any number of bot replicas may run.
//
// # Pieces
//
//   - Subscribers: Subscribe, Unsubscribe, IsSubscribed, Count (the
//     engine's bot.Subscriptions; subs.go).
//   - Jobs: a Job is created (Jobs.Create, after Jobs.Preview), then
//     delivered by Workers; Pause, Resume, Cancel change its status; jobs
//     are never deleted (the audit: who, when, texts, audience, counts).
//   - Delivery: Worker.Run, through an Announcer (bot/telegram's Bot).
//   - Tracker: a job's Progress (counts, rate, time left; progress.go).
//   - Heartbeats: Workers, the live workers and their settings (is a bot
//     running?; heartbeat.go).
//
// A Store holds all four, for wiring, and erases a member from them at
// once (Store.Erase); each consumer declares the few methods it uses.
//
// # Delivery guarantees
//
// The audience is walked in pages of chat IDs, in ascending order. A
// worker claims a page atomically (a Lua script advances the job's cursor,
// names the page "p{n}", records its ID range and a lease on it), sends,
// and marks every chat done once its message is answered, at the latest
// in the round trip just before the same sender's next message leaves
// (each of a worker's Concurrency senders waits for that mark), so at
// most Concurrency messages per worker are ever sent-but-unrecorded. A worker that dies leaves a lease that expires
// after LeaseTime (8 s by default, renewed every third of it), or at once
// when the replica starts again under the same Consumer (its earlier
// run's claims are recognised by their token); the next claim re-takes
// that range and skips the chats
// marked done. So after a crash no member is missed and the duplicates are
// at most the crashed worker's in-flight messages (≤ Concurrency). Replicas
// never share a range, so two live workers never send the same chat.
//
// Every message waits for a slot of a token bucket kept in Redis and shared
// by all replicas: a GCRA without burst, whose slots are spaced exactly
// 1/Rate apart and reserved a few at a time (one round trip per ~100 ms
// of sending) and never more than ~100 ms ahead, so messages leave evenly
// and no replica sits on many unused slots. A 429 sets a shared
// pause-until that every replica's next reservation honours (so within
// ~100 ms everyone stops), and the message is retried after it. 5xx and
// network errors are retried for the same chat with backoff (1 s, 2 s,
// 4 s, 8 s: MaxAttempts = 5 attempts over ~15 s) before the chat counts as
// failed; a worker never sends one chat two messages less than a second
// apart. 403 unsubscribes the member (reason "blocked") and counts
// Blocked; 400 chat not found and other rejections count Failed.
//
// Round trips: one claim per page, one reservation per ~100 ms, and one
// record per message (group-committed: what several senders bring
// together shares a round trip). A sender records its outcome in the
// round trip that checks its next member (below), after that member's
// send slot came up, or at once when no member is queued; recording each
// outcome before the sender's next message leaves is what bounds the
// duplicates after a crash.
//
// # Opting out and erasure during a broadcast
//
// Pages are read ahead of sending, so right before each message leaves
// (its send slot came up) recordScript checks that the job still runs,
// the page is still this worker's, and the member is still subscribed,
// not already done, and has no erasure tombstone (bot/tombstone,
// {p}erased:{mac}) newer than their subscription. A member
// who fails it is dropped from the page, sent nothing and counted
// nowhere. So /stop and /delete hold from the moment they are recorded
// (the engine runs them before it answers the member); only a message
// already handed to Telegram in that instant can still arrive. A member
// who leaves between the send and its record gets no done mark (they are
// never claimed again).
//
// Store.Erase keeps no trace of a member in any job (eraseScript): done
// marks go, and a cursor or page bound equal to their chat ID moves down
// to the next chat ID below it that the job knows (a subscriber or a done
// mark), or -inf; with the member gone no subscriber lies between the two,
// so every page covers the same members as before. A job that ends
// (done or cancelled) drops its cursor, keeping only counts.
//
// Jobs run one at a time, oldest first (a scheduled job by its send
// time): all replicas work on the same job, which keeps the per-chat limit
// across jobs too (a worker also spaces two messages to one chat by a
// second). A scheduled job starts when a worker finds its time has come,
// so it starts on time after a restart as well.
//
// The audience is the subscribers who match the job's Audience and had
// subscribed when the job started running (a member who joins during a
// broadcast gets the next one). Total is counted when the job is created;
// when the job is done it becomes the number of members processed
// (Sent+Blocked+Failed+Skipped), which is lower if members left meanwhile.
// Skipped counts members whose language version is missing (without
// Fallback). A member who opts out or erases their data before their
// turn is not counted at all.
//
// Paid broadcasts (Job.Paid, sent with allow_paid_broadcast when the
// worker has AllowPaid) use their own bucket at PaidRate, 950/s by
// default: at exactly Telegram's 1000/s, network jitter regularly puts
// 1001 messages in some one-second window, and each 429 costs a pause.
//
// # Key layout
//
// Every key starts with Options.Prefix (default "bridgebot:"). Times are
// Unix milliseconds unless noted; chat IDs are decimal.
//
//	{p}subs                      ZSET member = chat ID, score = chat ID: the
//	                             subscribers, walked in pages by score.
//	{p}subs:data                 HASH "{chat}" = record JSON {lang, role,
//	                             areas, border}, sealed (Options.Keyring:
//	                             what the member chose is never clear);
//	                             "{chat}:since" = when the member
//	                             subscribed (kept on re-subscribe).
//	{p}subs:stats                HASH unsubscriptions by reason: "stop",
//	                             "blocked".
//	{p}broadcast:jobs            ZSET every job ID by creation time (audit,
//	                             List); never trimmed.
//	{p}broadcast:active          ZSET IDs of scheduled, running and paused
//	                             jobs by send time; workers poll it.
//	{p}broadcast:job:{id}        HASH the job: created_by, created, texts
//	                             (JSON lang → HTML), button_label (JSON),
//	                             button_url, audience (expression), at,
//	                             fallback, paid, status, started, finished,
//	                             total, sent, blocked, failed, skipped,
//	                             preview_ref; delivery state: cursor (last
//	                             chat ID claimed, or below it after an
//	                             erasure; gone once the job ends),
//	                             exhausted ("1" when the cursor reached the
//	                             end), pages (pages named so far).
//	{p}broadcast:job:{id}:bounds HASH page "p{n}" = its range "lo:hi" (chat
//	                             IDs in (lo, hi]).
//	{p}broadcast:job:{id}:leases ZSET claimed pages by lease expiry (a page
//	                             claimed before pages were named is named
//	                             by its range "lo:hi", with no bounds).
//	{p}broadcast:job:{id}:owners HASH page = claim token of its holder,
//	                             "{consumer}/{run}:{n}" ({run}: random per
//	                             worker run).
//	{p}broadcast:job:{id}:done   ZSET chats of leased ranges already
//	                             processed (member = score = chat ID);
//	                             trimmed as ranges complete.
//	{p}broadcast:job:{id}:rate   HASH per-second counts of processed chats,
//	                             a ring of 16 seconds ("t{n}" second, "c{n}"
//	                             count), for Progress.Rate.
//	{p}broadcast:limit           STRING next free send slot (µs, Redis
//	{p}broadcast:limit:paid      clock) of the shared buckets.
//	{p}broadcast:pause           STRING no sending before this time (µs),
//	                             set by a 429.
//	{p}broadcast:workers         ZSET worker heartbeats: consumer → time.
//	{p}broadcast:workers:info    HASH consumer → JSON WorkerInfo.
//	{p}audit                     STREAM the audit log (bot/audit): Create
//	                             records who queued a job for how many.
//
// Job IDs are ULIDs (26 characters: the creation time, then 80 random
// bits), never a counter in Redis, so a job created after Redis lost its
// data cannot take an earlier job's ID (and an old Slack button or CLI
// command cannot act on it).
//
// The leases, owners, bounds and done keys of a job, and its cursor, are
// deleted when it is done or cancelled; the job hash stays, with counts. All times used for leases, slots and
// schedules come from the Redis server (TIME), so replicas' clocks need
// not agree.
//
// Redis Cluster: scripts touch several keys; give Prefix a hash tag, such
// as "{bridgebot}:", so they share a slot.
package broadcast
