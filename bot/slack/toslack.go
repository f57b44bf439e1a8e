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
		err = handle(e, "member message", func(m memberMsg) error { return d.postMember(ctx, m) })
	case kindRootUpdate:
		err = handle(e, "root update", func(r rootUpdate) error { return d.updateRoot(ctx, r.Chat) })
	case kindSignup:
		err = handle(e, "signup", func(s signupMsg) error { return d.postSignup(ctx, s) })
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

// postMember posts a member's message: a new thread root, or a reply in
// their thread (with the file, if any).
func (d *Desk) postMember(ctx context.Context, m memberMsg) error {
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
			return d.uploadMember(ctx, channel, ts, m)
		}
		return nil
	}
	if m.Attachment != nil {
		if err := d.uploadMember(ctx, channel, ts, m); err != nil {
			return err
		}
	} else {
		text := fmt.Sprintf("💬 *%s:* %s", slackEscape(nameOr(m.Name)), slackEscape(m.Text))
		_, postTS, err := d.api.PostMessageContext(ctx, channel, slackapi.MsgOptionText(text, false), slackapi.MsgOptionTS(ts))
		if err != nil {
			return fmt.Errorf("post member reply: %w", err)
		}
		if gone, err := d.landed(ctx, m.Chat, m.At, postRef(channel, postTS), nil); err != nil || gone {
			return err
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
	p := &slackapi.GetConversationHistoryParameters{
		ChannelID: channel, Limit: 200, IncludeAllMetadata: true, Inclusive: true,
		Oldest: strconv.FormatInt(since.Add(-rootLookback).Unix(), 10) + ".000000",
	}
	for range 20 {
		h, err := d.api.GetConversationHistoryContext(ctx, p)
		if err != nil {
			return "", fmt.Errorf("look for an earlier question root: %w", err)
		}
		for _, msg := range h.Messages {
			if msg.Metadata.EventType == rootEvent && msg.Metadata.EventPayload["token"] == token {
				d.log.Info("question root was already posted; not posting it again", slog.String("channel", channel), slog.String("ts", msg.Timestamp))
				return msg.Timestamp, nil
			}
		}
		if !h.HasMore || h.ResponseMetaData.NextCursor == "" {
			return "", nil
		}
		p.Cursor = h.ResponseMetaData.NextCursor
	}
	return "", nil
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
func (d *Desk) uploadMember(ctx context.Context, channel, ts string, m memberMsg) error {
	f, err := d.cfg.Member.Messenger.Fetch(ctx, m.Attachment.FileID)
	if errors.Is(err, bot.ErrRejected) {
		note := fmt.Sprintf("📎 *%s* sent a %s that is too large to forward (bots can download files up to 20 MB). Ask them to send it another way.",
			slackEscape(nameOr(m.Name)), strings.ReplaceAll(m.Attachment.Kind, "_", " "))
		if strings.TrimSpace(m.Text) != "" {
			note += "\n> " + slackEscape(m.Text)
		}
		_, noteTS, err := d.api.PostMessageContext(ctx, channel, slackapi.MsgOptionText(note, false), slackapi.MsgOptionTS(ts))
		if err != nil {
			return err
		}
		_, err = d.landed(ctx, m.Chat, m.At, postRef(channel, noteTS), nil)
		return err
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
	up, err := d.api.UploadFileContext(ctx, slackapi.UploadFileParameters{
		Reader: bytes.NewReader(f.Data), FileSize: len(f.Data), Filename: name, Title: name,
		Channel: channel, ThreadTimestamp: ts, InitialComment: comment,
	})
	if err != nil {
		return fmt.Errorf("upload member file: %w", err)
	}
	if up != nil && up.ID != "" {
		_, err = d.landed(ctx, m.Chat, m.At, "file:"+up.ID, nil)
	}
	return err
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

// postSignup posts a sign-up with the configured fields.
func (d *Desk) postSignup(ctx context.Context, s signupMsg) error {
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
	channel, ts, err := d.api.PostMessageContext(ctx, d.cfg.Channels.Signups, slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, clipSlack(text), false, false), nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"signup"))))
	if err != nil {
		return fmt.Errorf("post sign-up: %w", err)
	}
	_, err = d.landed(ctx, s.Signup.ChatID, origin, postRef(channel, ts), nil)
	return err
}

// errErased: the member erased their data; the work is dropped.
var errErased = errors.New("member erased their data")
