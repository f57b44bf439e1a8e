package slacktest

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"bridgebot/internal/testkit"
)

const (
	staffChan = "C0STAFF"
	agent     = "U0AGENT"
)

func newFake(t *testing.T, opts ...Option) (*Server, *slack.Client) {
	t.Helper()
	srv := New(t, opts...)
	srv.AddChannel(staffChan, "staff-desk")
	srv.AddUser(agent, "Ada", "Ada Lovelace", "ada@example.com")
	api := slack.New(srv.BotToken(), slack.OptionAppLevelToken(srv.AppToken()), slack.OptionAPIURL(srv.APIURL()))
	return srv, api
}

func slackErrorCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

func questionBlocks(blockID string) []slack.Block {
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Question* from member", false, false), nil, nil, slack.SectionBlockOptionBlockID(blockID)),
		slack.NewActionBlock("actions-"+blockID,
			slack.NewButtonBlockElement("resolve", "q-42", slack.NewTextBlockObject(slack.PlainTextType, "Resolve", false, false)).WithStyle(slack.StylePrimary),
		),
	}
}

func TestAuthTest(t *testing.T) {
	srv, api := newFake(t, WithBotUserID("U0BOT"))
	res, err := api.AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	if res.UserID != "U0BOT" || res.BotID != DefaultBotID || res.TeamID != DefaultTeamID || res.URL == "" {
		t.Errorf("auth.test = %+v", res)
	}
	_, err = slack.New("xoxb-wrong", slack.OptionAPIURL(srv.APIURL())).AuthTest()
	if slackErrorCode(err) != "invalid_auth" {
		t.Errorf("wrong token: %v", err)
	}
	_, err = slack.New("", slack.OptionAPIURL(srv.APIURL())).AuthTest()
	if slackErrorCode(err) != "not_authed" {
		t.Errorf("no token: %v", err)
	}
	_, err = slack.New(srv.AppToken(), slack.OptionAPIURL(srv.APIURL())).AuthTest()
	if slackErrorCode(err) != "not_allowed_token_type" {
		t.Errorf("app token: %v", err)
	}
	if srv.Calls("auth.test") != 4 {
		t.Errorf("calls = %d", srv.Calls("auth.test"))
	}
	var sr slack.SlackResponse
	resp, err := http.Post(srv.APIURL()+"nope.nope", "application/x-www-form-urlencoded", strings.NewReader("token="+srv.BotToken()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&sr)
	if sr.Ok || sr.Error != "unknown_method" {
		t.Errorf("unknown method: %+v", sr)
	}
}

func TestPostMessageThreadAndUpdate(t *testing.T) {
	srv, api := newFake(t)
	ch, ts, err := api.PostMessage(staffChan, slack.MsgOptionText("Question from member", false), slack.MsgOptionBlocks(questionBlocks("q-42")...))
	if err != nil {
		t.Fatal(err)
	}
	if ch != staffChan || !strings.Contains(ts, ".") {
		t.Fatalf("post = %q %q", ch, ts)
	}
	_, rts, msg, err := api.PostMessageWithResponse(staffChan, slack.MsgOptionText("follow-up", false), slack.MsgOptionTS(ts))
	if err != nil {
		t.Fatal(err)
	}
	if msg.ThreadTimestamp != ts || msg.BotID != DefaultBotID || msg.User != DefaultBotUserID || rts <= ts {
		t.Errorf("reply message = %+v (ts %s)", msg.Msg, rts)
	}

	root, ok := srv.Message(staffChan, ts)
	if !ok || !root.FromBot || root.Text != "Question from member" || root.ThreadTS != ts {
		t.Fatalf("root = %+v", root)
	}
	if b, ok := root.Block("q-42"); !ok || b.Type != "section" || !strings.Contains(b.Text, "Question") {
		t.Errorf("block = %+v", root.BlockSet)
	}
	if e, b, ok := root.Action("resolve"); !ok || e.Value != "q-42" || e.Text != "Resolve" || b.BlockID != "actions-q-42" || e.Style != "primary" {
		t.Errorf("action = %+v in %+v", e, b)
	}
	th := srv.Thread(staffChan, ts)
	if len(th) != 2 || th[1].Text != "follow-up" || !th[1].IsReply() {
		t.Fatalf("thread = %v", th)
	}

	_, _, text, err := api.UpdateMessage(staffChan, ts, slack.MsgOptionText("Resolved question", false), slack.MsgOptionBlocks())
	if err != nil || text != "Resolved question" {
		t.Fatalf("update: %q %v", text, err)
	}
	root, _ = srv.Message(staffChan, ts)
	if root.Text != "Resolved question" || root.Blocks != nil || root.Updates != 1 {
		t.Errorf("updated root = %+v", root)
	}
	if _, _, _, err := api.UpdateMessage(staffChan, "1.000001", slack.MsgOptionText("x", false)); slackErrorCode(err) != "message_not_found" {
		t.Errorf("update unknown: %v", err)
	}
	if _, _, err := api.PostMessage("C0NOPE", slack.MsgOptionText("x", false)); slackErrorCode(err) != "channel_not_found" {
		t.Errorf("unknown channel: %v", err)
	}
	if _, _, err := api.PostMessage(staffChan); slackErrorCode(err) != "no_text" {
		t.Errorf("no text: %v", err)
	}
	bad := slack.NewActionBlock("", slack.NewButtonBlockElement("a", "v", slack.NewTextBlockObject(slack.MarkdownType, "*x*", false, false)))
	if _, _, err := api.PostMessage(staffChan, slack.MsgOptionBlocks(bad)); slackErrorCode(err) != "invalid_blocks" {
		t.Errorf("mrkdwn button: %v", err)
	}
	link, err := api.GetPermalink(&slack.PermalinkParameters{Channel: staffChan, Ts: rts})
	if err != nil || !strings.Contains(link, "/archives/"+staffChan+"/p") || !strings.Contains(link, "thread_ts="+ts) {
		t.Errorf("permalink %q %v", link, err)
	}
	replies, _, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: staffChan, Timestamp: ts})
	if err != nil || len(replies) != 2 || replies[0].ReplyCount != 1 {
		t.Errorf("replies = %d %v", len(replies), err)
	}
	info, err := api.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: staffChan})
	if err != nil || info.Name != "staff-desk" || !info.IsMember {
		t.Errorf("conversations.info = %+v %v", info, err)
	}
}

