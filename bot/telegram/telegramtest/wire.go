package telegramtest

import "encoding/json"

// The wire* types are the JSON objects of the Bot API, written out here
// rather than borrowed from a client library so that the fake emits what
// Telegram emits (field names, omitted empties), not what one client decodes.

type wireUser struct {
	ID                      int64  `json:"id"`
	IsBot                   bool   `json:"is_bot"`
	FirstName               string `json:"first_name"`
	LastName                string `json:"last_name,omitempty"`
	Username                string `json:"username,omitempty"`
	LanguageCode            string `json:"language_code,omitempty"`
	CanJoinGroups           *bool  `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages *bool  `json:"can_read_all_group_messages,omitempty"`
	SupportsInlineQueries   *bool  `json:"supports_inline_queries,omitempty"`
}

type wireChat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

type wireEntity struct {
	Type          string    `json:"type"`
	Offset        int       `json:"offset"`
	Length        int       `json:"length"`
	URL           string    `json:"url,omitempty"`
	User          *wireUser `json:"user,omitempty"`
	Language      string    `json:"language,omitempty"`
	CustomEmojiID string    `json:"custom_emoji_id,omitempty"`
}

type wirePhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int    `json:"file_size,omitempty"`
}

// wireFile covers document, voice, audio and video; fields a kind lacks stay
// empty and are omitted.
type wireFile struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width,omitempty"`
	Height       int    `json:"height,omitempty"`
	Duration     *int   `json:"duration,omitempty"`
	Performer    string `json:"performer,omitempty"`
	Title        string `json:"title,omitempty"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int    `json:"file_size,omitempty"`
}

type wireSticker struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Type         string `json:"type"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	IsAnimated   bool   `json:"is_animated"`
	IsVideo      bool   `json:"is_video"`
	Emoji        string `json:"emoji,omitempty"`
	FileSize     int    `json:"file_size,omitempty"`
}

type wireMessage struct {
	MessageID           int             `json:"message_id"`
	From                *wireUser       `json:"from,omitempty"`
	Chat                wireChat        `json:"chat"`
	Date                int64           `json:"date"`
	EditDate            int64           `json:"edit_date,omitempty"`
	HasProtectedContent bool            `json:"has_protected_content,omitempty"`
	ReplyToMessage      *wireMessage    `json:"reply_to_message,omitempty"`
	Text                string          `json:"text,omitempty"`
	Entities            []wireEntity    `json:"entities,omitempty"`
	Photo               []wirePhotoSize `json:"photo,omitempty"`
	Document            *wireFile       `json:"document,omitempty"`
	Voice               *wireFile       `json:"voice,omitempty"`
	Audio               *wireFile       `json:"audio,omitempty"`
	Video               *wireFile       `json:"video,omitempty"`
	Sticker             *wireSticker    `json:"sticker,omitempty"`
	Caption             string          `json:"caption,omitempty"`
	CaptionEntities     []wireEntity    `json:"caption_entities,omitempty"`
	ReplyMarkup         json.RawMessage `json:"reply_markup,omitempty"`
}

type wireCallbackQuery struct {
	ID              string       `json:"id"`
	From            wireUser     `json:"from"`
	Message         *wireMessage `json:"message,omitempty"`
	InlineMessageID string       `json:"inline_message_id,omitempty"`
	ChatInstance    string       `json:"chat_instance"`
	Data            string       `json:"data,omitempty"`
}

type wireChatMember struct {
	User      wireUser `json:"user"`
	Status    string   `json:"status"`
	UntilDate *int64   `json:"until_date,omitempty"`
}

type wireChatMemberUpdated struct {
	Chat          wireChat       `json:"chat"`
	From          wireUser       `json:"from"`
	Date          int64          `json:"date"`
	OldChatMember wireChatMember `json:"old_chat_member"`
	NewChatMember wireChatMember `json:"new_chat_member"`
}

type wireUpdate struct {
	UpdateID      int                    `json:"update_id"`
	Message       *wireMessage           `json:"message,omitempty"`
	EditedMessage *wireMessage           `json:"edited_message,omitempty"`
	CallbackQuery *wireCallbackQuery     `json:"callback_query,omitempty"`
	MyChatMember  *wireChatMemberUpdated `json:"my_chat_member,omitempty"`
}

type wireFileInfo struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileSize     int    `json:"file_size,omitempty"`
	FilePath     string `json:"file_path,omitempty"`
}

type wireWebhookInfo struct {
	URL                  string   `json:"url"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
	PendingUpdateCount   int      `json:"pending_update_count"`
	MaxConnections       int      `json:"max_connections,omitempty"`
	IPAddress            string   `json:"ip_address,omitempty"`
	LastErrorDate        int64    `json:"last_error_date,omitempty"`
	LastErrorMessage     string   `json:"last_error_message,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
}

func (u User) wire() wireUser {
	return wireUser{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, LanguageCode: u.LanguageCode}
}

func (s *Server) botWire() *wireUser {
	w := s.bot.wire()
	w.IsBot = true
	return &w
}
