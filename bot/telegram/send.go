package telegram

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"bridgebot/bot"
	"bridgebot/internal/ctxtime"
)

// MaxText is Telegram's limit on a message, in UTF-16 code units.
const MaxText = 4096

// maxCallbackNotice is Telegram's limit on answerCallbackQuery text.
const maxCallbackNotice = 200

// Send delivers a response: answers the pressed button (in the answer to
// the webhook delivery when ctx is its handling: webhookReply), clears the
// old keyboard, sends or edits messages, switches the chat's command menu.
// Rate limits are waited out and transient errors retried; a member who
// blocked the bot yields bot.ErrBlocked.
func (b *Bot) Send(ctx context.Context, r bot.Response) error {
	if r.CallbackID != "" && !answerInWebhook(ctx, r.CallbackID, truncate(r.Notice, maxCallbackNotice)) {
		f := newForm()
		f.str("callback_query_id", r.CallbackID)
		f.nonEmpty("text", truncate(r.Notice, maxCallbackNotice))
		err := b.retry(ctx, "answerCallbackQuery", func() error { return b.request(ctx, "answerCallbackQuery", f) })
		f.free()
		if err != nil && !isBadRequest(err) && !isFlood(err) {
			return fmt.Errorf("telegram: answer callback: %w", err)
		}
		// A query too old to answer is harmless: the member sees the reply.
	}
	if r.ClearButtons != 0 {
		f := newForm()
		f.int64("chat_id", r.ChatID)
		f.int64("message_id", int64(r.ClearButtons))
		f.json("reply_markup", []byte(`{"inline_keyboard":[]}`))
		err := b.retry(ctx, "editMessageReplyMarkup", func() error { return b.request(ctx, "editMessageReplyMarkup", f) })
		f.free()
		if err != nil && !isBadRequest(err) && !isFlood(err) {
			return fmt.Errorf("telegram: clear keyboard: %w", err)
		}
		// Under flood control an old keyboard stays: its buttons are stale.
	}
	for i, m := range r.Messages {
		if err := b.sendMessage(ctx, r.ChatID, m); err != nil {
			var fe *bot.FloodError
			if errors.As(err, &fe) {
				fe.Sent = i
			}
			return err
		}
	}
	if r.CommandsLang != "" && b.cfg.Commands != nil {
		err := b.setCommands(ctx, tgbotapi.NewBotCommandScopeChat(r.ChatID), "", b.cfg.Commands(r.CommandsLang))
		if err != nil {
			// The menu is a convenience; the conversation goes on without it.
			b.log.Warn("could not set chat command menu", slog.Int64("chat", r.ChatID), slog.Any("err", err))
		}
	}
	return nil
}

// request makes a call whose result is not read (lean.go).
func (b *Bot) request(ctx context.Context, method string, f *form) error {
	var a answer[ignored]
	return call(b, ctx, b.cfg.RequestTimeout, method, f, &a)
}

// markupPool holds keyboards being encoded.
var markupPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (b *Bot) sendMessage(ctx context.Context, chatID int64, m bot.Message) error {
	mp := markupPool.Get().(*[]byte)
	defer markupPool.Put(mp)
	markup, hasMarkup := appendKeyboard((*mp)[:0], m.Buttons)
	*mp = markup[:0]
	if m.Edit != 0 {
		f := newForm()
		f.int64("chat_id", chatID)
		f.int64("message_id", int64(m.Edit))
		if hasMarkup {
			f.json("reply_markup", markup)
		}
		f.str("text", m.Text)
		f.str("parse_mode", tgbotapi.ModeHTML)
		err := b.retry(ctx, "editMessageText", func() error { return b.request(ctx, "editMessageText", f) })
		f.free()
		switch {
		case err == nil, isNotModified(err):
			return nil
		case !isBadRequest(err):
			return fmt.Errorf("telegram: edit message: %w", err)
		}
		// The message is gone or too old to edit: send it anew.
	}
	parts := split(m.Text, MaxText)
	for i, part := range parts {
		last := i == len(parts)-1
		var sent int
		send := func(text, parseMode string) error {
			f := newForm()
			defer f.free()
			f.int64("chat_id", chatID)
			if last && hasMarkup {
				f.json("reply_markup", markup)
			}
			if m.Protect {
				f.str("text", text) // as the library's MakeRequest path sent it
			} else {
				f.nonEmpty("text", text)
			}
			f.flag("disable_web_page_preview", true)
			f.nonEmpty("parse_mode", parseMode)
			f.flag("protect_content", m.Protect)
			return b.retry(ctx, "sendMessage", func() error {
				var a answer[sentID]
				err := call(b, ctx, b.cfg.RequestTimeout, "sendMessage", f, &a)
				sent = a.Result.MessageID
				return err
			})
		}
		err := send(part, tgbotapi.ModeHTML)
		if err != nil && isEntityError(err) {
			// Our HTML was rejected (a deployment's text with a stray "<"):
			// better plain text than no message at all.
			b.log.Warn("HTML rejected by Telegram, sending plain text", slog.Int64("chat", chatID), slog.Any("err", err))
			err = send(plain(part), "")
		}
		if err != nil {
			return fmt.Errorf("telegram: send message: %w", err)
		}
		if b.cfg.OnSent != nil && sent != 0 && !m.Untracked {
			if err := b.cfg.OnSent(ctx, chatID, sent); err != nil {
				b.log.Warn("could not record a sent message for /wipe", slog.Int64("chat", chatID), slog.Any("err", err))
			}
		}
	}
	return nil
}

