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
	"bridgebot/internal/testkit"
)

// A sign-up post made after the member's question was answered records
// its intent in the member's key list, which the answer gave a TTL: the
// list must live at least as long as the intent, or an erasure after the
// list expired would leave the intent (chat ID in its name) and miss a
// post whose answer was lost. (Found by review.)
func TestKeyListOutlivesAnIntentRecordedAfterTheAnswer(t *testing.T) {
	fl, err := flows.Load(flows.Default())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, fixtureOptions{config: func(c *slack.Config) {
		c.Flows, c.Channels.Signups = fl, signupsChannel
	}})
	f.sl.AddChannel(signupsChannel, "signups")
	const chat = 918270002
	ctx := context.Background()
	root := f.ask(t, chat, "¿pregunta-contestada?")
	f.postEvent(t, f.sl.ReactionAdded(channel, root, staff, "white_check_mark"))
	list := f.prefix + "desk:keys:918270002"
	testkit.Eventually(t, wait, "the answered question's keys expire", func() bool { return f.rdb.PTTL(ctx, list).Val() > 0 })
	s := &bot.Signup{ChatID: chat, Lang: "es", Created: time.Now(), Answers: map[string][]string{"name": {"Perla"}}}
	if err := f.desk.SignupConfirmed(ctx, s, false); err != nil {
		t.Fatal(err)
	}
	f.sl.WaitMessage(t, signupsChannel, wait, func(m slacktest.Message) bool { return strings.Contains(m.AllText(), "Perla") })
	intents := f.rdb.Keys(ctx, f.prefix+"desk:post:918270002:*").Val()
	if len(intents) == 0 {
		t.Fatal("no post intent recorded")
	}
	listTTL := f.rdb.PTTL(ctx, list).Val()
	for _, k := range intents {
		if ttl := f.rdb.PTTL(ctx, k).Val(); ttl > listTTL {
			t.Errorf("intent %s lives %v, the key list that names it %v", k, ttl, listTTL)
		}
	}
}
