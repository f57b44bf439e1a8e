package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

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

// maxFileBytes is the default of MemberSide.MaxFileBytes: what the bot
// carries between Slack and Telegram; the Bot API accepts uploads up to
// 50 MB.
const maxFileBytes = 45 << 20

// deliverToMember is the "telegram" outbox handler.
func (d *Desk) deliverToMember(ctx context.Context, e outbox.Entry) error {
	switch e.Kind {
	case kindPurgeDead:
		return d.purgeDead(ctx, d.toMember, e)
	case kindReply:
		return handle(e, "staff reply", func(r staffReply) error { return d.relayReply(ctx, r, e.Attempts) })
	case kindEdit:
		return handle(e, "staff edit", func(r staffReply) error { return d.relayEdit(ctx, r) })
	}
	return outbox.Permanent(fmt.Errorf("unknown telegram outbox kind %q", e.Kind))
}

// maxFileAttempts bounds the tries of a reply with a staff file that fails
// for a reason retrying cannot fix (too large, deleted, not a Slack file
// address) before the file is given up.
const maxFileAttempts = 3

// relayReply sends a staff reply (text and files) to the member and marks
// the staff message with the outcome. It is safe to run again after a
// failure: each part of a long text and each file is recorded as sent
// right after Telegram accepts it (a Redis error there is retried on the
// spot, see rememberSent) and is not sent again. attempt is the
// outbox's try number: a file that cannot be downloaded for a permanent
// reason is given up from the maxFileAttempts-th try on (staff are told in
// the thread, the rest of the reply is delivered, and the entry ends as a
// dead letter), so it does not hold up the member's later replies;
// transient download errors are retried without limit.
func (d *Desk) relayReply(ctx context.Context, r staffReply, attempt int) error {
	// A reply in a thread whose root predates the member's erasure is
	// dropped, and staff are told why.
	if at, gone, err := d.erased(ctx, r.Chat, r.origin()); err != nil || gone {
		if gone {
			return d.replyErased(ctx, r, at)
		}
		return err
	}
	t, err := d.loadTicket(ctx, r.Chat)
	if err != nil {
		return err
	}
	if err := d.relayText(ctx, r, d.renderReply(ctx, t.Lang, r.User, r.Text, false)); err != nil {
		return err
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
		if err := d.api.GetFileContext(ctx, f.URL, &limitedWriter{w: &buf, left: d.cfg.Member.MaxFileBytes, max: d.cfg.Member.MaxFileBytes}); err != nil {
			reason, permanent := fileProblem(err, d.cfg.Member.MaxFileBytes)
			if !permanent || attempt < maxFileAttempts {
				return fmt.Errorf("download staff file %s: %w", f.ID, err)
			}
			if err := d.fileUndeliverable(ctx, r, f, reason); err != nil {
				return err
			}
			if err := d.remember(ctx, r, sentKey, fileGivenUp, 0); err != nil {
				return err
			}
			given = append(given, fmt.Errorf("file %s: %s: %w", f.ID, reason, err))
			continue
		}
		file := bot.File{Name: f.Name, MIME: f.MIME, Data: buf.Bytes()}
		if strings.TrimSpace(r.Text) == "" && i == 0 {
			file.Caption = d.renderReply(ctx, t.Lang, r.User, "", true)
		}
		msgID, err := d.cfg.Member.Messenger.SendFile(ctx, r.Chat, file)
		if err != nil {
			return d.memberFailed(ctx, r, err)
		}
		if err := d.rememberSent(ctx, r, sentKey, "1", msgID); err != nil {
			return err
		}
	}
	if t.exists {
		if _, _, err := d.guard(ctx, r.Chat, r.origin(), func(p redis.Pipeliner) {
			p.HSet(ctx, d.ticketKey(r.Chat), "last", d.now().Unix())
		}); err != nil {
			d.log.Warn("could not record the member's last activity", slog.Any("err", err))
		}
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

// telegramMaxText is Telegram's limit on a message's text, in UTF-16 code
// units (telegram.MaxText).
const telegramMaxText = 4096

// relayText sends a reply's text (Telegram HTML; "" for none) in as many
// messages as Telegram needs, each part once. desk:relayed:{channel}:{ts}
// holds "chat:id of the first part" once the whole text is sent; parts of
// a longer text are recorded as they go (…:part:{n} = message ID), so a
// failure on part two does not send part one again.
func (d *Desk) relayText(ctx context.Context, r staffReply, html string) error {
	relayedKey := d.key("relayed", r.Channel, r.TS)
	parts := splitHTML(html, telegramMaxText)
	keys := []string{relayedKey}
	if len(parts) > 1 {
		for i := range parts[:len(parts)-1] {
			keys = append(keys, relayedKey+":part:"+strconv.Itoa(i))
		}
	}
	sent, err := d.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return fmt.Errorf("check relayed: %w", err)
	}
	if sent[0] != nil {
		return nil
	}
	if len(parts) == 0 {
		return d.rememberSent(ctx, r, relayedKey, fmt.Sprintf("%d:0", r.Chat), 0)
	}
	first := 0
	for i, part := range parts {
		last := i == len(parts)-1
		if !last && sent[i+1] != nil {
			if i == 0 {
				first, _ = strconv.Atoi(fmt.Sprint(sent[1]))
			}
			continue
		}
		id, err := d.cfg.Member.Messenger.SendText(ctx, r.Chat, part)
		if err != nil {
			return d.memberFailed(ctx, r, err)
		}
		if i == 0 {
			first = id
		}
		key, value := relayedKey, fmt.Sprintf("%d:%d", r.Chat, first)
		if !last {
			key, value = keys[i+1], strconv.Itoa(id)
		}
		if err := d.rememberSent(ctx, r, key, value, id); err != nil {
			return err
		}
	}
	return nil
}

// splitHTML cuts a reply into messages Telegram accepts (limit UTF-16
// code units each): at line breaks, and only a line longer than a message
// is cut elsewhere, never inside a tag or an entity. Blank parts are
// dropped; "" has no parts.
func splitHTML(s string, limit int) []string {
	var parts []string
	var cur strings.Builder
	n := 0
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			parts = append(parts, cur.String())
		}
		cur.Reset()
		n = 0
	}
	for _, line := range strings.SplitAfter(s, "\n") {
		w := utf16Len(line)
		if n+w > limit {
			flush()
		}
		if w <= limit {
			cur.WriteString(line)
			n += w
			continue
		}
		for _, tok := range htmlTokens(line) {
			if tw := utf16Len(tok); n+tw > limit {
				flush()
			}
			cur.WriteString(tok)
			n += utf16Len(tok)
		}
	}
	flush()
	return parts
}

