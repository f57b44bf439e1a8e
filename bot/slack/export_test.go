package slack_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"bridgebot/bot/audit"
	"bridgebot/bot/slack"
	"bridgebot/bot/slack/slacktest"
	"bridgebot/internal/testkit"
)

// /bridge export: an organizer gets the CSV in a direct message and the
// export is audited; anyone else is refused, nothing is uploaded, and the
// attempt is audited.
func TestExportToOrganizerOnly(t *testing.T) {
	f, log := exportFixture(t)
	f.sl.AddUser("U0INTRUDER", "Eve", "Eve", "eve@example.org")

	resp := slacktest.PostSigned(t, f.url+"/slack/commands", f.sl.SlashCommand(channel, "U0INTRUDER", "/bridge", "export"), secret)
	if body := slacktest.BodyString(resp); !strings.Contains(body, "only the organizers") {
		t.Fatalf("non-organizer not refused: %s", body)
	}
	entries, err := log.Last(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Actor != "slack:U0INTRUDER" || !strings.Contains(entries[0].Detail, "refused") {
		t.Fatalf("refused attempt not audited: %+v", entries)
	}

	resp = slacktest.PostSigned(t, f.url+"/slack/commands", f.sl.SlashCommand(channel, organizer, "/bridge", "export"), secret)
	if body := slacktest.BodyString(resp); !strings.Contains(body, "direct message") {
		t.Fatalf("organizer's export: %s", body)
	}
	up := waitExportShared(t, f)
	if up.Channel != slacktest.DMChannel(organizer) {
		t.Fatalf("export shared in %q, want the organizer's DM %q", up.Channel, slacktest.DMChannel(organizer))
	}
	if !strings.HasSuffix(up.Name, ".csv") || !strings.Contains(string(up.Data), "42,es,Ana") {
		t.Fatalf("upload %q: %q", up.Name, up.Data)
	}
	if n := len(f.sl.Uploads()); n != 1 {
		t.Fatalf("%d uploads, want only the organizer's", n)
	}
	// polled: the audit entry is written in Redis, not in Slack
	testkit.Eventually(t, wait, "the export audited", func() bool {
		entries, err = log.Last(context.Background(), 10)
		return err == nil && len(entries) == 2
	})
	var found bool
	for _, e := range entries {
		if e.Actor == "slack:"+organizer && e.Action == audit.ActionExport && e.Count == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("organizer's export not audited: %s", fmt.Sprint(entries))
	}
}

// exportFixture is a desk that answers /bridge export for organizer, over
// a one-member CSV, and the audit log the exports are written to.
func exportFixture(t *testing.T) (*fixture, *audit.Log) {
	var log *audit.Log
	f := newFixtureWith(t, fixtureOptions{extend: func(f *fixture) {
		log = audit.New(f.rdb, f.prefix)
		write := func(_ context.Context, w io.Writer) (int64, error) {
			_, err := io.WriteString(w, "chat_id,language,name\n42,es,Ana\n")
			return 1, err
		}
		slack.NewExporter(f.desk, write, log, []string{organizer})
	}})
	f.sl.AddUser(organizer, "Sarah", "Sarah Cruz", "sarah@example.org")
	return f, log
}

// waitExportShared waits for the export's upload to be shared, and returns
// it.
func waitExportShared(t *testing.T, f *fixture) slacktest.Upload {
	t.Helper()
	var up slacktest.Upload
	f.sl.WaitFor(t, wait, func() bool {
		for _, u := range f.sl.Uploads() {
			if u.Completed {
				up = u
				return true
			}
		}
		return false
	})
	return up
}
