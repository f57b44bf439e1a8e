package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
)

// signupPage is how many sign-ups Signups fetches per round trip pair:
// large enough that an export of thousands takes few round trips, small
// enough that memory stays flat however many there are.
const signupPage = 200

// Signups calls fn for every sign-up in creation order, stopping at the
// first error, which is returned as is when it comes from fn.
//
// It reads the index a page at a time (ZRANGE BYSCORE + MGET) instead of
// loading everything, so an export's memory does not grow with the number
// of members. Each page resumes from the last (score, member) seen rather
// than from an offset, so members deleting themselves during an export (a
// /delete while it runs) never make it skip others. An index entry whose
// sign-up key has vanished (deleted between the two reads) is skipped. A
// sign-up created while the export runs may or may not be visited.
func (s *Store) Signups(ctx context.Context, fn func(*bot.Signup) error) error {
	// The cursor: everything up to (lastScore, lastMember) in the index's
	// order (score, then member bytewise) has been visited, and the previous
	// page held tied entries with lastScore. The next page starts at
	// lastScore inclusive, so it is tied entries longer, and those already
	// visited are filtered out. A run of ties longer than a page (only a
	// bulk import could make one) thus costs larger pages, never a loop.
	var (
		from       = "-inf"
		started    bool
		lastScore  float64
		lastMember string
		tied       int64
	)
	for {
		count := signupPage + tied
		page, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key:     s.signupsKey(),
			Start:   from,
			Stop:    "+inf",
			ByScore: true,
			Count:   count,
		}).Result()
		if err != nil {
			return fmt.Errorf("redisstore: list sign-ups: %w", err)
		}
		keys := make([]string, 0, len(page))
		for _, z := range page {
			member, _ := z.Member.(string)
			if started && z.Score == lastScore && member <= lastMember {
				continue // visited on an earlier page
			}
			id, err := strconv.ParseInt(member, 10, 64)
			if err != nil {
				return fmt.Errorf("redisstore: list sign-ups: corrupt index member %q", member)
			}
			keys = append(keys, s.signupKey(id))
		}
		if len(keys) > 0 {
			if err := s.visit(ctx, keys, fn); err != nil {
				return err
			}
		}
		if int64(len(page)) < count {
			return nil
		}

		last := page[len(page)-1]
		member, _ := last.Member.(string)
		if !started || last.Score != lastScore || member > lastMember {
			lastMember = member
		}
		started, lastScore = true, last.Score
		from = strconv.FormatFloat(last.Score, 'f', -1, 64)
		tied = 0
		for i := len(page) - 1; i >= 0 && page[i].Score == last.Score; i-- {
			tied++
		}
	}
}

// visit fetches one page of sign-ups with MGET and calls fn on each.
func (s *Store) visit(ctx context.Context, keys []string, fn func(*bot.Signup) error) error {
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return fmt.Errorf("redisstore: list sign-ups: %w", err)
	}
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			continue // deleted since the index was read
		}
		su, err := s.decodeSignup(raw)
		if err != nil {
			return fmt.Errorf("redisstore: list sign-ups: %s: %w", keys[i], err)
		}
		if err := fn(su); err != nil {
			return err
		}
	}
	return nil
}

// CountSignups returns the number of sign-ups, from the index.
func (s *Store) CountSignups(ctx context.Context) (int64, error) {
	n, err := s.rdb.ZCard(ctx, s.signupsKey()).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("redisstore: count sign-ups: %w", err)
	}
	return n, nil
}
