package slack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"

	"bridgebot/bot"
	"bridgebot/bot/outbox"
)

// deliverToSlack is the "slack" outbox handler.
func (d *Desk) deliverToSlack(ctx context.Context, e outbox.Entry) error {
	var err error
	switch e.Kind {
	case kindMember:
		err = handle(e, "member message", func(m memberMsg) error { return d.postMember(ctx, e.ID, m) })
	case kindRootUpdate:
		err = handle(e, "root update", func(r rootUpdate) error { return d.updateRoot(ctx, r.Chat) })
	case kindSignup:
		err = handle(e, "signup", func(s signupMsg) error { return d.postSignup(ctx, e.ID, s) })
	case kindRedact:
		err = handle(e, "redaction", func(r redactMsg) error { return d.redactPosts(ctx, r) })
	case kindPurgeDead:
		err = d.purgeDead(ctx, d.toSlack, e)
	case kindStray:
		err = handle(e, "stray reply", func(r strayReply) error { return d.deliverStray(ctx, r) })
	case kindPurgeExports:
		err = handle(e, "export purge", func(p purgeExportsMsg) error { return d.purgeExports(ctx, p) })
	default:
		return outbox.Permanent(fmt.Errorf("unknown slack outbox kind %q", e.Kind))
	}
	return classifySlack(err) // an undecodable payload stays permanent
}

// handle decodes an outbox entry's payload as T and hands it to deliver;
// a payload that does not decode can never be delivered (outbox.Permanent).
func handle[T any](e outbox.Entry, what string, deliver func(T) error) error {
	var v T
	if err := json.Unmarshal(e.Payload, &v); err != nil {
		return outbox.Permanent(fmt.Errorf("decode %s: %w", what, err))
	}
	return deliver(v)
}

type rootUpdate struct {
	Chat int64 `json:"chat"`
}

// classifySlack maps Slack errors to outbox decisions: 429 waits what
// Slack asks; configuration errors cannot succeed by retrying; the rest
// (network, 5xx) is retried with backoff.
func classifySlack(err error) error {
	if err == nil {
		return nil
	}
	var rl *slackapi.RateLimitedError
	if errors.As(err, &rl) {
		return outbox.RetryAfter(rl.RetryAfter, err)
	}
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
			"token_revoked", "missing_scope", "invalid_blocks", "msg_too_long", "no_text", "restricted_action",
			"message_not_found", "thread_not_found", "cant_update_message", "not_allowed_token_type", "user_not_in_channel":
			return outbox.Permanent(err)
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return err
	}
	return err
}

