package slacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	"bridgebot/bot/internal/fakeserver"
)

// ResponsePost is a POST the bot made to a response_url handed out in a
// BlockAction or SlashCommand payload.
type ResponsePost struct {
	URL             string
	Kind            string // "block_actions" or "slash_command"
	Channel         string // the channel of the interaction
	MessageTS       string // the message whose button was pressed (block actions)
	User            string // who interacted
	Body            json.RawMessage
	Text            string
	ResponseType    string // "in_channel" or "ephemeral" ("" means ephemeral)
	ReplaceOriginal bool
	DeleteOriginal  bool
	ThreadTS        string
	Blocks          json.RawMessage
	BlockSet        []Block
	Status          int // HTTP status answered
}

type responseTarget struct {
	kind, channel, messageTS, user string
	uses                           int
}

// maxResponseURLUses is how often Slack accepts a response_url.
const maxResponseURLUses = 5

func (s *Server) newResponseURLLocked(kind, channel, messageTS, user string) string {
	id := s.nextIDLocked("R")
	s.responseURLs[id] = &responseTarget{kind: kind, channel: channel, messageTS: messageTS, user: user}
	return s.srv.URL + "/response/" + id
}

// serveResponseURL applies a response_url POST like Slack: replace_original
// updates the message the button was on, delete_original deletes it,
// response_type in_channel posts a new message, anything else posts an
// ephemeral message to the user. Each URL works 5 times.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request, id string) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var msg struct {
		Text            string          `json:"text"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
		ThreadTS        string          `json:"thread_ts"`
		Blocks          json.RawMessage `json:"blocks"`
	}
	jerr := json.Unmarshal(body, &msg)
	if string(msg.Blocks) == "null" {
		msg.Blocks = nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.changes.Notify()
	t := s.responseURLs[id]
	rec := ResponsePost{
		URL: s.srv.URL + r.URL.Path, Body: body, Text: msg.Text, ResponseType: msg.ResponseType,
		ReplaceOriginal: msg.ReplaceOriginal, DeleteOriginal: msg.DeleteOriginal, ThreadTS: msg.ThreadTS,
		Blocks: msg.Blocks, BlockSet: parseBlocks(msg.Blocks),
	}
	answer := func(status int, res string) {
		rec.Status = status
		s.responsePosts = append(s.responsePosts, rec)
		writeJSON(w, status, []byte(res))
	}
	if t == nil {
		answer(http.StatusNotFound, `{"ok":false,"error":"expired_url"}`)
		return
	}
	rec.Kind, rec.Channel, rec.MessageTS, rec.User = t.kind, t.channel, t.messageTS, t.user
	if t.uses >= maxResponseURLUses {
		answer(http.StatusNotFound, `{"ok":false,"error":"used_url"}`)
		return
	}
	if jerr != nil {
		answer(http.StatusBadRequest, `{"ok":false,"error":"invalid_payload"}`)
		return
	}
	if msg.Blocks != nil {
		if aerr := validateBlocks(msg.Blocks, 50); aerr != nil {
			answer(http.StatusOK, string(errorBody(aerr)))
			return
		}
	}
	t.uses++
	ch := s.channelLocked(t.channel)
	orig := ch.byTS[t.messageTS]
	switch {
	case msg.DeleteOriginal && orig != nil:
		orig.Deleted = true
	case msg.ReplaceOriginal && orig != nil:
		orig.Text = msg.Text
		orig.Blocks = msg.Blocks
		orig.BlockSet = rec.BlockSet
		orig.Updates++
	case msg.ResponseType == "in_channel":
		m := &Message{User: s.cfg.botUserID, BotID: s.cfg.botID, FromBot: true, Text: msg.Text,
			Blocks: msg.Blocks, BlockSet: rec.BlockSet, ThreadTS: s.threadRootLocked(ch, msg.ThreadTS)}
		s.addMessageLocked(ch, m)
	default:
		s.ephemerals = append(s.ephemerals, Ephemeral{
			Channel: ch.id, User: t.user, Text: msg.Text, ThreadTS: msg.ThreadTS,
			MessageTS: s.nextTSLocked(), Blocks: msg.Blocks, BlockSet: rec.BlockSet,
		})
	}
	answer(http.StatusOK, `{"ok":true}`)
}

// ResponseURLPosts returns the POSTs to response URLs, in arrival order.
func (s *Server) ResponseURLPosts() []ResponsePost {
	return fakeserver.Locked(&s.mu, func() []ResponsePost { return append([]ResponsePost(nil), s.responsePosts...) })
}

func (s *Server) userObj(user string) obj {
	name := s.userName(user)
	return obj{"id": user, "username": name, "name": name, "team_id": s.cfg.teamID}
}

// BlockAction builds the interactivity form (field "payload") Slack posts
// when user clicks the button actionID on message messageTS: type
// block_actions with a fresh trigger_id (valid for views.open for 3s), a
// response_url served by this fake, the container, the channel, the message
// as it currently is, and actions[0] with action_id, block_id (always a
// string, which slack-go needs to see a block action), value and the
// button's label. A blockID of "" is looked up in the message's blocks.
// For Socket Mode, pass form.Get("payload") to SocketInteractive.
func (s *Server) BlockAction(channel, messageTS, user, actionID, value, blockID string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	m := ch.byTS[messageTS]
	label := actionID
	message := obj{"type": "message", "ts": messageTS, "text": ""}
	container := obj{"type": "message", "message_ts": messageTS, "channel_id": ch.id, "is_ephemeral": false}
	if m != nil {
		message = s.messageJSON(m)
		if e, b, ok := m.Action(actionID); ok {
			if blockID == "" {
				blockID = b.BlockID
			}
			if e.Text != "" {
				label = e.Text
			}
		}
		if m.IsReply() {
			container["thread_ts"] = m.ThreadTS
		}
	}
	payload := obj{
		"type":                  "block_actions",
		"user":                  s.userObj(user),
		"api_app_id":            s.cfg.appID,
		"token":                 s.cfg.verifyToken,
		"container":             container,
		"trigger_id":            s.issueTriggerLocked(user),
		"team":                  obj{"id": s.cfg.teamID, "domain": s.cfg.teamDomain},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               obj{"id": ch.id, "name": ch.name},
		"message":               message,
		"state":                 obj{"values": obj{}},
		"response_url":          s.newResponseURLLocked("block_actions", ch.id, messageTS, user),
		"actions": []obj{{
			"action_id": actionID, "block_id": blockID, "value": value, "type": "button",
			"text":      obj{"type": "plain_text", "text": label, "emoji": true},
			"action_ts": s.nextTSLocked(),
		}},
	}
	s.changes.Notify()
	return url.Values{"payload": {string(mustJSON(payload))}}
}

// ViewValues are the state values of a submitted modal: block_id →
// action_id → value. A string value becomes a plain_text_input
// ({"type":"plain_text_input","value":...}); a json.RawMessage is used
// verbatim (e.g. {"type":"static_select","selected_option":{...}}); anything
// else is marshalled.
type ViewValues map[string]map[string]any

// ViewSubmission builds the interactivity form Slack posts when user submits
// a modal. When the bot opened a view with this callback_id, its id, hash,
// title and blocks are used.
func (s *Server) ViewSubmission(user, callbackID, privateMetadata string, values ViewValues) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v *View
	for i := len(s.viewOrder) - 1; i >= 0; i-- {
		if w := s.views[s.viewOrder[i]]; w.CallbackID == callbackID && (w.UserID == "" || w.UserID == user) {
			v = w
			break
		}
	}
	state := obj{}
	for blockID, actions := range values {
		acts := obj{}
		for actionID, val := range actions {
			switch x := val.(type) {
			case string:
				acts[actionID] = obj{"type": "plain_text_input", "value": x}
			case json.RawMessage:
				acts[actionID] = x
			case []byte:
				acts[actionID] = json.RawMessage(x)
			default:
				acts[actionID] = x
			}
		}
		state[blockID] = acts
	}
	view := obj{}
	if v != nil {
		view = s.viewJSON(v)
	} else {
		id := s.nextIDLocked("V")
		view = obj{
			"id": id, "team_id": s.cfg.teamID, "type": "modal", "blocks": []any{},
			"title": obj{"type": "plain_text", "text": "Form", "emoji": true},
			"hash":  s.nextIDLocked("h"), "root_view_id": id, "previous_view_id": nil,
			"external_id": "", "app_id": s.cfg.appID, "app_installed_team_id": s.cfg.teamID, "bot_id": s.cfg.botID,
		}
	}
	view["callback_id"] = callbackID
	view["private_metadata"] = privateMetadata
	view["state"] = obj{"values": state}
	payload := obj{
		"type":                  "view_submission",
		"team":                  obj{"id": s.cfg.teamID, "domain": s.cfg.teamDomain},
		"user":                  s.userObj(user),
		"api_app_id":            s.cfg.appID,
		"token":                 s.cfg.verifyToken,
		"trigger_id":            s.issueTriggerLocked(user),
		"view":                  view,
		"response_urls":         []any{},
		"is_enterprise_install": false,
		"enterprise":            nil,
	}
	s.changes.Notify()
	return url.Values{"payload": {string(mustJSON(payload))}}
}

// SlashCommand builds the form Slack posts for a slash command (e.g.
// command "/desk", text "close") typed by user in channel, with a fresh
// trigger_id and a response_url served by this fake.
func (s *Server) SlashCommand(channel, user, command, text string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channelLocked(channel)
	v := url.Values{
		"token":                 {s.cfg.verifyToken},
		"team_id":               {s.cfg.teamID},
		"team_domain":           {s.cfg.teamDomain},
		"channel_id":            {ch.id},
		"channel_name":          {ch.name},
		"user_id":               {user},
		"user_name":             {s.userName(user)},
		"command":               {command},
		"text":                  {text},
		"api_app_id":            {s.cfg.appID},
		"is_enterprise_install": {"false"},
		"response_url":          {s.newResponseURLLocked("slash_command", ch.id, "", user)},
		"trigger_id":            {s.issueTriggerLocked(user)},
	}
	s.changes.Notify()
	return v
}
