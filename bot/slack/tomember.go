package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"

	"bridgebot/bot"
	"bridgebot/bot/outbox"
)

// staffReply is a staff message on its way to a member.
type staffReply struct {
	Chat     int64       `json:"chat"`
	Channel  string      `json:"channel"`
	TS       string      `json:"ts"`
	ThreadTS string      `json:"thread_ts"`
	User     string      `json:"user"`
	Text     string      `json:"text"`
	Files    []staffFile `json:"files,omitempty"`
}

type staffFile struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	MIME string `json:"mime"`
	URL  string `json:"url"`
}

// Reactions the bot puts on staff messages to show what happened.
const (
	reactionRelayed = "incoming_envelope"
	reactionFailed  = "warning"
	reactionNote    = "memo"
)

// maxFileBytes is the default of Config.MaxFileBytes: what the bot
// carries between Slack and Telegram; the Bot API accepts uploads up to
// 50 MB.
const maxFileBytes = 45 << 20

// deliverToMember is the "telegram" outbox handler.
func (d *Desk) deliverToMember(ctx context.Context, e outbox.Entry) error {
	switch e.Kind {
	case kindReply:
		var r staffReply
		if err := json.Unmarshal(e.Payload, &r); err != nil {
			return outbox.Permanent(fmt.Errorf("decode staff reply: %w", err))
		}
		return d.relayReply(ctx, r, e.Attempts)
	case kindEdit:
		var r staffReply
		if err := json.Unmarshal(e.Payload, &r); err != nil {
			return outbox.Permanent(fmt.Errorf("decode staff edit: %w", err))
		}
		return d.relayEdit(ctx, r)
	}
	return outbox.Permanent(fmt.Errorf("unknown telegram outbox kind %q", e.Kind))
}

// maxFileAttempts bounds the tries of a reply with a staff file that fails
// for a reason retrying cannot fix (too large, deleted, not a Slack file
// address) before the file is given up.
const maxFileAttempts = 3

// relayReply sends a staff reply (text and files) to the member and marks
// the staff message with the outcome. It is safe to run again after a
// crash: a text already delivered is not sent twice. attempt is the
// outbox's try number: a file that cannot be downloaded for a permanent
// reason is given up from the maxFileAttempts-th try on (staff are told in
// the thread, the rest of the reply is delivered, and the entry ends as a
// dead letter), so it does not hold up the member's later replies;
// transient download errors are retried without limit.
func (d *Desk) relayReply(ctx context.Context, r staffReply, attempt int) error {
	t, err := d.loadTicket(ctx, r.Chat)
	if err != nil {
		return err
	}
	relayedKey := d.key("relayed", r.Channel, r.TS)
	done, err := d.rdb.Exists(ctx, relayedKey).Result()
	if err != nil {
		return fmt.Errorf("check relayed: %w", err)
	}
	if done == 0 {
		html := d.renderReply(ctx, t.Lang, r.User, r.Text, false)
		if html != "" {
			id, err := d.cfg.Messenger.SendText(ctx, r.Chat, html)
			if err != nil {
				return d.memberFailed(ctx, r, err)
			}
			if err := d.remember(ctx, r.Chat, relayedKey, fmt.Sprintf("%d:%d", r.Chat, id)); err != nil {
				return err
			}
		} else if err := d.remember(ctx, r.Chat, relayedKey, fmt.Sprintf("%d:0", r.Chat)); err != nil {
			return err
		}
	}
	var given []error
	for i, f := range r.Files {
		sentKey := d.key("relayed", r.Channel, r.TS, "file", strconv.Itoa(i))
		v, err := d.rdb.Get(ctx, sentKey).Result()
		switch {
		case err == nil && v == fileGivenUp:
			given = append(given, fmt.Errorf("file %s given up earlier", f.ID))
			continue
		case err == nil:
			continue
		case !errors.Is(err, redis.Nil):
			return fmt.Errorf("check relayed file: %w", err)
		}
		var buf bytes.Buffer
		if err := d.api.GetFileContext(ctx, f.URL, &limitedWriter{w: &buf, left: d.cfg.MaxFileBytes, max: d.cfg.MaxFileBytes}); err != nil {
			reason, permanent := fileProblem(err, d.cfg.MaxFileBytes)
			if !permanent || attempt < maxFileAttempts {
				return fmt.Errorf("download staff file %s: %w", f.ID, err)
			}
			if err := d.fileUndeliverable(ctx, r, f, reason); err != nil {
				return err
			}
			if err := d.remember(ctx, r.Chat, sentKey, fileGivenUp); err != nil {
				return err
			}
			given = append(given, fmt.Errorf("file %s: %s: %w", f.ID, reason, err))
			continue
		}
		file := bot.File{Name: f.Name, MIME: f.MIME, Data: buf.Bytes()}
		if strings.TrimSpace(r.Text) == "" && i == 0 {
			file.Caption = d.renderReply(ctx, t.Lang, r.User, "", true)
		}
		if _, err := d.cfg.Messenger.SendFile(ctx, r.Chat, file); err != nil {
			return d.memberFailed(ctx, r, err)
		}
		if err := d.remember(ctx, r.Chat, sentKey, "1"); err != nil {
			return err
		}
	}
	if t.exists {
		d.rdb.HSet(ctx, d.ticketKey(r.Chat), "last", d.now().Unix())
	}
	if len(given) > 0 {
		return outbox.Permanent(fmt.Errorf("staff reply to %d delivered without its files: %w", r.Chat, errors.Join(given...)))
	}
	d.react(ctx, r.Channel, r.TS, reactionRelayed)
	return nil
}

