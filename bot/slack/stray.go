package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// Stray replies: a staff reply in one of the desk's question threads that
// the ticket store no longer maps to a member — because the member erased
// their data (/delete), or because the question was answered longer ago
// than TicketTimes.AnsweredRetention and its mapping expired — is never
// dropped silently: it gets ⚠️ and a short note in the thread saying why it
// did not reach the member and what to do.
//
// Neither case keeps anything about the member:
//
//   - erasure leaves desk:erased-thread:{channel}:{ts} = the erasure's Unix
//     time for each of the member's threads, with no chat ID and no text,
//     expiring after AnsweredRetention (after it, the thread's root, which
//     the erasure replaced by "🗑 This member erased their data…", still
//     tells the case apart);
//   - for an expired thread nothing is stored at all: the thread is
//     recognised as ours from Slack itself (the event's parent_user_id is
//     the bot, and the root, read with conversations.replies, carries the
//     question roots' metadata or the erasure's block).

// kindStray is a "slack" outbox entry: a staff reply in a question thread
// the desk no longer tracks (strayReply).
const kindStray = "stray_reply"

// strayReply is a staff reply in an untracked thread. ErasedAt is set when
// the thread's erasure marker was found (the member erased their data).
type strayReply struct {
	Channel  string    `json:"channel"`
	ThreadTS string    `json:"thread_ts"`
	TS       string    `json:"ts"`
	User     string    `json:"user"`
	ErasedAt time.Time `json:"erased_at,omitzero"`
}

// strayQueue is the outbox key of a thread's stray-reply notes: none of
// them names a member.
func strayQueue(channel, threadTS string) string { return "thread:" + channel + ":" + threadTS }

func (tk *tickets) erasedThreadKey(channel, ts string) string {
	return tk.key("erased-thread", channel, ts)
}

// markErasedThreads records, in pipe, that the threads named by the
// member's desk keys (desk:thread:{channel}:{ts}) belong to an erasure at
// at. Only the thread's Slack address and the time are kept.
func (tk *tickets) markErasedThreads(ctx context.Context, pipe redis.Pipeliner, keys []string, at time.Time) int {
	prefix := tk.key("thread") + ":"
	n := 0
	for _, k := range keys {
		if len(k) <= len(prefix) || k[:len(prefix)] != prefix {
			continue
		}
		pipe.Set(ctx, tk.key("erased-thread", k[len(prefix):]), at.Unix(), tk.answeredRetention)
		n++
	}
	return n
}

// questionChannel reports whether questions are posted in channel.
func (d *Desk) questionChannel(channel string) bool {
	if channel == d.cfg.Channels.Questions {
		return true
	}
	return slices.ContainsFunc(d.cfg.Channels.Routes, func(r Route) bool { return r.Channel == channel })
}

// onStrayReply handles a staff reply (not a note) in a thread the ticket
// store does not map: it queues the check and the note (the event handler
// must answer Slack quickly). Threads in other channels, or whose root
// someone else posted, are not the desk's and are left alone.
func (d *Desk) onStrayReply(ctx context.Context, channel string, msg *slackevents.MessageEvent, once string) error {
	m := msg.Message
	if strings.TrimSpace(m.Text) == "" && len(m.Files) == 0 {
		return nil
	}
	if !d.questionChannel(channel) || (m.ParentUserId != "" && m.ParentUserId != d.botUserID) {
		return nil
	}
	r := strayReply{Channel: channel, ThreadTS: m.ThreadTimestamp, TS: m.Timestamp, User: m.User}
	v, err := d.rdb.Get(ctx, d.erasedThreadKey(channel, m.ThreadTimestamp)).Result()
	switch {
	case err == nil:
		if sec, perr := strconv.ParseInt(v, 10, 64); perr == nil {
			r.ErasedAt = time.Unix(sec, 0)
		}
	case !errors.Is(err, redis.Nil):
		return fmt.Errorf("slack: check erased thread: %w", err)
	}
	return d.enqueueJSON(ctx, once, strayQueue(channel, m.ThreadTimestamp), kindStray, r)
}

// strayRoot is what the root of an untracked thread shows.
type strayRoot int

