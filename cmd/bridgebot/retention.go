package main

import (
	"fmt"
	"strconv"
	"time"

	"bridgebot/bot/outbox"
	"bridgebot/bot/slack"
)

// retentionConfig is how long members' data outlives its use (see the
// README's configuration table).
type retentionConfig struct {
	Answered    time.Duration // DESK_ANSWERED_RETENTION
	DeadLetters time.Duration // OUTBOX_DEAD_RETENTION
	DeadMax     int64         // OUTBOX_DEAD_MAX
}

func loadRetention(getenv func(string) string) (retentionConfig, error) {
	r := retentionConfig{Answered: slack.DefaultAnsweredRetention, DeadLetters: outbox.DefaultDeadRetention, DeadMax: outbox.DefaultDeadMaxLen}
	var err error
	if v := getenv("DESK_ANSWERED_RETENTION"); v != "" {
		if r.Answered, err = parseDays(v); err != nil || r.Answered <= 0 {
			return r, fmt.Errorf("DESK_ANSWERED_RETENTION=%q: want a duration such as 90d", v)
		}
	}
	if v := getenv("OUTBOX_DEAD_RETENTION"); v != "" {
		if r.DeadLetters, err = parseDays(v); err != nil || r.DeadLetters <= 0 {
			return r, fmt.Errorf("OUTBOX_DEAD_RETENTION=%q: want a duration such as 30d", v)
		}
	}
	if v := getenv("OUTBOX_DEAD_MAX"); v != "" {
		if r.DeadMax, err = strconv.ParseInt(v, 10, 64); err != nil || r.DeadMax < 1 {
			return r, fmt.Errorf("OUTBOX_DEAD_MAX=%q: want a positive number", v)
		}
	}
	return r, nil
}

// days rounds a retention up to whole days, as the privacy texts say it
// (0 when unset: the text then shows the default).
func days(d time.Duration) int {
	return int((d + 24*time.Hour - 1) / (24 * time.Hour))
}