func TestReactionsUsersEphemeral(t *testing.T) {
	srv, api := newFake(t)
	_, ts, err := api.PostMessage(staffChan, slack.MsgOptionText("q", false))
	if err != nil {
		t.Fatal(err)
	}
	ref := slack.NewRefToMessage(staffChan, ts)
	if err := api.AddReaction("eyes", ref); err != nil {
		t.Fatal(err)
	}
	if err := api.AddReaction("eyes", ref); slackErrorCode(err) != "already_reacted" {
		t.Errorf("second add: %v", err)
	}
	if err := api.AddReaction("white_check_mark", ref); err != nil {
		t.Fatal(err)
	}
	if err := api.RemoveReaction("eyes", ref); err != nil {
		t.Fatal(err)
	}
	if m, _ := srv.Message(staffChan, ts); len(m.Reactions) != 1 || !m.HasReaction("white_check_mark") {
		t.Errorf("reactions = %v", m.Reactions)
	}

	u, err := api.GetUserInfo(agent)
	if err != nil {
		t.Fatal(err)
	}
	if u.Profile.FirstName != "Ada" || u.RealName != "Ada Lovelace" || u.Profile.Email != "ada@example.com" || u.Profile.DisplayName != "Ada" || u.Name != "ada" {
		t.Errorf("user = %+v", u)
	}
	if _, err := api.GetUserInfo("U0NOPE"); slackErrorCode(err) != "user_not_found" {
		t.Errorf("unknown user: %v", err)
	}
	if u, err := api.GetUserByEmail("ADA@example.com"); err != nil || u.ID != agent {
		t.Errorf("lookupByEmail: %v", err)
	}

	ets, err := api.PostEphemeral(staffChan, agent, slack.MsgOptionText("only you", false), slack.MsgOptionTS(ts))
	if err != nil || ets == "" {
		t.Fatalf("ephemeral: %q %v", ets, err)
	}
	eph := srv.Ephemerals(staffChan)
	if len(eph) != 1 || eph[0].User != agent || eph[0].Text != "only you" || eph[0].ThreadTS != ts {
		t.Errorf("ephemerals = %+v", eph)
	}
	if len(srv.BotMessages(staffChan)) != 1 {
		t.Errorf("ephemeral leaked into the channel")
	}
}

func TestUploadIntoThread(t *testing.T) {
	srv, api := newFake(t)
	_, ts, err := api.PostMessage(staffChan, slack.MsgOptionText("q", false))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("%PDF-1.4 fake invoice")
	f, err := api.UploadFileContext(context.Background(), slack.UploadFileParameters{
		Reader: bytes.NewReader(data), FileSize: len(data), Filename: "invoice.pdf", Title: "Invoice",
		Channel: staffChan, ThreadTimestamp: ts, InitialComment: "from the member",
	})
	if err != nil {
		t.Fatal(err)
	}
	ups := srv.Uploads()
	if len(ups) != 1 || ups[0].ID != f.ID || !bytes.Equal(ups[0].Data, data) || ups[0].ThreadTS != ts || ups[0].Title != "Invoice" || !ups[0].Completed {
		t.Fatalf("uploads = %+v", ups)
	}
	th := srv.Thread(staffChan, ts)
	if len(th) != 2 || len(th[1].Files) != 1 || th[1].Files[0].Name != "invoice.pdf" || th[1].Text != "from the member" {
		t.Fatalf("thread = %v", th)
	}
	info, _, _, err := api.GetFileInfo(f.ID, 0, 0)
	if err != nil || info.Name != "invoice.pdf" || info.Size != len(data) || info.Mimetype != "application/pdf" {
		t.Fatalf("files.info = %+v %v", info, err)
	}
	var buf bytes.Buffer
	if err := api.GetFile(info.URLPrivateDownload, &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("download: %v %q", err, buf.Bytes())
	}
}

