package telegram

import (
	"context"
	"fmt"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
)

var _ broadcast.Announcer = (*Bot)(nil)

// noLinkPreview keeps Telegram from adding a card for the first link: an
// announcement carries its own link button, and a preview would push the
// text below the fold.
const noLinkPreview = `{"is_disabled":true}`

// SendAnnouncement sends one broadcast message, once. Unlike Send it never
// retries: the broadcast worker paces and retries for every replica, so a
// 429 comes back as a *bot.APIError with RetryAfter, a 403 (blocked,
// deactivated) as bot.ErrBlocked, 400 chat not found as
// bot.ErrChatNotFound and any other 400 as bot.ErrRejected; anything else
// (5xx, network) is returned as is, which the worker treats as transient.
func (b *Bot) SendAnnouncement(ctx context.Context, chatID int64, a broadcast.Announcement) error {
	f := newForm()
	defer f.free()
	f.int64("chat_id", chatID)
	f.str("text", a.HTML)
	f.str("parse_mode", tgbotapi.ModeHTML)
	f.str("link_preview_options", noLinkPreview)
	if a.ButtonURL != "" && a.ButtonLabel != "" {
		markup, _ := appendKeyboard(nil, [][]bot.Button{{{Text: a.ButtonLabel, URL: a.ButtonURL}}})
		f.json("reply_markup", markup)
	}
	f.flag("allow_paid_broadcast", a.Paid)
	return announceError(b.request(ctx, "sendMessage", f))
}

// announceError is apiError for the broadcast worker, which paces and
// retries itself: flood control comes back as the *bot.APIError (with
// RetryAfter), and only a 400 is refused for good (the worker retries
// other 4xx).
func announceError(err error) error {
	ae := apiError(err)
	switch {
	case ae == nil:
		return err
	case ae.RetryAfter > 0, ae.Kind == bot.ErrBlocked, ae.Code == 400:
		return ae
	}
	return fmt.Errorf("telegram: send announcement: %w", err)
}
