package telegramtest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"time"

	"bridgebot/bot/internal/fakeserver"
)

// User is a simulated Telegram user. A private chat's id equals its user's id.
type User struct {
	ID           int64
	FirstName    string
	LastName     string
	Username     string
	LanguageCode string
}

// chat is the server's state of one chat.
type chat struct {
	id          int64
	kind        string // "private" or "group"
	title       string // groups
	user        User   // private chats: the member
	blocked     bool
	deactivated bool
	botStatus   string // the bot's membership as last reported by my_chat_member

	nextMsgID int
	msgs      map[int]*storedMsg // bot and member messages by id
	botMsgs   []*storedMsg       // bot messages in send order, deleted ones kept
	actions   []string           // sendChatAction actions in order

	accepted int
	window   window
}

// storedMsg is a message in a chat, from the bot or a member.
type storedMsg struct {
	id        int
	chat      *chat
	fromBot   bool
	from      User // member messages
	date      time.Time
	editDate  time.Time
	content   content
	markup    *markup
	replyTo   *storedMsg
	protected bool
	edits     int
	deleted   bool
	params    url.Values
}

// content is what a message shows: text, or a media item with a caption.
type content struct {
	raw       string // as sent, with markup
	plain     string // as displayed
	entities  []wireEntity
	parseMode string
	media     *media
}

// equal reports whether two contents look the same to a user, which is how
// Telegram decides "message is not modified".
func (c content) equal(o content) bool {
	return c.plain == o.plain && reflect.DeepEqual(c.entities, o.entities) && c.media == o.media
}

// media is the attachment of a message.
type media struct {
	kind      string
	file      *storedFile
	duration  int
	width     int
	height    int
	emoji     string
	performer string
	title     string
}

// chatLocked returns the chat with that id, creating it as a private chat
// with a placeholder user (positive ids) or a group (negative ids).
func (s *Server) chatLocked(id int64) *chat {
	if c, ok := s.chats[id]; ok {
		return c
	}
	c := &chat{id: id, kind: "private", botStatus: "member", msgs: map[int]*storedMsg{}}
	if id < 0 {
		c.kind, c.title = "group", "Group "+strconv.FormatInt(-id, 10)
	} else {
		c.user = User{ID: id, FirstName: "User " + strconv.FormatInt(id, 10)}
	}
	s.chats[id] = c
	return c
}

// privateChatLocked returns u's private chat, refreshing the member's profile.
func (s *Server) privateChatLocked(u User) *chat {
	if u.ID <= 0 {
		s.report.Fatalf("telegramtest: user id must be positive, got %d", u.ID)
	}
	c := s.chatLocked(u.ID)
	c.user = named(u)
	return c
}

// named fills in a first name, which Telegram users always have.
func named(u User) User {
	if u.FirstName == "" {
		u.FirstName = "User " + strconv.FormatInt(u.ID, 10)
	}
	return u
}

// AddChat makes u's private chat known, as if u had started the bot, so the
// bot can message u. (Telegram answers "chat not found" otherwise.)
func (s *Server) AddChat(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.privateChatLocked(u)
	s.changes.Notify()
}

// AddGroup makes a group chat (negative id) known with a title.
func (s *Server) AddGroup(chatID int64, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groupLocked(chatID, title)
	s.changes.Notify()
}

func (s *Server) groupLocked(chatID int64, title string) *chat {
	if chatID >= 0 {
		s.report.Fatalf("telegramtest: group chat ids are negative, got %d", chatID)
	}
	c := s.chatLocked(chatID)
	if title != "" {
		c.title = title
	}
	return c
}

func (c *chat) wire() wireChat {
	if c.kind == "private" {
		return wireChat{ID: c.id, Type: "private", FirstName: c.user.FirstName, LastName: c.user.LastName, Username: c.user.Username}
	}
	return wireChat{ID: c.id, Type: c.kind, Title: c.title}
}

// addMessageLocked stores a new message with the chat's next id.
func (s *Server) addMessageLocked(c *chat, m *storedMsg) *storedMsg {
	c.nextMsgID++
	m.id, m.chat, m.date = c.nextMsgID, c, s.now()
	c.msgs[m.id] = m
	if m.fromBot {
		c.botMsgs = append(c.botMsgs, m)
	}
	return m
}