// htmlTokens splits HTML into tags, entities and single characters.
func htmlTokens(s string) []string {
	var out []string
	for len(s) > 0 {
		end := 0
		switch s[0] {
		case '<':
			end = strings.IndexByte(s, '>') + 1
		case '&':
			if i := strings.IndexByte(s, ';'); i > 0 && i < 10 {
				end = i + 1
			}
		}
		if end <= 0 {
			_, end = utf8.DecodeRuneInString(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// utf16Len counts like Telegram does.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// rememberSent records that something was sent to the member (msgID, the
// Telegram message, for /wipe; 0 for none). Telegram
// cannot be asked later whether a message arrived, so this record is all
// that keeps a retry from sending it again: a Redis error is retried here,
// for up to sentRecordPatience, instead of failing the entry (which would
// send it again). Only if Redis stays unreachable that long (or the
// process stops) may the member get it twice.
func (d *Desk) rememberSent(ctx context.Context, r staffReply, key, value string, msgID int) error {
	deadline := time.Now().Add(sentRecordPatience)
	wait := 20 * time.Millisecond
	for {
		err := d.remember(ctx, r, key, value, msgID)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			if err != nil {
				d.log.Warn("sent to the member but could not record it; a retry may send it again",
					slog.Int64("chat", r.Chat), slog.Any("err", err))
			}
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		wait = min(2*wait, time.Second)
	}
}

// sentRecordPatience bounds rememberSent's retries: well within the outbox
// lease, so the entry is not handed to another replica meanwhile.
const sentRecordPatience = 10 * time.Second

// remember records a key that belongs to a member's conversation, so
// /delete can remove it; nothing is recorded once the member erased their
// data (the reply was theirs to receive; the record would outlive them).
// msgID, when not 0, is the Telegram message just sent, recorded for the
// member's /wipe (MemberSide.Sent) under the same check.
func (d *Desk) remember(ctx context.Context, r staffReply, key, value string, msgID int) error {
	_, _, err := d.guard(ctx, r.Chat, r.origin(), func(pipe redis.Pipeliner) {
		pipe.Set(ctx, key, value, d.cfg.Tickets.AnsweredRetention)
		pipe.SAdd(ctx, d.key("keys", strconv.FormatInt(r.Chat, 10)), key)
		if msgID != 0 && d.cfg.Member.Sent != nil {
			d.cfg.Member.Sent.Record(ctx, pipe, r.Chat, msgID)
		}
	})
	if err != nil {
		return fmt.Errorf("record relayed: %w", err)
	}
	return nil
}

// origin is when the thread of a staff reply began: a thread whose root
// predates the member's erasure belongs to what they erased.
func (r staffReply) origin() time.Time {
	if r.ThreadTS != "" {
		return slackTime(r.ThreadTS)
	}
	return slackTime(r.TS)
}

// memberFailed handles a Telegram refusal. A member who blocked the bot,
// or a message Telegram rejects for good, cannot be helped by retrying:
// staff are told (reaction + a note in the thread, where everyone who
// follows the question sees it) and the entry is given up. Anything else
// (network, 5xx) is retried.
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
	note += " (reply by <@" + r.User + ">)"
	if _, _, err := d.api.PostMessageContext(ctx, r.Channel, slackapi.MsgOptionText(note, false), slackapi.MsgOptionTS(r.ThreadTS)); err != nil {
		d.log.Warn("could not tell staff about a failed relay", slog.String("channel", r.Channel), slog.Any("err", err))
	}
	return outbox.Permanent(fmt.Errorf("member %d unreachable: %w", r.Chat, err))
}

// relayEdit mirrors a staff edit on the member's copy.
func (d *Desk) relayEdit(ctx context.Context, r staffReply) error {
	if _, gone, err := d.erased(ctx, r.Chat, r.origin()); err != nil || gone {
		return err
	}
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
	if err := d.cfg.Member.Messenger.EditText(ctx, chat, id, d.renderReply(ctx, t.Lang, r.User, r.Text, false)); err != nil {
		if errors.Is(err, bot.ErrBlocked) || errors.Is(err, bot.ErrRejected) {
			return outbox.Permanent(err)
		}
		return fmt.Errorf("edit member copy: %w", err)
	}
	return nil
}

// UIMessageIDs lists the member-facing messages the desk uses, for
// completeness checks (staff read Slack in English, outside locales).
func UIMessageIDs() []string { return []string{"staff.reply", "staff.reply_named"} }

// renderReply is a staff reply as the member reads it, in their language.
func (d *Desk) renderReply(ctx context.Context, lang, user, text string, hasFiles bool) string {
	body := mrkdwnToHTML(text)
	if strings.TrimSpace(body) == "" && !hasFiles {
		return ""
	}
	tr := d.cfg.Locales.For(lang)
	if d.cfg.Member.ShowStaffName {
		if name := d.staffName(ctx, user); name != "" {
			return tr.T("staff.reply_named", map[string]any{"Name": escapeHTML(name), "Text": body})
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
	mentionRE = regexp.MustCompile(`<[@#!][^>]*>`)
	// contactLinkRE is Slack's markup for an e-mail address or a phone
	// number it linked: <mailto:a@b.org|a@b.org>.
	contactLinkRE = regexp.MustCompile(`<(?:mailto:|tel:)([^|>]+)(?:\|([^>]+))?>`)
)

// mrkdwnToHTML turns a staff message's Slack formatting into Telegram
// HTML with the same converter as announcements (telegramHTML: always well
// nested, so Telegram never refuses a reply for crossed markers). A
// message event differs from typed text in three ways, undone first:
// mentions of staff and channels (<@U…>, <#C…|name>, <!here>) are
// dropped, as they mean nothing to a member; e-mail and phone links
// (<mailto:…|label>) become their label, which Telegram links itself; and
// Slack's escaping of & < > is undone.
func mrkdwnToHTML(s string) string {
	s = mentionRE.ReplaceAllString(s, "")
	s = contactLinkRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := contactLinkRE.FindStringSubmatch(m)
		if sub[2] != "" {
			return sub[2]
		}
		return sub[1]
	})
	return strings.TrimSpace(telegramHTML(strings.TrimSpace(unescapeSlack(s))))
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
