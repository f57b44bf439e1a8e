package telegramtest

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Telegram's length limits, in UTF-16 code units of the displayed text.
const (
	maxTextLen    = 4096
	maxCaptionLen = 1024
)

// parseText applies parse_mode to a text or caption and checks its length.
func parseText(raw, parseMode string, limit int, tooLong string) (content, *apiError) {
	if !utf8.ValidString(raw) {
		return content{}, badRequest("strings must be encoded in UTF-8")
	}
	c := content{raw: raw, plain: raw, parseMode: parseMode}
	switch strings.ToLower(parseMode) {
	case "":
	case "html":
		plain, entities, err := parseHTML(raw)
		if err != nil {
			return content{}, badRequest("can't parse entities: " + err.Error())
		}
		c.plain, c.entities = plain, entities
	case "markdown", "markdownv2":
		// Accepted but not parsed: PlainText keeps the markup.
	default:
		return content{}, badRequest("unsupported parse_mode")
	}
	if utf16Len(c.plain) > limit {
		return content{}, badRequest(tooLong)
	}
	return c, nil
}

// textContent reads the text of sendMessage and editMessageText.
func textContent(p *params) (content, *apiError) {
	c, err := parseText(p.str("text"), p.str("parse_mode"), maxTextLen, "message is too long")
	if err != nil {
		return content{}, err
	}
	if strings.TrimSpace(c.plain) == "" {
		return content{}, badRequest("message text is empty")
	}
	if err := checkJSONParam(p, "link_preview_options", "link preview options"); err != nil {
		return content{}, err
	}
	return c, nil
}

// captionContent reads an optional caption.
func captionContent(p *params) (content, *apiError) {
	return parseText(p.str("caption"), p.str("parse_mode"), maxCaptionLen, "message caption is too long")
}

// checkJSONParam rejects a JSON-object parameter that does not parse.
func checkJSONParam(p *params, key, what string) *apiError {
	raw, ok := p.get(key)
	if !ok {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &obj) != nil || obj == nil {
		return badRequest("can't parse " + what + " JSON object")
	}
	return nil
}

// chatParam resolves a chat parameter (chat_id, from_chat_id) to a known chat.
func (s *Server) chatParam(p *params, key string) (*chat, *apiError) {
	raw, ok := p.get(key)
	if !ok || raw == "" {
		return nil, badRequest(key + " is empty")
	}
	id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	if err != nil {
		return nil, badRequest("chat not found")
	}
	c, ok := s.chats[id]
	if !ok {
		return nil, badRequest("chat not found")
	}
	return c, nil
}

// reachable fails as Telegram does when the member blocked the bot or their
// account is gone.
func reachable(c *chat) *apiError {
	switch {
	case c.deactivated:
		return forbidden("user is deactivated")
	case c.blocked:
		return forbidden("bot was blocked by the user")
	}
	return nil
}

// messageParam resolves message_id in a chat; missing reports notFound too
// when the id is malformed.
func messageParam(c *chat, p *params, notFound string) (*storedMsg, *apiError) {
	id, ok, err := p.int("message_id")
	if !ok {
		return nil, badRequest("message identifier is not specified")
	}
	m := c.msgs[int(id)]
	if err != nil || m == nil || m.deleted {
		return nil, badRequest(notFound)
	}
	return m, nil
}

// replyTarget resolves reply_to_message_id or reply_parameters.
func replyTarget(c *chat, p *params) (*storedMsg, *apiError) {
	id, ok, _ := p.int("reply_to_message_id")
	allowMissing := p.bool("allow_sending_without_reply")
	if raw, has := p.get("reply_parameters"); has {
		var rp struct {
			MessageID                int  `json:"message_id"`
			AllowSendingWithoutReply bool `json:"allow_sending_without_reply"`
		}
		if json.Unmarshal([]byte(raw), &rp) != nil {
			return nil, badRequest("can't parse reply parameters JSON object")
		}
		id, ok, allowMissing = int64(rp.MessageID), rp.MessageID != 0, rp.AllowSendingWithoutReply
	}
	if !ok || id == 0 {
		return nil, nil
	}
	if m := c.msgs[int(id)]; m != nil && !m.deleted {
		return m, nil
	}
	if allowMissing {
		return nil, nil
	}
	return nil, badRequest("message to be replied not found")
}

// sendLocked is the common tail of every method that posts a message:
// reachability, reply target, flood limits, then storage.
func (s *Server) sendLocked(c *chat, p *params, cont content, mk *markup) (*storedMsg, *apiError) {
	if err := reachable(c); err != nil {
		return nil, err
	}
	reply, err := replyTarget(c, p)
	if err != nil {
		return nil, err
	}
	if err := s.admitLocked(c, p.bool("allow_paid_broadcast")); err != nil {
		return nil, err
	}
	m := &storedMsg{fromBot: true, content: cont, markup: mk, replyTo: reply, protected: p.bool("protect_content"), params: p.clone()}
	return s.addMessageLocked(c, m), nil
}

