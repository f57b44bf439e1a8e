package slack

import (
	"strings"
	"testing"

	"bridgebot/bot/broadcast"
)

// Members who subscribe after a job is created are sent to as well, so the
// processed count can pass the total counted at creation.
func TestProgressBarWhenDonePassesTotal(t *testing.T) {
	p := broadcast.Progress{Job: broadcast.Job{ID: "j", Status: broadcast.StatusRunning, Counts: broadcast.Counts{Total: 2, Sent: 11}}, Done: 11}
	text, _ := progressBlocks(p, broadcast.Choices{})
	if !strings.Contains(text, "100%") || !strings.Contains(text, "11/11") {
		t.Fatalf("progress: %s", text)
	}
}
