package telegramtest

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Simulated members act in chats; every action queues the update Telegram
// would deliver and returns its update_id (or, for button presses, the
// callback query id). They must be called from the test goroutine, since a
// misuse (an unknown message, say) fails the test.

// SendText has u send text in the private chat with the bot. Bot commands
// anywhere in the text get bot_command entities, offsets in UTF-16 units.
func (s *Server) SendText(u User, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.memberMessageLocked(s.privateChatLocked(u), u, content{raw: text, plain: text, entities: botCommandEntities(text)})
}

// SendGroupText has u send text in a group chat (negative id), creating the
// group if needed.
func (s *Server) SendGroupText(chatID int64, u User, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.memberMessageLocked(s.groupLocked(chatID, ""), named(u), content{raw: text, plain: text, entities: botCommandEntities(text)})
}

// SendPhoto has u send a photo with an optional caption. Its bytes are a
// small fake JPEG that getFile and the download route serve.
func (s *Server) SendPhoto(u User, caption string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.addFileLocked(kindPhoto, "", "image/jpeg", fakeBytes("\xff\xd8\xff\xe0JFIF", s.nextUpdateID), false)
	return s.memberMessageLocked(s.privateChatLocked(u), u, content{raw: caption, plain: caption,
		media: &media{kind: kindPhoto, file: f, width: 1280, height: 960}})
}

// SendDocument has u send a file.
func (s *Server) SendDocument(u User, name, mimeType string, data []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.addFileLocked(kindDocument, name, mimeType, append([]byte(nil), data...), false)
	return s.memberMessageLocked(s.privateChatLocked(u), u, content{media: &media{kind: kindDocument, file: f}})
}

// SendVoice has u send a voice note of the given length.
func (s *Server) SendVoice(u User, seconds int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.addFileLocked(kindVoice, "", "audio/ogg", fakeBytes("OggS", s.nextUpdateID), false)
	return s.memberMessageLocked(s.privateChatLocked(u), u, content{media: &media{kind: kindVoice, file: f, duration: seconds}})
}

// SendSticker has u send a sticker for an emoji.
func (s *Server) SendSticker(u User, emoji string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.addFileLocked(kindSticker, "", "image/webp", fakeBytes("RIFF\x00\x00\x00\x00WEBP", s.nextUpdateID), false)
	return s.memberMessageLocked(s.privateChatLocked(u), u, content{media: &media{kind: kindSticker, file: f, width: 512, height: 512, emoji: emoji}})
}

// fakeBytes makes distinct small file contents with a format's magic bytes.
func fakeBytes(magic string, n int) []byte {
	return []byte(magic + " telegramtest fake file " + strconv.Itoa(n))
}

func (s *Server) memberMessageLocked(c *chat, u User, cont content) int {
	m := s.addMessageLocked(c, &storedMsg{from: named(u), content: cont})
	return s.enqueueLocked(wireUpdate{Message: s.wireMessage(m)})
}

// EditText has u edit a message u sent in their private chat, which queues
// an edited_message update.
func (s *Server) EditText(u User, messageID int, newText string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.privateChatLocked(u)
	m := c.msgs[messageID]
	if m == nil || m.fromBot || m.deleted {
		s.report.Fatalf("telegramtest: EditText: user %d has no message %d", u.ID, messageID)
	}
	m.content = content{raw: newText, plain: newText, entities: botCommandEntities(newText), media: m.content.media}
	m.edits++
	m.editDate = s.now()
	return s.enqueueLocked(wireUpdate{EditedMessage: s.wireMessage(m)})
}

// PressButton has u press an inline button of the bot's message in u's
// private chat: it queues a callback_query whose message is the bot's
// message as it is now, keyboard included. data is not checked against the
// keyboard, so stale or forged data can be simulated. It returns the
// callback query id.
func (s *Server) PressButton(u User, messageID int, data string) string {
	return s.PressGroupButton(u.ID, u, messageID, data)
}

