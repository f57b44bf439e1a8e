package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Nothing lost, nothing twice
//
// A turn's outputs — its effects (relay to staff, subscribe, forget, the
// sign-up post) and its reply — are recorded by the same atomic script that
// saves the session (Change.Turn). Then they are delivered at once, and
// removed once delivered (TurnLog.Delivered, batched off the member's
// path). A crash anywhere after the save leaves them recorded, and the next
// to look delivers them: a redelivery of the update, the member's next
// update (before its own replies, so order holds), or the recovery loop of
// any replica (Engine.Recover) once the crashed process is known dead.
// Effects are idempotent by their entry ID, so an effect delivered again
// after a crash between doing it and removing it does not happen twice;
// a reply can be sent twice only if the crash falls between Telegram
// accepting it and the removal being written (Telegram cannot deduplicate
// sends).

// effectKey carries an effect's idempotency key ("{update}:{position}") to
// the feature performing it.
type effectKey struct{}

// EffectKey returns the idempotency key of the effect being performed, ""
// outside one. Adapters that enqueue work use it to store it once.
func EffectKey(ctx context.Context) string {
	k, _ := ctx.Value(effectKey{}).(string)
	return k
}

// record turns the turn's effects and reply into entries to save with the
// session. A failure message is rendered now, in the member's language, so
// a delivery after a crash can still say it.
func (t *turn) record() []TurnEntry {
	now := t.e.now()
	var out []TurnEntry
	id := func() string { return t.entryID(len(out)) }
	for _, ef := range t.effects {
		if ef.FailMsg != "" {
			ef.FailText = t.tr.T(ef.FailMsg, nil)
		}
		out = append(out, TurnEntry{ID: id(), Update: t.u.ID, Created: now, Effect: &ef})
	}
	if r := t.resp; hasContent(r) {
		out = append(out, TurnEntry{ID: id(), Update: t.u.ID, Created: now, Reply: &r})
	}
	return out
}

// entryID is the ID of the turn's recorded entry at position i (its
// effects in order, then the reply): "{update}:{position}", the key that
// makes a second delivery of the entry harmless.
func (t *turn) entryID(i int) string { return strconv.FormatInt(t.u.ID, 10) + ":" + strconv.Itoa(i) }

func hasContent(r Response) bool {
	return len(r.Messages) > 0 || r.CallbackID != "" || r.ClearButtons != 0 || r.CommandsLang != ""
}

// errDeferred: the member is under flood control; their entries wait.
var errDeferred = errors.New("bot: delivery deferred by flood control")

// hold keeps the chat's deliveries waiting for d (flood control).
func (e *Engine) hold(chatID int64, d time.Duration) {
	e.held.Store(chatID, e.now().Add(d))
}

// isHeld reports whether the chat's deliveries must still wait.
func (e *Engine) isHeld(chatID int64) bool {
	v, ok := e.held.Load(chatID)
	if !ok {
		return false
	}
	if e.now().Before(v.(time.Time)) {
		return true
	}
	e.held.CompareAndDelete(chatID, v)
	return false
}

// errCrashed is what Handle returns when a test's crash hook stops it, as
// if the process had died at that point.
var errCrashed = errors.New("bot: crashed (test hook)")

// crashed reports whether the test hook stops the turn at point.
func (e *Engine) crashed(point string) bool { return e.crash != nil && e.crash(point) }

