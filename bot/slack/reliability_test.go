package slack_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/sealed"
	"bridgebot/bot/slack"
	"bridgebot/bot/slack/slacktest"
	"bridgebot/bot/telegram/telegramtest"
)

// outage is a go-redis hook that makes Redis unreachable, for this client,
// from the first command carrying marker (a text only the command under
// test sends) until heal is called: the network going away at exactly that
// step.
type outage struct {
	mu      sync.Mutex
	marker  string
	match   func(redis.Cmder) bool // with failOnce: the command that fails once
	down    bool
	tripped chan struct{}
}

func newOutage() *outage { return &outage{tripped: make(chan struct{})} }

var errOutage = errors.New("outage: connection reset by peer")

// arm makes the next command carrying marker, and every command after it,
// fail.
func (o *outage) arm(marker string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.marker = marker
}

// failOnce makes the first command that match accepts fail, once (a
// blip: the next command goes through).
func (o *outage) failOnce(match func(redis.Cmder) bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.match = match
}

func (o *outage) heal() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = false
}

func (o *outage) fails(cmds ...redis.Cmder) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.match != nil {
		for _, c := range cmds {
			if o.match(c) {
				o.match = nil
				close(o.tripped)
				return true
			}
		}
	}
	if o.marker != "" && carries(o.marker, cmds) {
		o.marker, o.down = "", true
		close(o.tripped)
	}
	return o.down
}

func carries(marker string, cmds []redis.Cmder) bool {
	for _, c := range cmds {
		for _, a := range c.Args() {
			var s string
			switch v := a.(type) {
			case string:
				s = v
			case []byte:
				s = string(v)
			}
			// Payloads are sealed (with the process's ring, as the fixture
			// gives the desk none): look inside.
			if p, err := sealed.Process().Open([]byte(s)); err == nil {
				s = string(p)
			}
			if strings.Contains(s, marker) {
				return true
			}
		}
	}
	return false
}

func (o *outage) DialHook(next redis.DialHook) redis.DialHook { return next }

func (o *outage) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if o.fails(cmd) {
			cmd.SetErr(errOutage)
			return errOutage
		}
		return next(ctx, cmd)
	}
}

func (o *outage) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if o.fails(cmds...) {
			for _, c := range cmds {
				c.SetErr(errOutage)
			}
			return errOutage
		}
		return next(ctx, cmds)
	}
}

// Redis goes away just as a staff reply is being queued: Slack is told to
// retry, and its retry (same event_id) must deliver the reply, once.
func TestEventRetryAfterRedisFaultWhileQueueingDeliversOnce(t *testing.T) {
	out := newOutage()
	f := newFixture(t, out)
	root := f.ask(t, 51, "¿Cuándo empieza?")
	ev, _ := f.sl.StaffReply(channel, root, staff, "Empieza en enero, marker-51.")

	out.arm("marker-51")
	resp := f.postEvent(t, ev)
	select {
	case <-out.tripped:
	default:
		t.Fatal("the reply was never queued")
	}
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("the event was acknowledged although its reply could not be queued")
	}
	out.heal()

	// Slack retries the same event, then (say the answer got lost) again.
	for n := 1; n <= 2; n++ {
		retry := slacktest.RetryHeader(slacktest.Signer{Secret: secret}.Sign(ev, time.Now()), n, "http_error")
		if resp := slacktest.PostWithSignature(t, f.url+"/slack/events", ev, retry); resp.StatusCode != http.StatusOK {
			t.Fatalf("retry %d: status %d", n, resp.StatusCode)
		}
	}
	f.waitRelayed(t, 51, wait, "marker-51")
	// A later reply proves nothing else is queued before it.
	f.replyReaches(t, 51, root, "¿Algo más?")
	if n := len(f.tg.Messages(51)); n != 2 {
		t.Fatalf("member got %d messages, want 2 (the reply once, then the next)", n)
	}
}

// Slack stores a question's root but its answer is lost: the retry must
// find that root instead of posting a second one, and the thread must be
// the member's (staff replies in it reach them).
func TestRootIsPostedOnceWhenSlacksAnswerIsLost(t *testing.T) {
	f := newFixture(t)
	f.sl.FailAfterNext("chat.postMessage", 1, http.StatusGatewayTimeout)
	root := f.ask(t, 52, "¿Hay transporte?")
	var roots []slacktest.Message
	for _, m := range f.sl.BotMessages(channel) {
		if !m.IsReply() && strings.Contains(m.AllText(), "¿Hay transporte?") {
			roots = append(roots, m)
		}
	}
	if len(roots) != 1 || roots[0].TS != root {
		t.Fatalf("%d roots for one question, want 1: %v", len(roots), roots)
	}
	lost := false
	for _, r := range f.sl.Requests() {
		lost = lost || r.Method == "chat.postMessage" && r.Status == http.StatusGatewayTimeout
	}
	if !lost {
		t.Fatal("no chat.postMessage answer was lost; the fault was not exercised")
	}
	f.staffReply(t, root, "Sí, desde la estación.")
	f.waitRelayed(t, 52, wait, "desde la estación")
}