// wireMessage renders a message as Telegram sends it.
func (s *Server) wireMessage(m *storedMsg) *wireMessage {
	w := &wireMessage{
		MessageID:           m.id,
		Chat:                m.chat.wire(),
		Date:                m.date.Unix(),
		HasProtectedContent: m.protected,
	}
	if m.fromBot {
		w.From = s.botWire()
	} else {
		u := m.from.wire()
		w.From = &u
	}
	if !m.editDate.IsZero() {
		w.EditDate = m.editDate.Unix()
	}
	if m.replyTo != nil && !m.replyTo.deleted {
		r := *s.wireMessage(m.replyTo)
		r.ReplyToMessage = nil // Telegram does not nest replies further
		w.ReplyToMessage = &r
	}
	if m.markup != nil && m.markup.inline {
		w.ReplyMarkup = m.markup.canonical
	}
	md := m.content.media
	if md == nil {
		w.Text, w.Entities = m.content.plain, m.content.entities
		return w
	}
	w.Caption, w.CaptionEntities = m.content.plain, m.content.entities
	f := md.file
	file := &wireFile{FileID: f.id, FileUniqueID: f.uniqueID, FileSize: len(f.data), MimeType: f.mime}
	switch md.kind {
	case kindPhoto:
		w.Photo = []wirePhotoSize{{FileID: f.id, FileUniqueID: f.uniqueID, Width: md.width, Height: md.height, FileSize: len(f.data)}}
	case kindDocument:
		file.FileName = f.name
		w.Document = file
	case kindVoice:
		file.Duration = &md.duration
		w.Voice = file
	case kindAudio:
		file.Duration, file.FileName, file.Performer, file.Title = &md.duration, f.name, md.performer, md.title
		w.Audio = file
	case kindVideo:
		file.Duration, file.FileName, file.Width, file.Height = &md.duration, f.name, md.width, md.height
		w.Video = file
	case kindSticker:
		w.Sticker = &wireSticker{FileID: f.id, FileUniqueID: f.uniqueID, Type: "regular", Width: md.width, Height: md.height, Emoji: md.emoji, FileSize: len(f.data)}
	}
	return w
}

// Button is an inline keyboard button as the bot sent it.
type Button struct {
	Text         string
	CallbackData string
	URL          string
}

// Message is a message the bot sent, in its current state.
type Message struct {
	MessageID int
	ChatID    int64
	Text      string // text (or, for media, caption) as the bot sent it, markup included
	PlainText string // text or caption as Telegram displays it: tags stripped, entities decoded
	ParseMode string
	Entities  []Entity
	Buttons   [][]Button // inline keyboard, nil if none
	Markup    string     // reply_markup JSON of any kind as sent, "" if none

	Media    string // "", "photo", "document", "voice", "audio", "video" or "sticker"
	FileID   string
	FileName string
	FileData []byte // the uploaded bytes (shared; do not modify)
	Caption  string // raw caption of a media message (same as Text)

	ReplyTo   int // message_id replied to, 0 if none
	Protected bool
	Edited    bool
	EditCount int
	Deleted   bool
	Date      time.Time
	Params    url.Values // parameters of the last request that sent or changed it
}

// Entity is a formatting entity of a message, offsets in UTF-16 code units.
type Entity struct {
	Type     string
	Offset   int
	Length   int
	URL      string
	Language string
}

func (m *storedMsg) public() Message {
	out := Message{
		MessageID: m.id,
		ChatID:    m.chat.id,
		Text:      m.content.raw,
		PlainText: m.content.plain,
		ParseMode: m.content.parseMode,
		Protected: m.protected,
		Edited:    m.edits > 0,
		EditCount: m.edits,
		Deleted:   m.deleted,
		Date:      m.date,
		Params:    fakeserver.CloneValues(m.params),
	}
	for _, e := range m.content.entities {
		out.Entities = append(out.Entities, Entity{Type: e.Type, Offset: e.Offset, Length: e.Length, URL: e.URL, Language: e.Language})
	}
	if m.markup != nil {
		out.Markup = m.markup.raw
		for _, row := range m.markup.buttons {
			out.Buttons = append(out.Buttons, append([]Button(nil), row...))
		}
	}
	if md := m.content.media; md != nil {
		out.Media, out.FileID, out.FileName, out.FileData = md.kind, md.file.id, md.file.name, md.file.data
		out.Caption = m.content.raw
	}
	if m.replyTo != nil {
		out.ReplyTo = m.replyTo.id
	}
	return out
}

// String formats a message for failure dumps.
func (m Message) String() string {
	s := fmt.Sprintf("#%d", m.MessageID)
	if m.Media != "" {
		s += " " + m.Media
		if m.FileName != "" {
			s += " " + strconv.Quote(m.FileName)
		}
	}
	s += " " + strconv.Quote(m.Text)
	if m.Buttons != nil {
		b, _ := json.Marshal(m.Buttons)
		s += " buttons=" + string(b)
	}
	if m.Edited {
		s += fmt.Sprintf(" (edited %dx)", m.EditCount)
	}
	if m.Deleted {
		s += " (deleted)"
	}
	return s
}
