// Package ctxtime waits the way every loop of the bot waits (retries,
// polling, pacing, backoff): for a while, or until its context ends,
// whichever comes first. One copy instead of one per package.
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits d or until ctx is done; it reports whether d elapsed (false:
// the caller should stop). A d of zero or less only checks ctx.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
