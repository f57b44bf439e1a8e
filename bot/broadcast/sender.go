package broadcast

import "context"

// Announcer delivers one announcement to one chat, once: no retries
// inside (the Worker decides what to retry, and a 429 must pause every
// replica). bot/telegram.(*Bot).SendAnnouncement is the real one.
//
// Errors are bot's: a *bot.APIError with RetryAfter for flood control
// (429, see bot.RetryAfter), bot.ErrBlocked when the member blocked the
// bot or is gone (403), bot.ErrChatNotFound (400 chat not found),
// bot.ErrRejected for any other refusal of this message that a retry
// cannot fix (another 400). Anything else (5xx, network, timeouts) is
// taken as transient and retried.
type Announcer interface {
	SendAnnouncement(ctx context.Context, chatID int64, a Announcement) error
}

// Announcement is one language version of a broadcast as sent to a member.
type Announcement struct {
	HTML        string // Telegram HTML, checked with tghtml.Validate
	ButtonLabel string // optional link button under the message
	ButtonURL   string
	Paid        bool // allow_paid_broadcast: up to 1000 msg/s, paid in Stars
}