// PressGroupButton is PressButton in any chat, e.g. a group.
func (s *Server) PressGroupButton(chatID int64, u User, messageID int, data string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	var m *storedMsg
	if c != nil {
		m = c.msgs[messageID]
	}
	if m == nil || !m.fromBot || m.deleted {
		s.report.Fatalf("telegramtest: PressButton: chat %d has no bot message %d", chatID, messageID)
	}
	if c.id == u.ID {
		s.privateChatLocked(u) // refresh the member's profile
	}
	id := s.newQueryIDLocked()
	s.callbacks[id] = &callbackState{created: s.now()}
	s.enqueueLocked(wireUpdate{CallbackQuery: &wireCallbackQuery{
		ID: id, From: named(u).wire(), Message: s.wireMessage(m), ChatInstance: chatInstance(c.id), Data: data,
	}})
	return id
}

// PressButtonInline has u press a button of a message sent via the bot in
// inline mode: the callback_query has inline_message_id and no message,
// which crashes clients that assume a message (tgbotapi's Update.FromChat
// panics). Edits of that inline_message_id succeed. It returns the callback
// query id.
func (s *Server) PressButtonInline(u User, data string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newQueryIDLocked()
	inline := "BAAAA" + strconv.Itoa(s.nextQuery) + "inline"
	s.inlineIDs[inline] = true
	s.callbacks[id] = &callbackState{created: s.now()}
	s.enqueueLocked(wireUpdate{CallbackQuery: &wireCallbackQuery{
		ID: id, From: named(u).wire(), InlineMessageID: inline, ChatInstance: chatInstance(-u.ID), Data: data,
	}})
	return id
}

// chatInstance is a stable per-chat token, as Telegram sends.
func chatInstance(chatID int64) string {
	return strconv.FormatInt(chatID*2654435761%1_000_000_007, 10)
}

// SetMemberStatus reports a change of the bot's membership in u's private
// chat with a my_chat_member update: "kicked" when u blocks the bot,
// "member" when u unblocks it. It also blocks or unblocks sends to the chat.
func (s *Server) SetMemberStatus(u User, status string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.privateChatLocked(u)
	old := c.botStatus
	c.botStatus = status
	switch status {
	case "kicked":
		c.blocked = true
	case "member":
		c.blocked = false
	}
	member := func(status string) wireChatMember {
		m := wireChatMember{User: *s.botWire(), Status: status}
		if status == "kicked" {
			var forever int64
			m.UntilDate = &forever
		}
		return m
	}
	return s.enqueueLocked(wireUpdate{MyChatMember: &wireChatMemberUpdated{
		Chat: c.wire(), From: c.user.wire(), Date: s.now().Unix(),
		OldChatMember: member(old), NewChatMember: member(status),
	}})
}

// botCommandEntities finds bot commands the way Telegram does
// (/command or /command@botname, not preceded or followed by a word
// character, '/', '<' or '>'), with offsets and lengths in UTF-16 units.
func botCommandEntities(text string) []wireEntity {
	var out []wireEntity
	isCmdChar := func(c byte) bool { return isAlnum(c) || c == '_' }
	blocks := func(r rune) bool {
		return r == '_' || r == '/' || r == '<' || r == '>' || unicode.IsLetter(r) || unicode.IsNumber(r)
	}
	// word scans the command characters after the '/' or '@' at from and
	// reports whether there are between least and most of them.
	word := func(from, least, most int) (end int, ok bool) {
		end = from + 1
		for end < len(text) && isCmdChar(text[end]) {
			end++
		}
		n := end - from - 1
		return end, n >= least && n <= most
	}
	for i := 0; i < len(text); i++ {
		if text[i] != '/' {
			continue
		}
		if prev, _ := utf8.DecodeLastRuneInString(text[:i]); i > 0 && blocks(prev) {
			continue
		}
		j, ok := word(i, 1, 64)
		if !ok {
			i = j - 1
			continue
		}
		if j < len(text) && text[j] == '@' {
			k, ok := word(j, 3, 32)
			if !ok {
				i = k - 1
				continue
			}
			j = k
		}
		if next, _ := utf8.DecodeRuneInString(text[j:]); j < len(text) && blocks(next) {
			i = j - 1
			continue
		}
		out = append(out, wireEntity{Type: "bot_command", Offset: utf16Len(text[:i]), Length: utf16Len(text[i:j])})
		i = j - 1
	}
	return out
}