// DeleteMessages deletes the bot's messages in a chat (/wipe) and reports
// how many went. Telegram refuses messages older than 48 hours or already
// deleted (400): those are skipped; a member who blocked the bot ends it.
func (b *Bot) DeleteMessages(ctx context.Context, chatID int64, ids []int) (int, error) {
	n := 0
	f := newForm()
	defer f.free()
	for _, id := range ids {
		f.b = f.b[:0]
		f.int64("chat_id", chatID)
		f.int64("message_id", int64(id))
		err := b.retry(ctx, "deleteMessage", func() error { return b.request(ctx, "deleteMessage", f) })
		switch {
		case err == nil:
			n++
		case errors.Is(err, bot.ErrRejected):
		default:
			return n, fmt.Errorf("telegram: delete message: %w", err)
		}
	}
	return n, nil
}

// retry runs call until it succeeds, fails permanently, or ctx ends.
// 429 waits the retry_after Telegram asks for; 5xx, non-JSON answers (a
// proxy's 502 page) and network errors back off exponentially; 403 means
// the member blocked the bot; other 4xx are permanent.
func (b *Bot) retry(ctx context.Context, method string, call func() error) error {
	const maxTries = 6
	var err error
	for try := 1; ; try++ {
		err = call()
		if err == nil {
			return nil
		}
		ae := apiError(err)
		var wait time.Duration
		switch {
		case ae != nil && ae.RetryAfter > 0 && !bot.FloodWaitAllowed(ctx):
			return &bot.FloodError{After: ae.RetryAfter}
		case ae != nil && ae.RetryAfter > 0:
			wait = ae.RetryAfter
		case ae != nil && ae.Kind != nil:
			return ae
		case ctx.Err() != nil:
			return err
		default:
			wait = backoff(try)
		}
		if try >= maxTries {
			return err
		}
		b.log.Debug("telegram call will be retried", slog.String("method", method), slog.Int("try", try), slog.Duration("wait", wait), slog.Any("err", err))
		if !ctxtime.Sleep(ctx, wait) {
			return err
		}
	}
}

func isFlood(err error) bool {
	var fe *bot.FloodError
	return errors.As(err, &fe)
}

// apiError classifies a Bot API error answer, once for Send and
// SendAnnouncement: flood control (retry_after), 403 blocked or
// deactivated (bot.ErrBlocked), 400 "chat not found" (bot.ErrChatNotFound),
// any other 4xx (bot.ErrRejected), and none for the rest (5xx). It is nil
// for what is not an error answer (a network error, a proxy's HTML page).
func apiError(err error) *bot.APIError {
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		return nil
	}
	ae := &bot.APIError{Code: te.Code, Description: te.Message, RetryAfter: time.Duration(te.RetryAfter) * time.Second, Err: err}
	switch {
	case te.RetryAfter > 0:
	case te.Code == 403:
		ae.Kind = bot.ErrBlocked
	case te.Code == 400 && strings.Contains(strings.ToLower(te.Message), "chat not found"):
		ae.Kind = bot.ErrChatNotFound
	case te.Code >= 400 && te.Code < 500:
		ae.Kind = bot.ErrRejected
	}
	return ae
}

func isBadRequest(err error) bool {
	var te *tgbotapi.Error
	return errors.As(err, &te) && te.Code == 400
}

func isNotModified(err error) bool {
	return isBadRequest(err) && strings.Contains(err.Error(), "message is not modified")
}

func isEntityError(err error) bool {
	return isBadRequest(err) && strings.Contains(err.Error(), "can't parse entities")
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// plain strips Telegram HTML to what a member would read.
func plain(s string) string { return html.UnescapeString(tagRE.ReplaceAllString(s, "")) }

// utf16Len counts like Telegram does: a character outside the Basic
// Multilingual Plane is two UTF-16 units (invalid UTF-8 counts as the one
// U+FFFD it becomes).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// split cuts text into parts Telegram accepts, at line breaks where it can.
func split(text string, limit int) []string {
	if utf16Len(text) <= limit {
		return []string{text}
	}
	var parts []string
	var cur strings.Builder
	n := 0
	flush := func() {
		if cur.Len() > 0 {
			parts = append(parts, cur.String())
			cur.Reset()
			n = 0
		}
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		for _, r := range line {
			w := utf16Len(string(r))
			if n+w > limit {
				flush()
			}
			cur.WriteRune(r)
			n += w
		}
		if n > limit*3/4 {
			flush()
		}
	}
	flush()
	return parts
}

func truncate(s string, limit int) string {
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return string(r[:limit-1]) + "…"
}