// postMember posts a member's message (outbox entry id): a new thread
// root, or a reply in their thread (with the file, if any).
func (d *Desk) postMember(ctx context.Context, id string, m memberMsg) error {
	t, err := d.loadTicket(ctx, m.Chat)
	if err != nil {
		return err
	}
	if _, gone, err := d.erased(ctx, m.Chat, m.At); err != nil || gone || !t.exists {
		if err == nil {
			// The member deleted their data (/delete) before this reached Slack.
			d.log.Info("member message dropped: member deleted their data")
		}
		return err
	}
	channel, ts, err := d.genThread(ctx, m.Chat, m.Gen)
	if err != nil {
		return err
	}
	if ts == "" {
		// The first message of a thread (also when a follow-up finds no
		// root, which only a manual cleanup could cause): post the root.
		root := t
		if m.Gen != t.Gen {
			root = ticket{Status: statusOpen, Lang: m.Lang, Name: m.Name, Username: m.Username, SignedUp: m.SignedUp, FAQ: m.FAQ, exists: true}
		}
		var intentKey string
		channel, ts, intentKey, err = d.postRoot(ctx, m, root)
		if errors.Is(err, errErased) {
			return nil
		}
		if err != nil {
			return err
		}
		chat := strconv.FormatInt(m.Chat, 10)
		genKey, threadKey := d.key("gen", chat, strconv.FormatInt(m.Gen, 10)), d.key("thread", channel, ts)
		// Recorded only if the member did not erase their data while the
		// root was being posted; if they did, the root is redacted.
		gone, err := d.landed(ctx, m.Chat, m.At, postRef(channel, ts), func(pipe redis.Pipeliner) {
			if m.Gen == t.Gen {
				pipe.HSet(ctx, d.ticketKey(m.Chat), "channel", channel, "ts", ts, "question", d.seal(clipSlack(m.Text)))
			}
			pipe.Set(ctx, genKey, channel+" "+ts, 0)
			pipe.Set(ctx, threadKey, chat, 0)
			pipe.SAdd(ctx, d.key("keys", chat), genKey, threadKey)
			pipe.Del(ctx, intentKey)
			pipe.SRem(ctx, d.key("keys", chat), intentKey)
		})
		if err != nil {
			return fmt.Errorf("record thread: %w", err)
		}
		if gone {
			return nil
		}
		if m.Attachment != nil {
			return d.uploadMember(ctx, id, channel, ts, m)
		}
		return nil
	}
	if m.Attachment != nil {
		if err := d.uploadMember(ctx, id, channel, ts, m); err != nil {
			return err
		}
	} else {
		text := fmt.Sprintf("💬 *%s:* %s", slackEscape(nameOr(m.Name)), slackEscape(m.Text))
		_, gone, err := d.postOnce(ctx, m.Chat, m.At, id, channel, ts, slackapi.MsgOptionText(text, false))
		if err != nil {
			return fmt.Errorf("post member reply: %w", err)
		}
		if gone {
			return nil
		}
	}
	if m.Reopen && m.Gen == t.Gen {
		return d.updateRoot(ctx, m.Chat)
	}
	return nil
}

// rootEvent is the metadata event type of question roots; its payload's
// "token" is the root's intent token (see postRoot).
const rootEvent = "bridgebot_question"

// rootLookback is how far before its intent was recorded a root is looked
// for, to allow for the difference between our clock and Slack's.
const rootLookback = 10 * time.Minute

// postRoot posts the root of question generation m.Gen at most once. Before
// posting it records the intent (desk:root:{chat}:{gen}: channel, a random
// token, time), and the post carries the token in its metadata. When an
// intent is already there, an earlier try may have posted the root
// without recording it (Slack stored the post but its answer was lost, or
// the process stopped in between): the channel's history since the intent
// is searched for the token first, and the root is posted again only if
// it is not there. It returns the root and the intent's key, which the
// caller deletes when it records the thread.
func (d *Desk) postRoot(ctx context.Context, m memberMsg, root ticket) (channel, ts, intentKey string, err error) {
	chat := strconv.FormatInt(m.Chat, 10)
	intentKey = d.key("root", chat, strconv.FormatInt(m.Gen, 10))
	channel, token, since, err := d.rootIntent(ctx, m, intentKey, chat, d.route(m.Lang, m.Topic))
	if err != nil {
		return "", "", "", err
	}
	if !since.IsZero() {
		ts, err = d.findRoot(ctx, channel, token, since)
		if err != nil || ts != "" {
			return channel, ts, intentKey, err
		}
	}
	_, ts, err = d.api.PostMessageContext(ctx, channel,
		slackapi.MsgOptionText(fallbackText(m), false), slackapi.MsgOptionBlocks(d.rootBlocks(root, m.Text, m.Chat)...),
		slackapi.MsgOptionMetadata(slackapi.SlackMetadata{EventType: rootEvent, EventPayload: map[string]any{"token": token}}))
	if err != nil {
		return "", "", "", fmt.Errorf("post question root: %w", err)
	}
	return channel, ts, intentKey, nil
}

