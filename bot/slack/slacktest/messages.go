package slacktest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"bridgebot/bot/internal/fakeserver"
)

// Message is a message in a channel, in its current state (updates and
// edits applied, deletions flagged).
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // the root's ts for thread replies (and for a root that has replies, its own ts); "" otherwise
	User     string // author: the bot's user id for the bot's posts
	BotID    string // set for the bot's posts and for BotMessage
	Username string // the username parameter, if the bot sent one
	Text     string
	SubType  string // "" for plain messages; "bot_message", "file_share", "thread_broadcast"...

	Blocks      json.RawMessage // as last posted or updated; nil without blocks
	BlockSet    []Block         // Blocks parsed loosely
	Attachments json.RawMessage
	Metadata    json.RawMessage
	Params      url.Values // parameters of the last chat.postMessage/chat.update (token removed)

	FromBot       bool       // posted by the bot under test through the Web API
	Reactions     []string   // reactions the bot added, in order
	UserReactions []Reaction // reactions added with ReactionAdded
	Files         []FileRef
	Updates       int // chat.update calls or staff edits applied
	Deleted       bool
}

// Reaction is a reaction by someone other than the bot.
type Reaction struct {
	User string
	Name string
}

// FileRef is a file attached to a message.
type FileRef struct {
	ID    string
	Name  string
	Title string
}

// IsReply reports whether the message is a thread reply (not a root).
func (m Message) IsReply() bool { return m.ThreadTS != "" && m.ThreadTS != m.TS }

// Block returns the block with a block_id.
func (m Message) Block(blockID string) (Block, bool) {
	for _, b := range m.BlockSet {
		if b.BlockID == blockID {
			return b, true
		}
	}
	return Block{}, false
}

// Action returns the interactive element with an action_id and its block.
func (m Message) Action(actionID string) (Element, Block, bool) {
	for _, b := range m.BlockSet {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e, b, true
			}
		}
	}
	return Element{}, Block{}, false
}

// AllText is the message text followed by the texts of its blocks, one per
// line, for loose matching.
func (m Message) AllText() string {
	parts := []string{m.Text}
	for _, b := range m.BlockSet {
		if b.Text != "" {
			parts = append(parts, b.Text)
		}
		parts = append(parts, b.Fields...)
		for _, e := range b.Elements {
			if e.Text != "" {
				parts = append(parts, e.Text)
			}
		}
	}
	return strings.Join(parts, "\n")
}

// HasReaction reports whether the bot added the reaction.
func (m Message) HasReaction(name string) bool { return slices.Contains(m.Reactions, name) }

func (m Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s ts=%s", m.Channel, m.TS)
	if m.IsReply() {
		fmt.Fprintf(&b, " thread=%s", m.ThreadTS)
	}
	switch {
	case m.FromBot:
		b.WriteString(" bot")
	case m.BotID != "":
		fmt.Fprintf(&b, " bot_id=%s", m.BotID)
	default:
		fmt.Fprintf(&b, " user=%s", m.User)
	}
	if m.Deleted {
		b.WriteString(" DELETED")
	}
	if len(m.Reactions) > 0 {
		fmt.Fprintf(&b, " reactions=%v", m.Reactions)
	}
	for _, f := range m.Files {
		fmt.Fprintf(&b, " file=%s", f.Name)
	}
	fmt.Fprintf(&b, " %q", m.AllText())
	return b.String()
}

// Ephemeral is a chat.postEphemeral message.
type Ephemeral struct {
	Channel   string
	User      string
	Text      string
	ThreadTS  string
	MessageTS string
	Blocks    json.RawMessage
	BlockSet  []Block
	Params    url.Values
}

type channel struct {
	id, name string
	created  int64
	msgs     []*Message // in creation (= ts) order
	byTS     map[string]*Message
}

// AddChannel creates a channel the bot is a member of. Posting to a channel
// that was not added fails with channel_not_found. Adding it again renames it.
func (s *Server) AddChannel(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channelLocked(id).name = name
	s.changes.Notify()
}

// channelLocked returns a channel, creating it if needed.
func (s *Server) channelLocked(id string) *channel {
	ch := s.channel[id]
	if ch == nil {
		ch = &channel{id: id, name: strings.ToLower(id), created: s.now().Unix(), byTS: map[string]*Message{}}
		s.channel[id] = ch
		s.chanIDs = append(s.chanIDs, id)
	}
	return ch
}

