package bot

import (
	"context"
	"errors"
)

// Eraser deletes what one part of the bot keeps about a member when they
// delete their data (/delete), beyond the session and sign-up the Store
// forgets and the desk's Forget: for example their broadcast delivery
// records.
type Eraser interface {
	Erase(ctx context.Context, chatID int64) error
}

// effectErase runs the configured Erasers.
const effectErase EffectKind = "erase"

// erasers runs the configured Erasers on /delete, as one effect: erasing
// is idempotent, so a delivery after a crash simply erases again.
type erasers []Eraser

func (erasers) name() string { return "erasers" }

func (erasers) effectKinds() []EffectKind { return []EffectKind{effectErase} }

func (es erasers) runEffect(ctx context.Context, ef Effect) error {
	var errs []error
	for _, er := range es {
		if err := er.Erase(ctx, ef.ChatID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (erasers) erase(t *turn) {
	t.later(Effect{Kind: effectErase, FailMsg: "delete.failed"})
}
