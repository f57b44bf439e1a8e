package slack_test

import (
	"context"
	"strings"
	"testing"

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
	return f.send(t, f.previewBroadcast(t, text, text))
}

// previewBroadcast submits the modal with an English text and returns the
// preview once it shows `shown`.
func (f *fixture) previewBroadcast(t *testing.T, text, shown string) slacktest.Message {
	t.Helper()
	slacktest.PostSigned(t, f.url+"/slack/interactivity", f.sl.ViewSubmission(organizer, "bridgebot_broadcast", channel, slacktest.ViewValues{
		"en": {"en": text}, "es": {"es": ""},
	}), secret)
	return f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
		return strings.Contains(m.AllText(), "Broadcast preview") && strings.Contains(m.AllText(), shown)
	})
}

// send presses Send on a preview and returns the message once it shows
// the Pause button.
func (f *fixture) send(t *testing.T, preview slacktest.Message) slacktest.Message {
	t.Helper()
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
	if err := store.Subscribe(context.Background(), broadcast.Subscriber{ChatID: chat, Lang: "en"}); err != nil {
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

// Organizers write with Slack's markup; members get Telegram HTML; the
// preview shows where links go; after Send, the announcement stays above
// the progress.
func TestBroadcastFromSlackMarkupPreviewsLinksAndKeepsTheText(t *testing.T) {
	f, store := composerFixture(t)
	f.subscribe(t, store, 77)

	resp := slacktest.PostSigned(t, f.url+"/slack/commands", f.sl.SlashCommand(channel, organizer, "/bridge", "broadcast"), secret)
	_ = slacktest.BodyString(resp)
	views := f.sl.Views()
	if len(views) != 1 || !strings.Contains(string(views[0].Raw), "*bold*, _italic_") || strings.Contains(string(views[0].Raw), "<b>") {
		t.Fatalf("the modal does not invite Slack formatting: %+v", views)
	}

	typed := "*Dates announced!* Read <https://example.org/bridge|the details> or https://example.org/faq_es — _no_ <script>"
	preview := f.previewBroadcast(t, typed, "Dates announced!")
	en, _ := preview.Block("bridgebot:bc_en")
	for _, want := range []string{"Dates announced!", "the details (https://example.org/bridge)", "https://example.org/faq_es", "&lt;script&gt;"} {
		if !strings.Contains(en.Text, want) {
			t.Fatalf("preview lacks %q:\n%s", want, en.Text)
		}
	}
	if strings.Contains(en.Text, "https://example.org/faq_es (https://") || strings.Contains(en.Text, "*Dates") {
		t.Fatalf("preview shows markup or a bare address twice:\n%s", en.Text)
	}

	msg := f.send(t, preview)
	kept, ok := msg.Block("bridgebot:bc_en")
	if !ok || !strings.Contains(kept.Text, "the details (https://example.org/bridge)") {
		t.Fatalf("the announcement is gone from the progress message:\n%s", msg.AllText())
	}
	if head, _ := msg.Block("bridgebot:bc_head"); !strings.Contains(head.Text, "Broadcast sending") {
		t.Fatalf("no progress under the announcement:\n%s", msg.AllText())
	}

	pause, _, _ := msg.Action("bridgebot_bc_pause")
	j, err := store.Get(context.Background(), pause.Value)
	if err != nil {
		t.Fatal(err)
	}
	want := `<b>Dates announced!</b> Read <a href="https://example.org/bridge">the details</a> or <a href="https://example.org/faq_es">https://example.org/faq_es</a> — <i>no</i> &lt;script&gt;`
	if j.Texts["en"] != want {
		t.Fatalf("Telegram HTML:\n got %s\nwant %s", j.Texts["en"], want)
	}
}
