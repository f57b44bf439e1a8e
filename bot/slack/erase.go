package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"

	"bridgebot/bot/outbox"
)

// Erasure (/delete) reaches every copy the desk holds:
//
//   - a tombstone (bot/tombstone, named by an HMAC of the chat ID) is
//     written first, and every handler checks it against the time its work
//     originates from, so work queued before the erasure is dropped in
//     whatever order things happen: a staff reply is not delivered (staff
//     are told in the thread), a sign-up post or a member's message is not
//     posted, and a post that was already on its way when the member
//     erased is redacted as soon as it lands;
//   - the member's entries waiting in both outboxes and their dead letters
//     are deleted, and deleted again by a job queued behind their work in
//     flight (kindPurgeDead), which may end as a dead letter after the
//     first pass;
//   - every desk key of the member is deleted: the ticket, thread and
//     generation mappings, root and post intents, relayed markers, the posts record,
//     and their place in the open/answered sets;
//   - the bot's own Slack posts that carried the member's words (sign-up
//     posts, question roots, follow-ups, notes about their files) are
//     replaced by "🗑 This member erased their data on DATE", and the files
//     the bot uploaded for them are deleted, by a job queued behind the
//     member's in-flight messages. Staff's own replies stay, under Slack's
//     retention;
//   - each of the member's threads keeps a marker with no chat ID, so a
//     later staff reply there gets ⚠️ and a note (stray.go);
//   - the sign-up exports the bot posted before the erasure, which hold
//     every member's answers, are deleted from Slack (shared.go).
//
// desk:posts:{chat} (set) records those posts as "channel ts" and files
// as "file:ID", written together with the check of the tombstone (Guard).
// A post is recorded only once Slack's answer arrives; the intents
// recorded before posting (desk:root, desk:post) let the erasure find a
// post whose answer was lost, by the token in its metadata. A member's
// file is recorded by its ID before it is shared (desk:upload).

// kindRedact is a "slack" outbox entry: redact an erased member's posts.
const kindRedact = "redact"

// kindPurgeDead is an entry of either outbox, queued behind an erased
// member's in-flight work: it deletes the dead letters of theirs that
// work left after the erasure's first purge (a message being sent at that
// moment, then refused for good).
const kindPurgeDead = "purge-dead"

type purgeDeadMsg struct {
	Key string    `json:"key"` // the member's queue (memberQueue)
	At  time.Time `json:"at"`  // the erasure: later dead letters are a returning member's
}

// purgeDead is the kindPurgeDead handler of box.
func (d *Desk) purgeDead(ctx context.Context, box *outbox.Outbox, e outbox.Entry) error {
	return handle(e, "dead-letter purge", func(m purgeDeadMsg) error {
		n, err := box.PurgeDead(ctx, m.Key, m.At)
		if err != nil {
			return err
		}
		if n > 0 {
			d.log.Info("erased member's dead letters left by work in flight were dropped", slog.Int("dead_letters_dropped", n))
		}
		return nil
	})
}

type redactMsg struct {
	// Refs are "channel ts" (a post), "file:ID" (an upload), "root
	// channel token ms" (a root that may have been posted without being
	// recorded, found by its intent token; see postRoot), or "post channel
	// thread token ms" (likewise another post; see postOnce).
	Refs []string `json:"refs"`
	// Notices are "channel thread_ts ts" of staff replies that were still
	// queued: staff are told in the thread that they were not delivered.
	Notices []string  `json:"notices,omitempty"`
	At      time.Time `json:"at"`
}