// findChannelLocked resolves a channel id, or a "#name"/"name" as Slack does
// for public channels.
func (s *Server) findChannelLocked(idOrName string) *channel {
	if ch := s.channel[idOrName]; ch != nil {
		return ch
	}
	name := strings.TrimPrefix(idOrName, "#")
	for _, id := range s.chanIDs {
		if s.channel[id].name == name {
			return s.channel[id]
		}
	}
	return nil
}

// addMessageLocked stores a message with a fresh ts.
func (s *Server) addMessageLocked(ch *channel, m *Message) *Message {
	m.Channel = ch.id
	if m.TS == "" {
		m.TS = s.nextTSLocked()
	}
	ch.msgs = append(ch.msgs, m)
	ch.byTS[m.TS] = m
	if m.IsReply() {
		if root := ch.byTS[m.ThreadTS]; root != nil && root.ThreadTS == "" {
			root.ThreadTS = root.TS // Slack sets thread_ts on a root once it has replies
		}
	}
	return m
}

// threadRootLocked resolves a thread_ts parameter: the root's ts, or "" when
// the parent does not exist (any more). Slack then posts the "reply"
// unthreaded; slack-go's PostMessageWithResponse documents that case.
func (s *Server) threadRootLocked(ch *channel, threadTS string) string {
	if threadTS == "" {
		return ""
	}
	parent := ch.byTS[threadTS]
	if parent == nil || parent.Deleted {
		return ""
	}
	if parent.IsReply() {
		return parent.ThreadTS
	}
	return parent.TS
}

func (s *Server) lookupUserLocked(id string) *User { return s.users[id] }

// messageJSON renders a message as the Web API and events show it.
func (s *Server) messageJSON(m *Message) obj {
	o := obj{"type": "message", "text": m.Text, "ts": m.TS, "team": s.cfg.teamID}
	if m.User != "" {
		o["user"] = m.User
	}
	if m.BotID != "" {
		o["bot_id"] = m.BotID
	}
	if m.FromBot {
		o["app_id"] = s.cfg.appID
		o["bot_profile"] = obj{"id": s.cfg.botID, "app_id": s.cfg.appID, "name": s.cfg.botName, "team_id": s.cfg.teamID, "deleted": false}
	}
	if m.Username != "" {
		o["username"] = m.Username
	}
	if m.SubType != "" {
		o["subtype"] = m.SubType
	}
	if m.ThreadTS != "" {
		o["thread_ts"] = m.ThreadTS
	}
	if m.IsReply() {
		if ch := s.channel[m.Channel]; ch != nil {
			if root := ch.byTS[m.ThreadTS]; root != nil {
				o["parent_user_id"] = root.User
			}
		}
	}
	if m.Blocks != nil {
		o["blocks"] = m.Blocks
	}
	if m.Attachments != nil {
		o["attachments"] = m.Attachments
	}
	if m.Metadata != nil {
		o["metadata"] = m.Metadata
	}
	if len(m.Files) > 0 {
		var files []obj
		for _, f := range m.Files {
			if sf := s.files[f.ID]; sf != nil {
				files = append(files, s.fileJSON(sf))
			}
		}
		o["files"] = files
		o["upload"] = true
	}
	if m.Updates > 0 {
		o["edited"] = obj{"user": m.User, "ts": m.TS}
	}
	var reactions []obj
	for _, name := range m.Reactions {
		reactions = append(reactions, obj{"name": name, "users": []string{s.cfg.botUserID}, "count": 1})
	}
	for _, r := range m.UserReactions {
		reactions = append(reactions, obj{"name": r.Name, "users": []string{r.User}, "count": 1})
	}
	if reactions != nil {
		o["reactions"] = reactions
	}
	return o
}

// maxTextLen is the length at which Slack rejects a message text with
// msg_too_long (it truncates at 40,000 characters).
const maxTextLen = 40000

