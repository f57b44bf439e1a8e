package slack_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"

	"bridgebot/bot"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/bot/slack"
	"bridgebot/bot/slack/slacktest"
	"bridgebot/bot/telegram"
	"bridgebot/bot/telegram/telegramtest"
	"bridgebot/locales"
)

const (
	secret  = "8f742231b10e8888abcd99yyyzzz85a5"
	channel = "C0Q"
	staff   = "U0ALMA"
	wait    = 10 * time.Second
)

type fixture struct {
	sl     *slacktest.Server
	tg     *telegramtest.Server
	desk   *slack.Desk
	url    string
	rdb    *redis.Client
	prefix string
}

func newFixture(t *testing.T, hooks ...redis.Hook) *fixture {
	t.Helper()
	return newFixtureWith(t, fixtureOptions{hooks: hooks})
}

// fixtureOptions adjust newFixtureWith's desk.
type fixtureOptions struct {
	config func(*slack.Config) // changes the desk's configuration
	extend func(*fixture)      // runs before the desk serves (to add extensions)
	hooks  []redis.Hook        // on the desk's Redis client
	tg     []telegramtest.Option
}

// newFixtureWith is newFixture with options.
func newFixtureWith(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	hooks, config := o.hooks, o.config
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sl := slacktest.New(t)
	sl.AddChannel(channel, "questions")
	sl.AddUser(staff, "Alma", "Alma M", "alma@example.org")
	tg := telegramtest.New(t, o.tg...)
	tgb, err := telegram.New(ctx, telegram.Config{Token: tg.Token(), APIURL: tg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := locales.Load(locales.Default())
	if err != nil {
		t.Fatal(err)
	}
	client, prefix := redistest.New(t)
	for _, h := range hooks {
		client.AddHook(h)
	}
	cfg := slack.Config{
		Client: slackapi.New(sl.BotToken(), slackapi.OptionAPIURL(sl.APIURL())), Redis: client, Prefix: prefix,
		Locales: cat, Channels: slack.Channels{Questions: channel}, Member: slack.MemberSide{Messenger: tgb},
		Outboxes: slack.OutboxTuning{MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
	}
	if config != nil {
		config(&cfg)
	}
	desk, err := slack.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{sl: sl, tg: tg, desk: desk, rdb: client, prefix: prefix}
	if o.extend != nil {
		o.extend(f)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = desk.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	srv := httptest.NewServer(desk.Handler(secret))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// postEvent posts an Events API body to the app, signed as Slack signs it.
func (f *fixture) postEvent(t *testing.T, ev []byte) *http.Response {
	t.Helper()
	return slacktest.PostSigned(t, f.url+"/slack/events", ev, secret)
}

// staffReply posts the event of a staff member's reply under root.
func (f *fixture) staffReply(t *testing.T, root, text string) {
	t.Helper()
	ev, _ := f.sl.StaffReply(channel, root, staff, text)
	f.postEvent(t, ev)
}

// replyReaches posts a staff reply under root and waits until the member
// (chat) gets it.
func (f *fixture) replyReaches(t *testing.T, chat int64, root, text string) {
	t.Helper()
	f.staffReply(t, root, text)
	f.waitRelayed(t, chat, wait, text)
}

// waitRelayed waits up to within for a message to the member that holds s.
func (f *fixture) waitRelayed(t *testing.T, chat int64, within time.Duration, s string) telegramtest.Message {
	t.Helper()
	return f.tg.WaitMessage(t, chat, within, func(m telegramtest.Message) bool { return strings.Contains(m.PlainText, s) })
}

// ask makes member chat ask a question and returns the thread root's ts.
// It also sends a follow-up and waits for it in the thread: the member's
// messages are delivered in order, so once the follow-up is there the
// bot has recorded the thread and will recognise staff replies in it.
func (f *fixture) ask(t *testing.T, chat int64, text string) string {
	t.Helper()
	f.tg.AddChat(telegramtest.User{ID: chat, FirstName: "Rosa", LanguageCode: "es"})
	ctx := context.Background()
	if err := f.desk.Relay(ctx, bot.DeskMessage{ChatID: chat, Lang: "es", FirstName: "Rosa", Text: text, New: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.desk.Relay(ctx, bot.DeskMessage{ChatID: chat, Lang: "es", FirstName: "Rosa", Text: "(follow-up)"}); err != nil {
		t.Fatal(err)
	}
	root := f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
		return m.FromBot && !m.IsReply() && strings.Contains(m.AllText(), text)
	}).TS
	f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
		return m.FromBot && m.ThreadTS == root && strings.Contains(m.Text, "(follow-up)")
	})
	return root
}

func TestHTTPEventsAreVerifiedAndActedOnOnce(t *testing.T) {
	f := newFixture(t)
	root := f.ask(t, 42, "¿Hay becas?")
	ev, _ := f.sl.StaffReply(channel, root, staff, "Sí, hay becas.")

	for name, resp := range map[string]*http.Response{
		"unsigned":      slacktest.PostUnsigned(t, f.url+"/slack/events", ev),
		"wrong secret":  slacktest.PostSigned(t, f.url+"/slack/events", ev, "not-the-secret"),
		"stale":         slacktest.PostWithSignature(t, f.url+"/slack/events", ev, slacktest.Signer{Secret: secret}.Sign(ev, time.Now().Add(-6*time.Minute))),
		"forged body":   slacktest.PostWithSignature(t, f.url+"/slack/events", append(ev, ' '), slacktest.Signer{Secret: secret}.Sign(ev, time.Now())),
		"command":       slacktest.PostUnsigned(t, f.url+"/slack/commands", f.sl.SlashCommand(channel, staff, "/bridge", "stats")),
		"interactivity": slacktest.PostUnsigned(t, f.url+"/slack/interactivity", f.sl.BlockAction(channel, root, staff, "bridgebot_answered", "42", "")),
	} {
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
		}
	}
	if n := len(f.tg.Messages(42)); n != 0 {
		t.Fatalf("a rejected request had an effect: %d messages", n)
	}

	resp := slacktest.PostSigned(t, f.url+"/slack/events", f.sl.URLVerification("chal-123"), secret)
	if resp.StatusCode != 200 || slacktest.BodyString(resp) != "chal-123" {
		t.Fatalf("url_verification: %d %q", resp.StatusCode, slacktest.BodyString(resp))
	}

	if resp := f.postEvent(t, ev); resp.StatusCode != 200 {
		t.Fatalf("signed event: %d", resp.StatusCode)
	}
	retry := slacktest.RetryHeader(slacktest.Signer{Secret: secret}.Sign(ev, time.Now()), 1, "http_timeout")
	if resp := slacktest.PostWithSignature(t, f.url+"/slack/events", ev, retry); resp.StatusCode != 200 {
		t.Fatalf("retried event: %d", resp.StatusCode)
	}
	f.waitRelayed(t, 42, wait, "Sí, hay becas.")
	// A later message proves the retry was not queued behind it.
	f.staffReply(t, root, "Escríbenos si necesitas más.")
	f.waitRelayed(t, 42, wait, "Escríbenos")
	if n := len(f.tg.Messages(42)); n != 2 {
		t.Fatalf("want 2 relayed messages, got %d", n)
	}

	// Interactivity and commands over HTTP.
	resp = slacktest.PostSigned(t, f.url+"/slack/interactivity", f.sl.BlockAction(channel, root, staff, "bridgebot_answered", "42", ""), secret)
	if resp.StatusCode != 200 {
		t.Fatalf("interactivity: %d", resp.StatusCode)
	}
	f.sl.WaitFor(t, wait, func() bool {
		m, _ := f.sl.Message(channel, root)
		return strings.Contains(m.AllText(), "Answered")
	})
	resp = slacktest.PostSigned(t, f.url+"/slack/commands", f.sl.SlashCommand(channel, staff, "/bridge", "stats"), secret)
	if body := slacktest.BodyString(resp); !strings.Contains(body, `"response_type":"ephemeral"`) || !strings.Contains(body, "0 open · 1 answered") {
		t.Fatalf("stats: %s", body)
	}

	// Garbage, signed, is refused without retries.
	resp = slacktest.PostSigned(t, f.url+"/slack/events", []byte("{not json"), secret)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Slack-No-Retry") != "1" {
		t.Fatalf("garbage: %d", resp.StatusCode)
	}
	huge := make([]byte, 2<<20)
	resp = f.postEvent(t, huge)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge body: %d", resp.StatusCode)
	}
}

