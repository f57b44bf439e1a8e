package slack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/slack"
	"bridgebot/bot/slack/slacktest"
	"bridgebot/flows"
)

const signupsChannel = "C0SIGNUPS"

// signupList is a fixed set of sign-ups, for /bridge stats.
type signupList []*bot.Signup

func (l signupList) Signups(_ context.Context, fn func(*bot.Signup) error) error {
	for _, s := range l {
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

// viewsFixture is a desk with the shipped flows, a sign-ups channel and
// the given sign-ups.
func viewsFixture(t *testing.T, signups signupList) *fixture {
	t.Helper()
	fl, err := flows.Load(flows.Default())
	if err != nil {
		t.Fatal(err)
	}
	return newFixtureWith(t, fixtureOptions{config: func(c *slack.Config) {
		c.Flows, c.Channels.Signups, c.Signups = fl, signupsChannel, signups
	}})
}

var noFlags = []string{"🇲🇽", "🇺🇸", "🇪🇸", "🇬🇧"}

func TestStaffSeeLanguageNamesAndLabelsNotFlagsOrStoredValues(t *testing.T) {
	rosa := &bot.Signup{ChatID: 70, Lang: "es", Created: time.Now(), Answers: map[string][]string{
		"name": {"Rosa"}, "role": {"popular-educator"}, "region": {"Tucson"}, "areas": {"labor", "detention"},
	}}
	ann := &bot.Signup{ChatID: 71, Lang: "en", Created: time.Now(), Answers: map[string][]string{
		"name": {"Ann"}, "role": {"community-leader"}, "region": {"El Paso"}, "areas": {"labor"},
	}}
	f := viewsFixture(t, signupList{rosa, ann})
	f.sl.AddChannel(signupsChannel, "signups")

	// The question root.
	root := f.ask(t, 70, "¿Cuándo empieza?")
	m, _ := f.sl.Message(channel, root)
	head, ok := m.Block("bridgebot:head")
	if !ok || !strings.Contains(head.Text, "Español") {
		t.Fatalf("root head %q does not name the language", head.Text)
	}

	// The sign-up post.
	if err := f.desk.SignupConfirmed(context.Background(), rosa, false); err != nil {
		t.Fatal(err)
	}
	post := f.sl.WaitMessage(t, signupsChannel, wait, func(m slacktest.Message) bool { return m.FromBot })
	for _, want := range []string{"Español", "*Role:* Popular educator", "Workers' rights", "Immigrant detention", "*City or region:* Tucson"} {
		if !strings.Contains(post.AllText(), want) {
			t.Errorf("sign-up post lacks %q:\n%s", want, post.AllText())
		}
	}
	for _, bad := range append([]string{"popular-educator", "detention,"}, noFlags...) {
		if strings.Contains(post.AllText(), bad) || strings.Contains(head.Text, bad) {
			t.Errorf("staff view shows %q:\n%s\n%s", bad, head.Text, post.AllText())
		}
	}

	// /bridge stats.
	resp := slacktest.PostSigned(t, f.url+"/slack/commands", f.sl.SlashCommand(channel, staff, "/bridge", "stats"), secret)
	body := slacktest.BodyString(resp)
	for _, want := range []string{"English 1", "Español 1", "Popular educator 1", "Community leader 1", "Workers' rights 2", "Immigrant detention 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("stats lack %q: %s", want, body)
		}
	}
	for _, bad := range append([]string{"popular-educator", "community-leader", "labor 2", "es 1"}, noFlags...) {
		if strings.Contains(body, bad) {
			t.Errorf("stats show %q: %s", bad, body)
		}
	}
}

func TestQuestionRootShowsTheFAQAnswerTheMemberSaw(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ask := func(chat int64, text string, seen bot.FAQContext) slacktest.Message {
		t.Helper()
		m := bot.DeskMessage{ChatID: chat, Lang: "en", FirstName: "Ann", Text: text, New: true, FAQContext: seen}
		if err := f.desk.Relay(ctx, m); err != nil {
			t.Fatal(err)
		}
		return f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
			return m.FromBot && !m.IsReply() && strings.Contains(m.AllText(), text)
		})
	}

	root := ask(72, "Can I join from Chicago?", bot.FAQContext{SawFAQ: "who-can-join", FAQDidNotHelp: true})
	b, ok := root.Block("bridgebot:faq")
	if !ok || !strings.Contains(b.Text, "“Who can join?”") || !strings.Contains(b.Text, "did not help") {
		t.Fatalf("root does not show the FAQ answer seen: %q\n%s", b.Text, root.AllText())
	}

	// Redrawn (marked answered), the root still shows it. First the desk
	// must have recorded the thread: a follow-up lands in it.
	if err := f.desk.Relay(ctx, bot.DeskMessage{ChatID: 72, Lang: "en", FirstName: "Ann", Text: "(follow-up 72)"}); err != nil {
		t.Fatal(err)
	}
	f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
		return m.FromBot && m.ThreadTS == root.TS && strings.Contains(m.Text, "(follow-up 72)")
	})
	slacktest.PostSigned(t, f.url+"/slack/interactivity", f.sl.BlockAction(channel, root.TS, staff, "bridgebot_answered", "72", ""), secret)
	f.sl.WaitFor(t, wait, func() bool {
		m, _ := f.sl.Message(channel, root.TS)
		b, _ := m.Block("bridgebot:faq")
		return strings.Contains(m.AllText(), "Answered") && strings.Contains(b.Text, "Who can join?")
	})

	seen := ask(73, "And the dates?", bot.FAQContext{SawFAQ: "how-to-apply"})
	if b, _ := seen.Block("bridgebot:faq"); !strings.Contains(b.Text, "How do I take part?") || strings.Contains(b.Text, "did not help") {
		t.Fatalf("seen, not refused: %q", b.Text)
	}
	if none := ask(74, "Is there childcare?", bot.FAQContext{}); strings.Contains(none.AllText(), "FAQ answer") {
		t.Fatalf("no FAQ seen, but the root says one was: %s", none.AllText())
	}
}