func TestFaults(t *testing.T) {
	srv, api := newFake(t)
	srv.FailNext("chat.postMessage", 1, http.StatusTooManyRequests, 7)
	_, _, err := api.PostMessage(staffChan, slack.MsgOptionText("q", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Fatalf("want RateLimitedError 7s, got %v", err)
	}
	if len(srv.Messages(staffChan)) != 0 {
		t.Fatal("rate-limited post was stored")
	}
	if _, _, err := api.PostMessage(staffChan, slack.MsgOptionText("q", false)); err != nil {
		t.Fatal(err)
	}
	if srv.RateLimited() != 1 || srv.Calls("chat.postMessage") != 2 {
		t.Errorf("429s = %d, calls = %d", srv.RateLimited(), srv.Calls("chat.postMessage"))
	}

	srv.FailFor(AnyMethod, time.Minute, http.StatusTooManyRequests, 0)
	if err := api.AddReaction("eyes", slack.NewRefToMessage(staffChan, "1.1")); !errors.As(err, &rl) || rl.RetryAfter != 60*time.Second {
		t.Errorf("FailFor: %v", err)
	}
	srv.ClearFaults()

	srv.FailNext("users.info", 1, http.StatusInternalServerError, 0)
	var sce slack.StatusCodeError
	if _, err := api.GetUserInfo(agent); !errors.As(err, &sce) || sce.Code != 500 {
		t.Errorf("500: %v", err)
	}

	// The post is stored, but the answer is lost.
	srv.FailAfterNext("chat.postMessage", 1, http.StatusGatewayTimeout)
	before := len(srv.Messages(staffChan))
	if _, _, err := api.PostMessage(staffChan, slack.MsgOptionText("stored anyway", false)); !errors.As(err, &sce) || sce.Code != http.StatusGatewayTimeout {
		t.Errorf("FailAfterNext: %v", err)
	}
	if ms := srv.Messages(staffChan); len(ms) != before+1 || ms[len(ms)-1].Text != "stored anyway" {
		t.Errorf("FailAfterNext did not store the post: %v", ms)
	}

	srv.ErrorNext("chat.postMessage", 1, "not_in_channel")
	if _, _, err := api.PostMessage(staffChan, slack.MsgOptionText("q", false)); slackErrorCode(err) != "not_in_channel" {
		t.Errorf("ErrorNext: %v", err)
	}

	srv.SetDown(true)
	if _, err := api.AuthTest(); !errors.As(err, &sce) || sce.Code != http.StatusServiceUnavailable {
		t.Errorf("down: %v", err)
	}
	srv.SetDown(false)
	if _, err := api.AuthTest(); err != nil {
		t.Errorf("back up: %v", err)
	}
	reqs := srv.Requests()
	if len(reqs) == 0 || reqs[len(reqs)-2].Status != http.StatusServiceUnavailable {
		t.Errorf("requests log: %+v", reqs[len(reqs)-2])
	}
}

func TestSignatures(t *testing.T) {
	const secret = "s3cr3t"
	body := []byte(`{"type":"event_callback"}`)
	verify := func(h http.Header, body []byte, secret string) error {
		sv, err := slack.NewSecretsVerifier(h, secret)
		if err != nil {
			return err
		}
		_, _ = sv.Write(body)
		return sv.Ensure()
	}
	if err := verify(Signer{Secret: secret}.Sign(body, time.Now()), body, secret); err != nil {
		t.Errorf("valid signature rejected: %v", err)
	}
	if err := verify(Signer{Secret: "other"}.Sign(body, time.Now()), body, secret); err == nil {
		t.Error("wrong secret accepted")
	}
	if err := verify(Signer{Secret: secret}.Sign(body, time.Now().Add(-10*time.Minute)), body, secret); err == nil {
		t.Error("stale timestamp accepted")
	}

	var mu sync.Mutex
	var got []string
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := verify(r.Header, b, secret); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		got = append(got, r.Header.Get("Content-Type")+" "+r.Header.Get("X-Slack-Retry-Num"))
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	defer bot.Close()
	if resp := PostSigned(t, bot.URL, body, secret); resp.StatusCode != 200 || BodyString(resp) != "ok" {
		t.Errorf("signed JSON: %d", resp.StatusCode)
	}
	if resp := PostSigned(t, bot.URL, url.Values{"payload": {"{}"}}, secret); resp.StatusCode != 200 {
		t.Errorf("signed form: %d", resp.StatusCode)
	}
	if resp := PostUnsigned(t, bot.URL, body); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: %d", resp.StatusCode)
	}
	h := RetryHeader(Signer{Secret: secret}.Sign(body, time.Now()), 1, "http_timeout")
	if resp := PostWithSignature(t, bot.URL, body, h); resp.StatusCode != 200 {
		t.Errorf("retry: %d", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"application/json ", "application/x-www-form-urlencoded ", "application/json 1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("bot saw %q", got)
	}
}

func parse(t *testing.T, raw []byte) slackevents.EventsAPIEvent {
	t.Helper()
	ev, err := slackevents.ParseEvent(raw, slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatalf("ParseEvent: %v\n%s", err, raw)
	}
	return ev
}

func TestEventBuilders(t *testing.T) {
	srv, api := newFake(t)
	_, root, err := api.PostMessage(staffChan, slack.MsgOptionText("q", false), slack.MsgOptionBlocks(questionBlocks("desk:q-42")...))
	if err != nil {
		t.Fatal(err)
	}

	raw, ts := srv.StaffReply(staffChan, root, agent, "We are on it")
	ev := parse(t, raw)
	cb := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if ev.Type != slackevents.CallbackEvent || cb.EventID == "" || cb.TeamID != DefaultTeamID || cb.APIAppID != DefaultAppID || cb.EventTime == 0 {
		t.Errorf("outer = %+v", cb)
	}
	me, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || me.ThreadTimeStamp != root || me.TimeStamp != ts || me.User != agent || me.Text != "We are on it" || me.Channel != staffChan || me.BotID != "" || me.SubType != "" {
		t.Fatalf("reply = %+v", ev.InnerEvent.Data)
	}
	raw2, _ := srv.StaffReply(staffChan, root, agent, "again", EventID("Ev-fixed"))
	if cb2 := parse(t, raw2).Data.(*slackevents.EventsAPICallbackEvent); cb2.EventID != "Ev-fixed" || cb2.EventID == cb.EventID {
		t.Errorf("event id = %q", cb2.EventID)
	}

	me = parse(t, srv.StaffEdit(staffChan, ts, agent, "We are on it (edited)")).InnerEvent.Data.(*slackevents.MessageEvent)
	if me.SubType != "message_changed" || me.Message.Text != "We are on it (edited)" || me.PreviousMessage.Text != "We are on it" || me.Message.ThreadTimestamp != root || me.Message.Timestamp != ts {
		t.Errorf("edit = %+v / %+v / %+v", me, me.Message, me.PreviousMessage)
	}
	if m, _ := srv.Message(staffChan, ts); m.Text != "We are on it (edited)" {
		t.Errorf("stored edit = %+v", m)
	}

	me = parse(t, srv.StaffDelete(staffChan, ts)).InnerEvent.Data.(*slackevents.MessageEvent)
	if me.SubType != "message_deleted" || me.DeletedTimeStamp != ts || me.PreviousMessage == nil || me.PreviousMessage.Text != "We are on it (edited)" {
		t.Errorf("delete = %+v", me)
	}
	if m, _ := srv.Message(staffChan, ts); !m.Deleted {
		t.Error("not flagged deleted")
	}

	braw, _ := srv.BotMessage(staffChan, root, "B0OTHER", "beep")
	me = parse(t, braw).InnerEvent.Data.(*slackevents.MessageEvent)
	if me.BotID != "B0OTHER" || me.SubType != "bot_message" || me.ThreadTimeStamp != root {
		t.Errorf("bot message = %+v", me)
	}

	me = parse(t, srv.OwnMessageEvent(staffChan, root)).InnerEvent.Data.(*slackevents.MessageEvent)
	if me.BotID != DefaultBotID || me.User != DefaultBotUserID || me.ThreadTimeStamp != "" || len(me.Message.Blocks.BlockSet) != 2 || me.Message.Blocks.BlockSet[0].ID() != "desk:q-42" {
		t.Errorf("own message = %+v", me)
	}

	fraw, fts := srv.StaffFileShare(staffChan, root, agent, "see attached", "screenshot.png", []byte("\x89PNG fake"))
	me = parse(t, fraw).InnerEvent.Data.(*slackevents.MessageEvent)
	if me.SubType != "file_share" || me.ThreadTimeStamp != root || me.TimeStamp != fts || len(me.Message.Files) != 1 {
		t.Fatalf("file share = %+v", me)
	}
	file := me.Message.Files[0]
	if file.Name != "screenshot.png" || file.Mimetype != "image/png" || file.Size != 9 || file.URLPrivateDownload == "" {
		t.Errorf("file = %+v", file)
	}
	var buf bytes.Buffer
	if err := api.GetFile(file.URLPrivateDownload, &buf); err != nil || buf.String() != "\x89PNG fake" {
		t.Errorf("download: %v %q", err, buf.String())
	}
	other := slack.New("xoxb-other", slack.OptionAPIURL(srv.APIURL()))
	if err := other.GetFile(file.URLPrivateDownload, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "sign-in") {
		t.Errorf("download with a wrong token: %v", err)
	}

	ra, ok := parse(t, srv.ReactionAdded(staffChan, root, agent, "eyes")).InnerEvent.Data.(*slackevents.ReactionAddedEvent)
	if !ok || ra.Reaction != "eyes" || ra.User != agent || ra.Item.Timestamp != root || ra.Item.Channel != staffChan || ra.ItemUser != DefaultBotUserID {
		t.Errorf("reaction = %+v", ra)
	}
	if m, _ := srv.Message(staffChan, root); len(m.UserReactions) != 1 {
		t.Errorf("user reactions = %+v", m.UserReactions)
	}

	uv := parse(t, srv.URLVerification("chal-123"))
	if v, ok := uv.Data.(*slackevents.EventsAPIURLVerificationEvent); uv.Type != slackevents.URLVerification || !ok || v.Challenge != "chal-123" {
		t.Errorf("url_verification = %+v", uv)
	}

	// root, the deleted reply, "again", the other bot's message, the file share
	if th := srv.Thread(staffChan, root); len(th) != 5 || !th[1].Deleted || th[4].Files[0].Name != "screenshot.png" {
		t.Errorf("thread:\n%s", srv.dump(staffChan))
	}
}

func interaction(t *testing.T, form url.Values) slack.InteractionCallback {
	t.Helper()
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		t.Fatalf("unmarshal payload: %v\n%s", err, form.Get("payload"))
	}
	return cb
}

