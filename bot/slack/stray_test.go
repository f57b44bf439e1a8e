package slack_test

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"bridgebot/bot/outbox"
	"bridgebot/bot/slack"
	"bridgebot/bot/slack/slacktest"
	"bridgebot/internal/testkit"
)

// waitFlagged waits until the staff message ts has ⚠️ and the thread a
// note from the bot holding want, and returns the bot's notes there.
func (f *fixture) waitFlagged(t *testing.T, root, ts, want string) []slacktest.Message {
	t.Helper()
	var notes []slacktest.Message
	f.sl.WaitFor(t, wait, func() bool {
		msg, _ := f.sl.Message(channel, ts)
		notes = notes[:0]
		found := false
		for _, m := range f.sl.Thread(channel, root) {
			if m.FromBot && strings.Contains(m.Text, "Not delivered") {
				notes = append(notes, m)
				found = found || strings.Contains(m.Text, want)
			}
		}
		return msg.HasReaction("warning") && found
	})
	return notes
}

// slackIdle waits until the desk's "slack" outbox has nothing left to do.
func (f *fixture) slackIdle(t *testing.T) {
	t.Helper()
	box := outbox.New(f.rdb, outbox.Options{Prefix: f.prefix, Name: "slack"})
	testkit.Eventually(t, wait, "the slack outbox is drained", func() bool {
		st, err := box.Stats(context.Background())
		return err == nil && st.Pending == 0
	})
}

// A staff reply in the thread of a member who erased their data gets ⚠️
// and a note saying so; what the erasure left to recognise the thread is
// its address and the time, never the chat ID, and it expires.
func TestStaffReplyInErasedThreadIsFlagged(t *testing.T) {
	f := newFixture(t)
	const chat = 918260001
	root := f.ask(t, chat, "¿pregunta-que-se-borra?")
	if err := f.desk.Forget(context.Background(), chat); err != nil {
		t.Fatal(err)
	}
	f.sl.WaitFor(t, wait, func() bool {
		m, _ := f.sl.Message(channel, root)
		return strings.Contains(m.AllText(), "erased their data")
	})
	ctx := context.Background()
	keys, err := f.rdb.Keys(ctx, f.prefix+"desk:erased-thread:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := f.prefix + "desk:erased-thread:" + channel + ":" + root; len(keys) != 1 || keys[0] != want {
		t.Fatalf("erased-thread markers %v, want [%s]", keys, want)
	}
	v := f.rdb.Get(ctx, keys[0]).Val()
	if strings.Contains(v, strconv.Itoa(chat)) {
		t.Fatalf("the marker holds the chat ID: %q", v)
	}
	if ttl := f.rdb.PTTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > slack.DefaultAnsweredRetention {
		t.Fatalf("the marker's TTL is %v, want at most the answered retention", ttl)
	}

	ev, ts := f.sl.StaffReply(channel, root, staff, "Sí, hay cupo")
	f.postEvent(t, ev)
	// The date comes from the marker: read from the redacted root instead,
	// the note would have none.
	notes := f.waitFlagged(t, root, ts, "erased their data on "+time.Now().UTC().Format("2 January 2006"))
	if len(notes) != 1 || !strings.Contains(notes[0].Text, "no longer reach them") || !strings.Contains(notes[0].Text, "<@"+staff+">") {
		t.Fatalf("notes %v, want one saying replies no longer reach the member, naming the staff member", notes)
	}
	if n := len(f.tg.Messages(chat)); n != 0 {
		t.Fatalf("the erased member got %d messages", n)
	}
}

// A staff reply in the thread of a question answered longer ago than the
// retention gets ⚠️ and a note asking staff to have the member write
// again; a note (//) there stays a note. Nothing about the member is kept
// for it.
func TestStaffReplyInExpiredThreadIsFlagged(t *testing.T) {
	const retention = 300 * time.Millisecond
	f := newFixtureWith(t, fixtureOptions{config: func(c *slack.Config) { c.Tickets.AnsweredRetention = retention }})
	const chat = 918260002
	root := f.ask(t, chat, "¿pregunta-que-caduca?")
	f.postEvent(t, f.sl.ReactionAdded(channel, root, staff, "white_check_mark"))
	ctx := context.Background()
	testkit.Eventually(t, wait, "the answered question's mapping expired", func() bool {
		return f.rdb.Exists(ctx, f.prefix+"desk:thread:"+channel+":"+root).Val() == 0
	})
	noteEv, noteTS := f.sl.StaffReply(channel, root, staff, "// para el equipo")
	f.postEvent(t, noteEv)
	ev, ts := f.sl.StaffReply(channel, root, staff, "respuesta-tardia")
	f.postEvent(t, ev)
	notes := f.waitFlagged(t, root, ts, "write to the bot again")
	if len(notes) != 1 || !strings.Contains(notes[0].Text, "<@"+staff+">") {
		t.Fatalf("notes %v, want one naming the staff member", notes)
	}
	if m, _ := f.sl.Message(channel, noteTS); len(m.Reactions) != 0 {
		t.Errorf("the internal note got reactions %v", m.Reactions)
	}
	if n := len(f.tg.Messages(chat)); n != 0 {
		t.Fatalf("the member got %d messages", n)
	}
	if keys := f.rdb.Keys(ctx, f.prefix+"desk:erased-thread:*").Val(); len(keys) != 0 {
		t.Fatalf("an expired thread left markers %v", keys)
	}
}