// A staff file that can never be delivered (too large, deleted) is given
// up after a few tries: staff are told in the thread, and the member's
// later replies are not held up behind it.
func TestPoisonFileIsGivenUpAndLaterRepliesArrive(t *testing.T) {
	f := newFixtureWith(t, fixtureOptions{config: func(c *slack.Config) { c.Member.MaxFileBytes = 1 << 10 }})
	for i, tc := range []struct{ name, reason string }{
		{"too large", "too large"},
		{"deleted", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chat := int64(53 + i)
			root := f.ask(t, chat, "¿Me mandan el programa? "+tc.name)
			data := []byte("%PDF-1.4 programa")
			if tc.name == "too large" {
				data = bytes.Repeat([]byte("x"), 2<<10)
			}
			ev, fileTS := f.sl.StaffFileShare(channel, root, staff, "Aquí está", "programa.pdf", data)
			if tc.name == "deleted" {
				m, _ := f.sl.Message(channel, fileTS)
				f.sl.DeleteFile(m.Files[0].ID)
			}
			f.postEvent(t, ev)
			f.staffReply(t, root, "¿Lo recibiste?")

			f.waitRelayed(t, chat, wait, "¿Lo recibiste?")
			note := f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
				return m.FromBot && m.ThreadTS == root && strings.Contains(m.Text, "could not be delivered")
			})
			if !strings.Contains(note.Text, tc.reason) || !strings.Contains(note.Text, "programa.pdf") {
				t.Errorf("note to staff: %q, want the file and %q", note.Text, tc.reason)
			}
			if m, _ := f.sl.Message(channel, fileTS); !m.HasReaction("warning") {
				t.Errorf("the staff message is not marked ⚠️: %v", m)
			}
			for _, m := range f.tg.Messages(chat) {
				if m.Media != "" {
					t.Errorf("the member got a file: %+v", m)
				}
			}
			if n := len(f.tg.Messages(chat)); n != 2 {
				t.Errorf("member got %d messages, want the text of the file's reply and the next reply", n)
			}
		})
	}
}

// A long staff reply goes out in two parts. Recording that a part was sent
// fails once (a Redis blip right after Telegram accepted it): the reply
// must not be sent again.
func TestLongReplyIsNotResentWhenRecordingItFails(t *testing.T) {
	out := newOutage()
	f := newFixture(t, out)
	root := f.ask(t, 56, "¿Me cuentan todo?")
	long := strings.Repeat("uno ", 750) + "\n" + strings.Repeat("dos ", 750) // two parts on Telegram
	ev, ts := f.sl.StaffReply(channel, root, staff, long)
	relayed := f.prefix + "desk:relayed:" + channel + ":" + ts
	out.failOnce(func(c redis.Cmder) bool {
		args := c.Args()
		key, _ := args[min(1, len(args)-1)].(string)
		return c.Name() == "set" && strings.HasPrefix(key, relayed)
	})
	f.postEvent(t, ev)
	select {
	case <-out.tripped:
	case <-time.After(wait):
		t.Fatal("the fault was not exercised")
	}
	// A later reply proves nothing else is on its way before it.
	f.replyReaches(t, 56, root, "¿Queda claro?")
	f.mustGetPartsOnceThenNext(t, 56)
}

// Part two of a long reply fails (Telegram keeps answering 429 until the
// client gives up): the retry sends part two, not part one again.
func TestLongReplyFailingOnPartTwoDoesNotResendPartOne(t *testing.T) {
	// One message per second per chat, as Telegram: part two waits a second
	// after part one, which is when the test makes it fail.
	f := newFixtureWith(t, fixtureOptions{tg: []telegramtest.Option{telegramtest.WithRateLimit(0, 1)}})
	root := f.ask(t, 57, "¿Me cuentan todo?")
	long := strings.Repeat("uno ", 750) + "\n" + strings.Repeat("dos ", 750)
	f.staffReply(t, root, long)
	f.waitRelayed(t, 57, wait, "uno uno")
	// Six: every try the client makes for part two (one may already have
	// met the rate limit).
	f.tg.FailNext("sendMessage", 6, 429, "Too Many Requests: retry after 1", 1)
	f.waitRelayed(t, 57, 3*wait, "dos dos")
	f.staffReply(t, root, "¿Queda claro?")
	f.waitRelayed(t, 57, 3*wait, "¿Queda claro?")
	f.mustGetPartsOnceThenNext(t, 57)
}

// A member's turn delivered again after a crash relays its question once:
// the relay's key (its turn entry) is stored with the queued message.
func TestRelayDeliveredTwiceWithOneKeyIsQueuedOnce(t *testing.T) {
	f := newFixture(t)
	f.tg.AddChat(telegramtest.User{ID: 61, FirstName: "Rosa", LanguageCode: "es"})
	ctx := context.Background()
	m := bot.DeskMessage{ChatID: 61, Lang: "es", FirstName: "Rosa", Text: "¿Hay guardería? key-61", New: true, Key: "900:0"}
	for range 2 {
		if err := f.desk.Relay(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	next := bot.DeskMessage{ChatID: 61, Lang: "es", FirstName: "Rosa", Text: "después", Key: "901:0"}
	if err := f.desk.Relay(ctx, next); err != nil {
		t.Fatal(err)
	}
	root := f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
		return m.FromBot && !m.IsReply() && strings.Contains(m.AllText(), "key-61")
	}).TS
	f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
		return m.FromBot && m.ThreadTS == root && strings.Contains(m.Text, "después")
	})
	roots := 0
	for _, msg := range f.sl.Messages(channel) {
		if msg.FromBot && !msg.IsReply() && strings.Contains(msg.AllText(), "key-61") {
			roots++
		}
	}
	if roots != 1 {
		t.Fatalf("%d roots for one question", roots)
	}
}

// mustGetPartsOnceThenNext checks that the member got a long reply's two
// parts once each, then the next reply: three messages.
func (f *fixture) mustGetPartsOnceThenNext(t *testing.T, chat int64) {
	t.Helper()
	var texts []string
	for _, m := range f.tg.Messages(chat) {
		texts = append(texts, m.PlainText[:min(20, len(m.PlainText))])
	}
	if len(texts) != 3 {
		t.Fatalf("member got %d messages %q, want the two parts once, then the next reply", len(texts), texts)
	}
}
