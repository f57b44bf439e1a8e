package telegramtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"bridgebot/bot/telegram/telegramtest"
	"bridgebot/internal/testkit"
)

const wait = 10 * time.Second

var alice = telegramtest.User{ID: 1001, FirstName: "Alice", Username: "alice", LanguageCode: "en"}
var bob = telegramtest.User{ID: 1002, FirstName: "Bob"}

// newBot connects the real client to a fresh server.
func newBot(t *testing.T, opts ...telegramtest.Option) (*telegramtest.Server, *tgbotapi.BotAPI) {
	t.Helper()
	srv := telegramtest.New(t, opts...)
	bot, err := tgbotapi.NewBotAPIWithClient(srv.Token(), srv.Endpoint(), srv.HTTPClient())
	if err != nil {
		t.Fatalf("NewBotAPIWithClient: %v", err)
	}
	return srv, bot
}

// newBotWithAlice is newBot with a private chat with alice.
func newBotWithAlice(t *testing.T) (*telegramtest.Server, *tgbotapi.BotAPI) {
	t.Helper()
	srv, bot := newBot(t)
	srv.AddChat(alice)
	return srv, bot
}

// apiError asserts err is a Telegram error with that code and description.
func apiError(t *testing.T, err error, code int, desc string) *tgbotapi.Error {
	t.Helper()
	var tgErr *tgbotapi.Error
	if !errors.As(err, &tgErr) {
		t.Fatalf("error = %v (%T), want *tgbotapi.Error %d %q", err, err, code, desc)
	}
	if tgErr.Code != code || tgErr.Message != desc {
		t.Fatalf("error = %d %q, want %d %q", tgErr.Code, tgErr.Message, code, desc)
	}
	return tgErr
}

func keyboard(rows ...[]tgbotapi.InlineKeyboardButton) tgbotapi.InlineKeyboardMarkup {
	return tgbotapi.NewInlineKeyboardMarkup(rows...)
}

// rawCall posts to the API without tgbotapi, to check the wire format.
func rawCall(t *testing.T, srv *telegramtest.Server, method, contentType, body string) (int, map[string]any) {
	t.Helper()
	resp, err := srv.HTTPClient().Post(srv.URL()+"/bot"+srv.Token()+"/"+method, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", method, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode %s answer: %v", method, err)
	}
	return resp.StatusCode, out
}

func TestGetMe(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	if bot.Self.ID != 123456 || !bot.Self.IsBot || bot.Self.UserName != "bridge_test_bot" || bot.Self.FirstName == "" {
		t.Fatalf("Self = %+v", bot.Self)
	}
	if srv.Calls("getMe") != 1 {
		t.Fatalf("getMe calls = %d", srv.Calls("getMe"))
	}
}

func TestOptionsTokenAndUsername(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t, telegramtest.WithToken("777:other"), telegramtest.WithBotUsername("other_bot"))
	if bot.Self.ID != 777 || bot.Self.UserName != "other_bot" || srv.BotUser().ID != 777 {
		t.Fatalf("Self = %+v", bot.Self)
	}
}

func TestWrongTokenAndUnknownMethod(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	_, err := tgbotapi.NewBotAPIWithClient("1:wrong", srv.Endpoint(), srv.HTTPClient())
	apiError(t, err, 401, "Unauthorized")

	bot, err := tgbotapi.NewBotAPIWithClient(srv.Token(), srv.Endpoint(), srv.HTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	_, err = bot.MakeRequest("noSuchMethod", nil)
	apiError(t, err, 404, "Not Found")
	if _, err := bot.MakeRequest("GETME", nil); err != nil {
		t.Fatalf("method names are case-insensitive: %v", err)
	}
	// Every request counts, the unauthorized one too, whatever the spelling.
	if srv.Calls("getme") != 3 {
		t.Fatalf("getMe calls = %d, want 3", srv.Calls("getme"))
	}
}

func TestSendMessageWithKeyboardRoundTrips(t *testing.T) {
	t.Parallel()
	srv, bot := newBotWithAlice(t)

	msg := tgbotapi.NewMessage(alice.ID, "<b>Hello</b> &amp; welcome")
	msg.ParseMode = tgbotapi.ModeHTML
	msg.ReplyMarkup = keyboard(
		tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Yes", "vote:yes"), tgbotapi.NewInlineKeyboardButtonData("No", "vote:no")),
		tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonURL("Docs", "https://example.com/docs")),
	)
	sent, err := bot.Send(msg)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if sent.MessageID == 0 || sent.Chat == nil || sent.Chat.ID != alice.ID || sent.Chat.Type != "private" || sent.Chat.FirstName != "Alice" {
		t.Fatalf("sent = %+v chat %+v", sent, sent.Chat)
	}
	if sent.From == nil || !sent.From.IsBot || sent.Date == 0 {
		t.Fatalf("sent.From = %+v date %d", sent.From, sent.Date)
	}
	if sent.Text != "Hello & welcome" || len(sent.Entities) != 1 || sent.Entities[0].Type != "bold" || sent.Entities[0].Length != 5 {
		t.Fatalf("sent text %q entities %+v", sent.Text, sent.Entities)
	}
	if sent.ReplyMarkup == nil || len(sent.ReplyMarkup.InlineKeyboard) != 2 || *sent.ReplyMarkup.InlineKeyboard[0][1].CallbackData != "vote:no" {
		t.Fatalf("sent markup = %+v", sent.ReplyMarkup)
	}

	got := srv.WaitMessage(t, alice.ID, wait, func(m telegramtest.Message) bool { return m.MessageID == sent.MessageID })
	if got.Text != "<b>Hello</b> &amp; welcome" || got.PlainText != "Hello & welcome" || got.ParseMode != "HTML" {
		t.Fatalf("stored = %+v", got)
	}
	want := [][]telegramtest.Button{
		{{Text: "Yes", CallbackData: "vote:yes"}, {Text: "No", CallbackData: "vote:no"}},
		{{Text: "Docs", URL: "https://example.com/docs"}},
	}
	if fmt.Sprint(got.Buttons) != fmt.Sprint(want) {
		t.Fatalf("buttons = %v, want %v", got.Buttons, want)
	}
	if got.Params.Get("parse_mode") != "HTML" || got.Params.Has("entities") {
		t.Fatalf("params = %v (entities=null must be dropped)", got.Params)
	}
}

func TestChatMustBeKnown(t *testing.T) {
	t.Parallel()
	_, bot := newBot(t)
	_, err := bot.Send(tgbotapi.NewMessage(42, "hi"))
	apiError(t, err, 400, "Bad Request: chat not found")
}

