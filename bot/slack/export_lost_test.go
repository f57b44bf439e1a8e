package slack_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"bridgebot/bot/slack/slacktest"
	"bridgebot/internal/testkit"
)

// Slack shares the export (every member's answers) but the answer of its
// last upload step is lost: the file was recorded before it was shared,
// so it is withdrawn at once, and an erasure would reach it all the same.
// (Found by review: the one-call upload recorded it only on success.)
func TestExportWhoseLastUploadAnswerIsLostIsRecordedAndWithdrawn(t *testing.T) {
	f, _ := exportFixture(t)
	f.sl.FailAfterNext("files.completeUploadExternal", 1, http.StatusGatewayTimeout)
	slacktest.PostSigned(t, f.url+"/slack/commands", f.sl.SlashCommand(channel, organizer, "/bridge", "export"), secret)
	export := waitExportShared(t, f)
	ctx := context.Background()
	testkit.Eventually(t, wait, "the export recorded for erasures", func() bool {
		return f.rdb.ZCard(ctx, f.prefix+"desk:shared").Val() == 1
	})
	f.sl.WaitFor(t, wait, func() bool { return slices.Contains(f.sl.DeletedFiles(), export.ID) })
}
