package slack_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/slack/slacktest"
	"bridgebot/bot/telegram/telegramtest"
)

// count is how many of the channel's messages (deleted ones aside) hold s.
func count(sl *slacktest.Server, ch, s string) (n int) {
	for _, m := range sl.Messages(ch) {
		if !m.Deleted && strings.Contains(m.AllText(), s) {
			n++
		}
	}
	return n
}

// lost reports whether Slack answered a chat.postMessage with a 504 (the
// fault under test was exercised).
func lost(sl *slacktest.Server) bool {
	for _, r := range sl.Requests() {
		if r.Method == "chat.postMessage" && r.Status == http.StatusGatewayTimeout {
			return true
		}
	}
	return false
}

// waitGone waits until no message in ch holds s (redacted or deleted).
func waitGone(t *testing.T, sl *slacktest.Server, ch, s string) {
	t.Helper()
	deadline := time.After(wait)
	for count(sl, ch, s) > 0 {
		select {
		case <-sl.Changed():
		case <-deadline:
			t.Fatalf("%d posts still hold %q:\n%v", count(sl, ch, s), s, sl.Messages(ch))
		}
	}
}

func relay(t *testing.T, f *fixture, chat int64, text string) {
	t.Helper()
	if err := f.desk.Relay(context.Background(), bot.DeskMessage{ChatID: chat, Lang: "es", FirstName: "Rosa", Text: text}); err != nil {
		t.Fatal(err)
	}
}

// Slack stores a member's follow-up but its answer is lost: the retry
// finds it in the thread instead of posting it again, records it, and the
// member's erasure redacts it.
func TestFollowUpIsPostedOnceWhenSlacksAnswerIsLost(t *testing.T) {
	f := newFixture(t)
	root := f.ask(t, 60, "¿Hay comida?")
	f.sl.FailAfterNext("chat.postMessage", 1, http.StatusGatewayTimeout)
	relay(t, f, 60, "seguimiento-60")
	relay(t, f, 60, "después-60")
	// The member's messages go in order: once the next is in the thread,
	// the follow-up's tries are over.
	f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool { return m.ThreadTS == root && strings.Contains(m.Text, "después-60") })
	if !lost(f.sl) {
		t.Fatal("no chat.postMessage answer was lost; the fault was not exercised")
	}
	if n := count(f.sl, channel, "seguimiento-60"); n != 1 {
		t.Fatalf("the follow-up is %d times in the thread, want 1", n)
	}
	if f.sl.Calls("conversations.replies") == 0 {
		t.Fatal("the retry did not look for the earlier copy")
	}
	if err := f.desk.Forget(context.Background(), 60); err != nil {
		t.Fatal(err)
	}
	waitGone(t, f.sl, channel, "seguimiento-60")
	waitGone(t, f.sl, channel, "después-60")
}

// Slack stores a follow-up, its answer is lost, and the member erases
// their data before any retry could find and record it: the erasure finds
// it by its intent and redacts it, and nothing posts it again.
func TestErasureRedactsAFollowUpPostedButNeverRecorded(t *testing.T) {
	f := newFixture(t)
	root := f.ask(t, 61, "¿Hay transporte?")
	f.sl.FailAfterNext("chat.postMessage", 1, http.StatusGatewayTimeout)
	f.sl.FailFor("conversations.replies", time.Hour, http.StatusInternalServerError, 0)
	relay(t, f, 61, "huérfano-61")
	f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool { return m.ThreadTS == root && strings.Contains(m.Text, "huérfano-61") })
	// A retry reached the lookup: the intent is recorded, the post is not.
	f.sl.WaitFor(t, wait, func() bool { return f.sl.Calls("conversations.replies") > 0 })
	if err := f.desk.Forget(context.Background(), 61); err != nil {
		t.Fatal(err)
	}
	f.sl.ClearFaults()
	waitGone(t, f.sl, channel, "huérfano-61")
	if n := count(f.sl, channel, "erased their data"); n < 2 {
		t.Fatalf("%d redacted posts, want the root and the follow-up", n)
	}
	// Nothing of the member is left in the desk's keys.
	keys, err := f.rdb.Keys(context.Background(), f.prefix+"desk:*61*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, ":61:") || strings.HasSuffix(k, ":61") {
			t.Errorf("key %s left after the erasure", k)
		}
	}
}

// A sign-up post whose answer Slack lost is posted once, and the erasure
// redacts it.
func TestSignupPostIsPostedOnceWhenSlacksAnswerIsLostAndErased(t *testing.T) {
	f := viewsFixture(t, nil)
	f.sl.AddChannel(signupsChannel, "signups")
	s := &bot.Signup{ChatID: 62, Lang: "es", Created: time.Now(), Answers: map[string][]string{
		"name": {"Perla"}, "region": {"Ensenada-62"},
	}}
	f.sl.FailAfterNext("chat.postMessage", 1, http.StatusGatewayTimeout)
	if err := f.desk.SignupConfirmed(context.Background(), s, false); err != nil {
		t.Fatal(err)
	}
	later := *s
	later.Updated, later.Answers = time.Now(), map[string][]string{"name": {"Perla"}, "region": {"Rosarito-62"}}
	if err := f.desk.SignupConfirmed(context.Background(), &later, true); err != nil {
		t.Fatal(err)
	}
	f.sl.WaitMessage(t, signupsChannel, wait, func(m slacktest.Message) bool { return strings.Contains(m.AllText(), "Rosarito-62") })
	if !lost(f.sl) {
		t.Fatal("no chat.postMessage answer was lost; the fault was not exercised")
	}
	if n := count(f.sl, signupsChannel, "Ensenada-62"); n != 1 {
		t.Fatalf("the sign-up was posted %d times, want 1", n)
	}
	if err := f.desk.Forget(context.Background(), 62); err != nil {
		t.Fatal(err)
	}
	waitGone(t, f.sl, signupsChannel, "Ensenada-62")
	waitGone(t, f.sl, signupsChannel, "Rosarito-62")
}

