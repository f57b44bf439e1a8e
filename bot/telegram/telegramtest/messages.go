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

// messageParam resolves message_id in the chat named by chatKey; missing
// reports notFound too when the id is malformed.
func (s *Server) messageParam(p *params, chatKey, notFound string) (*storedMsg, *apiError) {
	c, err := s.chatParam(p, chatKey)
	if err != nil {
		return nil, err
	}
	id, ok, perr := p.int("message_id")
	if !ok {
		return nil, badRequest("message identifier is not specified")
	}
	m := c.msgs[int(id)]
	if perr != nil || m == nil || m.deleted {
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

// outgoing reads what sendMessage and the media sends share, in Telegram's
// order: reply_markup, the chat, then the text or caption (body).
func (s *Server) outgoing(p *params, body func(*params) (content, *apiError)) (*chat, content, *markup, *apiError) {
	mk, err := parseMarkup(p)
	if err != nil {
		return nil, content{}, nil, err
	}
	ch, err := s.chatParam(p, "chat_id")
	if err != nil {
		return nil, content{}, nil, err
	}
	cont, err := body(p)
	if err != nil {
		return nil, content{}, nil, err
	}
	return ch, cont, mk, nil
}

func (s *Server) handleSendMessage(c *call) (any, *apiError) {
	ch, cont, mk, err := s.outgoing(c.p, textContent)
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
	m, err = s.messageParam(p, "chat_id", "message to edit not found")
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

// edit runs an edit method. It reads, in Telegram's order, reply_markup,
// the target message and its new content (body; nil keeps the message's);
// an inline message succeeds with true; fit checks (and may complete) the
// new content against the message.
func (s *Server) edit(p *params, body func(*params) (content, *apiError), fit func(m *storedMsg, cont *content) *apiError) (any, *apiError) {
	var (
		m      *storedMsg
		inline bool
		cont   content
	)
	mk, err := parseMarkup(p)
	if err == nil {
		m, inline, err = s.editTarget(p)
	}
	if err == nil && body != nil {
		cont, err = body(p)
	}
	switch {
	case err != nil:
		return nil, err
	case inline:
		return true, nil
	case body == nil:
		cont = m.content
	}
	if fit != nil {
		if err := fit(m, &cont); err != nil {
			return nil, err
		}
	}
	return s.applyEdit(m, p, cont, mk)
}

func (s *Server) handleEditMessageText(c *call) (any, *apiError) {
	return s.edit(c.p, textContent, func(m *storedMsg, _ *content) *apiError {
		if m.content.media != nil {
			return badRequest("there is no text in the message to edit")
		}
		return nil
	})
}

func (s *Server) handleEditMessageCaption(c *call) (any, *apiError) {
	return s.edit(c.p, captionContent, func(m *storedMsg, cont *content) *apiError {
		if m.content.media == nil {
			return badRequest("there is no caption in the message to edit")
		}
		cont.media = m.content.media
		return nil
	})
}

func (s *Server) handleEditMessageReplyMarkup(c *call) (any, *apiError) {
	return s.edit(c.p, nil, nil)
}

func (s *Server) handleDeleteMessage(c *call) (any, *apiError) {
	m, err := s.messageParam(c.p, "chat_id", "message to delete not found")
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
	src, err := s.messageParam(c.p, "from_chat_id", "message to copy not found")
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