// messageContent reads text/blocks/attachments/metadata parameters into m.
// Only parameters that were sent are applied (chat.update keeps the rest).
func messageContent(c *call, m *Message, maxBlocks int) *apiError {
	if c.has("text") {
		m.Text = c.get("text")
		if utf8.RuneCountInString(m.Text) > maxTextLen {
			return slackErr("msg_too_long")
		}
	}
	if raw, ok := c.raw("blocks"); ok {
		if aerr := validateBlocks(raw, maxBlocks); aerr != nil {
			return aerr
		}
		if string(raw) == "[]" {
			m.Blocks, m.BlockSet = nil, nil
		} else {
			m.Blocks = append(json.RawMessage(nil), raw...)
			m.BlockSet = parseBlocks(raw)
		}
	}
	if raw, ok := c.raw("attachments"); ok {
		if !json.Valid(raw) {
			return slackErr("invalid_attachments")
		}
		m.Attachments = append(json.RawMessage(nil), raw...)
	}
	if raw, ok := c.raw("metadata"); ok && len(raw) > 0 {
		var md struct {
			EventType string `json:"event_type"`
		}
		if json.Unmarshal(raw, &md) != nil {
			return slackErr("invalid_metadata_format")
		}
		if md.EventType != "" {
			m.Metadata = append(json.RawMessage(nil), raw...)
		}
	}
	return nil
}

func cleanParams(p url.Values) url.Values {
	out := fakeserver.CloneValues(p)
	out.Del("token")
	return out
}

func (s *Server) apiAuthTest(c *call) (obj, *apiError) {
	return obj{
		"url":                   "https://" + s.cfg.teamDomain + ".slack.com/",
		"team":                  s.cfg.teamName,
		"user":                  s.cfg.botName,
		"team_id":               s.cfg.teamID,
		"user_id":               s.cfg.botUserID,
		"bot_id":                s.cfg.botID,
		"is_enterprise_install": false,
	}, nil
}

func (s *Server) apiPostMessage(c *call) (obj, *apiError) {
	ch := s.findChannelLocked(c.get("channel"))
	if ch == nil {
		return nil, slackErr("channel_not_found")
	}
	m := &Message{User: s.cfg.botUserID, BotID: s.cfg.botID, FromBot: true, Username: c.get("username")}
	if aerr := postedContent(c, m); aerr != nil {
		return nil, aerr
	}
	m.ThreadTS = s.threadRootLocked(ch, c.get("thread_ts"))
	if m.ThreadTS != "" && c.get("reply_broadcast") == "true" {
		m.SubType = "thread_broadcast"
	}
	m.Params = cleanParams(c.p)
	s.addMessageLocked(ch, m)
	return obj{"channel": ch.id, "ts": m.TS, "message": s.messageJSON(m)}, nil
}

// postedContent is messageContent for chat.postMessage, chat.update and
// chat.postEphemeral, which want something to show.
func postedContent(c *call, m *Message) *apiError {
	if aerr := messageContent(c, m, 50); aerr != nil {
		return aerr
	}
	if m.Text == "" && m.Blocks == nil && m.Attachments == nil {
		return slackErr("no_text")
	}
	return nil
}

// messageParamLocked resolves the "channel" of a call and the message whose
// ts is in tsParam, answering notFound for a missing or deleted one.
func (s *Server) messageParamLocked(c *call, tsParam, notFound string) (*channel, *Message, *apiError) {
	ch := s.findChannelLocked(c.get("channel"))
	if ch == nil {
		return nil, nil, slackErr("channel_not_found")
	}
	m := ch.byTS[c.get(tsParam)]
	if m == nil || m.Deleted {
		return nil, nil, slackErr(notFound)
	}
	return ch, m, nil
}

// botMessageLocked is the message of chat.update and chat.delete, which
// must be the bot's own (else cantErr).
func (s *Server) botMessageLocked(c *call, cantErr string) (*channel, *Message, *apiError) {
	ch, m, aerr := s.messageParamLocked(c, "ts", "message_not_found")
	if aerr == nil && !m.FromBot {
		aerr = slackErr(cantErr)
	}
	return ch, m, aerr
}

func (s *Server) apiUpdate(c *call) (obj, *apiError) {
	ch, m, aerr := s.botMessageLocked(c, "cant_update_message")
	if aerr != nil {
		return nil, aerr
	}
	next := *m
	if aerr := postedContent(c, &next); aerr != nil {
		return nil, aerr
	}
	next.Updates++
	next.Params = cleanParams(c.p)
	*m = next
	return obj{"channel": ch.id, "ts": m.TS, "text": m.Text, "message": s.messageJSON(m)}, nil
}

func (s *Server) apiDelete(c *call) (obj, *apiError) {
	ch, m, aerr := s.botMessageLocked(c, "cant_delete_message")
	if aerr != nil {
		return nil, aerr
	}
	m.Deleted = true
	return obj{"channel": ch.id, "ts": m.TS}, nil
}