// Forget erases everything the desk holds about the member (bot.Desk): see
// above.
func (d *Desk) Forget(ctx context.Context, chatID int64) error {
	at := d.now()
	if err := d.graves.Mark(ctx, chatID, at); err != nil {
		return fmt.Errorf("slack: forget %d: %w", chatID, err)
	}
	chat := strconv.FormatInt(chatID, 10)
	pipe := d.rdb.Pipeline()
	keysCmd := pipe.SMembers(ctx, d.key("keys", chat))
	postsCmd := pipe.SMembers(ctx, d.postsKey(chatID))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("slack: forget %d: %w", chatID, err)
	}
	queue := memberQueue(chatID)
	var purged, dead int
	job := redactMsg{Refs: postsCmd.Val(), At: at}
	for _, box := range []*outbox.Outbox{d.toSlack, d.toMember} {
		entries, dl, err := box.Purge(ctx, queue)
		if err != nil {
			return fmt.Errorf("slack: forget %d: %w", chatID, err)
		}
		purged, dead = purged+len(entries), dead+dl
		for _, e := range entries {
			var r staffReply
			if e.Kind == kindReply && json.Unmarshal(e.Payload, &r) == nil && r.ThreadTS != "" {
				job.Notices = append(job.Notices, r.Channel+" "+r.ThreadTS+" "+r.TS)
			}
		}
	}
	// Roots and other posts whose posting was begun and not recorded: one
	// may be in Slack (Slack stored it, its answer was lost).
	var intents []string
	for _, k := range keysCmd.Val() {
		if strings.HasPrefix(k, d.key("root")+":") || strings.HasPrefix(k, d.key("post")+":") {
			intents = append(intents, k)
		}
	}
	if len(intents) > 0 {
		vals, err := d.rdb.MGet(ctx, intents...).Result()
		if err != nil {
			return fmt.Errorf("slack: forget %d: %w", chatID, err)
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				continue
			}
			if strings.HasPrefix(intents[i], d.key("root")+":") {
				job.Refs = append(job.Refs, "root "+s)
			} else if in, ok := parsePostIntent(s); ok && in.ts == "" {
				job.Refs = append(job.Refs, in.ref()) // a recorded one is in desk:posts
			}
		}
	}
	// Work of theirs in flight right now may still end as a dead letter:
	// purge again behind it, in each outbox.
	purge, err := json.Marshal(purgeDeadMsg{Key: queue, At: at})
	if err != nil {
		return fmt.Errorf("slack: forget %d: encode dead-letter purge: %w", chatID, err)
	}
	for _, box := range []*outbox.Outbox{d.toSlack, d.toMember} {
		if _, err := box.EnqueueBehind(ctx, queue, "erased", kindPurgeDead, purge); err != nil {
			return fmt.Errorf("slack: forget %d: %w", chatID, err)
		}
	}
	if len(job.Refs)+len(job.Notices) > 0 {
		payload, err := json.Marshal(job)
		if err != nil {
			return fmt.Errorf("slack: forget %d: encode redaction: %w", chatID, err)
		}
		if _, err := d.toSlack.EnqueueBehind(ctx, queue, "erased", kindRedact, payload); err != nil {
			return fmt.Errorf("slack: forget %d: %w", chatID, err)
		}
	}
	tx := d.rdb.TxPipeline()
	// Staff replies in their threads from now on get ⚠️ and a note
	// (stray.go): the threads' addresses and the time, no chat ID.
	threads := d.markErasedThreads(ctx, tx, keysCmd.Val(), at)
	tx.Del(ctx, d.ticketKey(chatID), d.key("keys", chat), d.postsKey(chatID))
	if keys := keysCmd.Val(); len(keys) > 0 {
		tx.Del(ctx, keys...)
	}
	tx.SRem(ctx, d.key("open"), chat)
	tx.SRem(ctx, d.key("answered"), chat)
	if _, err := tx.Exec(ctx); err != nil {
		return fmt.Errorf("slack: forget %d: %w", chatID, err)
	}
	// Exports (shared.go) hold every member's answers: deleted from Slack.
	if err := d.forgetShared(ctx, at); err != nil {
		return fmt.Errorf("slack: forget %d: %w", chatID, err)
	}
	d.log.Info("member erased their data", slog.Int("keys", len(keysCmd.Val())+3), slog.Int("posts", len(postsCmd.Val())), slog.Int("threads_marked", threads),
		slog.Int("queued_dropped", purged), slog.Int("dead_letters_dropped", dead))
	return nil
}

