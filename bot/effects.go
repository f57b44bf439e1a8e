package bot

import (
	"context"
	"fmt"
	"log/slog"
)

// runEffects performs the turn's effects once its session is saved, each
// by the feature that owns its kind. Every effect runs even when an earlier
// one failed; the member is told the truth: if an effect they should know
// about failed, the reply becomes the kind message of the first such
// failure in their language.
func (e *Engine) runEffects(ctx context.Context, t *turn) {
	failed := ""
	for _, ef := range t.effects {
		err := e.runEffect(ctx, ef)
		if err == nil {
			continue
		}
		e.log.Error("side effect failed", slog.String("effect", string(ef.Kind)), slog.Int64("chat", ef.ChatID), slog.Any("err", err))
		if ef.FailMsg != "" && failed == "" {
			failed = ef.FailMsg
		}
	}
	if failed != "" {
		t.resp.Messages = []Message{{Text: t.tr.T(failed, nil)}}
	}
}

func (e *Engine) runEffect(ctx context.Context, ef Effect) error {
	r, ok := e.reg.effects[ef.Kind]
	if !ok {
		return fmt.Errorf("no feature performs %q effects", ef.Kind)
	}
	return r.runEffect(ctx, ef)
}