func TestOtherThreadsAndBotsAreIgnored(t *testing.T) {
	f := newFixture(t)
	root := f.ask(t, 43, "¿Dónde será?")
	// A thread the bot did not create.
	_, otherRoot := f.sl.StaffReply(channel, "", staff, "unrelated discussion")
	f.staffReply(t, otherRoot, "reply elsewhere")
	// Another app posting in our thread.
	bev, _ := f.sl.BotMessage(channel, root, "B0OTHER", "an integration says hi")
	f.postEvent(t, bev)
	// Then a real staff reply, which must be the only thing relayed.
	f.replyReaches(t, 43, root, "En la frontera.")
	if msgs := f.tg.Messages(43); len(msgs) != 1 {
		t.Fatalf("relayed %d messages, want 1: %+v", len(msgs), msgs)
	}
}

func TestMrkdwnBecomesTelegramHTML(t *testing.T) {
	f := newFixture(t)
	root := f.ask(t, 44, "links?")
	f.staffReply(t, root, "See <https://example.org/a?b=1&amp;c=2|our page> and *this* _too_ — 3 &lt; 5 <@U0ALMA>")
	m := f.tg.WaitMessage(t, 44, wait, nil)
	want := `See <a href="https://example.org/a?b=1&amp;c=2">our page</a> and <b>this</b> <i>too</i> — 3 &lt; 5`
	if !strings.Contains(m.Text, want) {
		t.Fatalf("got %q\nwant it to contain %q", m.Text, want)
	}
}