func modal(callbackID string) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: callbackID, PrivateMetadata: "q-42",
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Close question", false, false),
		Submit: slack.NewTextBlockObject(slack.PlainTextType, "Close", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("reason", slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "reason_input")),
		}},
	}
}

func TestBlockActionAndViews(t *testing.T) {
	clock := testkit.NewClock(time.Unix(1700000000, 0)) // for trigger expiry
	srv, api := newFake(t, WithClock(clock.Now))
	_, root, err := api.PostMessage(staffChan, slack.MsgOptionText("q", false), slack.MsgOptionBlocks(questionBlocks("q-42")...))
	if err != nil {
		t.Fatal(err)
	}
	cb := interaction(t, srv.BlockAction(staffChan, root, agent, "resolve", "q-42", ""))
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("callback = %+v", cb)
	}
	act := cb.ActionCallback.BlockActions[0]
	if act.ActionID != "resolve" || act.BlockID != "actions-q-42" || act.Value != "q-42" || act.Text.Text != "Resolve" {
		t.Errorf("action = %+v", act)
	}
	if cb.User.ID != agent || cb.User.Name != "ada" || cb.Channel.ID != staffChan || cb.Container.MessageTs != root || cb.Message.Timestamp != root || cb.TriggerID == "" || cb.ResponseURL == "" || len(cb.Message.Blocks.BlockSet) != 2 {
		t.Errorf("callback = %+v", cb)
	}
	if cb := interaction(t, srv.BlockAction(staffChan, root, agent, "resolve", "q-42", "explicit")); cb.ActionCallback.BlockActions[0].BlockID != "explicit" {
		t.Errorf("explicit block id lost")
	}

	v, err := api.OpenView(cb.TriggerID, modal("close_q"))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID == "" || v.CallbackID != "close_q" || v.Hash == "" {
		t.Errorf("view = %+v", v.View)
	}
	if _, err := api.OpenView(cb.TriggerID, modal("close_q")); slackErrorCode(err) != "exchanged_trigger_id" {
		t.Errorf("reused trigger: %v", err)
	}
	if _, err := api.OpenView("123.456.abc", modal("close_q")); slackErrorCode(err) != "invalid_trigger_id" {
		t.Errorf("unknown trigger: %v", err)
	}
	late := interaction(t, srv.BlockAction(staffChan, root, agent, "resolve", "q-42", ""))
	clock.Advance(3100 * time.Millisecond)
	if _, err := api.OpenView(late.TriggerID, modal("close_q")); slackErrorCode(err) != "expired_trigger_id" {
		t.Errorf("late trigger: %v", err)
	}
	long := modal("close_q")
	long.Title = slack.NewTextBlockObject(slack.PlainTextType, "A title that is far too long", false, false)
	fresh := interaction(t, srv.BlockAction(staffChan, root, agent, "resolve", "q-42", ""))
	if _, err := api.OpenView(fresh.TriggerID, long); slackErrorCode(err) != "invalid_arguments" {
		t.Errorf("long title: %v", err)
	}
	upd := modal("close_q")
	upd.Title = slack.NewTextBlockObject(slack.PlainTextType, "Really close?", false, false)
	if _, err := api.UpdateView(upd, "", v.Hash, v.ID); err != nil {
		t.Errorf("views.update: %v", err)
	}
	if _, err := api.UpdateView(upd, "", v.Hash, v.ID); slackErrorCode(err) != "hash_conflict" {
		t.Errorf("stale hash: %v", err)
	}
	views := srv.Views()
	if len(views) != 1 || views[0].Title != "Really close?" || views[0].UserID != agent || views[0].Updates != 1 || views[0].PrivateMetadata != "q-42" {
		t.Errorf("views = %+v", views)
	}

	sub := interaction(t, srv.ViewSubmission(agent, "close_q", "q-42", ViewValues{"reason": {"reason_input": "answered by phone"}}))
	if sub.Type != slack.InteractionTypeViewSubmission || sub.View.ID != v.ID || sub.View.CallbackID != "close_q" || sub.View.PrivateMetadata != "q-42" {
		t.Errorf("submission = %+v", sub.View)
	}
	if got := sub.View.State.Values["reason"]["reason_input"].Value; got != "answered by phone" {
		t.Errorf("state = %+v", sub.View.State)
	}
}

