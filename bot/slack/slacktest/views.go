package slacktest

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// View is a modal or home tab the bot opened, pushed, updated or published,
// in its current state.
type View struct {
	ID              string
	Type            string // "modal" or "home"
	CallbackID      string
	PrivateMetadata string
	ExternalID      string
	Hash            string
	Title           string
	UserID          string // whose trigger opened it (or views.publish user_id)
	TriggerID       string
	Method          string // the last method applied: views.open, views.push, views.update, views.publish
	RootViewID      string
	PreviousViewID  string
	Raw             json.RawMessage // the view JSON as last sent by the bot
	Blocks          json.RawMessage
	BlockSet        []Block
	Updates         int
}

type trigger struct {
	user   string
	issued time.Time
	used   bool
}

// issueTriggerLocked hands out a trigger_id for an interaction payload.
func (s *Server) issueTriggerLocked(user string) string {
	s.seq++
	now := s.now()
	id := fmt.Sprintf("%d.%d.%x", 1000000+s.seq, now.Unix(), uint32(s.seq)*2654435761)
	s.triggers[id] = &trigger{user: user, issued: now}
	return id
}

// useTriggerLocked exchanges a trigger_id: Slack accepts each once, within
// 3 seconds of the interaction.
func (s *Server) useTriggerLocked(id string) (*trigger, *apiError) {
	t := s.triggers[id]
	switch {
	case t == nil:
		return nil, slackErr("invalid_trigger_id")
	case t.used:
		return nil, slackErr("exchanged_trigger_id")
	case s.now().Sub(t.issued) > s.cfg.triggerTTL:
		return nil, slackErr("expired_trigger_id")
	}
	t.used = true
	return t, nil
}

func viewError(msg string) *apiError {
	return &apiError{code: "invalid_arguments", extra: obj{"response_metadata": obj{"messages": []string{"[ERROR] " + msg}}}}
}

// parseView reads and validates the view parameter like Slack: a modal needs
// a plain_text title of at most 24 characters, a submit button when it has
// input blocks, and at most 100 blocks.
func parseView(c *call, wantType string) (jobj, json.RawMessage, *apiError) {
	raw, ok := c.raw("view")
	if !ok {
		return nil, nil, slackErr("invalid_arguments")
	}
	m, ok := parseObj(raw)
	if !ok {
		return nil, nil, viewError("failed to parse view [json-pointer:/view]")
	}
	typ := m.str("type")
	if typ != wantType && !(wantType == "" && (typ == "modal" || typ == "home")) {
		return nil, nil, viewError(fmt.Sprintf("type must be %q [json-pointer:/view/type]", wantType))
	}
	if typ == "modal" {
		title, ttype := m.text("title")
		switch {
		case !m.has("title") || ttype != "plain_text":
			return nil, nil, viewError("title must be a plain_text object [json-pointer:/view/title]")
		case utf8.RuneCountInString(title) > 24:
			return nil, nil, viewError("must be less than 25 characters [json-pointer:/view/title/text]")
		}
		for _, b := range m.objs("blocks") {
			if b.str("type") == "input" && !m.has("submit") {
				return nil, nil, viewError("submit is required when an input block is present [json-pointer:/view/submit]")
			}
		}
	}
	blocks := m["blocks"]
	if blocks == nil {
		blocks = json.RawMessage("[]")
	}
	if aerr := validateBlocks(blocks, 100); aerr != nil {
		return nil, nil, aerr
	}
	if utf8.RuneCountInString(m.str("private_metadata")) > 3000 {
		return nil, nil, viewError("private_metadata must be at most 3000 characters [json-pointer:/view/private_metadata]")
	}
	return m, raw, nil
}

func (s *Server) applyView(v *View, m jobj, raw json.RawMessage, method string) {
	v.Type = m.str("type")
	v.CallbackID = m.str("callback_id")
	v.PrivateMetadata = m.str("private_metadata")
	if ext := m.str("external_id"); ext != "" {
		v.ExternalID = ext
	}
	v.Title, _ = m.text("title")
	v.Raw = append(json.RawMessage(nil), raw...)
	v.Blocks = append(json.RawMessage(nil), m["blocks"]...)
	v.BlockSet = parseBlocks(v.Blocks)
	v.Method = method
	v.Hash = fmt.Sprintf("%d.%s", s.now().Unix(), s.nextIDLocked("h"))
}