// Threads that are not question threads — started by staff, or by the bot
// for something else (a chart, a notice) — are left alone.
func TestRepliesInOtherThreadsAreLeftAlone(t *testing.T) {
	f := newFixture(t)
	_, staffRoot := f.sl.StaffReply(channel, "", staff, "reunión del lunes")
	ev, inStaff := f.sl.StaffReply(channel, staffRoot, staff, "yo llevo el café")
	f.postEvent(t, ev)
	_, botRoot, err := f.desk.SlackClient().PostMessage(channel, slackapi.MsgOptionText("📊 a chart", false))
	if err != nil {
		t.Fatal(err)
	}
	ev, inBot := f.sl.StaffReply(channel, botRoot, staff, "¡qué bien!")
	f.postEvent(t, ev)
	lookups := func(root string) (n int) {
		for _, r := range f.sl.Requests() {
			if r.Method == "conversations.replies" && r.Params.Get("ts") == root {
				n++
			}
		}
		return n
	}
	f.sl.WaitFor(t, wait, func() bool { return lookups(botRoot) >= 1 })
	f.slackIdle(t)
	for _, ts := range []string{inStaff, inBot} {
		if m, _ := f.sl.Message(channel, ts); len(m.Reactions) != 0 {
			t.Errorf("reply %s got reactions %v", ts, m.Reactions)
		}
	}
	for _, root := range []string{staffRoot, botRoot} {
		for _, m := range f.sl.Thread(channel, root) {
			if m.FromBot && m.TS != root {
				t.Errorf("the bot posted in thread %s: %q", root, m.Text)
			}
		}
	}
	if n := lookups(staffRoot); n != 0 {
		t.Errorf("%d lookups of the staff thread's root, want none (parent_user_id tells)", n)
	}
}

// An erasure deletes the /bridge export files posted before it (they hold
// every member's answers) and says so where they were; an export whose
// data was read before the erasure but recorded after it is deleted too,
// and one made after it is kept.
func TestErasureDeletesExportFiles(t *testing.T) {
	f, _ := exportFixture(t)
	slacktest.PostSigned(t, f.url+"/slack/commands", f.sl.SlashCommand(channel, organizer, "/bridge", "export"), secret)
	export := waitExportShared(t, f)
	ctx := context.Background()
	testkit.Eventually(t, wait, "the export is recorded", func() bool {
		return f.rdb.ZCard(ctx, f.prefix+"desk:shared").Val() == 1
	})
	if !strings.Contains(export.InitialComment, "erases their data") {
		t.Errorf("the export's comment does not say what an erasure does: %q", export.InitialComment)
	}
	before := time.Now()
	if err := f.desk.Forget(ctx, 42); err != nil {
		t.Fatal(err)
	}
	dm := slacktest.DMChannel(organizer)
	f.sl.WaitFor(t, wait, func() bool {
		deleted := false
		for _, id := range f.sl.DeletedFiles() {
			deleted = deleted || id == export.ID
		}
		for _, m := range f.sl.Messages(dm) {
			if m.FromBot && strings.Contains(m.Text, "/bridge export") && strings.Contains(m.Text, "erased") {
				return deleted
			}
		}
		return false
	})
	f.slackIdle(t)
	if n := f.rdb.ZCard(ctx, f.prefix+"desk:shared").Val(); n != 0 {
		t.Fatalf("%d deleted exports still recorded", n)
	}

	upload := func(name string) string {
		t.Helper()
		data := []byte("chat_id\n42\n")
		fs, err := f.desk.SlackClient().UploadFileContext(ctx, slackapi.UploadFileParameters{Channel: dm, Filename: name, FileSize: len(data), Reader: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		return fs.ID
	}
	late, skewed, after := upload("late.csv"), upload("skewed.csv"), upload("after.csv")
	// dated a little after the erasure by a replica whose clock runs ahead,
	// it read the data before it: deleted
	if err := f.desk.RecordSharedFile(ctx, dm, skewed, time.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	// made after the erasure by more than the clocks of two replicas may
	// differ (an export within that margin is deleted too: run again)
	if err := f.desk.RecordSharedFile(ctx, dm, after, time.Now().Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := f.desk.RecordSharedFile(ctx, dm, late, before.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	f.sl.WaitFor(t, wait, func() bool {
		return slices.Contains(f.sl.DeletedFiles(), late) && slices.Contains(f.sl.DeletedFiles(), skewed)
	})
	f.slackIdle(t)
	for _, id := range f.sl.DeletedFiles() {
		if id == after {
			t.Fatalf("an export made after the erasure was deleted")
		}
	}
	if got := f.rdb.ZRange(ctx, f.prefix+"desk:shared", 0, -1).Val(); len(got) != 1 || got[0] != dm+" "+after {
		t.Fatalf("recorded exports %v, want only the one made after the erasure", got)
	}
}