func TestSlashCommandAndResponseURL(t *testing.T) {
	srv, api := newFake(t)
	form := srv.SlashCommand(staffChan, agent, "/desk", "stats")
	req := httptest.NewRequest(http.MethodPost, "/slack/commands", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cmd, err := slack.SlashCommandParse(req)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Command != "/desk" || cmd.Text != "stats" || cmd.UserID != agent || cmd.UserName != "ada" || cmd.ChannelID != staffChan || cmd.TriggerID == "" || !strings.HasPrefix(cmd.ResponseURL, srv.URL()) {
		t.Errorf("command = %+v", cmd)
	}
	if _, _, err := api.PostMessage("", slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionText("3 open questions", false)); err != nil {
		t.Fatal(err)
	}
	posts := srv.ResponseURLPosts()
	if len(posts) != 1 || posts[0].Text != "3 open questions" || posts[0].Kind != "slash_command" || posts[0].Status != 200 {
		t.Fatalf("posts = %+v", posts)
	}
	if e := srv.Ephemerals(staffChan); len(e) != 1 || e[0].User != agent {
		t.Errorf("ephemerals = %+v", e)
	}

	_, root, _ := api.PostMessage(staffChan, slack.MsgOptionText("q", false), slack.MsgOptionBlocks(questionBlocks("q-1")...))
	cb := interaction(t, srv.BlockAction(staffChan, root, agent, "resolve", "q-1", ""))
	if _, _, err := api.PostMessage("", slack.MsgOptionReplaceOriginal(cb.ResponseURL), slack.MsgOptionText("Resolved by Ada", false)); err != nil {
		t.Fatal(err)
	}
	if m, _ := srv.Message(staffChan, root); m.Text != "Resolved by Ada" || m.Blocks != nil {
		t.Errorf("replace_original: %+v", m)
	}
}

func TestSocketMode(t *testing.T) {
	srv, api := newFake(t, WithSocketPingInterval(200*time.Millisecond))
	smc := socketmode.New(api, socketmode.OptionPingInterval(2*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- smc.RunContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	got := make(chan socketmode.Event, 16)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-smc.Events:
				switch evt.Type {
				case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive, socketmode.EventTypeSlashCommand:
					if err := smc.Ack(*evt.Request); err != nil {
						t.Errorf("ack: %v", err)
					}
					got <- evt
				}
			}
		}
	}()

	// Queued before the bot connects: delivered after hello.
	raw, _ := srv.StaffReply(staffChan, "", agent, "hello desk")
	id := srv.SocketEvent(raw)
	srv.WaitSocketConnected(t, 1, 10*time.Second)
	if ack := srv.WaitAck(t, id, 10*time.Second); !ack.Known {
		t.Errorf("ack = %+v", ack)
	}
	evt := <-got
	ea, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		t.Fatalf("event data = %T", evt.Data)
	}
	if me, ok := ea.InnerEvent.Data.(*slackevents.MessageEvent); !ok || me.Text != "hello desk" {
		t.Errorf("inner = %+v", ea.InnerEvent.Data)
	}

	_, root, _ := api.PostMessage(staffChan, slack.MsgOptionText("q", false), slack.MsgOptionBlocks(questionBlocks("q-9")...))
	id = srv.SocketInteractive(srv.BlockAction(staffChan, root, agent, "resolve", "q-9", ""))
	srv.WaitAck(t, id, 10*time.Second)
	if cb, ok := (<-got).Data.(slack.InteractionCallback); !ok || cb.ActionCallback.BlockActions[0].BlockID != "actions-q-9" {
		t.Errorf("interactive = %+v", cb)
	}
	id = srv.SocketSlashCommand(srv.SlashCommand(staffChan, agent, "/desk", "stats"))
	srv.WaitAck(t, id, 10*time.Second)
	if cmd, ok := (<-got).Data.(slack.SlashCommand); !ok || cmd.Command != "/desk" {
		t.Errorf("slash = %+v", cmd)
	}
	if u := srv.Unacked(); len(u) != 0 {
		t.Errorf("unacked = %v", u)
	}

	// Slack asks for a reconnect; the bot comes back and gets new envelopes.
	srv.SocketDisconnect("refresh_requested")
	srv.WaitSocketConnected(t, 2, 10*time.Second)
	raw, _ = srv.StaffReply(staffChan, root, agent, "after reconnect")
	id = srv.SocketEvent(raw)
	srv.WaitAck(t, id, 10*time.Second)
	<-got

	// A dropped connection is re-established too.
	srv.SocketDrop()
	srv.WaitSocketConnected(t, 3, 20*time.Second)
	id = srv.SocketEvent(srv.ReactionAdded(staffChan, root, agent, "eyes"))
	srv.WaitAck(t, id, 10*time.Second)
	<-got
	if srv.Calls("apps.connections.open") < 3 {
		t.Errorf("connections.open calls = %d", srv.Calls("apps.connections.open"))
	}
}