const (
	rootNotOurs   strayRoot = iota // not a question root of this bot: leave it
	rootQuestion                   // a question root whose mapping expired
	rootErasedOne                  // a question root redacted by an erasure
)

// inspectRoot reads a thread's root from Slack and tells what it is.
func (d *Desk) inspectRoot(ctx context.Context, channel, threadTS string) (strayRoot, error) {
	msgs, _, _, err := d.api.GetConversationRepliesContext(ctx, &slackapi.GetConversationRepliesParameters{
		ChannelID: channel, Timestamp: threadTS, Limit: 1, IncludeAllMetadata: true,
	})
	if goneAlready(err, "thread_not_found", "message_not_found", "channel_not_found") {
		return rootNotOurs, nil
	}
	if err != nil {
		return rootNotOurs, fmt.Errorf("read the thread's root: %w", err)
	}
	if len(msgs) == 0 || msgs[0].Timestamp != threadTS {
		return rootNotOurs, nil
	}
	root := msgs[0]
	if !(root.BotID != "" && root.BotID == d.botID) && !(root.User != "" && root.User == d.botUserID) {
		return rootNotOurs, nil
	}
	for _, b := range root.Blocks.BlockSet {
		if s, ok := b.(*slackapi.SectionBlock); ok && s.BlockID == blockTag+"erased" {
			return rootErasedOne, nil
		}
	}
	if root.Metadata.EventType == rootEvent {
		return rootQuestion, nil
	}
	for _, b := range root.Blocks.BlockSet {
		if s, ok := b.(*slackapi.SectionBlock); ok && s.BlockID == blockTag+"head" {
			return rootQuestion, nil
		}
	}
	return rootNotOurs, nil
}

// deliverStray is the kindStray handler: ⚠️ on the reply and a note in
// the thread, for everyone who follows it.
func (d *Desk) deliverStray(ctx context.Context, r strayReply) error {
	if !r.ErasedAt.IsZero() {
		return d.replyErased(ctx, staffReply{Channel: r.Channel, ThreadTS: r.ThreadTS, TS: r.TS, User: r.User}, r.ErasedAt)
	}
	kind, err := d.inspectRoot(ctx, r.Channel, r.ThreadTS)
	if err != nil {
		return err
	}
	var note string
	switch kind {
	case rootNotOurs:
		return nil
	case rootErasedOne:
		note = "🗑 Not delivered: this member erased their data, so the bot no longer knows them and replies in this thread no longer reach them."
	case rootQuestion:
		note = fmt.Sprintf("⚠️ Not delivered: this question was answered more than %s ago, so the bot no longer keeps who asked it and replies in this thread no longer reach the member. If you need to reach them, ask them (another way) to write to the bot again: their new message starts a new thread.",
			durationText(d.answeredRetention))
	}
	if r.User != "" {
		note += " (reply by <@" + r.User + ">)"
	}
	d.log.Info("staff reply in a thread the desk no longer tracks", slog.String("channel", r.Channel), slog.Bool("erased", kind == rootErasedOne))
	if _, _, err := d.api.PostMessageContext(ctx, r.Channel, slackapi.MsgOptionText(note, false), slackapi.MsgOptionTS(r.ThreadTS)); err != nil {
		return fmt.Errorf("tell staff a reply was not delivered: %w", err)
	}
	d.react(ctx, r.Channel, r.TS, reactionFailed)
	return nil
}

// durationText is a retention for people: "90 days", "36h0m0s".
func durationText(d time.Duration) string {
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	}
	return d.String()
}

// enqueueJSON queues v under queue (not a member's queue) in the "slack"
// outbox, once per event when once is not "" (see enqueueOnce).
func (d *Desk) enqueueJSON(ctx context.Context, once, queue, kind string, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("slack: encode %s: %w", kind, err)
	}
	if once == "" {
		_, err = d.toSlack.Enqueue(ctx, queue, kind, payload)
	} else {
		_, _, err = d.toSlack.EnqueueOnce(ctx, once, eventTTL, queue, kind, payload)
	}
	if err != nil {
		return fmt.Errorf("slack: queue %s: %w", kind, err)
	}
	return nil
}