func (s *Server) newViewLocked() *View {
	v := &View{ID: s.nextIDLocked("V")}
	s.views[v.ID] = v
	s.viewOrder = append(s.viewOrder, v.ID)
	return v
}

func (s *Server) viewJSON(v *View) obj {
	o := obj{}
	if m, ok := parseObj(v.Raw); ok {
		for k, val := range m {
			o[k] = val
		}
	}
	if _, ok := o["blocks"]; !ok {
		o["blocks"] = []any{}
	}
	o["id"] = v.ID
	o["team_id"] = s.cfg.teamID
	o["type"] = v.Type
	o["private_metadata"] = v.PrivateMetadata
	o["callback_id"] = v.CallbackID
	o["external_id"] = v.ExternalID
	o["state"] = obj{"values": obj{}}
	o["hash"] = v.Hash
	o["root_view_id"] = v.RootViewID
	o["previous_view_id"] = nilIfEmpty(v.PreviousViewID)
	o["app_id"] = s.cfg.appID
	o["app_installed_team_id"] = s.cfg.teamID
	o["bot_id"] = s.cfg.botID
	return o
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) apiViewsOpen(c *call) (obj, *apiError) { return s.openView(c, "views.open") }

func (s *Server) apiViewsPush(c *call) (obj, *apiError) { return s.openView(c, "views.push") }

func (s *Server) openView(c *call, method string) (obj, *apiError) {
	m, raw, aerr := parseView(c, "modal")
	if aerr != nil {
		return nil, aerr
	}
	t, aerr := s.useTriggerLocked(c.get("trigger_id"))
	if aerr != nil {
		return nil, aerr
	}
	var prev *View
	if method == "views.push" {
		for i := len(s.viewOrder) - 1; i >= 0; i-- {
			if v := s.views[s.viewOrder[i]]; v.Type == "modal" && v.UserID == t.user {
				prev = v
				break
			}
		}
	}
	v := s.newViewLocked()
	v.UserID, v.TriggerID = t.user, c.get("trigger_id")
	s.applyView(v, m, raw, method)
	v.RootViewID = v.ID
	if prev != nil {
		v.RootViewID, v.PreviousViewID = prev.RootViewID, prev.ID
	}
	return obj{"view": s.viewJSON(v)}, nil
}

func (s *Server) apiViewsUpdate(c *call) (obj, *apiError) {
	var v *View
	if id := c.get("view_id"); id != "" {
		v = s.views[id]
	} else if ext := c.get("external_id"); ext != "" {
		for _, id := range s.viewOrder {
			if s.views[id].ExternalID == ext {
				v = s.views[id]
			}
		}
	} else {
		return nil, slackErr("invalid_arguments")
	}
	if v == nil {
		return nil, slackErr("not_found")
	}
	if h := c.get("hash"); h != "" && h != v.Hash {
		return nil, slackErr("hash_conflict")
	}
	m, raw, aerr := parseView(c, v.Type)
	if aerr != nil {
		return nil, aerr
	}
	s.applyView(v, m, raw, "views.update")
	v.Updates++
	return obj{"view": s.viewJSON(v)}, nil
}

func (s *Server) apiViewsPublish(c *call) (obj, *apiError) {
	user := c.get("user_id")
	if s.users[user] == nil {
		return nil, slackErr("user_not_found")
	}
	m, raw, aerr := parseView(c, "home")
	if aerr != nil {
		return nil, aerr
	}
	var v *View
	for _, id := range s.viewOrder {
		if w := s.views[id]; w.Type == "home" && w.UserID == user {
			v = w
		}
	}
	if v == nil {
		v = s.newViewLocked()
		v.UserID, v.RootViewID = user, v.ID
	} else if h := c.get("hash"); h != "" && h != v.Hash {
		return nil, slackErr("hash_conflict")
	} else {
		v.Updates++
	}
	s.applyView(v, m, raw, "views.publish")
	return obj{"view": s.viewJSON(v)}, nil
}

// Views returns the views the bot opened, pushed or published, in the order
// they were created, each in its current state.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.viewOrder))
	for _, id := range s.viewOrder {
		out = append(out, *s.views[id])
	}
	return out
}
