package slacktest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// nextIDLocked returns prefix followed by a fresh number, e.g. "F000000007".
func (s *Server) nextIDLocked(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%09d", prefix, s.seq)
}

// nextTSLocked hands out a message timestamp: the clock's time in Slack's
// "seconds.micros" form, strictly increasing even when the clock stands still.
func (s *Server) nextTSLocked() string {
	us := s.now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return formatTS(us)
}

func formatTS(us int64) string { return fmt.Sprintf("%d.%06d", us/1e6, us%1e6) }

// tsTime parses a Slack ts ("1700000000.000100") into a time.
func tsTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	secs, _ := strconv.ParseInt(sec, 10, 64)
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(secs, us*1000)
}