// landed records a post (or file) the bot just made with the member's
// words, together with extra writes, unless the member erased their data
// meanwhile: then the post is redacted at once and nothing is recorded.
// gone reports that case.
func (d *Desk) landed(ctx context.Context, chat int64, origin time.Time, ref string, extra func(redis.Pipeliner)) (gone bool, err error) {
	at, gone, err := d.guard(ctx, chat, origin, func(p redis.Pipeliner) {
		p.SAdd(ctx, d.postsKey(chat), ref)
		if extra != nil {
			extra(p)
		}
	})
	if err != nil || !gone {
		return gone, err
	}
	d.log.Info("member erased their data while a post was on its way; redacting it")
	return true, d.redact(ctx, ref, at)
}

func postRef(channel, ts string) string { return channel + " " + ts }

// erasedText is what replaces a redacted post.
func erasedText(at time.Time) string {
	return "🗑 This member erased their data on " + at.UTC().Format("2 January 2006") + "."
}

// redactPosts is the kindRedact handler.
func (d *Desk) redactPosts(ctx context.Context, r redactMsg) error {
	for _, ref := range r.Refs {
		if err := d.redact(ctx, ref, r.At); err != nil {
			return err
		}
	}
	// Notices last: a retry after a failure may post one twice, never
	// leave a post unredacted.
	for _, n := range r.Notices {
		f := strings.Fields(n)
		if len(f) != 3 {
			continue
		}
		if err := d.replyErased(ctx, staffReply{Channel: f[0], ThreadTS: f[1], TS: f[2]}, r.At); err != nil {
			return err
		}
	}
	return nil
}

// redact replaces one post, or deletes one file. It is idempotent; a post
// or file that is already gone counts as done.
func (d *Desk) redact(ctx context.Context, ref string, at time.Time) error {
	if id, ok := strings.CutPrefix(ref, "file:"); ok {
		err := d.api.DeleteFileContext(ctx, id)
		if goneAlready(err, "file_not_found", "file_deleted") {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete an erased member's file: %w", err)
		}
		return nil
	}
	if intent, ok := strings.CutPrefix(ref, "root "); ok {
		f := strings.Fields(intent)
		if len(f) != 3 {
			return nil
		}
		ms, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil
		}
		ts, err := d.findRoot(ctx, f[0], f[1], time.UnixMilli(ms))
		if err != nil || ts == "" {
			return err
		}
		ref = postRef(f[0], ts)
	} else if intent, ok := strings.CutPrefix(ref, "post "); ok {
		in, ok := parsePostIntent(intent)
		if !ok {
			return nil
		}
		ts, err := d.findTagged(ctx, in.channel, in.thread, postEvent, in.token, in.since)
		if err != nil || ts == "" {
			return err
		}
		ref = postRef(in.channel, ts)
	}
	channel, ts, ok := strings.Cut(ref, " ")
	if !ok {
		return nil
	}
	text := erasedText(at)
	_, _, _, err := d.api.UpdateMessageContext(ctx, channel, ts, slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, false), nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"erased"))))
	if goneAlready(err, "message_not_found", "cant_update_message", "channel_not_found", "is_archived") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redact an erased member's post: %w", err)
	}
	return nil
}

func goneAlready(err error, codes ...string) bool {
	var se slackapi.SlackErrorResponse
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.Err == c {
			return true
		}
	}
	return false
}

// replyErased tells staff, in the thread, that a reply was not delivered
// because the member erased their data.
func (d *Desk) replyErased(ctx context.Context, r staffReply, at time.Time) error {
	text := fmt.Sprintf("🗑 Not delivered: this member erased their data on %s, so the bot no longer knows them and replies in this thread no longer reach them.", at.UTC().Format("2 January 2006"))
	if r.User != "" {
		text += " (reply by <@" + r.User + ">)"
	}
	if _, _, err := d.api.PostMessageContext(ctx, r.Channel, slackapi.MsgOptionText(text, false), slackapi.MsgOptionTS(r.ThreadTS)); err != nil {
		return fmt.Errorf("tell staff the member erased their data: %w", err)
	}
	d.react(ctx, r.Channel, r.TS, reactionFailed)
	return nil
}

// slackTime is a Slack ts as a time ("1718000000.123456").
func slackTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(s, us*1000)
}
