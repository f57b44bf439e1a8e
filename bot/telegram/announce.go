package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

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
	params := tgbotapi.Params{
		"chat_id":              strconv.FormatInt(chatID, 10),
		"text":                 a.HTML,
		"parse_mode":           tgbotapi.ModeHTML,
		"link_preview_options": noLinkPreview,
	}
	if a.ButtonURL != "" && a.ButtonLabel != "" {
		markup, err := json.Marshal(tgbotapi.NewInlineKeyboardMarkup(
			tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonURL(a.ButtonLabel, a.ButtonURL))))
		if err != nil {
			return fmt.Errorf("telegram: announcement button: %w", err)
		}
		params["reply_markup"] = string(markup)
	}
	if a.Paid {
		params["allow_paid_broadcast"] = "true"
	}
	_, err := b.withoutResults(ctx, b.cfg.RequestTimeout).MakeRequest("sendMessage", params)
	return announceError(err)
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
