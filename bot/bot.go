// Package bot is the core of bridgebot: the neutral types every transport
// speaks (Update in, Response out), the member session, and the Engine that
// turns one into the other using the flows and the locales.
//
// Data flows one way: a transport (bot/telegram, bot/console) turns a
// platform event into an Update → the Engine loads the Session from a Store
// → flows decide the next step → the Response goes out through a Sender →
// the Session is saved. Adapters live in subpackages and import this one,
// never the other way round; the small interfaces they satisfy are declared
// here, where they are used.
package bot

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ChatType tells private conversations from groups: the bot serves members
// one to one, so their answers are never visible to others.
type ChatType string

// Chat types as Telegram names them.
const (
	ChatPrivate ChatType = "private"
	ChatGroup   ChatType = "group"
)

// Update is one platform event, stripped to what the bot acts on.
type Update struct {
	// ID is the transport's update ID (Telegram's update_id). The engine
	// ignores an ID at or below the last one it handled for the chat, so a
	// redelivered update after a crash is not applied twice. 0 disables it.
	ID       int64
	ChatID   int64
	ChatType ChatType
	From     User

	Text    string // message text or caption
	Command string // lower-case command without "/" or "@botname", "" if none
	Args    string // text after the command (deep-link payload for /start)

	Callback   *Callback   // a pressed inline button
	Attachment *Attachment // a photo, voice note, document or sticker
	Edited     bool        // an edit of an earlier message
	// MessageID is the member's message (for an edit, the one edited);
	// 0 when the transport has none (a button, the console).
	MessageID int
	// Blocked is set when the member blocked (true) or unblocked (false)
	// the bot (Telegram my_chat_member); nil for other updates.
	Blocked *bool
}

// User is who sent an update. Nothing here is stored unless the member
// gives it in a form: the name is used only for greetings.
type User struct {
	ID           int64
	FirstName    string
	Username     string
	LanguageCode string
}

// Callback is a pressed inline button.
type Callback struct {
	ID        string
	Data      string
	MessageID int // 0 when the button was on an inline message
}

// Attachment is a non-text message part.
type Attachment struct {
	Kind     string // photo, voice, document, sticker, video, audio
	FileID   string
	FileName string
	MIME     string
	// Size in bytes as the platform reports it; 0 when unknown.
	Size int64 `json:",omitempty"`
}

// File is a file crossing between the member's platform and staff.
type File struct {
	Name    string
	MIME    string
	Data    []byte
	Caption string // Telegram HTML
}

// Response is everything the bot does for one update in one chat, in order.
type Response struct {
	ChatID int64
	// CallbackID, when set, is answered (stopping the button's spinner),
	// with Notice as a short toast when non-empty.
	CallbackID string
	Notice     string
	// ClearButtons removes the keyboard of an earlier message (the one a
	// pressed button was on) so old buttons do not invite stale presses.
	ClearButtons int
	Messages     []Message
	// CommandsLang, when set, switches this chat's command menu to that
	// language.
	CommandsLang string
}

// Message is one bot message: Telegram-HTML text and rows of buttons.
type Message struct {
	Text    string
	Buttons [][]Button
	// Edit replaces an earlier message in place (a multi-select keyboard
	// being toggled) instead of sending a new one.
	Edit int
	// Protect keeps the message from being forwarded or saved (Telegram's
	// protect_content): for messages that repeat a member's answers.
	Protect bool `json:",omitempty"`
	// Untracked keeps the message's ID out of the record /wipe deletes
	// from (bot/sentlog): /delete's confirmation is sent after everything
	// about the member was erased, and recording it would bring back a
	// key named after their chat for 48 hours.
	Untracked bool `json:",omitempty"`
}

// Button is an inline button: callback data or a URL.
type Button struct {
	Text string
	Data string
	URL  string
}

// Sender delivers a Response to the member. Implementations retry what is
// worth retrying (rate limits, network errors) before giving up.
type Sender interface {
	Send(ctx context.Context, r Response) error
}

// ErrBlocked is returned by a Sender when the member blocked the bot or
// deleted their account: nothing can reach them any more.
var ErrBlocked = errors.New("member blocked the bot")

// ErrRejected is returned when the platform refused a request for good
// (a 4xx other than rate limits): retrying the same request cannot work.
var ErrRejected = errors.New("rejected by the platform")

// FloodError is returned by a Sender that was asked not to wait out
// Telegram's flood control (see NoFloodWait): the platform wants the chat
// left alone for After; Sent messages of the response went out before it.
type FloodError struct {
	After time.Duration
	Sent  int
}

func (e *FloodError) Error() string {
	return fmt.Sprintf("flood control: retry after %s (%d messages sent)", e.After, e.Sent)
}

// noFloodWait marks a context whose sends must not sleep through flood
// control.
type noFloodWait struct{}

// NoFloodWait asks the Sender to return a *FloodError at once instead of
// waiting out a rate limit: the engine keeps the reply recorded and sends
// it later, so one member under flood control delays nobody else.
func NoFloodWait(ctx context.Context) context.Context {
	return context.WithValue(ctx, noFloodWait{}, true)
}

// FloodWaitAllowed reports whether a send may wait out a rate limit.
func FloodWaitAllowed(ctx context.Context) bool { return ctx.Value(noFloodWait{}) == nil }