// rootIntent records the intent to post a root in channel, or returns the
// one an earlier try recorded (since is when; zero for a new intent).
// It returns errErased, recording nothing, when the member erased their
// data since writing m.
func (d *Desk) rootIntent(ctx context.Context, m memberMsg, key, chat, channel string) (ch, token string, since time.Time, err error) {
	token = rand.Text()
	var set *redis.BoolCmd
	var get *redis.StringCmd
	_, gone, err := d.guard(ctx, m.Chat, m.At, func(pipe redis.Pipeliner) {
		set = pipe.SetNX(ctx, key, fmt.Sprintf("%s %s %d", channel, token, d.now().UnixMilli()), d.cfg.Tickets.AnsweredRetention)
		get = pipe.Get(ctx, key)
		pipe.SAdd(ctx, d.key("keys", chat), key)
	})
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("record question root intent: %w", err)
	}
	if gone {
		return "", "", time.Time{}, errErased
	}
	if set.Val() {
		return channel, token, time.Time{}, nil
	}
	parts := strings.Fields(get.Val())
	if len(parts) != 3 {
		return "", "", time.Time{}, outbox.Permanent(fmt.Errorf("corrupt question root intent %q", key))
	}
	msec, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", "", time.Time{}, outbox.Permanent(fmt.Errorf("corrupt question root intent %q: %w", key, err))
	}
	return parts[0], parts[1], time.UnixMilli(msec), nil
}

// findRoot looks for the root carrying token among channel's messages
// since (less rootLookback); "" if there is none.
func (d *Desk) findRoot(ctx context.Context, channel, token string, since time.Time) (string, error) {
	return d.findTagged(ctx, channel, "", rootEvent, token, since)
}

// findTagged looks for the bot's post whose metadata is event with token,
// among channel's messages (thread == "") or thread's replies, since (less
// rootLookback); "" if there is none. A thread that is gone holds none.
func (d *Desk) findTagged(ctx context.Context, channel, thread, event, token string, since time.Time) (string, error) {
	oldest := strconv.FormatInt(since.Add(-rootLookback).Unix(), 10) + ".000000"
	match := func(msgs []slackapi.Message) string {
		for _, msg := range msgs {
			if msg.Metadata.EventType == event && msg.Metadata.EventPayload["token"] == token {
				d.log.Info("post was already made; not posting it again", slog.String("event", event),
					slog.String("channel", channel), slog.String("ts", msg.Timestamp))
				return msg.Timestamp
			}
		}
		return ""
	}
	if thread == "" {
		p := &slackapi.GetConversationHistoryParameters{ChannelID: channel, Limit: 200, IncludeAllMetadata: true, Inclusive: true, Oldest: oldest}
		for range 20 {
			h, err := d.api.GetConversationHistoryContext(ctx, p)
			if err != nil {
				return "", fmt.Errorf("look for an earlier post: %w", err)
			}
			if ts := match(h.Messages); ts != "" {
				return ts, nil
			}
			if !h.HasMore || h.ResponseMetaData.NextCursor == "" {
				return "", nil
			}
			p.Cursor = h.ResponseMetaData.NextCursor
		}
		return "", nil
	}
	p := &slackapi.GetConversationRepliesParameters{ChannelID: channel, Timestamp: thread, Limit: 200, IncludeAllMetadata: true, Inclusive: true, Oldest: oldest}
	for range 20 {
		msgs, more, cursor, err := d.api.GetConversationRepliesContext(ctx, p)
		if goneAlready(err, "thread_not_found", "channel_not_found") {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("look for an earlier post in a thread: %w", err)
		}
		if ts := match(msgs); ts != "" {
			return ts, nil
		}
		if !more || cursor == "" {
			return "", nil
		}
		p.Cursor = cursor
	}
	return "", nil
}

// postEvent is the metadata event type of the bot's posts made by
// postOnce; its payload's "token" is the post's intent token.
const postEvent = "bridgebot_post"

// postIntent is a post about to be made (or made) by postOnce, as stored
// in desk:post:{chat}:{entry}: "channel thread token ms" ("-" for no
// thread), with " ts" appended once the post is recorded.
type postIntent struct {
	channel, thread, token string
	since                  time.Time // when the intent was recorded
	ts                     string    // the post, once recorded
}

func (p postIntent) String() string {
	thread := p.thread
	if thread == "" {
		thread = "-"
	}
	return fmt.Sprintf("%s %s %s %d", p.channel, thread, p.token, p.since.UnixMilli())
}