func (s *Server) handleSendMessage(c *call) (any, *apiError) {
	mk, err := parseMarkup(c.p)
	if err != nil {
		return nil, err
	}
	ch, err := s.chatParam(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	cont, err := textContent(c.p)
	if err != nil {
		return nil, err
	}
	m, err := s.sendLocked(ch, c.p, cont, mk)
	if err != nil {
		return nil, err
	}
	return s.wireMessage(m), nil
}

const notModified = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"

// editTarget resolves the message of an edit method. Inline messages (from
// PressButtonInline) are not stored: edits of known ids succeed with true.
func (s *Server) editTarget(p *params) (m *storedMsg, inline bool, err *apiError) {
	if id, ok := p.get("inline_message_id"); ok && id != "" {
		if !s.inlineIDs[id] {
			return nil, false, badRequest("MESSAGE_ID_INVALID")
		}
		return nil, true, nil
	}
	ch, err := s.chatParam(p, "chat_id")
	if err != nil {
		return nil, false, err
	}
	m, err = messageParam(ch, p, "message to edit not found")
	if err != nil {
		return nil, false, err
	}
	if !m.fromBot {
		return nil, false, badRequest("message can't be edited")
	}
	return m, false, nil
}

// applyEdit stores new content and markup unless nothing changes. An edit
// without reply_markup removes the inline keyboard, as on Telegram.
func (s *Server) applyEdit(m *storedMsg, p *params, cont content, mk *markup) (any, *apiError) {
	if m.content.equal(cont) && sameMarkup(m.markup, mk) {
		return nil, badRequest(notModified)
	}
	m.content, m.markup = cont, mk
	m.edits++
	m.editDate = s.now()
	m.params = p.clone()
	return s.wireMessage(m), nil
}

func (s *Server) handleEditMessageText(c *call) (any, *apiError) {
	mk, err := parseMarkup(c.p)
	if err != nil {
		return nil, err
	}
	m, inline, err := s.editTarget(c.p)
	if err != nil {
		return nil, err
	}
	cont, err := textContent(c.p)
	if err != nil {
		return nil, err
	}
	if inline {
		return true, nil
	}
	if m.content.media != nil {
		return nil, badRequest("there is no text in the message to edit")
	}
	return s.applyEdit(m, c.p, cont, mk)
}

func (s *Server) handleEditMessageCaption(c *call) (any, *apiError) {
	mk, err := parseMarkup(c.p)
	if err != nil {
		return nil, err
	}
	m, inline, err := s.editTarget(c.p)
	if err != nil {
		return nil, err
	}
	cont, err := captionContent(c.p)
	if err != nil {
		return nil, err
	}
	if inline {
		return true, nil
	}
	if m.content.media == nil {
		return nil, badRequest("there is no caption in the message to edit")
	}
	cont.media = m.content.media
	return s.applyEdit(m, c.p, cont, mk)
}

func (s *Server) handleEditMessageReplyMarkup(c *call) (any, *apiError) {
	mk, err := parseMarkup(c.p)
	if err != nil {
		return nil, err
	}
	m, inline, err := s.editTarget(c.p)
	if err != nil {
		return nil, err
	}
	if inline {
		return true, nil
	}
	return s.applyEdit(m, c.p, m.content, mk)
}

func (s *Server) handleDeleteMessage(c *call) (any, *apiError) {
	ch, err := s.chatParam(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	m, err := messageParam(ch, c.p, "message to delete not found")
	if err != nil {
		return nil, err
	}
	m.deleted = true
	m.params = c.p.clone()
	return true, nil
}

// handleCopyMessage copies a member's or the bot's message as a new bot
// message; it answers a MessageId, not a Message.
func (s *Server) handleCopyMessage(c *call) (any, *apiError) {
	mk, err := parseMarkup(c.p)
	if err != nil {
		return nil, err
	}
	from, err := s.chatParam(c.p, "from_chat_id")
	if err != nil {
		return nil, err
	}
	src, err := messageParam(from, c.p, "message to copy not found")
	if err != nil {
		return nil, err
	}
	to, err := s.chatParam(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	cont := src.content
	cont.parseMode = ""
	if _, ok := c.p.get("caption"); ok && cont.media != nil { // text copies keep their text
		caption, err := captionContent(c.p)
		if err != nil {
			return nil, err
		}
		caption.media = cont.media
		cont = caption
	}
	m, err := s.sendLocked(to, c.p, cont, mk)
	if err != nil {
		return nil, err
	}
	return map[string]int{"message_id": m.id}, nil
}

// chatActions are the actions sendChatAction accepts.
var chatActions = map[string]bool{
	"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true,
}

func (s *Server) handleSendChatAction(c *call) (any, *apiError) {
	ch, err := s.chatParam(c.p, "chat_id")
	if err != nil {
		return nil, err
	}
	action := c.p.str("action")
	if !chatActions[action] {
		return nil, badRequest("wrong parameter action in request")
	}
	if err := reachable(ch); err != nil {
		return nil, err
	}
	ch.actions = append(ch.actions, action)
	return true, nil
}