func TestHTMLValidation(t *testing.T) {
	t.Parallel()
	srv, bot := newBotWithAlice(t)
	for _, tc := range []struct{ text, desc string }{
		{"a <foo>b</foo>", `Bad Request: can't parse entities: Unsupported start tag "foo" at byte offset 2`},
		{"<b>bold", `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{"<b>x</i>", `Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`},
		{"x</b>", `Bad Request: can't parse entities: Unexpected end tag at byte offset 1`},
		{"1 < 2", `Bad Request: can't parse entities: Unsupported start tag "" at byte offset 2`},
		{"<b", `Bad Request: can't parse entities: Unclosed start tag at byte offset 0`},
		{`<span class="x">s</span>`, `Bad Request: can't parse entities: Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{"<br/>", `Bad Request: can't parse entities: Unsupported start tag "br/" at byte offset 0`},
		{"<b></b>", "Bad Request: message text is empty"},
	} {
		msg := tgbotapi.NewMessage(alice.ID, tc.text)
		msg.ParseMode = tgbotapi.ModeHTML
		_, err := bot.Send(msg)
		apiError(t, err, 400, tc.desc)
	}
	if n := srv.MessageCount(alice.ID); n != 0 {
		t.Fatalf("rejected messages were stored: %d", n)
	}

	msg := tgbotapi.NewMessage(alice.ID, `<i>x</i> 1 &gt; 0 &lt;tag&gt; &#128512; &quot;q&quot; <a href="https://e.com">link</a> <tg-spoiler>s</tg-spoiler> <pre><code class="language-go">go</code></pre> &nbsp;`)
	msg.ParseMode = tgbotapi.ModeHTML
	sent, err := bot.Send(msg)
	if err != nil {
		t.Fatalf("valid HTML rejected: %v", err)
	}
	const plain = `x 1 > 0 <tag> 😀 "q" link s go &nbsp;`
	if sent.Text != plain {
		t.Fatalf("text = %q, want %q", sent.Text, plain)
	}
	m, _ := srv.Message(alice.ID, sent.MessageID)
	types := map[string]telegramtest.Entity{}
	for _, e := range m.Entities {
		types[e.Type] = e
	}
	if types["text_link"].URL != "https://e.com" || types["pre"].Language != "go" || types["spoiler"].Length != 1 {
		t.Fatalf("entities = %+v", m.Entities)
	}
	// The emoji counts 2 UTF-16 units, so "link" starts at 21.
	if types["text_link"].Offset != 21 {
		t.Fatalf("text_link offset = %d, want 21", types["text_link"].Offset)
	}
}

func TestTextLimits(t *testing.T) {
	t.Parallel()
	_, bot := newBotWithAlice(t)
	for _, text := range []string{"", "  \n\t "} {
		_, err := bot.Send(tgbotapi.NewMessage(alice.ID, text))
		apiError(t, err, 400, "Bad Request: message text is empty")
	}
	// 2048 emoji are 4096 UTF-16 units: the limit exactly.
	if _, err := bot.Send(tgbotapi.NewMessage(alice.ID, strings.Repeat("😀", 2048))); err != nil {
		t.Fatalf("4096 units rejected: %v", err)
	}
	_, err := bot.Send(tgbotapi.NewMessage(alice.ID, strings.Repeat("😀", 2048)+"x"))
	apiError(t, err, 400, "Bad Request: message is too long")
	// Markup does not count, only what is displayed.
	msg := tgbotapi.NewMessage(alice.ID, "<b>"+strings.Repeat("a", 4096)+"</b>")
	msg.ParseMode = tgbotapi.ModeHTML
	if _, err := bot.Send(msg); err != nil {
		t.Fatalf("markup counted against the limit: %v", err)
	}
}

func TestKeyboardValidation(t *testing.T) {
	t.Parallel()
	srv, bot := newBotWithAlice(t)
	send := func(kb any) error {
		msg := tgbotapi.NewMessage(alice.ID, "pick")
		msg.ReplyMarkup = kb
		_, err := bot.Send(msg)
		return err
	}
	long := strings.Repeat("x", 65)
	apiError(t, send(keyboard(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("A", long)))), 400, "Bad Request: BUTTON_DATA_INVALID")
	if err := send(keyboard(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("A", long[:64])))); err != nil {
		t.Fatalf("64-byte callback_data rejected: %v", err)
	}
	apiError(t, send(keyboard(tgbotapi.NewInlineKeyboardRow(tgbotapi.InlineKeyboardButton{Text: "bare"}))), 400,
		"Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
	data, link := "d", "https://e.com"
	apiError(t, send(keyboard(tgbotapi.NewInlineKeyboardRow(tgbotapi.InlineKeyboardButton{Text: "two", CallbackData: &data, URL: &link}))), 400,
		"Bad Request: can't parse inline keyboard button: exactly one of the optional fields must be used")
	// Reply keyboards are accepted and not echoed as inline keyboards.
	if err := send(tgbotapi.NewReplyKeyboard(tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButton("menu")))); err != nil {
		t.Fatalf("reply keyboard rejected: %v", err)
	}
	last := srv.Messages(alice.ID)[srv.MessageCount(alice.ID)-1]
	if last.Buttons != nil || !strings.Contains(last.Markup, `"keyboard"`) {
		t.Fatalf("reply keyboard stored as %+v", last)
	}

	_, err := bot.MakeRequest("sendMessage", tgbotapi.Params{"chat_id": fmt.Sprint(alice.ID), "text": "x", "reply_markup": "{not json"})
	apiError(t, err, 400, "Bad Request: can't parse reply keyboard markup JSON object")
}

func TestBlockedAndDeactivated(t *testing.T) {
	t.Parallel()
	srv, bot := newBotWithAlice(t)
	srv.AddChat(bob)
	srv.BlockChat(alice.ID)
	srv.DeactivateChat(bob.ID)
	_, err := bot.Send(tgbotapi.NewMessage(alice.ID, "hi"))
	apiError(t, err, 403, "Forbidden: bot was blocked by the user")
	_, err = bot.Send(tgbotapi.NewMessage(bob.ID, "hi"))
	apiError(t, err, 403, "Forbidden: user is deactivated")
	_, err = bot.Request(tgbotapi.NewChatAction(alice.ID, tgbotapi.ChatTyping))
	apiError(t, err, 403, "Forbidden: bot was blocked by the user")
	srv.UnblockChat(alice.ID)
	if _, err := bot.Send(tgbotapi.NewMessage(alice.ID, "hi")); err != nil {
		t.Fatalf("after unblock: %v", err)
	}
}