// ref is the intent as a redaction reference (see redactMsg): the post
// is looked up by its token.
func (p postIntent) ref() string { return "post " + p.String() }

func parsePostIntent(s string) (postIntent, bool) {
	f := strings.Fields(s)
	if len(f) != 4 && len(f) != 5 {
		return postIntent{}, false
	}
	ms, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return postIntent{}, false
	}
	p := postIntent{channel: f[0], thread: f[1], token: f[2], since: time.UnixMilli(ms)}
	if p.thread == "-" {
		p.thread = ""
	}
	if len(f) == 5 {
		p.ts = f[4]
	}
	return p, true
}

// postOnce posts a message carrying the member's words in channel (in
// thread, if not "") at most once for outbox entry id, however often the
// entry is tried, and records it for erasure. Before posting it records
// the intent (desk:post:{chat}:{id}, in desk:keys, so an erasure finds it
// and looks the post up even if it was never recorded) and the post
// carries the intent's token in its metadata.
// When an earlier try left an intent, that try may have posted without
// learning it (Slack stored the post but its answer was lost, or the
// process stopped): the thread (or channel) is searched for the token
// first, and the message posted only if it is not there. It returns the
// post's ts; gone reports that the member erased their data (nothing
// posted, or the post redacted at once).
func (d *Desk) postOnce(ctx context.Context, chat int64, origin time.Time, id, channel, thread string, opts ...slackapi.MsgOption) (ts string, gone bool, err error) {
	key := d.key("post", strconv.FormatInt(chat, 10), id)
	in, fresh, gone, err := d.postIntent(ctx, chat, origin, key, postIntent{channel: channel, thread: thread, token: rand.Text(), since: d.now()})
	if err != nil || gone {
		return "", gone, err
	}
	if in.ts != "" {
		return in.ts, false, nil // an earlier try posted and recorded it
	}
	if !fresh {
		if ts, err = d.findTagged(ctx, in.channel, in.thread, postEvent, in.token, in.since); err != nil {
			return "", false, err
		}
	}
	if ts == "" {
		opts = append(opts, slackapi.MsgOptionMetadata(slackapi.SlackMetadata{EventType: postEvent, EventPayload: map[string]any{"token": in.token}}))
		if in.thread != "" {
			opts = append(opts, slackapi.MsgOptionTS(in.thread))
		}
		if _, ts, err = d.api.PostMessageContext(ctx, in.channel, opts...); err != nil {
			return "", false, err
		}
	}
	gone, err = d.landed(ctx, chat, origin, postRef(in.channel, ts), func(p redis.Pipeliner) {
		p.Set(ctx, key, in.String()+" "+ts, redis.KeepTTL)
	})
	if err != nil {
		return "", false, fmt.Errorf("record post: %w", err)
	}
	return ts, gone, nil
}

// listKey adds key, which expires after AnsweredRetention, to the
// member's list of keys (what their erasure deletes), and makes the list
// live at least as long as it: an answered question gave the list that
// TTL, and a later intent must not outlive the list that names it. (EXPIRE
// GT leaves a list without a TTL as it is.)
func (d *Desk) listKey(ctx context.Context, p redis.Pipeliner, chat int64, key string) {
	list := d.key("keys", strconv.FormatInt(chat, 10))
	p.SAdd(ctx, list, key)
	p.ExpireGT(ctx, list, d.cfg.Tickets.AnsweredRetention)
}

// postIntent records want as the intent of key, or returns the one an
// earlier try recorded (fresh is false then). It records nothing and
// reports gone when the member erased their data since origin.
func (d *Desk) postIntent(ctx context.Context, chat int64, origin time.Time, key string, want postIntent) (in postIntent, fresh, gone bool, err error) {
	var set *redis.BoolCmd
	var get *redis.StringCmd
	_, gone, err = d.guard(ctx, chat, origin, func(pipe redis.Pipeliner) {
		set = pipe.SetNX(ctx, key, want.String(), d.cfg.Tickets.AnsweredRetention)
		get = pipe.Get(ctx, key)
		d.listKey(ctx, pipe, chat, key)
	})
	if err != nil {
		return postIntent{}, false, false, fmt.Errorf("record post intent: %w", err)
	}
	if gone {
		return postIntent{}, false, true, nil
	}
	if set.Val() {
		return want, true, false, nil
	}
	in, ok := parsePostIntent(get.Val())
	if !ok {
		return postIntent{}, false, false, outbox.Permanent(fmt.Errorf("corrupt post intent %q", key))
	}
	return in, false, false, nil
}