func TestSocketModeAppTokenRequired(t *testing.T) {
	srv, _ := newFake(t)
	api := slack.New(srv.BotToken(), slack.OptionAppLevelToken("xapp-wrong"), slack.OptionAPIURL(srv.APIURL()))
	if _, _, err := api.StartSocketModeContext(context.Background()); slackErrorCode(err) != "invalid_auth" {
		t.Errorf("wrong app token: %v", err)
	}
	api = slack.New(srv.BotToken(), slack.OptionAppLevelToken(srv.BotToken()), slack.OptionAPIURL(srv.APIURL()))
	if _, _, err := api.StartSocketModeContext(context.Background()); slackErrorCode(err) != "not_allowed_token_type" {
		t.Errorf("bot token: %v", err)
	}
}

// TestSocketRawProtocol plays a minimal client with gorilla/websocket to pin
// the wire format: hello first, pings, envelopes, redelivery of unacked ones.
func TestSocketRawProtocol(t *testing.T) {
	srv, api := newFake(t, WithSocketPingInterval(time.Hour))
	_, wsURL, err := api.StartSocketModeContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pinged := make(chan struct{}, 1)
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {"https://api.slack.com"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	read := func() socketmode.Request {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var req socketmode.Request
		if err := conn.ReadJSON(&req); err != nil {
			t.Fatalf("read: %v", err)
		}
		return req
	}
	if hello := read(); hello.Type != "hello" || hello.NumConnections != 1 {
		t.Fatalf("hello = %+v", hello)
	}
	id := srv.SocketEvent(srv.ReactionAdded(staffChan, "1.000001", agent, "eyes"))
	env := read()
	if env.Type != "events_api" || env.EnvelopeID != id || env.RetryAttempt != 0 || env.AcceptsResponsePayload {
		t.Fatalf("envelope = %+v", env)
	}
	select {
	case <-pinged: // the ping sent after hello was processed by ReadJSON
	default:
		t.Error("no ping after hello")
	}
	if u := srv.Unacked(); len(u) != 1 || u[0] != id {
		t.Fatalf("unacked = %v", u)
	}
	ids := srv.SocketRetryUnacked()
	retry := read()
	if len(ids) != 1 || retry.EnvelopeID != ids[0] || retry.RetryAttempt != 1 || retry.RetryReason != "timeout" || string(retry.Payload) != string(env.Payload) {
		t.Fatalf("retry = %+v (ids %v)", retry, ids)
	}
	if err := conn.WriteJSON(map[string]any{"envelope_id": retry.EnvelopeID}); err != nil {
		t.Fatal(err)
	}
	srv.WaitAck(t, retry.EnvelopeID, 10*time.Second)
	if u := srv.Unacked(); len(u) != 0 {
		t.Errorf("unacked after retry ack = %v", u)
	}
	// A ticket works once.
	if _, _, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil {
		t.Error("socket URL reusable")
	}
}

func TestMoreWebAPI(t *testing.T) {
	srv, api := newFake(t)
	_, root, _ := api.PostMessage(staffChan, slack.MsgOptionText("q1", false))
	_, _, _ = api.PostMessage(staffChan, slack.MsgOptionText("r1", false), slack.MsgOptionTS(root))
	_, root2, _ := api.PostMessage(staffChan, slack.MsgOptionText("q2", false))

	hist, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: staffChan})
	if err != nil || len(hist.Messages) != 2 || hist.Messages[0].Timestamp != root2 || hist.Messages[1].ReplyCount != 1 {
		t.Errorf("history = %+v %v", hist, err)
	}
	// A reply to a vanished parent is posted unthreaded, as Slack does.
	if _, _, err := api.DeleteMessage(staffChan, root2); err != nil {
		t.Fatal(err)
	}
	_, _, msg, err := api.PostMessageWithResponse(staffChan, slack.MsgOptionText("orphan", false), slack.MsgOptionTS(root2))
	if err != nil || msg.ThreadTimestamp != "" {
		t.Errorf("orphan reply: %+v %v", msg.Msg, err)
	}
	// Staff messages cannot be edited by the bot.
	_, sts := srv.StaffReply(staffChan, root, agent, "mine")
	if _, _, _, err := api.UpdateMessage(staffChan, sts, slack.MsgOptionText("x", false)); slackErrorCode(err) != "cant_update_message" {
		t.Errorf("update staff message: %v", err)
	}

	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}}}
	if _, err := api.PublishView(agent, home, ""); err != nil {
		t.Errorf("views.publish: %v", err)
	}
	cb := interaction(t, srv.BlockAction(staffChan, root, agent, "resolve", "v", "b"))
	first, err := api.OpenView(cb.TriggerID, modal("one"))
	if err != nil {
		t.Fatal(err)
	}
	sub := interaction(t, srv.ViewSubmission(agent, "one", "", nil))
	pushed, err := api.PushView(sub.TriggerID, modal("two"))
	if err != nil || pushed.RootViewID != first.ID || pushed.PreviousViewID != first.ID {
		t.Errorf("views.push = %+v %v", pushed, err)
	}
	if vs := srv.Views(); len(vs) != 3 || vs[0].Type != "home" || vs[2].Method != "views.push" {
		t.Errorf("views = %+v", vs)
	}

	srv.FailNext("chat.update", 1, http.StatusServiceUnavailable, 0)
	var sce slack.StatusCodeError
	if _, _, _, err := api.UpdateMessage(staffChan, root, slack.MsgOptionText("x", false)); !errors.As(err, &sce) || sce.Code != 503 {
		t.Errorf("503: %v", err)
	}
	if m, _ := srv.Message(staffChan, root); m.Text != "q1" {
		t.Errorf("failed update applied: %+v", m)
	}
}