// fileGivenUp marks a staff file that was given up (desk:relayed:…:file:n).
const fileGivenUp = "given-up"

// fileProblem tells why a staff file could not be downloaded, for staff,
// and whether retrying cannot help.
func fileProblem(err error, limit int) (reason string, permanent bool) {
	var sce slackapi.StatusCodeError
	switch {
	case errors.Is(err, errFileTooLarge):
		return "too large (the limit is " + sizeText(limit) + ")", true
	case errors.As(err, &sce):
		switch sce.Code {
		case http.StatusNotFound, http.StatusGone:
			return "not found on Slack (it may have been deleted)", true
		case http.StatusUnauthorized, http.StatusForbidden:
			return "Slack does not let the bot read it", true
		}
		return "Slack is not answering", false
	}
	// slack-go reports these as plain errors.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "refusing to send the token"), strings.Contains(msg, "empty download URL"):
		return "it is not a Slack file the bot may download", true
	case strings.Contains(msg, "redirected to the sign-in page"):
		return "Slack does not let the bot read it", true
	}
	return "download failed", false
}

// fileUndeliverable tells staff, in the thread where everyone sees it,
// that a file of a reply will not reach the member, and marks the reply ⚠️.
func (d *Desk) fileUndeliverable(ctx context.Context, r staffReply, f staffFile, reason string) error {
	d.log.Warn("staff file given up", slog.Int64("chat", r.Chat), slog.String("file", f.ID), slog.String("reason", reason))
	note := fmt.Sprintf("⚠️ <@%s>, this file could not be delivered to the member: *%s* — %s. Send it another way (a smaller file, or a link).",
		r.User, slackEscape(f.Name), reason)
	_, _, err := d.api.PostMessageContext(ctx, r.Channel, slackapi.MsgOptionText(note, false), slackapi.MsgOptionTS(r.ThreadTS))
	if err != nil {
		return fmt.Errorf("tell staff a file was given up: %w", err)
	}
	d.react(ctx, r.Channel, r.TS, reactionFailed)
	return nil
}

// remember records a key that belongs to a member's conversation, so
// /delete can remove it.
func (d *Desk) remember(ctx context.Context, chat int64, key, value string) error {
	pipe := d.rdb.TxPipeline()
	pipe.Set(ctx, key, value, 0)
	pipe.SAdd(ctx, d.key("keys", strconv.FormatInt(chat, 10)), key)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("record relayed: %w", err)
	}
	return nil
}

// memberFailed handles a Telegram refusal. A member who blocked the bot,
// or a message Telegram rejects for good, cannot be helped by retrying:
// staff are told (reaction + a note only they see) and the entry is given
// up. Anything else (network, 5xx) is retried.
func (d *Desk) memberFailed(ctx context.Context, r staffReply, err error) error {
	blocked := errors.Is(err, bot.ErrBlocked)
	if !blocked && !errors.Is(err, bot.ErrRejected) {
		return fmt.Errorf("send to member %d: %w", r.Chat, err)
	}
	d.react(ctx, r.Channel, r.TS, reactionFailed)
	note := "⚠️ Not delivered: this member has blocked the bot or deleted their Telegram account, so they can no longer receive messages."
	if !blocked {
		note = "⚠️ Not delivered: Telegram refused this message (" + slackEscape(err.Error()) + "). Try rephrasing it, or send the file in another format."
	}
	if _, err := d.api.PostEphemeralContext(ctx, r.Channel, r.User, slackapi.MsgOptionText(note, false), slackapi.MsgOptionTS(r.ThreadTS)); err != nil {
		d.log.Warn("could not tell staff about a failed relay", slog.String("channel", r.Channel), slog.Any("err", err))
	}
	return outbox.Permanent(fmt.Errorf("member %d unreachable: %w", r.Chat, err))
}

