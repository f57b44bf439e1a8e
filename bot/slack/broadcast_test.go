package slack_test

import (
	"context"
	"strings"
	"testing"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/slack"
	"bridgebot/bot/slack/slacktest"
)

const organizer = "U0ORG"

// composerFixture is the desk with broadcasting, without a worker: jobs
// stay where their buttons put them.
func composerFixture(t *testing.T) (*fixture, *broadcast.Store) {
	t.Helper()
	var store *broadcast.Store
	f := newFixtureWith(t, fixtureOptions{extend: func(f *fixture) {
		store = broadcast.New(f.rdb, broadcast.Options{Prefix: f.prefix})
		slack.NewComposer(f.desk, store, []string{organizer})
	}})
	f.sl.AddUser(organizer, "Sarah", "Sarah Cruz", "sarah@example.org")
	return f, store
}

// sendBroadcast composes and sends a broadcast from Slack and returns its
// progress message once it shows the Pause button.
func (f *fixture) sendBroadcast(t *testing.T, text string) slacktest.Message {
	t.Helper()
	slacktest.PostSigned(t, f.url+"/slack/interactivity", f.sl.ViewSubmission(organizer, "bridgebot_broadcast", channel, slacktest.ViewValues{
		"en": {"en": text}, "es": {"es": ""},
	}), secret)
	preview := f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
		return strings.Contains(m.AllText(), "Broadcast preview") && strings.Contains(m.AllText(), text)
	})
	send, _, ok := preview.Action("bridgebot_bc_send")
	if !ok {
		t.Fatalf("no Send button: %s", preview.AllText())
	}
	slacktest.PostSigned(t, f.url+"/slack/interactivity", f.sl.BlockAction(channel, preview.TS, organizer, "bridgebot_bc_send", send.Value, ""), secret)
	var msg slacktest.Message
	f.sl.WaitFor(t, wait, func() bool {
		msg, _ = f.sl.Message(channel, preview.TS)
		_, _, ok := msg.Action("bridgebot_bc_pause")
		return ok
	})
	return msg
}

func (f *fixture) subscribe(t *testing.T, store *broadcast.Store, chat int64) {
	t.Helper()
	if err := store.Subscribe(context.Background(), bot.Subscription{ChatID: chat, Lang: "en"}); err != nil {
		t.Fatal(err)
	}
}

// After Redis lost its data, a new broadcast gets an ID no earlier one
// had, and the buttons of an earlier broadcast's message act on nothing:
// a button whose job is not the one its message shows is refused.
func TestBroadcastIDsAfterRedisLostItsData(t *testing.T) {
	f, store := composerFixture(t)
	ctx := context.Background()
	f.subscribe(t, store, 61)
	old := f.sendBroadcast(t, "First news")
	oldBtn, _, _ := old.Action("bridgebot_bc_pause")

	// Redis restarts without its data: every key of this test is gone.
	keys, err := f.rdb.Keys(ctx, f.prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if err := f.rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}

	f.subscribe(t, store, 62)
	cur := f.sendBroadcast(t, "Second news")
	curBtn, _, _ := cur.Action("bridgebot_bc_pause")
	if curBtn.Value == oldBtn.Value {
		t.Fatalf("the new broadcast reuses the old one's ID %q", curBtn.Value)
	}

	// The old message's Pause, and a button carrying the new job's ID on
	// the old message (forged, or an ID that collided), are refused.
	for _, id := range []string{oldBtn.Value, curBtn.Value} {
		slacktest.PostSigned(t, f.url+"/slack/interactivity", f.sl.BlockAction(channel, old.TS, organizer, "bridgebot_bc_pause", id, ""), secret)
	}
	f.sl.WaitFor(t, wait, func() bool {
		n := 0
		for _, ep := range f.sl.Ephemerals(channel) {
			if ep.User == organizer && strings.Contains(ep.Text, "nothing was changed") {
				n++
			}
		}
		return n == 2
	})
	if j, err := store.Get(ctx, curBtn.Value); err != nil || j.Status != broadcast.StatusRunning {
		t.Fatalf("the new broadcast after old buttons: %+v %v", j, err)
	}

	// Its own message's button works.
	slacktest.PostSigned(t, f.url+"/slack/interactivity", f.sl.BlockAction(channel, cur.TS, organizer, "bridgebot_bc_pause", curBtn.Value, ""), secret)
	if j, err := store.Get(ctx, curBtn.Value); err != nil || j.Status != broadcast.StatusPaused {
		t.Fatalf("the new broadcast after its own Pause: %+v %v", j, err)
	}
}