// relayVoice has member chat send a voice note with text to the desk.
func relayVoice(t *testing.T, f *fixture, chat int64, text string) {
	t.Helper()
	f.tg.SendVoice(telegramtest.User{ID: chat, FirstName: "Rosa", LanguageCode: "es"}, 3)
	fileID := ""
	for _, file := range f.tg.Files() {
		if !file.FromBot && file.Kind == "voice" {
			fileID = file.FileID
		}
	}
	if err := f.desk.Relay(context.Background(), bot.DeskMessage{ChatID: chat, Lang: "es", FirstName: "Rosa", Text: text,
		Attachment: &bot.Attachment{Kind: "voice", FileID: fileID}}); err != nil {
		t.Fatal(err)
	}
}

// shared lists the completed uploads into thread whose comment holds s.
func shared(sl *slacktest.Server, thread, s string) (out []slacktest.Upload) {
	for _, up := range sl.Uploads() {
		if up.Completed && up.ThreadTS == thread && strings.Contains(up.InitialComment, s) {
			out = append(out, up)
		}
	}
	return out
}

// Slack shares a member's file but the answer of the last upload step is
// lost: the retry finds the file in the thread instead of uploading it
// again, and the erasure deletes it.
func TestMemberFileIsUploadedOnceWhenSlacksAnswerIsLost(t *testing.T) {
	f := newFixture(t)
	root := f.ask(t, 63, "¿Les mando el audio?")
	f.sl.FailAfterNext("files.completeUploadExternal", 1, http.StatusGatewayTimeout)
	relayVoice(t, f, 63, "audio-63")
	relay(t, f, 63, "después-63")
	f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool { return m.ThreadTS == root && strings.Contains(m.Text, "después-63") })
	lostAnswer := false
	for _, r := range f.sl.Requests() {
		lostAnswer = lostAnswer || r.Method == "files.completeUploadExternal" && r.Status == http.StatusGatewayTimeout
	}
	if !lostAnswer {
		t.Fatal("no files.completeUploadExternal answer was lost; the fault was not exercised")
	}
	ups := shared(f.sl, root, "audio-63")
	if len(ups) != 1 {
		t.Fatalf("the file was shared %d times, want 1", len(ups))
	}
	if err := f.desk.Forget(context.Background(), 63); err != nil {
		t.Fatal(err)
	}
	f.sl.WaitFor(t, wait, func() bool { return slices.Contains(f.sl.DeletedFiles(), ups[0].ID) })
	waitGone(t, f.sl, channel, "audio-63")
}

// The answer of the last upload step is lost and the member erases their
// data before a retry could find the file: the erasure deletes it anyway.
func TestErasureDeletesAFileSharedButNeverRecorded(t *testing.T) {
	f := newFixture(t)
	root := f.ask(t, 64, "¿Les mando el audio?")
	f.sl.FailAfterNext("files.completeUploadExternal", 1, http.StatusGatewayTimeout)
	f.sl.FailFor("conversations.replies", time.Hour, http.StatusInternalServerError, 0)
	relayVoice(t, f, 64, "audio-64")
	f.sl.WaitFor(t, wait, func() bool {
		return len(shared(f.sl, root, "audio-64")) == 1 && f.sl.Calls("conversations.replies") > 0
	})
	id := shared(f.sl, root, "audio-64")[0].ID
	if err := f.desk.Forget(context.Background(), 64); err != nil {
		t.Fatal(err)
	}
	f.sl.ClearFaults()
	f.sl.WaitFor(t, wait, func() bool { return slices.Contains(f.sl.DeletedFiles(), id) })
	waitGone(t, f.sl, channel, "audio-64")
	if n := f.sl.Calls("files.completeUploadExternal"); n != 1 {
		t.Fatalf("the file was shared %d times", n)
	}
}

// The intents of follow-ups expire on their own: marking the question
// answered and reopening it keeps the thread's mappings, not them.
func TestPostIntentsExpireAfterReopen(t *testing.T) {
	f := newFixture(t)
	root := f.ask(t, 65, "¿Hay cupo?")
	for _, action := range []string{"bridgebot_answered", "bridgebot_reopen"} {
		slacktest.PostSigned(t, f.url+"/slack/interactivity", f.sl.BlockAction(channel, root, staff, action, "65", ""), secret)
	}
	f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
		return m.TS == root && m.Updates >= 2 && strings.Contains(m.AllText(), "Open")
	})
	ctx := context.Background()
	keys, err := f.rdb.Keys(ctx, f.prefix+"desk:post:65:*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("no follow-up intents: %v %v", keys, err)
	}
	for _, k := range keys {
		if ttl := f.rdb.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("%s has no expiry after reopening (%v)", k, ttl)
		}
	}
}