// relayEdit mirrors a staff edit on the member's copy.
func (d *Desk) relayEdit(ctx context.Context, r staffReply) error {
	v, err := d.rdb.Get(ctx, d.key("relayed", r.Channel, r.TS)).Result()
	if errors.Is(err, redis.Nil) {
		return nil // never relayed (a note, or a message from before): nothing to edit
	}
	if err != nil {
		return fmt.Errorf("find relayed message: %w", err)
	}
	chatS, idS, _ := strings.Cut(v, ":")
	chat, _ := strconv.ParseInt(chatS, 10, 64)
	id, _ := strconv.Atoi(idS)
	if id == 0 {
		return nil
	}
	t, err := d.loadTicket(ctx, chat)
	if err != nil {
		return err
	}
	if err := d.cfg.Messenger.EditText(ctx, chat, id, d.renderReply(ctx, t.Lang, r.User, r.Text, false)); err != nil {
		if errors.Is(err, bot.ErrBlocked) || errors.Is(err, bot.ErrRejected) {
			return outbox.Permanent(err)
		}
		return fmt.Errorf("edit member copy: %w", err)
	}
	return nil
}

// renderReply is a staff reply as the member reads it, in their language.
func (d *Desk) renderReply(ctx context.Context, lang, user, text string, hasFiles bool) string {
	body := mrkdwnToHTML(text)
	if strings.TrimSpace(body) == "" && !hasFiles {
		return ""
	}
	tr := d.cfg.Locales.For(lang)
	if d.cfg.ShowStaffName {
		if name := d.staffName(ctx, user); name != "" {
			return tr.T("staff.reply_named", map[string]any{"Name": htmlEscape(name), "Text": body})
		}
	}
	return tr.T("staff.reply", map[string]any{"Text": body})
}

// staffName is a staff member's first name, cached per process.
func (d *Desk) staffName(ctx context.Context, user string) string {
	d.namesMu.Lock()
	name, ok := d.names[user]
	d.namesMu.Unlock()
	if ok {
		return name
	}
	u, err := d.api.GetUserInfoContext(ctx, user)
	if err != nil {
		d.log.Warn("could not look up staff name", slog.String("user", user), slog.Any("err", err))
		return ""
	}
	name = u.Profile.FirstName
	if name == "" {
		name = strings.Fields(u.RealName + " " + u.Name)[0]
	}
	d.namesMu.Lock()
	d.names[user] = name
	d.namesMu.Unlock()
	return name
}

// react marks a staff message; best effort (the relay itself succeeded).
func (d *Desk) react(ctx context.Context, channel, ts, name string) {
	err := d.api.AddReactionContext(ctx, name, slackapi.ItemRef{Channel: channel, Timestamp: ts})
	var se slackapi.SlackErrorResponse
	if err != nil && !(errors.As(err, &se) && se.Err == "already_reacted") {
		d.log.Warn("could not add reaction", slog.String("reaction", name), slog.Any("err", err))
	}
}

var errFileTooLarge = errors.New("file too large")

type limitedWriter struct {
	w         *bytes.Buffer
	left, max int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, fmt.Errorf("%w: larger than %s", errFileTooLarge, sizeText(l.max))
	}
	l.left -= len(p)
	return l.w.Write(p)
}

var (
	linkRE    = regexp.MustCompile(`<((?:https?://|mailto:|tel:)[^|>]+)(?:\|([^>]+))?>`)
	mentionRE = regexp.MustCompile(`<[@#!][^>]*>`)
	boldRE    = regexp.MustCompile(`(^|[\s(])\*([^*\n]+)\*`)
	italicRE  = regexp.MustCompile(`(^|[\s(])_([^_\n]+)_`)
	strikeRE  = regexp.MustCompile(`(^|[\s(])~([^~\n]+)~`)
)

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// mrkdwnToHTML turns Slack's formatting into Telegram HTML: links, bold,
// italic, strike; mentions of staff and channels are dropped (they mean
// nothing to a member). Slack already escapes & < > as entities.
func mrkdwnToHTML(s string) string {
	s = strings.TrimSpace(s)
	var links []string
	s = linkRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := linkRE.FindStringSubmatch(m)
		label := sub[2]
		if label == "" {
			label = sub[1]
		}
		links = append(links, `<a href="`+strings.ReplaceAll(sub[1], `"`, "&quot;")+`">`+htmlEscape(unescapeSlack(label))+`</a>`)
		return "\x00" + strconv.Itoa(len(links)-1) + "\x00"
	})
	s = mentionRE.ReplaceAllString(s, "")
	s = htmlEscape(unescapeSlack(s))
	s = boldRE.ReplaceAllString(s, "$1<b>$2</b>")
	s = italicRE.ReplaceAllString(s, "$1<i>$2</i>")
	s = strikeRE.ReplaceAllString(s, "$1<s>$2</s>")
	for i, l := range links {
		s = strings.Replace(s, "\x00"+strconv.Itoa(i)+"\x00", l, 1)
	}
	return strings.TrimSpace(s)
}

func unescapeSlack(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
}

// sizeText is a byte count for people: "45 MB", "800 KB", "512 bytes".
func sizeText(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