// deliver performs recorded entries in order, turn by turn: a turn's
// effects, then its reply (replaced by the kind message of the first effect
// that failed and that the member must hear about). Delivered entries are
// removed; an effect that failed without a message for the member (the
// subscription after the form) and a reply that could not be sent for now
// stay recorded, and are delivered again later. fresh is false for
// entries from an earlier process: their button spinners are long gone.
func (e *Engine) deliver(ctx context.Context, chatID int64, entries []TurnEntry, fresh bool) error {
	var done []TurnEntry
	var sendErr error
	failText := ""
loop:
	for i, en := range entries {
		if i > 0 && en.Update != entries[i-1].Update {
			failText = ""
		}
		switch {
		case en.Effect != nil:
			err := e.runEffect(context.WithValue(ctx, effectKey{}, en.ID), *en.Effect)
			if err != nil {
				e.log.Error("side effect failed", slog.String("effect", string(en.Effect.Kind)), slog.Int64("chat", chatID),
					slog.String("entry", en.ID), slog.Any("err", err))
				if en.Effect.FailText == "" {
					continue // stays recorded: retried later
				}
				if failText == "" {
					failText = en.Effect.FailText
				}
			}
			done = append(done, en)
			if e.crashed("after-effect") {
				return errCrashed
			}
		case en.Reply != nil:
			r := *en.Reply
			if failText != "" {
				r.Messages = []Message{{Text: failText}}
			}
			if !fresh {
				r.CallbackID, r.Notice = "", ""
			}
			err := e.sender.Send(NoFloodWait(ctx), r)
			if fe := (*FloodError)(nil); errors.As(err, &fe) {
				// The member is under flood control: everything of theirs
				// waits (in order); nobody else does.
				e.hold(chatID, fe.After)
				if fe.Sent > 0 {
					rest := en
					left := r
					left.CallbackID, left.Notice, left.ClearButtons = "", "", 0
					left.Messages = r.Messages[fe.Sent:]
					rest.Reply = &left
					if err := e.turns.Replace(ctx, chatID, en, rest); err != nil {
						e.log.Warn("could not record a partly sent reply", slog.Int64("chat", chatID), slog.Any("err", err))
					}
				}
				sendErr = errDeferred
				break loop
			}
			if err != nil && !errors.Is(err, ErrBlocked) && !errors.Is(err, ErrRejected) {
				sendErr = fmt.Errorf("bot: send to chat %d: %w", chatID, err)
				continue // stays recorded: sent again when the platform is back
			}
			if err != nil {
				sendErr = fmt.Errorf("bot: send to chat %d: %w", chatID, err)
			}
			done = append(done, en)
			if e.crashed("after-reply") {
				return errCrashed
			}
		default:
			done = append(done, en)
		}
	}
	if err := e.turns.Delivered(ctx, chatID, done); err != nil {
		e.log.Warn("could not mark turns delivered", slog.Int64("chat", chatID), slog.Any("err", err))
	}
	return sendErr
}

func (e *Engine) runEffect(ctx context.Context, ef Effect) error {
	r, ok := e.reg.effects[ef.Kind]
	if !ok {
		return fmt.Errorf("no feature performs %q effects", ef.Kind)
	}
	return r.runEffect(ctx, ef)
}

// recoverChat delivers the chat's recorded entries that are this process's
// or were left by a process that died; entries of a live process are its
// to deliver.
func (e *Engine) recoverChat(ctx context.Context, chatID int64) error {
	entries, ok, err := e.turns.Claim(ctx, chatID)
	if err != nil || !ok || len(entries) == 0 {
		return err
	}
	e.log.Info("delivering recorded turns", slog.Int64("chat", chatID), slog.Int("entries", len(entries)))
	return e.deliver(ctx, chatID, entries, false)
}

// Recovery timing: entries older than recoverAge are looked at every
// recoverEvery; their owner's liveness decides whether they are taken over.
const (
	recoverEvery = 500 * time.Millisecond
	recoverAge   = time.Second
)

// Recover delivers, until ctx ends, the turns that stopped processes left
// recorded (and retries effects and replies that failed for now). Every
// replica runs it; a chat's turns are delivered by one at a time.
func (e *Engine) Recover(ctx context.Context) error {
	tick := time.NewTicker(e.recoverEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		chats, err := e.turns.Stale(ctx, e.recoverAge, 64)
		if err != nil {
			e.log.Warn("recovery: cannot list recorded turns", slog.Any("err", err))
			continue
		}
		for _, chat := range chats {
			if _, handling := e.busy.Load(chat); handling || e.isHeld(chat) {
				continue // being handled here now, or under flood control
			}
			if err := e.recoverChat(ctx, chat); err != nil {
				e.log.Warn("recovery: delivery failed, will retry", slog.Int64("chat", chat), slog.Any("err", err))
			}
		}
	}
}