// fallbackText is the notification text; escaped like the blocks, so a
// member cannot write a live @channel or a disguised link.
func fallbackText(m memberMsg) string {
	return fmt.Sprintf("Question from %s: %s", slackEscape(nameOr(m.Name)), slackEscape(m.Text))
}

func nameOr(n string) string {
	if strings.TrimSpace(n) == "" {
		return "a member"
	}
	return n
}

// uploadMember fetches the member's file from Telegram and uploads it into
// the thread. A file Telegram will not hand over (over 20 MB) is replaced
// by a note, so staff know something was sent.
func (d *Desk) uploadMember(ctx context.Context, id, channel, ts string, m memberMsg) error {
	f, err := d.cfg.Member.Messenger.Fetch(ctx, m.Attachment.FileID)
	if errors.Is(err, bot.ErrRejected) {
		note := fmt.Sprintf("📎 *%s* sent a %s that is too large to forward (bots can download files up to 20 MB). Ask them to send it another way.",
			slackEscape(nameOr(m.Name)), strings.ReplaceAll(m.Attachment.Kind, "_", " "))
		if strings.TrimSpace(m.Text) != "" {
			note += "\n> " + slackEscape(m.Text)
		}
		_, _, err := d.postOnce(ctx, m.Chat, m.At, id, channel, ts, slackapi.MsgOptionText(note, false))
		if err != nil {
			return fmt.Errorf("post note about a member's file: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("fetch member file: %w", err)
	}
	name := f.Name
	if name == "" {
		name = m.Attachment.Kind + extFor(f.MIME, m.Attachment.Kind)
	}
	comment := fmt.Sprintf("📎 *%s* sent a %s", slackEscape(nameOr(m.Name)), strings.ReplaceAll(m.Attachment.Kind, "_", " "))
	if strings.TrimSpace(m.Text) != "" {
		comment += ": " + slackEscape(m.Text)
	}
	return d.uploadOnce(ctx, m.Chat, m.At, id, channel, ts, name, comment, f.Data)
}

// uploadOnce uploads a member's file into thread at most once for outbox
// entry id, and records it for erasure. It runs Slack's three steps itself
// so that the file's ID, which Slack gives first, is recorded
// (desk:upload:{chat}:{id}, and "file:ID" in desk:posts) before the upload
// is shared: an erasure deletes the file even if the answer of the last
// step was lost. A retry that finds an upload begun looks for the file in
// the thread first, and uploads again only if it is not there.
func (d *Desk) uploadOnce(ctx context.Context, chat int64, origin time.Time, id, channel, thread, name, comment string, data []byte) error {
	chatKey := strconv.FormatInt(chat, 10)
	key := d.key("upload", chatKey, id)
	prev, err := d.rdb.Get(ctx, key).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read upload intent: %w", err)
	}
	fileID, done := strings.CutSuffix(prev, " done")
	if done {
		return nil // an earlier try uploaded and recorded it
	}
	if fileID != "" {
		found, err := d.threadHasFile(ctx, channel, thread, fileID)
		if err != nil {
			return err
		}
		if found {
			d.log.Info("member's file was already uploaded; not uploading it again", slog.String("channel", channel), slog.String("file", fileID))
			_, err := d.landed(ctx, chat, origin, "file:"+fileID, func(p redis.Pipeliner) { p.Set(ctx, key, fileID+" done", redis.KeepTTL) })
			return err
		}
	}
	u, err := d.api.GetUploadURLExternalContext(ctx, slackapi.GetUploadURLExternalParameters{FileName: name, FileSize: len(data)})
	if err != nil {
		return fmt.Errorf("upload member file: %w", err)
	}
	_, gone, err := d.guard(ctx, chat, origin, func(p redis.Pipeliner) {
		p.Set(ctx, key, u.FileID, d.cfg.Tickets.AnsweredRetention)
		d.listKey(ctx, p, chat, key)
		p.SAdd(ctx, d.postsKey(chat), "file:"+u.FileID)
	})
	if err != nil {
		return fmt.Errorf("record upload intent: %w", err)
	}
	if gone {
		d.log.Info("member's file dropped: member deleted their data")
		return nil
	}
	if err := d.api.UploadToURL(ctx, slackapi.UploadToURLParameters{UploadURL: u.UploadURL, Reader: bytes.NewReader(data), Filename: name}); err != nil {
		return fmt.Errorf("upload member file: %w", err)
	}
	if _, err := d.api.CompleteUploadExternalContext(ctx, slackapi.CompleteUploadExternalParameters{
		Files: []slackapi.FileSummary{{ID: u.FileID, Title: name}}, Channel: channel, ThreadTimestamp: thread, InitialComment: comment,
	}); err != nil {
		return fmt.Errorf("upload member file: %w", err)
	}
	_, err = d.landed(ctx, chat, origin, "file:"+u.FileID, func(p redis.Pipeliner) { p.Set(ctx, key, u.FileID+" done", redis.KeepTTL) })
	return err
}

// threadHasFile reports whether a message in thread shares file id.
func (d *Desk) threadHasFile(ctx context.Context, channel, thread, id string) (bool, error) {
	p := &slackapi.GetConversationRepliesParameters{ChannelID: channel, Timestamp: thread, Limit: 200}
	for range 20 {
		msgs, more, cursor, err := d.api.GetConversationRepliesContext(ctx, p)
		if goneAlready(err, "thread_not_found", "channel_not_found") {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("look for an earlier upload in a thread: %w", err)
		}
		for _, msg := range msgs {
			for _, f := range msg.Files {
				if f.ID == id {
					return true, nil
				}
			}
		}
		if !more || cursor == "" {
			return false, nil
		}
		p.Cursor = cursor
	}
	return false, nil
}

func extFor(mime, kind string) string {
	switch {
	case strings.Contains(mime, "jpeg") || kind == "photo":
		return ".jpg"
	case strings.Contains(mime, "ogg") || kind == "voice":
		return ".ogg"
	case strings.Contains(mime, "mp4") || kind == "video" || kind == "video_note":
		return ".mp4"
	case strings.Contains(mime, "webp") || kind == "sticker":
		return ".webp"
	case strings.Contains(mime, "pdf"):
		return ".pdf"
	}
	return ""
}

// updateRoot redraws a thread root with the ticket's current status.
func (d *Desk) updateRoot(ctx context.Context, chat int64) error {
	t, err := d.loadTicket(ctx, chat)
	if err != nil {
		return err
	}
	if !t.exists || t.TS == "" {
		return nil
	}
	_, _, _, err = d.api.UpdateMessageContext(ctx, t.Channel, t.TS,
		slackapi.MsgOptionText(fallbackText(memberMsg{Name: t.Name, Text: t.Question}), false),
		slackapi.MsgOptionBlocks(d.rootBlocks(t, t.Question, chat)...))
	if err != nil {
		return fmt.Errorf("update root: %w", err)
	}
	return nil
}

// Tag on every block the bot posts, so its own messages are recognised.
const blockTag = "bridgebot:"

// Action IDs of the root's buttons.
const (
	actionAnswered = "bridgebot_answered"
	actionReopen   = "bridgebot_reopen"
)

// rootBlocks is the thread root: who asks, in which language, whether
// they signed up, the question, the status and the buttons.
func (d *Desk) rootBlocks(t ticket, question string, chat int64) []slackapi.Block {
	who := "*" + slackEscape(nameOr(t.Name)) + "*"
	if t.Username != "" {
		who += " (@" + slackEscape(t.Username) + " on Telegram)"
	}
	lang := d.langName(t.Lang)
	signed := "not signed up yet"
	if t.SignedUp {
		signed = "✅ signed up"
	}
	status := "🟢 *Open* — reply in this thread; start with `//` or `note:` for an internal note"
	btn := slackapi.NewButtonBlockElement(actionAnswered, strconv.FormatInt(chat, 10), slackapi.NewTextBlockObject(slackapi.PlainTextType, "✅ Mark answered", true, false))
	btn.Style = slackapi.StylePrimary
	if t.Status == statusAnswered {
		status = "✅ *Answered*"
		if t.AnsweredBy != "" {
			status += " by <@" + t.AnsweredBy + ">"
		}
		if !t.AnsweredAt.IsZero() {
			status += fmt.Sprintf(" <!date^%d^{date_short_pretty} {time}|%s>", t.AnsweredAt.Unix(), t.AnsweredAt.UTC().Format(time.RFC1123))
		}
		btn = slackapi.NewButtonBlockElement(actionReopen, strconv.FormatInt(chat, 10), slackapi.NewTextBlockObject(slackapi.PlainTextType, "↩️ Reopen", true, false))
	}
	q := question
	if strings.TrimSpace(q) == "" {
		q = "_(see the thread)_"
	} else {
		q = quote(slackEscape(q))
	}
	blocks := []slackapi.Block{
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, fmt.Sprintf("❓ Question from %s · %s · %s", who, lang, signed), false, false), nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"head")),
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, clipSlack(q), false, false), nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"question")),
	}
	if faq := d.faqLine(t.FAQ); faq != "" {
		blocks = append(blocks, slackapi.NewContextBlock(blockTag+"faq", slackapi.NewTextBlockObject(slackapi.MarkdownType, faq, false, false)))
	}
	return append(blocks,
		slackapi.NewContextBlock(blockTag+"status", slackapi.NewTextBlockObject(slackapi.MarkdownType, status, false, false)),
		slackapi.NewActionBlock(blockTag+"actions", btn),
	)
}

