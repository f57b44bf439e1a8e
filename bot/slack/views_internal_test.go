package slack

import (
	"strings"
	"testing"
	"time"

	"bridgebot/bot/broadcast"
)

// The final report names a Slack sender as a mention, anyone else as recorded.
func TestBroadcastReportNamesTheSender(t *testing.T) {
	start := time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)
	for by, want := range map[string]string{"slack:U0SARAH": "By <@U0SARAH>.", "cli:alice": "By cli:alice."} {
		p := broadcast.Progress{Job: broadcast.Job{ID: "j", Status: broadcast.StatusDone, CreatedBy: by, Counts: broadcast.Counts{Total: 1, Sent: 1},
			Started: start, Finished: start.Add(3 * time.Second)}, Done: 1}
		if text, _ := progressBlocks(p, broadcast.Choices{}); !strings.Contains(text, want) {
			t.Errorf("%s: report %q lacks %q", by, text, want)
		}
	}
}