func TestUndeliveredReplyIsToldInTheThreadForEveryone(t *testing.T) {
	f := newFixture(t)
	root := f.ask(t, 75, "¿Hay becas?")
	f.tg.BlockChat(75)
	ev, replyTS := f.sl.StaffReply(channel, root, staff, "Sí, escríbenos.")
	f.postEvent(t, ev)
	note := f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
		return m.FromBot && m.ThreadTS == root && strings.HasPrefix(m.Text, "⚠️ Not delivered:")
	})
	if !strings.Contains(note.Text, "blocked the bot") || !strings.Contains(note.Text, "<@"+staff+">") {
		t.Fatalf("thread note: %q", note.Text)
	}
	f.sl.WaitFor(t, wait, func() bool {
		m, _ := f.sl.Message(channel, replyTS)
		return len(m.Reactions) > 0
	})
	if eps := f.sl.Ephemerals(channel); len(eps) != 0 {
		t.Fatalf("told only to its author as well: %+v", eps)
	}
}

func TestBroadcastSendAsksForConfirmation(t *testing.T) {
	f, store := composerFixture(t)
	f.subscribe(t, store, 76)
	slacktest.PostSigned(t, f.url+"/slack/interactivity", f.sl.ViewSubmission(organizer, "bridgebot_broadcast", channel, slacktest.ViewValues{
		"en": {"en": "Meeting on Friday"}, "es": {"es": ""},
	}), secret)
	preview := f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
		return strings.Contains(m.AllText(), "Broadcast preview") && strings.Contains(m.AllText(), "Meeting on Friday")
	})
	send, _, ok := preview.Action("bridgebot_bc_send")
	if !ok || send.Confirm != "Send to 1 members?" {
		t.Fatalf("Send button without a confirmation dialog: %+v", send)
	}
}