func (s *Server) apiPostEphemeral(c *call) (obj, *apiError) {
	ch := s.findChannelLocked(c.get("channel"))
	if ch == nil {
		return nil, slackErr("channel_not_found")
	}
	if s.lookupUserLocked(c.get("user")) == nil {
		return nil, slackErr("user_not_in_channel")
	}
	var m Message
	if aerr := postedContent(c, &m); aerr != nil {
		return nil, aerr
	}
	e := Ephemeral{
		Channel: ch.id, User: c.get("user"), Text: m.Text, ThreadTS: c.get("thread_ts"),
		MessageTS: s.nextTSLocked(), Blocks: m.Blocks, BlockSet: m.BlockSet, Params: cleanParams(c.p),
	}
	s.ephemerals = append(s.ephemerals, e)
	return obj{"message_ts": e.MessageTS}, nil
}

func (s *Server) permalink(ch *channel, m *Message) string {
	link := fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", s.cfg.teamDomain, ch.id, strings.ReplaceAll(m.TS, ".", ""))
	if m.IsReply() {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + ch.id
	}
	return link
}

func (s *Server) apiPermalink(c *call) (obj, *apiError) {
	ch, m, aerr := s.messageParamLocked(c, "message_ts", "message_not_found")
	if aerr != nil {
		return nil, aerr
	}
	return obj{"channel": ch.id, "permalink": s.permalink(ch, m)}, nil
}

func (s *Server) reactionTargetLocked(c *call) (*Message, *apiError) {
	if c.get("name") == "" {
		return nil, slackErr("invalid_name")
	}
	_, m, aerr := s.messageParamLocked(c, "timestamp", "message_not_found")
	return m, aerr
}

func (s *Server) apiReactionsAdd(c *call) (obj, *apiError) {
	m, aerr := s.reactionTargetLocked(c)
	if aerr != nil {
		return nil, aerr
	}
	name := c.get("name")
	if m.HasReaction(name) {
		return nil, slackErr("already_reacted")
	}
	m.Reactions = append(m.Reactions, name)
	return obj{}, nil
}

func (s *Server) apiReactionsRemove(c *call) (obj, *apiError) {
	m, aerr := s.reactionTargetLocked(c)
	if aerr != nil {
		return nil, aerr
	}
	i := slices.Index(m.Reactions, c.get("name"))
	if i < 0 {
		return nil, slackErr("no_reaction")
	}
	m.Reactions = slices.Delete(m.Reactions, i, i+1)
	return obj{}, nil
}

func (s *Server) channelJSON(ch *channel) obj {
	return obj{
		"id": ch.id, "name": ch.name, "name_normalized": ch.name, "created": ch.created,
		"is_channel": !strings.HasPrefix(ch.id, "D") && !strings.HasPrefix(ch.id, "G"),
		"is_group":   false, "is_im": strings.HasPrefix(ch.id, "D"), "is_mpim": false,
		"is_private": strings.HasPrefix(ch.id, "G"), "is_archived": false, "is_general": false,
		"is_member": true, "is_shared": false, "is_ext_shared": false, "is_org_shared": false,
		"creator": "", "context_team_id": s.cfg.teamID,
		"topic":   obj{"value": "", "creator": "", "last_set": 0},
		"purpose": obj{"value": "", "creator": "", "last_set": 0},
	}
}

func (s *Server) apiConversationsInfo(c *call) (obj, *apiError) {
	ch := s.findChannelLocked(c.get("channel"))
	if ch == nil {
		return nil, slackErr("channel_not_found")
	}
	return obj{"channel": s.channelJSON(ch)}, nil
}

func (s *Server) apiConversationsJoin(c *call) (obj, *apiError) {
	ch := s.findChannelLocked(c.get("channel"))
	if ch == nil {
		return nil, slackErr("channel_not_found")
	}
	return obj{"channel": s.channelJSON(ch)}, nil
}

