package broadcast

import (
	"context"
	"fmt"
	"strconv"
)

// Erase removes a member from every record of a broadcast still in
// progress (the per-member delivery marks, {p}broadcast:job:{id}:done) and
// from the subscriptions: their /delete. Finished jobs keep only counts.
// Unsubscriptions counted by reason are not touched (they hold no IDs).
func (s *Store) Erase(ctx context.Context, chatID int64) error {
	rdb, k := s.Jobs.rdb, s.Jobs.k // one transaction over both pieces' keys
	id := strconv.FormatInt(chatID, 10)
	jobs, err := rdb.ZRange(ctx, k.active(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("broadcast: erase %d: %w", chatID, err)
	}
	pipe := rdb.TxPipeline()
	pipe.ZRem(ctx, k.subs(), id)
	pipe.HDel(ctx, k.subsData(), id, id+":since")
	for _, j := range jobs {
		pipe.ZRem(ctx, k.done(j), id)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("broadcast: erase %d: %w", chatID, err)
	}
	return nil
}