func quote(s string) string { return "> " + strings.ReplaceAll(s, "\n", "\n> ") }

// clipSlack keeps a section's text under Slack's 3000-character limit.
func clipSlack(s string) string {
	r := []rune(s)
	if len(r) <= 2900 {
		return s
	}
	return string(r[:2900]) + "… _(continued in the thread)_"
}

// slackEscape escapes the three characters Slack's mrkdwn treats as
// control characters, so member text is shown, never interpreted.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// postSignup posts a sign-up (outbox entry id) with the configured fields.
func (d *Desk) postSignup(ctx context.Context, id string, s signupMsg) error {
	origin := s.Signup.Updated
	if origin.IsZero() {
		origin = s.Signup.Created
	}
	if _, gone, err := d.erased(ctx, s.Signup.ChatID, origin); err != nil || gone {
		if gone {
			d.log.Info("sign-up post dropped: member deleted their data")
		}
		return err
	}
	head := "🆕 New sign-up"
	if s.Updated {
		head = "✏️ Sign-up updated"
	}
	lines := []string{fmt.Sprintf("*%s* · %s", head, d.langName(s.Signup.Lang))}
	for _, f := range d.cfg.Channels.SignupFields {
		vals := make([]string, len(s.Signup.Answers[f]))
		for i, a := range s.Signup.Answers[f] {
			vals[i] = d.answerLabel(f, a)
		}
		v := strings.Join(vals, ", ")
		if v == "" {
			v = "—"
		}
		lines = append(lines, fmt.Sprintf("*%s:* %s", slackEscape(d.fieldLabel(f)), slackEscape(v)))
	}
	text := strings.Join(lines, "\n")
	_, _, err := d.postOnce(ctx, s.Signup.ChatID, origin, id, d.cfg.Channels.Signups, "", slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, clipSlack(text), false, false), nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"signup"))))
	if err != nil {
		return fmt.Errorf("post sign-up: %w", err)
	}
	return nil
}

// errErased: the member erased their data; the work is dropped.
var errErased = errors.New("member erased their data")
