package broadcast

import (
	"context"
	"fmt"
	"time"

	"bridgebot/bot"
)

// Sender delivers one announcement to one chat, once: no retries inside
// (the Worker decides what to retry, and a 429 must pause every replica).
// bot/telegram.(*Bot).SendAnnouncement is the real one.
//
// Errors: *RetryAfterError for flood control (429), ErrBlocked when the
// member blocked the bot or is gone (403), ErrChatNotFound (400 chat not
// found), ErrRejected for any other refusal of this message that a retry
// cannot fix (another 400). Anything else (5xx, network, timeouts) is
// taken as transient and retried.
type Sender interface {
	SendAnnouncement(ctx context.Context, chatID int64, a Announcement) error
}

// Announcement is one language version of a broadcast as sent to a member.
type Announcement struct {
	HTML        string // Telegram HTML, checked with ValidateHTML
	ButtonLabel string // optional link button under the message
	ButtonURL   string
	Paid        bool // allow_paid_broadcast: up to 1000 msg/s, paid in Stars
}

// RetryAfterError is Telegram's flood control: nothing may be sent for After.
type RetryAfterError struct {
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("broadcast: too many requests, retry after %v", e.After)
}

// The refusals a Sender reports are bot's, so one ErrBlocked serves
// members' conversations and broadcasts alike (a *bot.APIError carries
// them).
var (
	// ErrBlocked: the member blocked the bot or deleted their account.
	ErrBlocked = bot.ErrBlocked
	// ErrChatNotFound: Telegram does not know the chat.
	ErrChatNotFound = bot.ErrChatNotFound
	// ErrRejected: Telegram refused this message for a reason a retry
	// cannot change (a 400; errors.Is matches chat not found too).
	ErrRejected = bot.ErrRejected
)