func TestTwoQuestionsWhileSlackIsDownBothArrive(t *testing.T) {
	f := newFixture(t)
	f.tg.AddChat(telegramtest.User{ID: 45, FirstName: "Rosa", LanguageCode: "es"})
	f.sl.SetDown(true)
	ctx := context.Background()
	for _, q := range []string{"primera pregunta", "segunda pregunta"} {
		if err := f.desk.Relay(ctx, bot.DeskMessage{ChatID: 45, Lang: "es", FirstName: "Rosa", Text: q, New: true}); err != nil {
			t.Fatal(err)
		}
	}
	// Tried and retried (a retry first looks for a root the first try may
	// have posted).
	f.sl.WaitFor(t, wait, func() bool { return f.sl.Calls("chat.postMessage")+f.sl.Calls("conversations.history") >= 2 })
	f.sl.SetDown(false)
	for _, q := range []string{"primera pregunta", "segunda pregunta"} {
		f.sl.WaitMessage(t, channel, wait, func(m slacktest.Message) bool {
			return m.FromBot && !m.IsReply() && strings.Contains(m.AllText(), q)
		})
	}
}

func TestDeleteCutsOldThreadsAndOldRootsKeepTheirOwnStatus(t *testing.T) {
	f := newFixture(t)
	first := f.ask(t, 46, "pregunta uno")
	second := f.ask(t, 46, "pregunta dos")
	// Mark answered on the old root does not close the current question.
	slacktest.PostSigned(t, f.url+"/slack/interactivity", f.sl.BlockAction(channel, first, staff, "bridgebot_answered", "46", ""), secret)
	resp := slacktest.PostSigned(t, f.url+"/slack/commands", f.sl.SlashCommand(channel, staff, "/bridge", "stats"), secret)
	if body := slacktest.BodyString(resp); !strings.Contains(body, "1 open · 0 answered") {
		t.Fatalf("old root changed the current question: %s", body)
	}
	if err := f.desk.Forget(context.Background(), 46); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{first, second} {
		f.staffReply(t, root, "¿sigues ahí?")
	}
	// A marker in another member's thread proves the events were handled.
	other := f.ask(t, 47, "otra persona")
	f.replyReaches(t, 47, other, "marker")
	if n := len(f.tg.Messages(46)); n != 0 {
		t.Fatalf("a member who deleted their data still got %d messages", n)
	}
}

func TestFilesGoBothWays(t *testing.T) {
	f := newFixture(t)
	root := f.ask(t, 48, "¿Me mandan el programa?")
	ev, _ := f.sl.StaffFileShare(channel, root, staff, "Aquí está", "programa.pdf", []byte("%PDF-1.4 programa"))
	if resp := f.postEvent(t, ev); resp.StatusCode != 200 {
		t.Fatalf("file share: %d", resp.StatusCode)
	}
	doc := f.tg.WaitMessage(t, 48, wait, func(m telegramtest.Message) bool { return m.Media == "document" })
	if string(doc.FileData) != "%PDF-1.4 programa" || doc.FileName != "programa.pdf" {
		t.Fatalf("document: %q %q", doc.FileName, doc.FileData)
	}
	f.waitRelayed(t, 48, wait, "Aquí está")

	// A member's voice note lands in the thread.
	u := telegramtest.User{ID: 48, FirstName: "Rosa", LanguageCode: "es"}
	f.tg.SendVoice(u, 3)
	fileID := ""
	for _, file := range f.tg.Files() {
		if !file.FromBot && file.Kind == "voice" {
			fileID = file.FileID
		}
	}
	if err := f.desk.Relay(context.Background(), bot.DeskMessage{ChatID: 48, Lang: "es", FirstName: "Rosa", Attachment: &bot.Attachment{Kind: "voice", FileID: fileID}}); err != nil {
		t.Fatal(err)
	}
	f.sl.WaitFor(t, wait, func() bool {
		for _, up := range f.sl.Uploads() {
			if up.ThreadTS == root && up.Completed && len(up.Data) > 0 && strings.Contains(up.InitialComment, "voice") {
				return true
			}
		}
		return false
	})
}

func TestParseRoutes(t *testing.T) {
	r, err := slack.ParseRoutes("lang:es=C0ES, topic:cost=C0FIN")
	if err != nil || len(r) != 2 || r[0] != (slack.Route{Lang: "es", Channel: "C0ES"}) || r[1] != (slack.Route{Topic: "cost", Channel: "C0FIN"}) {
		t.Fatalf("routes: %+v %v", r, err)
	}
	for _, bad := range []string{"es=C1", "lang:es", "team:x=C1", "lang:=C1"} {
		if _, err := slack.ParseRoutes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