// apiConversationsHistory lists the channel's top-level messages (roots and
// broadcast replies), newest first, honouring limit, cursor, oldest, latest
// and include_all_metadata.
func (s *Server) apiConversationsHistory(c *call) (obj, *apiError) {
	ch := s.findChannelLocked(c.get("channel"))
	if ch == nil {
		return nil, slackErr("channel_not_found")
	}
	oldest, latest := c.get("oldest"), c.get("latest")
	inclusive := c.get("inclusive") == "true" || c.get("inclusive") == "1"
	var all []obj
	for i := len(ch.msgs) - 1; i >= 0; i-- {
		m := ch.msgs[i]
		if m.Deleted || (m.IsReply() && m.SubType != "thread_broadcast") {
			continue
		}
		if !tsInRange(m.TS, oldest, latest, inclusive) {
			continue
		}
		all = append(all, withMetadata(c, s.withReplyInfo(ch, m)))
	}
	page, more, next, aerr := paginate(c, all, 100)
	if aerr != nil {
		return nil, aerr
	}
	return obj{"messages": orEmpty(page), "has_more": more, "pin_count": 0, "response_metadata": obj{"next_cursor": next}}, nil
}

// apiConversationsReplies lists a thread, root first, then the replies
// within oldest and latest, honouring limit, cursor and
// include_all_metadata.
func (s *Server) apiConversationsReplies(c *call) (obj, *apiError) {
	ch, root, aerr := s.messageParamLocked(c, "ts", "thread_not_found")
	if aerr != nil {
		return nil, aerr
	}
	if root.IsReply() {
		root = ch.byTS[root.ThreadTS]
	}
	oldest, latest := c.get("oldest"), c.get("latest")
	inclusive := c.get("inclusive") == "true" || c.get("inclusive") == "1"
	all := []obj{withMetadata(c, s.withReplyInfo(ch, root))}
	for _, m := range ch.msgs {
		if m.IsReply() && m.ThreadTS == root.TS && !m.Deleted && tsInRange(m.TS, oldest, latest, inclusive) {
			all = append(all, withMetadata(c, s.messageJSON(m)))
		}
	}
	page, more, next, aerr := paginate(c, all, 1000)
	if aerr != nil {
		return nil, aerr
	}
	return obj{"messages": page, "has_more": more, "response_metadata": obj{"next_cursor": next}}, nil
}

// withMetadata drops a message's metadata unless the call asked for it:
// conversations.history and conversations.replies return message
// metadata only with include_all_metadata.
func withMetadata(c *call, o obj) obj {
	if v := c.get("include_all_metadata"); v != "true" && v != "1" {
		delete(o, "metadata")
	}
	return o
}

// paginate returns the page of all that the call's cursor and limit
// (default def) select: has_more and the next page's cursor (an opaque
// string; "" on the last page), or invalid_cursor.
func paginate(c *call, all []obj, def int) (page []obj, more bool, next string, aerr *apiError) {
	limit := atoiDefault(c.get("limit"), def)
	from := 0
	if cur := c.get("cursor"); cur != "" {
		raw, err := base64.StdEncoding.DecodeString(cur)
		n, ok := strings.CutPrefix(string(raw), "next_offset:")
		if _, serr := fmt.Sscan(n, &from); err != nil || !ok || serr != nil || from < 0 || from > len(all) {
			return nil, false, "", slackErr("invalid_cursor")
		}
	}
	to := min(from+limit, len(all))
	if to < len(all) {
		return all[from:to], true, base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "next_offset:%d", to)), nil
	}
	return all[from:to], false, "", nil
}

func (s *Server) withReplyInfo(ch *channel, m *Message) obj {
	o := s.messageJSON(m)
	if m.IsReply() {
		return o
	}
	n, latest := 0, ""
	var users []string
	for _, r := range ch.msgs {
		if r.IsReply() && r.ThreadTS == m.TS && !r.Deleted {
			n++
			latest = r.TS
			if !slices.Contains(users, r.User) {
				users = append(users, r.User)
			}
		}
	}
	if n > 0 {
		o["reply_count"] = n
		o["reply_users"] = users
		o["reply_users_count"] = len(users)
		o["latest_reply"] = latest
	}
	return o
}

func tsInRange(ts, oldest, latest string, inclusive bool) bool {
	t := tsTime(ts)
	if oldest != "" {
		o := tsTime(oldest)
		if t.Before(o) || (!inclusive && t.Equal(o)) {
			return false
		}
	}
	if latest != "" {
		l := tsTime(latest)
		if t.After(l) || (!inclusive && t.Equal(l)) {
			return false
		}
	}
	return true
}

func orEmpty(v []obj) []obj {
	if v == nil {
		return []obj{}
	}
	return v
}

func atoiDefault(s string, def int) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
		return def
	}
	return n
}