func TestEditMessage(t *testing.T) {
	t.Parallel()
	srv, bot := newBotWithAlice(t)
	kb := keyboard(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Go", "go")))
	msg := tgbotapi.NewMessage(alice.ID, "v1")
	msg.ReplyMarkup = kb
	sent, err := bot.Send(msg)
	if err != nil {
		t.Fatal(err)
	}

	_, err = bot.Send(tgbotapi.NewEditMessageTextAndMarkup(alice.ID, sent.MessageID, "v1", kb))
	apiError(t, err, 400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	// Same displayed text written differently is still "not modified".
	edit := tgbotapi.NewEditMessageTextAndMarkup(alice.ID, sent.MessageID, "<b>v1</b>", kb)
	edit.ParseMode = tgbotapi.ModeHTML
	if _, err := bot.Send(edit); err != nil {
		t.Fatalf("adding bold is a modification: %v", err)
	}

	edited, err := bot.Send(tgbotapi.NewEditMessageTextAndMarkup(alice.ID, sent.MessageID, "v2", kb))
	if err != nil || edited.Text != "v2" || edited.EditDate == 0 {
		t.Fatalf("edit: %v %+v", err, edited)
	}
	got := srv.WaitMessage(t, alice.ID, wait, func(m telegramtest.Message) bool { return m.Text == "v2" })
	if !got.Edited || got.EditCount != 2 || got.Buttons == nil {
		t.Fatalf("after edit: %+v", got)
	}

	// Without reply_markup the keyboard goes, as on Telegram.
	if _, err := bot.Send(tgbotapi.NewEditMessageText(alice.ID, sent.MessageID, "v2")); err != nil {
		t.Fatalf("removing the keyboard is a modification: %v", err)
	}
	if m, _ := srv.Message(alice.ID, sent.MessageID); m.Buttons != nil {
		t.Fatalf("keyboard kept: %+v", m.Buttons)
	}
	_, err = bot.Send(tgbotapi.NewEditMessageReplyMarkup(alice.ID, sent.MessageID, kb))
	if err != nil {
		t.Fatalf("editMessageReplyMarkup: %v", err)
	}

	_, err = bot.Send(tgbotapi.NewEditMessageText(alice.ID, 999, "x"))
	apiError(t, err, 400, "Bad Request: message to edit not found")

	if _, err := bot.Request(tgbotapi.NewDeleteMessage(alice.ID, sent.MessageID)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = bot.Request(tgbotapi.NewDeleteMessage(alice.ID, sent.MessageID))
	apiError(t, err, 400, "Bad Request: message to delete not found")
	_, err = bot.Send(tgbotapi.NewEditMessageText(alice.ID, sent.MessageID, "v3"))
	apiError(t, err, 400, "Bad Request: message to edit not found")
	if msgs := srv.Messages(alice.ID); len(msgs) != 1 || !msgs[0].Deleted {
		t.Fatalf("deleted message should stay in history: %+v", msgs)
	}
}

func TestMemberCannotBeEditedByBot(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	srv.SendText(alice, "mine")
	_, err := bot.Send(tgbotapi.NewEditMessageText(alice.ID, 1, "x"))
	apiError(t, err, 400, "Bad Request: message can't be edited")
}

func TestLongPollWakesOnSendText(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	type result struct {
		updates []tgbotapi.Update
		err     error
		took    time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		u := tgbotapi.NewUpdate(0)
		u.Timeout = 30
		updates, err := bot.GetUpdates(u)
		done <- result{updates, err, time.Since(start)}
	}()
	srv.WaitFor(t, wait, srv.Polling)
	id := srv.SendText(alice, "😀 /start@bridge_test_bot now")

	r := <-done
	if r.err != nil || len(r.updates) != 1 {
		t.Fatalf("GetUpdates = %v, %v", r.updates, r.err)
	}
	if r.took > 20*time.Second {
		t.Fatalf("long poll did not wake: took %v", r.took)
	}
	u := r.updates[0]
	if u.UpdateID != id || u.Message == nil || u.Message.From.ID != alice.ID || u.Message.Chat.ID != alice.ID {
		t.Fatalf("update = %+v", u)
	}
	if u.Message.From.LanguageCode != "en" || u.Message.From.UserName != "alice" {
		t.Fatalf("from = %+v", u.Message.From)
	}
	ents := u.Message.Entities
	// The emoji is 2 UTF-16 units, then a space: the command starts at 3.
	if len(ents) != 1 || ents[0].Type != "bot_command" || ents[0].Offset != 3 || ents[0].Length != len("/start@bridge_test_bot") {
		t.Fatalf("entities = %+v", ents)
	}
}

func TestCommandEntityAtStart(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	srv.SendText(alice, "/help me")
	updates, err := bot.GetUpdates(tgbotapi.NewUpdate(0))
	if err != nil || len(updates) != 1 {
		t.Fatal(updates, err)
	}
	if m := updates[0].Message; !m.IsCommand() || m.Command() != "help" || m.CommandArguments() != "me" {
		t.Fatalf("command = %q args %q entities %+v", m.Command(), m.CommandArguments(), m.Entities)
	}
}

func TestOffsetConfirmation(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	first := srv.SendText(alice, "one")
	second := srv.SendText(alice, "two")
	third := srv.SendText(bob, "three")
	if second != first+1 || third != second+1 {
		t.Fatalf("ids %d %d %d not consecutive", first, second, third)
	}

	all, err := bot.GetUpdates(tgbotapi.NewUpdate(0))
	if err != nil || len(all) != 3 {
		t.Fatalf("GetUpdates(0) = %d updates, %v", len(all), err)
	}
	if srv.Pending() != 3 || srv.ConfirmedOffset() != 0 {
		t.Fatalf("without offset nothing is confirmed: pending %d offset %d", srv.Pending(), srv.ConfirmedOffset())
	}
	// Asking again without confirming redelivers.
	if again, _ := bot.GetUpdates(tgbotapi.NewUpdate(0)); len(again) != 3 {
		t.Fatalf("redelivery = %d updates", len(again))
	}

	rest, err := bot.GetUpdates(tgbotapi.NewUpdate(second))
	if err != nil || len(rest) != 2 || rest[0].UpdateID != second {
		t.Fatalf("GetUpdates(second) = %+v, %v", rest, err)
	}
	if srv.Pending() != 2 || srv.ConfirmedOffset() != second {
		t.Fatalf("pending %d offset %d", srv.Pending(), srv.ConfirmedOffset())
	}

	cfg := tgbotapi.NewUpdate(third + 1)
	cfg.Limit = 1
	none, err := bot.GetUpdates(cfg)
	if err != nil || len(none) != 0 || srv.Pending() != 0 {
		t.Fatalf("after confirming all: %v %v pending %d", none, err, srv.Pending())
	}

	srv.SendText(alice, "a")
	srv.SendText(alice, "b")
	cfg = tgbotapi.NewUpdate(0)
	cfg.Limit = 1
	if one, _ := bot.GetUpdates(cfg); len(one) != 1 || one[0].Message.Text != "a" {
		t.Fatalf("limit 1 = %+v", one)
	}
}

func TestLongPollTimeoutReturnsEmpty(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	u := tgbotapi.NewUpdate(0)
	u.Timeout = 1
	updates, err := bot.GetUpdates(u)
	if err != nil || len(updates) != 0 {
		t.Fatalf("GetUpdates = %v, %v", updates, err)
	}
	if srv.Polling() {
		t.Fatal("poll still registered after timeout")
	}
}

func TestLongPollStopsWhenClientDisconnects(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+"/bot"+srv.Token()+"/getUpdates?timeout=50", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := srv.HTTPClient().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	srv.WaitFor(t, wait, srv.Polling)
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("request should fail once cancelled")
	}
	srv.WaitFor(t, wait, func() bool { return !srv.Polling() })
	if reqs := srv.Requests(); reqs[len(reqs)-1].Status != 0 {
		t.Fatalf("abandoned poll answered with %d", reqs[len(reqs)-1].Status)
	}
}

func TestSecondPollSupersedesFirst(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	errc := make(chan error, 1)
	go func() {
		u := tgbotapi.NewUpdate(0)
		u.Timeout = 30
		_, err := bot.GetUpdates(u)
		errc <- err
	}()
	srv.WaitFor(t, wait, srv.Polling)
	if _, err := bot.GetUpdates(tgbotapi.NewUpdate(0)); err != nil {
		t.Fatalf("second poll: %v", err)
	}
	apiError(t, <-errc, 409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
}

func TestCallbackQuery(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Unix(1_700_000_000, 0))
	srv, bot := newBot(t, telegramtest.WithClock(clock.Now))

	srv.SendText(alice, "/start")
	msg := tgbotapi.NewMessage(alice.ID, "Choose")
	msg.ReplyMarkup = keyboard(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("A", "pick:a")))
	sent, err := bot.Send(msg)
	if err != nil {
		t.Fatal(err)
	}
	id := srv.PressButton(alice, sent.MessageID, "pick:a")

	updates, err := bot.GetUpdates(tgbotapi.NewUpdate(0))
	if err != nil || len(updates) != 2 {
		t.Fatalf("updates = %d, %v", len(updates), err)
	}
	cq := updates[1].CallbackQuery
	if cq == nil || cq.ID != id || cq.Data != "pick:a" || cq.From.ID != alice.ID || cq.ChatInstance == "" {
		t.Fatalf("callback = %+v", cq)
	}
	if cq.Message == nil || cq.Message.MessageID != sent.MessageID || cq.Message.Text != "Choose" ||
		cq.Message.ReplyMarkup == nil || *cq.Message.ReplyMarkup.InlineKeyboard[0][0].CallbackData != "pick:a" {
		t.Fatalf("callback message = %+v", cq.Message)
	}
	if updates[1].FromChat().ID != alice.ID {
		t.Fatal("FromChat")
	}

	_, err = bot.Request(tgbotapi.NewCallback(id, strings.Repeat("x", 201)))
	apiError(t, err, 400, "Bad Request: MESSAGE_TOO_LONG")
	if _, err := bot.Request(tgbotapi.NewCallbackWithAlert(id, "Picked A")); err != nil {
		t.Fatalf("answer: %v", err)
	}
	if ans := srv.WaitCallbackAnswer(t, id, wait); ans.Text != "Picked A" || !ans.ShowAlert {
		t.Fatalf("answer = %+v", ans)
	}
	const tooOld = "Bad Request: query is too old and response timeout expired or query ID is invalid"
	_, err = bot.Request(tgbotapi.NewCallback(id, "again"))
	apiError(t, err, 400, tooOld)
	_, err = bot.Request(tgbotapi.NewCallback("nope", ""))
	apiError(t, err, 400, tooOld)

	late := srv.PressButton(alice, sent.MessageID, "pick:a")
	clock.Advance(16 * time.Second)
	_, err = bot.Request(tgbotapi.NewCallback(late, ""))
	apiError(t, err, 400, tooOld)
	if _, ok := srv.CallbackAnswer(late); ok {
		t.Fatal("expired answer recorded")
	}
}

func TestInlineCallbackHasNoMessage(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	id := srv.PressButtonInline(alice, "inline:1")
	updates, err := bot.GetUpdates(tgbotapi.NewUpdate(0))
	if err != nil || len(updates) != 1 {
		t.Fatal(updates, err)
	}
	cq := updates[0].CallbackQuery
	if cq.ID != id || cq.Message != nil || cq.InlineMessageID == "" || cq.Data != "inline:1" {
		t.Fatalf("callback = %+v", cq)
	}
	edit := tgbotapi.EditMessageTextConfig{BaseEdit: tgbotapi.BaseEdit{InlineMessageID: cq.InlineMessageID}, Text: "done"}
	if _, err := bot.Request(edit); err != nil {
		t.Fatalf("inline edit: %v", err)
	}
}

func TestSetMyCommands(t *testing.T) {
	t.Parallel()
	srv, bot := newBotWithAlice(t)
	cmds := []tgbotapi.BotCommand{{Command: "start", Description: "Start"}, {Command: "help_me", Description: "Помощь"}}
	cfg := tgbotapi.NewSetMyCommandsWithScopeAndLanguage(tgbotapi.NewBotCommandScopeChat(alice.ID), "ru", cmds...)
	if _, err := bot.Request(cfg); err != nil {
		t.Fatalf("setMyCommands: %v", err)
	}
	got := srv.Commands(fmt.Sprintf("chat:%d", alice.ID), "ru")
	if len(got) != 2 || got[1].Command != "help_me" || got[1].Description != "Помощь" {
		t.Fatalf("Commands = %+v", got)
	}
	if srv.Commands("default", "") != nil || srv.Commands(fmt.Sprintf("chat:%d", alice.ID), "") != nil {
		t.Fatal("commands leaked into other scopes")
	}
	back, err := bot.GetMyCommandsWithConfig(tgbotapi.GetMyCommandsConfig{Scope: &tgbotapi.BotCommandScope{Type: "chat", ChatID: alice.ID}, LanguageCode: "ru"})
	if err != nil || len(back) != 2 {
		t.Fatalf("getMyCommands = %+v, %v", back, err)
	}
	if def, err := bot.GetMyCommands(); err != nil || len(def) != 0 {
		t.Fatalf("default getMyCommands = %+v, %v", def, err)
	}

	if _, err := bot.Request(tgbotapi.NewSetMyCommands(tgbotapi.BotCommand{Command: "menu", Description: "Menu"})); err != nil {
		t.Fatal(err)
	}
	if got := srv.Commands("default", ""); len(got) != 1 {
		t.Fatalf("default = %+v", got)
	}
	if _, err := bot.Request(tgbotapi.NewDeleteMyCommands()); err != nil {
		t.Fatal(err)
	}
	if got := srv.Commands("default", ""); got != nil {
		t.Fatalf("after delete = %+v", got)
	}

	for _, tc := range []struct {
		cmd  tgbotapi.BotCommand
		desc string
	}{
		{tgbotapi.BotCommand{Command: "Start", Description: "x"}, "Bad Request: BOT_COMMAND_INVALID"},
		{tgbotapi.BotCommand{Command: "/start", Description: "x"}, "Bad Request: BOT_COMMAND_INVALID"},
		{tgbotapi.BotCommand{Command: strings.Repeat("a", 33), Description: "x"}, "Bad Request: BOT_COMMAND_INVALID"},
		{tgbotapi.BotCommand{Command: "ok", Description: ""}, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"},
		{tgbotapi.BotCommand{Command: "ok", Description: strings.Repeat("d", 257)}, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"},
	} {
		_, err := bot.Request(tgbotapi.NewSetMyCommands(tc.cmd))
		apiError(t, err, 400, tc.desc)
	}
	_, err = bot.Request(tgbotapi.NewSetMyCommandsWithScope(tgbotapi.NewBotCommandScopeChat(-999), cmds...))
	apiError(t, err, 400, "Bad Request: chat not found")
}

func TestPerChatRateLimit(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(time.Unix(1_700_000_000, 0))
	srv, bot := newBot(t, telegramtest.WithRateLimit(0, 1), telegramtest.WithClock(clock.Now))
	srv.AddChat(alice)
	srv.AddChat(bob)

	if _, err := bot.Send(tgbotapi.NewMessage(alice.ID, "1")); err != nil {
		t.Fatal(err)
	}
	_, err := bot.Send(tgbotapi.NewMessage(alice.ID, "2"))
	e := apiError(t, err, 429, "Too Many Requests: retry after 1")
	if e.RetryAfter != 1 {
		t.Fatalf("RetryAfter = %d", e.RetryAfter)
	}
	if _, err := bot.Send(tgbotapi.NewMessage(bob.ID, "other chat")); err != nil {
		t.Fatalf("limit is per chat: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := bot.Send(tgbotapi.NewMessage(alice.ID, "2")); err != nil {
		t.Fatalf("after a second: %v", err)
	}
	if srv.RateLimited() != 1 || srv.Accepted(alice.ID) != 2 || srv.MaxPerSecondForChat(alice.ID) != 1 || srv.MaxPerSecond() != 2 {
		t.Fatalf("limited %d accepted %d max/chat %d max %d", srv.RateLimited(), srv.Accepted(alice.ID), srv.MaxPerSecondForChat(alice.ID), srv.MaxPerSecond())
	}
	if n := srv.MessageCount(alice.ID); n != 2 {
		t.Fatalf("stored %d messages, the 429 one must not be stored", n)
	}
}

func TestGlobalAndPaidRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	srv, bot := newBot(t, telegramtest.WithRateLimit(3, 0), telegramtest.WithPaidLimit(5),
		telegramtest.WithClock(func() time.Time { return now }))
	for i := range int64(10) {
		srv.AddChat(telegramtest.User{ID: 2000 + i})
	}
	for i := range int64(3) {
		if _, err := bot.Send(tgbotapi.NewMessage(2000+i, "hi")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := bot.Send(tgbotapi.NewMessage(2003, "hi"))
	if e := apiError(t, err, 429, "Too Many Requests: retry after 1"); e.RetryAfter != 1 {
		t.Fatalf("RetryAfter = %d", e.RetryAfter)
	}
	paid := func(chat int64) error {
		_, err := bot.MakeRequest("sendMessage", tgbotapi.Params{"chat_id": fmt.Sprint(chat), "text": "paid", "allow_paid_broadcast": "true"})
		return err
	}
	for i := range int64(2) {
		if err := paid(2003 + i); err != nil {
			t.Fatalf("paid broadcast within paid limit: %v", err)
		}
	}
	apiError(t, paid(2005), 429, "Too Many Requests: retry after 1")
	if srv.MaxPerSecond() != 5 || srv.AcceptedTotal() != 5 || srv.RateLimited() != 2 {
		t.Fatalf("max %d accepted %d limited %d", srv.MaxPerSecond(), srv.AcceptedTotal(), srv.RateLimited())
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	srv, bot := newBotWithAlice(t)
	srv.FailNext("sendMessage", 2, 429, "Too Many Requests: retry after 7", 7)
	for range 2 {
		_, err := bot.Send(tgbotapi.NewMessage(alice.ID, "x"))
		if e := apiError(t, err, 429, "Too Many Requests: retry after 7"); e.RetryAfter != 7 {
			t.Fatalf("RetryAfter = %d", e.RetryAfter)
		}
	}
	if _, err := bot.Send(tgbotapi.NewMessage(alice.ID, "x")); err != nil {
		t.Fatalf("third call: %v", err)
	}
	if srv.RateLimited() != 2 || srv.MessageCount(alice.ID) != 1 {
		t.Fatalf("limited %d stored %d", srv.RateLimited(), srv.MessageCount(alice.ID))
	}
	srv.FailNext("GETUPDATES", 1, 500, "Internal Server Error", 0)
	_, err := bot.GetUpdates(tgbotapi.NewUpdate(0))
	apiError(t, err, 500, "Internal Server Error")
	reqs := srv.Requests()
	if last := reqs[len(reqs)-1]; last.Method != "getUpdates" || last.Status != 500 {
		t.Fatalf("last request = %+v", last)
	}
}

func TestDownModeAndDroppedConnections(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	srv.SetDown(true)
	_, err := bot.GetMe()
	var tgErr *tgbotapi.Error
	if err == nil || errors.As(err, &tgErr) {
		t.Fatalf("down: err = %v, want a decode error", err)
	}
	resp, err := srv.HTTPClient().Get(srv.URL() + "/bot" + srv.Token() + "/getMe")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "502 Bad Gateway") {
		t.Fatalf("down answer = %d %q", resp.StatusCode, body)
	}
	srv.SetDown(false)
	if _, err := bot.GetMe(); err != nil {
		t.Fatalf("back up: %v", err)
	}

	srv.DropNext("getMe", 1)
	if _, err := bot.GetMe(); err == nil || errors.As(err, &tgErr) {
		t.Fatalf("dropped: err = %v", err)
	}
	if _, err := bot.GetMe(); err != nil {
		t.Fatalf("after drop: %v", err)
	}
}

func TestMediaUploadGetFileAndDownload(t *testing.T) {
	t.Parallel()
	srv, bot := newBotWithAlice(t)
	data := []byte("%PDF-1.4 fake report")
	doc := tgbotapi.NewDocument(alice.ID, tgbotapi.FileBytes{Name: "report.pdf", Bytes: data})
	doc.Caption = "<i>Monthly</i> report"
	doc.ParseMode = tgbotapi.ModeHTML
	sent, err := bot.Send(doc)
	if err != nil {
		t.Fatalf("sendDocument: %v", err)
	}
	if sent.Document == nil || sent.Document.FileName != "report.pdf" || sent.Caption != "Monthly report" || sent.Document.MimeType != "application/pdf" {
		t.Fatalf("sent = %+v doc %+v", sent, sent.Document)
	}
	m := srv.WaitMessage(t, alice.ID, wait, func(m telegramtest.Message) bool { return m.Media == "document" })
	if m.FileName != "report.pdf" || !bytes.Equal(m.FileData, data) || m.Caption != "<i>Monthly</i> report" || m.PlainText != "Monthly report" {
		t.Fatalf("stored = %+v", m)
	}

	f, err := bot.GetFile(tgbotapi.FileConfig{FileID: sent.Document.FileID})
	if err != nil || f.FilePath == "" || f.FileSize != len(data) {
		t.Fatalf("getFile = %+v, %v", f, err)
	}
	if got := download(t, srv, f.FilePath); !bytes.Equal(got, data) {
		t.Fatalf("download = %q", got)
	}

	// Resending by file_id reuses the file.
	again, err := bot.Send(tgbotapi.NewPhoto(bob.ID, tgbotapi.FileID(sent.Document.FileID)))
	apiError(t, err, 400, "Bad Request: chat not found")
	srv.AddChat(bob)
	if again, err = bot.Send(tgbotapi.NewDocument(bob.ID, tgbotapi.FileID(sent.Document.FileID))); err != nil || again.Document.FileID != sent.Document.FileID {
		t.Fatalf("resend by file_id: %+v, %v", again.Document, err)
	}
	_, err = bot.Send(tgbotapi.NewPhoto(bob.ID, tgbotapi.FileID("no-such-file")))
	apiError(t, err, 400, "Bad Request: wrong file identifier/HTTP URL specified")
	_, err = bot.GetFile(tgbotapi.FileConfig{FileID: "no-such-file"})
	apiError(t, err, 400, "Bad Request: invalid file_id")

	photo, err := bot.Send(tgbotapi.NewPhoto(alice.ID, tgbotapi.FileBytes{Name: "cat.png", Bytes: []byte("png")}))
	if err != nil || len(photo.Photo) == 0 {
		t.Fatalf("sendPhoto: %+v, %v", photo, err)
	}
	voice, err := bot.Send(tgbotapi.NewVoice(alice.ID, tgbotapi.FileBytes{Name: "note.ogg", Bytes: []byte("ogg")}))
	if err != nil || voice.Voice == nil {
		t.Fatalf("sendVoice: %+v, %v", voice, err)
	}
}

func TestRateLimitedUploadHasCodeZeroInClient(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	srv, bot := newBot(t, telegramtest.WithRateLimit(0, 1), telegramtest.WithClock(func() time.Time { return now }))
	srv.AddChat(alice)
	upload := func() error {
		_, err := bot.Send(tgbotapi.NewDocument(alice.ID, tgbotapi.FileBytes{Name: "a.txt", Bytes: []byte("a")}))
		return err
	}
	if err := upload(); err != nil {
		t.Fatal(err)
	}
	// The server answers 429 with error_code, but tgbotapi's UploadFiles
	// drops the code: only the message and parameters survive.
	if e := apiError(t, upload(), 0, "Too Many Requests: retry after 1"); e.RetryAfter != 1 {
		t.Fatalf("RetryAfter = %d", e.RetryAfter)
	}
	if files := srv.Files(); len(files) != 1 {
		t.Fatalf("refused upload stored: %+v", files)
	}
	if reqs := srv.Requests(); reqs[len(reqs)-1].Status != 429 || reqs[len(reqs)-1].Files["document"] != "a.txt" {
		t.Fatalf("last request = %+v", reqs[len(reqs)-1])
	}
}

func download(t *testing.T, srv *telegramtest.Server, filePath string) []byte {
	t.Helper()
	resp, err := srv.HTTPClient().Get(srv.FileURL(filePath))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download %s: %s", filePath, resp.Status)
	}
	b, _ := io.ReadAll(resp.Body)
	return b
}

func TestMemberMedia(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	srv.SendDocument(alice, "notes.txt", "text/plain", []byte("hello file"))
	srv.SendPhoto(alice, "look")
	srv.SendVoice(alice, 7)
	srv.SendSticker(alice, "👍")
	updates, err := bot.GetUpdates(tgbotapi.NewUpdate(0))
	if err != nil || len(updates) != 4 {
		t.Fatalf("updates = %d, %v", len(updates), err)
	}
	doc, photo, voice, sticker := updates[0].Message, updates[1].Message, updates[2].Message, updates[3].Message
	if doc.Document == nil || doc.Document.FileName != "notes.txt" || doc.Document.MimeType != "text/plain" {
		t.Fatalf("document = %+v", doc.Document)
	}
	if len(photo.Photo) == 0 || photo.Caption != "look" {
		t.Fatalf("photo = %+v", photo)
	}
	if voice.Voice == nil || voice.Voice.Duration != 7 {
		t.Fatalf("voice = %+v", voice.Voice)
	}
	if sticker.Sticker == nil || sticker.Sticker.Emoji != "👍" {
		t.Fatalf("sticker = %+v", sticker.Sticker)
	}
	for _, id := range []string{doc.Document.FileID, photo.Photo[0].FileID, voice.Voice.FileID, sticker.Sticker.FileID} {
		f, err := bot.GetFile(tgbotapi.FileConfig{FileID: id})
		if err != nil {
			t.Fatalf("getFile %s: %v", id, err)
		}
		if len(download(t, srv, f.FilePath)) == 0 {
			t.Fatalf("empty download for %s", id)
		}
	}
	if got := download(t, srv, mustFile(t, bot, doc.Document.FileID)); string(got) != "hello file" {
		t.Fatalf("document bytes = %q", got)
	}
	if f, _ := srv.FileByID(doc.Document.FileID); f.Downloads != 2 || f.FromBot {
		t.Fatalf("file = %+v", f)
	}
}

func mustFile(t *testing.T, bot *tgbotapi.BotAPI, id string) string {
	t.Helper()
	f, err := bot.GetFile(tgbotapi.FileConfig{FileID: id})
	if err != nil {
		t.Fatal(err)
	}
	return f.FilePath
}

func TestEditedGroupAndMemberStatusUpdates(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	srv.SendText(alice, "helo")
	srv.EditText(alice, 1, "hello")
	srv.SendGroupText(-5001, bob, "hi all")
	srv.SetMemberStatus(alice, "kicked")

	updates, err := bot.GetUpdates(tgbotapi.NewUpdate(0))
	if err != nil || len(updates) != 4 {
		t.Fatalf("updates = %d, %v", len(updates), err)
	}
	if e := updates[1].EditedMessage; e == nil || e.Text != "hello" || e.MessageID != 1 || e.EditDate == 0 {
		t.Fatalf("edited = %+v", e)
	}
	if g := updates[2].Message; g.Chat.ID != -5001 || g.Chat.Type != "group" || g.Chat.Title == "" || g.From.ID != bob.ID {
		t.Fatalf("group = %+v chat %+v", g, g.Chat)
	}
	mcm := updates[3].MyChatMember
	if mcm == nil || mcm.OldChatMember.Status != "member" || mcm.NewChatMember.Status != "kicked" || mcm.NewChatMember.User.ID != bot.Self.ID || mcm.From.ID != alice.ID {
		t.Fatalf("my_chat_member = %+v", mcm)
	}
	_, err = bot.Send(tgbotapi.NewMessage(alice.ID, "still there?"))
	apiError(t, err, 403, "Forbidden: bot was blocked by the user")

	srv.SetMemberStatus(alice, "member")
	if _, err := bot.Send(tgbotapi.NewMessage(alice.ID, "welcome back")); err != nil {
		t.Fatalf("after unblock: %v", err)
	}
	if _, err := bot.Send(tgbotapi.NewMessage(-5001, "group reply")); err != nil {
		t.Fatalf("group send: %v", err)
	}
}

func TestPushRawGarbage(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	good := srv.SendText(alice, "ok")
	bad := srv.PushRaw(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":"not a number"}}`, srv.NextUpdateID()))
	if bad != good+1 {
		t.Fatalf("raw id = %d, want %d", bad, good+1)
	}
	// One undecodable update fails the whole batch in tgbotapi.
	if _, err := bot.GetUpdates(tgbotapi.NewUpdate(0)); err == nil {
		t.Fatal("garbage decoded")
	}
	resp, err := bot.MakeRequest("getUpdates", nil)
	if err != nil {
		t.Fatalf("raw getUpdates: %v", err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(resp.Result, &items); err != nil || len(items) != 2 {
		t.Fatalf("raw result = %s", resp.Result)
	}
	// Skipping past it recovers.
	if updates, err := bot.GetUpdates(tgbotapi.NewUpdate(bad + 1)); err != nil || len(updates) != 0 {
		t.Fatalf("after skip: %v %v", updates, err)
	}
	if next := srv.SendText(alice, "after"); next != bad+1 {
		t.Fatalf("ids must stay monotonic: %d", next)
	}
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	resp, err := bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "https://bot.example.com/hook", "secret_token": "s3cr3t_-"})
	if err != nil || resp.Description != "Webhook was set" {
		t.Fatalf("setWebhook: %+v, %v", resp, err)
	}
	if w := srv.Webhook(); w.URL != "https://bot.example.com/hook" || w.SecretToken != "s3cr3t_-" {
		t.Fatalf("webhook = %+v", w)
	}
	srv.SendText(alice, "pending")
	info, err := bot.GetWebhookInfo()
	if err != nil || info.URL == "" || info.PendingUpdateCount != 1 {
		t.Fatalf("info = %+v, %v", info, err)
	}
	_, err = bot.GetUpdates(tgbotapi.NewUpdate(0))
	apiError(t, err, 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
	_, err = bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "https://bot.example.com/hook", "secret_token": "bad token!"})
	apiError(t, err, 400, "Bad Request: secret token contains unallowed characters")

	if _, err := bot.Request(tgbotapi.DeleteWebhookConfig{DropPendingUpdates: true}); err != nil {
		t.Fatal(err)
	}
	if srv.Webhook().URL != "" || srv.Pending() != 0 {
		t.Fatalf("after delete: %+v pending %d", srv.Webhook(), srv.Pending())
	}
}

func TestCopyMessageAndChatAction(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	srv.SendText(alice, "forward me")
	srv.AddChat(bob)
	id, err := bot.CopyMessage(tgbotapi.NewCopyMessage(bob.ID, alice.ID, 1))
	if err != nil || id.MessageID == 0 {
		t.Fatalf("copy: %+v, %v", id, err)
	}
	if m := srv.WaitMessage(t, bob.ID, wait, nil); m.PlainText != "forward me" || m.MessageID != id.MessageID {
		t.Fatalf("copy = %+v", m)
	}
	_, err = bot.CopyMessage(tgbotapi.NewCopyMessage(bob.ID, alice.ID, 99))
	apiError(t, err, 400, "Bad Request: message to copy not found")

	if _, err := bot.Request(tgbotapi.NewChatAction(bob.ID, tgbotapi.ChatTyping)); err != nil {
		t.Fatal(err)
	}
	_, err = bot.Request(tgbotapi.NewChatAction(bob.ID, "dancing"))
	apiError(t, err, 400, "Bad Request: wrong parameter action in request")
	if a := srv.ChatActions(bob.ID); len(a) != 1 || a[0] != "typing" {
		t.Fatalf("actions = %v", a)
	}
}

func TestWireFormats(t *testing.T) {
	t.Parallel()
	srv := telegramtest.New(t)
	srv.AddChat(alice)
	// JSON body with reply_markup as an object and a boolean.
	status, out := rawCall(t, srv, "sendMessage", "application/json",
		fmt.Sprintf(`{"chat_id":%d,"text":"json","disable_notification":true,"reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}}`, alice.ID))
	if status != 200 || out["ok"] != true {
		t.Fatalf("json body: %d %v", status, out)
	}
	result := out["result"].(map[string]any)
	if result["reply_markup"] == nil || result["chat"].(map[string]any)["type"] != "private" {
		t.Fatalf("result = %v", result)
	}
	// Query string on GET.
	resp, err := srv.HTTPClient().Get(srv.URL() + "/bot" + srv.Token() + "/sendMessage?" +
		url.Values{"chat_id": {fmt.Sprint(alice.ID)}, "text": {"query"}}.Encode())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	resp.Body.Close()
	// Errors carry error_code and the HTTP status; parameters only when relevant.
	status, out = rawCall(t, srv, "sendMessage", "application/x-www-form-urlencoded", "chat_id=1&text=x")
	if status != 400 || out["ok"] != false || out["error_code"] != float64(400) || out["description"] != "Bad Request: chat not found" || out["parameters"] != nil {
		t.Fatalf("error answer = %d %v", status, out)
	}
	if got := srv.Messages(alice.ID); len(got) != 2 || got[0].Buttons[0][0].CallbackData != "a" || got[1].Text != "query" {
		t.Fatalf("messages = %+v", got)
	}
}

func TestWaitMessageAfterSeesOnlyNewMessages(t *testing.T) {
	t.Parallel()
	srv, bot := newBotWithAlice(t)
	if _, err := bot.Send(tgbotapi.NewMessage(alice.ID, "old")); err != nil {
		t.Fatal(err)
	}
	n := srv.MessageCount(alice.ID)
	go func() {
		for _, text := range []string{"old", "new"} {
			_, _ = bot.Send(tgbotapi.NewMessage(alice.ID, text))
		}
	}()
	m := srv.WaitMessageAfter(t, alice.ID, n, wait, func(m telegramtest.Message) bool { return m.Text == "old" })
	if m.MessageID != 2 {
		t.Fatalf("matched message %d, want the new one (2)", m.MessageID)
	}
	srv.WaitMessageAfter(t, alice.ID, n, wait, func(m telegramtest.Message) bool { return m.Text == "new" })
}

// fatalRecorder captures Fatalf instead of failing the real test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitMessageTimeoutDumpsChat(t *testing.T) {
	t.Parallel()
	srv, bot := newBotWithAlice(t)
	if _, err := bot.Send(tgbotapi.NewMessage(alice.ID, "something else")); err != nil {
		t.Fatal(err)
	}
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.WaitMessage(rec, alice.ID, 50*time.Millisecond, func(m telegramtest.Message) bool { return m.Text == "never" })
	}()
	<-done
	if !strings.Contains(rec.msg, "no matching bot message") || !strings.Contains(rec.msg, `"something else"`) {
		t.Fatalf("failure message = %q", rec.msg)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t)
	const chats, perChat = 8, 5
	var wg sync.WaitGroup
	for c := range int64(chats) {
		u := telegramtest.User{ID: 3000 + c}
		srv.AddChat(u)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range perChat {
				if _, err := bot.Send(tgbotapi.NewMessage(u.ID, fmt.Sprint(i))); err != nil {
					t.Error(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range perChat {
				srv.SendText(u, "ping")
				_ = srv.Messages(u.ID)
			}
		}()
	}
	wg.Wait()
	if srv.AcceptedTotal() != chats*perChat || srv.Pending() != chats*perChat {
		t.Fatalf("accepted %d pending %d", srv.AcceptedTotal(), srv.Pending())
	}
	srv.WaitFor(t, wait, func() bool { return srv.Calls("sendMessage") == chats*perChat })
}

func TestWebhookURLRules(t *testing.T) {
	t.Parallel()
	_, bot := newBot(t)
	_, err := bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "http://bot.example.com/hook"})
	apiError(t, err, 400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
	_, err = bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "https://bot.example.com:8080/hook"})
	apiError(t, err, 400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
	if _, err := bot.MakeRequest("setWebhook", tgbotapi.Params{"url": "https://bot.example.com:8443/hook"}); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookDelivery(t *testing.T) {
	t.Parallel()
	srv, bot := newBot(t, telegramtest.WithWebhookRetry(time.Millisecond))

	type got struct {
		secret string
		update tgbotapi.Update
	}
	var mu sync.Mutex
	var received []got
	failFirst := map[int]bool{} // update ids answered 500 once
	hook := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/telegram/webhook" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("delivery: %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var u tgbotapi.Update
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			t.Errorf("delivery body: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		received = append(received, got{r.Header.Get(telegramtest.SecretHeader), u})
		if u.Message != nil && u.Message.Text == "fail once" && !failFirst[u.UpdateID] {
			failFirst[u.UpdateID] = true
			w.WriteHeader(http.StatusInternalServerError)
		}
	})

	// Pending before the webhook is routed: nothing is delivered.
	first := srv.SendText(alice, "fail once")
	if _, err := bot.MakeRequest("setWebhook", tgbotapi.Params{
		"url": "https://bot.example.com/telegram/webhook", "secret_token": "sekret", "max_connections": "5",
		"allowed_updates": `["message","callback_query"]`, "drop_pending_updates": "false",
	}); err != nil {
		t.Fatal(err)
	}
	info, err := bot.GetWebhookInfo()
	if err != nil || info.PendingUpdateCount != 1 || info.MaxConnections != 5 || len(info.AllowedUpdates) != 2 {
		t.Fatalf("info = %+v, %v", info, err)
	}
	srv.RouteWebhook(hook.URL)
	second := srv.SendText(alice, "after")
	other := srv.SendText(bob, "bob")
	srv.WaitAcknowledged(t, first, wait)
	srv.WaitAcknowledged(t, second, wait)
	srv.WaitAcknowledged(t, other, wait)

	mu.Lock()
	defer mu.Unlock()
	var aliceOrder []int
	for _, g := range received {
		if g.secret != "sekret" {
			t.Errorf("secret header = %q", g.secret)
		}
		if g.update.Message.Chat.ID == alice.ID {
			aliceOrder = append(aliceOrder, g.update.UpdateID)
		}
	}
	// The failed update is retried before the chat's next one is sent.
	if fmt.Sprint(aliceOrder) != fmt.Sprint([]int{first, first, second}) {
		t.Fatalf("alice's deliveries = %v, want %v", aliceOrder, []int{first, first, second})
	}
	if srv.Pending() != 0 {
		t.Fatalf("pending after acknowledgement: %d", srv.Pending())
	}
	var failed []telegramtest.Delivery
	for _, d := range srv.Deliveries() {
		if !d.OK() {
			failed = append(failed, d)
		}
	}
	if len(failed) != 1 || failed[0].UpdateID != first || failed[0].Status != 500 || failed[0].Attempt != 1 {
		t.Fatalf("failed deliveries = %+v", failed)
	}
	info, err = bot.GetWebhookInfo()
	if err != nil || info.LastErrorMessage != "Wrong response from the webhook: 500 Internal Server Error" || info.LastErrorDate == 0 {
		t.Fatalf("info = %+v, %v", info, err)
	}
}

func httptestServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
