package broadcast

import (
	"context"
	"fmt"
	"strconv"
)

// Erase removes a member from the subscriptions and from every record of
// every broadcast (eraseScript): the per-member delivery marks
// ({p}broadcast:job:{id}:done) and any cursor or page bound that is their
// chat ID. Finished jobs keep only counts. Unsubscriptions counted by
// reason are not touched (they hold no IDs). Idempotent.
func (s *Store) Erase(ctx context.Context, chatID int64) error {
	rdb, k := s.Jobs.rdb, s.Jobs.k
	id := strconv.FormatInt(chatID, 10)
	// The member leaves the subscriptions first, so no job can claim them
	// after the jobs are listed.
	if err := eraseScript.Run(ctx, rdb, []string{k.subs(), k.subsData()}, id).Err(); err != nil {
		return fmt.Errorf("broadcast: erase %d: %w", chatID, err)
	}
	jobs, err := rdb.ZRange(ctx, k.jobs(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("broadcast: erase %d: %w", chatID, err)
	}
	active, err := rdb.ZRange(ctx, k.active(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("broadcast: erase %d: %w", chatID, err)
	}
	seen := map[string]bool{}
	keys := []string{k.subs(), k.subsData()}
	for _, j := range append(active, jobs...) {
		if seen[j] {
			continue
		}
		seen[j] = true
		keys = append(keys, k.job(j), k.bounds(j), k.done(j), k.leases(j), k.owners(j))
	}
	// In batches, so one script never holds Redis long (jobs are kept
	// forever); each batch removes the subscription again, harmlessly.
	const perRun = 5 * 200
	for lo := 2; lo < len(keys); lo += perRun {
		batch := append([]string{k.subs(), k.subsData()}, keys[lo:min(lo+perRun, len(keys))]...)
		if err := eraseScript.Run(ctx, rdb, batch, id).Err(); err != nil {
			return fmt.Errorf("broadcast: erase %d: %w", chatID, err)
		}
	}
	return nil
}