func TestWaitMessage(t *testing.T) {
	srv, api := newFake(t)
	go func() {
		_, _, _ = api.PostMessage(staffChan, slack.MsgOptionText("first", false))
		_, _, _ = api.PostMessage(staffChan, slack.MsgOptionText("second", false))
	}()
	m := srv.WaitMessage(t, staffChan, 10*time.Second, func(m Message) bool { return m.Text == "second" })
	if !m.FromBot {
		t.Errorf("m = %+v", m)
	}
	srv.WaitFor(t, 10*time.Second, func() bool { return len(srv.BotMessages(staffChan)) == 2 })
}

// Message metadata posted with chat.postMessage comes back from
// conversations.replies and conversations.history only with
// include_all_metadata; replies honour oldest, and both page with limit
// and cursor.
func TestMetadataAndPagingOfHistoryAndReplies(t *testing.T) {
	_, api := newFake(t)
	md := slack.SlackMetadata{EventType: "probe_event", EventPayload: map[string]any{"token": "tok-1"}}
	_, root, err := api.PostMessage(staffChan, slack.MsgOptionText("root", false), slack.MsgOptionMetadata(md))
	if err != nil {
		t.Fatal(err)
	}
	var replies []string
	for i := range 5 {
		_, ts, err := api.PostMessage(staffChan, slack.MsgOptionText(fmt.Sprint("reply ", i), false), slack.MsgOptionTS(root),
			slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "probe_event", EventPayload: map[string]any{"token": fmt.Sprint("r", i)}}))
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, ts)
	}
	msgs, _, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: staffChan, Timestamp: root})
	if err != nil || len(msgs) != 6 {
		t.Fatalf("replies: %d %v", len(msgs), err)
	}
	for _, m := range msgs {
		if m.Metadata.EventType != "" {
			t.Fatalf("metadata without include_all_metadata: %+v", m.Metadata)
		}
	}
	var got []string
	p := &slack.GetConversationRepliesParameters{ChannelID: staffChan, Timestamp: root, Limit: 2, IncludeAllMetadata: true}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		msgs, more, cursor, err := api.GetConversationReplies(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got = append(got, fmt.Sprint(m.Metadata.EventType, "/", m.Metadata.EventPayload["token"]))
		}
		if !more {
			if cursor != "" {
				t.Errorf("last page with cursor %q", cursor)
			}
			break
		}
		p.Cursor = cursor
	}
	if want := "probe_event/tok-1 probe_event/r0 probe_event/r1 probe_event/r2 probe_event/r3 probe_event/r4"; strings.Join(got, " ") != want {
		t.Errorf("paged replies with metadata: %v", got)
	}
	// oldest (inclusive) keeps the root and the replies from then on.
	msgs, _, _, err = api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: staffChan, Timestamp: root, Oldest: replies[3], Inclusive: true})
	if err != nil || len(msgs) != 3 || msgs[0].Timestamp != root || msgs[1].Timestamp != replies[3] {
		t.Errorf("replies since the fourth: %d %v", len(msgs), err)
	}
	_, _, _, err = api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: staffChan, Timestamp: root, Cursor: "bogus"})
	if slackErrorCode(err) != "invalid_cursor" {
		t.Errorf("bogus cursor: %v", err)
	}

	h, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: staffChan})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Metadata.EventType != "" {
		t.Fatalf("history without include_all_metadata: %+v %v", h, err)
	}
	h, err = api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: staffChan, IncludeAllMetadata: true})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Metadata.EventPayload["token"] != "tok-1" {
		t.Fatalf("history with include_all_metadata: %+v %v", h, err)
	}
	for range 3 {
		if _, _, err := api.PostMessage(staffChan, slack.MsgOptionText("more", false)); err != nil {
			t.Fatal(err)
		}
	}
	hp := &slack.GetConversationHistoryParameters{ChannelID: staffChan, Limit: 3}
	h, err = api.GetConversationHistory(hp)
	if err != nil || len(h.Messages) != 3 || !h.HasMore || h.ResponseMetaData.NextCursor == "" {
		t.Fatalf("history page 1: %d more=%v %v", len(h.Messages), h.HasMore, err)
	}
	hp.Cursor = h.ResponseMetaData.NextCursor
	h, err = api.GetConversationHistory(hp)
	if err != nil || len(h.Messages) != 1 || h.HasMore || h.Messages[0].Timestamp != root {
		t.Fatalf("history page 2: %d more=%v %v", len(h.Messages), h.HasMore, err)
	}
}
