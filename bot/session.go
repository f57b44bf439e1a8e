package bot

import (
	"context"
	"errors"
	"time"

	"bridgebot/flows"
)

// Session is a member's conversation state between updates, stored in
// Redis under the chat ID. It holds only what the conversation needs.
type Session struct {
	ChatID int64 `json:"chat_id"`
	// Version is the stored version, for optimistic concurrency: Save
	// succeeds only if nobody saved since Load.
	Version int64 `json:"-"`

	Lang       string `json:"lang"`
	LangChosen bool   `json:"lang_chosen,omitempty"` // picked explicitly, not guessed
	Source     string `json:"source,omitempty"`      // /start deep-link payload

	// Form is the flow in progress, nil when none.
	Form *flows.State `json:"form,omitempty"`
	// FormUpdated is when the form last moved, for expiry.
	FormUpdated time.Time `json:"form_updated,omitzero"`
	// Rev increases whenever buttons are drawn for a new state; buttons
	// carry it, so presses on older messages are recognised as stale.
	Rev uint32 `json:"rev"`
	// Pending is what the next input answers: "cancel" or "delete" (a
	// yes/no), or "ask" (the next message is a question for the team).
	Pending Pending `json:"pending,omitempty"`
	// Question is the member's last unanswered free-text question, kept
	// only until they decide whether to send it to the team.
	Question string `json:"question,omitempty"`
	// AskedFrom is the member's message their question for the team began
	// with: an edit of an older message is not added to the question.
	AskedFrom int `json:"asked_from,omitempty"`
	// SawFAQ is the FAQ entry whose answer the member saw last, until
	// their next question to the team tells staff (FAQContext).
	SawFAQ string `json:"saw_faq,omitempty"`
	// SawFAQAt is when they saw it: an answer seen longer than
	// FAQContextWindow before the question is not told to staff.
	SawFAQAt time.Time `json:"saw_faq_at,omitzero"`

	LastUpdate int64     `json:"last_update,omitempty"`
	Updated    time.Time `json:"updated"`
}

// Signup is a member's confirmed interest form: exactly the answers they
// gave, plus what is needed to write back to them.
type Signup struct {
	ChatID  int64         `json:"chat_id"`
	Lang    string        `json:"lang"`
	Source  string        `json:"source,omitempty"`
	Answers flows.Answers `json:"answers"`
	Created time.Time     `json:"created"`
	Updated time.Time     `json:"updated"`
}

// Change is what to write together with a session, atomically.
type Change struct {
	// Signup, when non-nil, is stored (created or replaced).
	Signup *Signup
	// Forget deletes the session and the sign-up: the member's /delete.
	Forget bool
	// Turn is what the turn produced — its side effects and its reply —
	// recorded with the session so that a crash after the save can neither
	// lose nor double them (a transactional outbox). Save sets each
	// entry's Sealed form, which TurnLog.Delivered takes back.
	Turn []TurnEntry
}

// TurnEntry is one output of a turn: an effect or the reply. It stays
// recorded until delivered; after a crash, whoever delivers the member's
// turns next (a redelivered update, a new update, or the recovery loop of
// any replica) delivers it, in order.
type TurnEntry struct {
	// ID is "{update}:{position}", unique in the chat: effects are
	// idempotent by it (a relay carries it to the staff desk).
	ID      string    `json:"id"`
	Update  int64     `json:"update"`
	Created time.Time `json:"created"`
	Effect  *Effect   `json:"effect,omitempty"`
	Reply   *Response `json:"reply,omitempty"`

	// Sealed is the entry as stored, to remove it once delivered.
	Sealed string `json:"-"`
}

// Member is what the Store loads for one update: the session (new if none
// was stored), the sign-up, if the member has one, and the outputs of
// earlier turns not yet delivered (normally none).
type Member struct {
	Session *Session
	Signup  *Signup
	Pending []TurnEntry
	// Recent counts the member's messages in the current minute, this one
	// included (flood control), when Load was asked to (CountRate); else 0.
	// A Cached member's count is left to the save, which refuses a session
	// over the limit: the retry's Load then reports the count.
	Recent int64
	// Cached: the session and sign-up are what this process saved last,
	// not read from the store for this update, and Pending was not read
	// (the save checks that nothing is pending and nothing moved, and
	// refuses otherwise). A turn that will not save must reload first.
	Cached bool
}

// Store keeps sessions and sign-ups.
type Store interface {
	// Load returns the member's session and sign-up in one round trip. A
	// member never seen before gets a zero Session with ChatID set and
	// Version 0.
	Load(ctx context.Context, chatID int64) (Member, error)
	// Save writes the session (and the change) if nobody else saved it
	// since it was loaded; otherwise it returns ErrConflict and writes
	// nothing. On success the session's Version is updated.
	Save(ctx context.Context, s *Session, ch Change) error
	// TurnLog delivers what saves recorded (Change.Turn).
	TurnLog
}

// TurnLog is the delivery side of the recorded turns.
type TurnLog interface {
	// Delivered removes delivered entries. It may batch the removal and
	// return before Redis has it.
	Delivered(ctx context.Context, chatID int64, entries []TurnEntry) error
	// Claim makes the caller the deliverer of the chat's pending entries,
	// unless a live process is, and returns them (oldest first). ok is
	// false when another live process holds them.
	Claim(ctx context.Context, chatID int64) (entries []TurnEntry, ok bool, err error)
	// Stale lists chats whose entries have waited longer than age.
	Stale(ctx context.Context, age time.Duration, limit int) ([]int64, error)
	// Replace stores a new form of a pending entry in its place.
	Replace(ctx context.Context, chatID int64, old, updated TurnEntry) error
}

// ErrConflict means the session changed since it was loaded: reload and
// handle the update again.
var ErrConflict = errors.New("session changed concurrently")
