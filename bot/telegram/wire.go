package telegram

import (
	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// wireUpdate is an update as getUpdates and webhook deliveries carry it,
// with only the parts Convert reads, in the library's own types where they
// are leaves (users, chats, files). Decoding the library's whole Update
// builds every object a message can carry (its keyboard, entities, reply,
// ...) and was the larger part of reading a batch of updates. A field
// Convert reads that is malformed still makes the update undecodable, as
// before; malformed parts nobody reads no longer do.
type wireUpdate struct {
	UpdateID      int                         `json:"update_id"`
	Message       *wireMessage                `json:"message"`
	EditedMessage *wireMessage                `json:"edited_message"`
	CallbackQuery *wireCallbackQuery          `json:"callback_query"`
	MyChatMember  *tgbotapi.ChatMemberUpdated `json:"my_chat_member"`
}

type wireMessage struct {
	MessageID int                  `json:"message_id"`
	From      *tgbotapi.User       `json:"from"`
	Chat      *tgbotapi.Chat       `json:"chat"`
	Text      string               `json:"text"`
	Caption   string               `json:"caption"`
	Photo     []tgbotapi.PhotoSize `json:"photo"`
	Voice     *tgbotapi.Voice      `json:"voice"`
	Audio     *tgbotapi.Audio      `json:"audio"`
	Document  *tgbotapi.Document   `json:"document"`
	Video     *tgbotapi.Video      `json:"video"`
	VideoNote *tgbotapi.VideoNote  `json:"video_note"`
	Sticker   *tgbotapi.Sticker    `json:"sticker"`
}

type wireCallbackQuery struct {
	ID              string         `json:"id"`
	From            *tgbotapi.User `json:"from"`
	Message         *wireMessage   `json:"message"`
	InlineMessageID string         `json:"inline_message_id"`
	ChatInstance    string         `json:"chat_instance"`
	Data            string         `json:"data"`
	GameShortName   string         `json:"game_short_name"`
}

// update is the library's Update with what was read.
func (w *wireUpdate) update() tgbotapi.Update {
	u := tgbotapi.Update{UpdateID: w.UpdateID, Message: w.Message.message(), EditedMessage: w.EditedMessage.message(), MyChatMember: w.MyChatMember}
	if q := w.CallbackQuery; q != nil {
		u.CallbackQuery = &tgbotapi.CallbackQuery{ID: q.ID, From: q.From, Message: q.Message.message(), InlineMessageID: q.InlineMessageID,
			ChatInstance: q.ChatInstance, Data: q.Data, GameShortName: q.GameShortName}
	}
	return u
}

func (m *wireMessage) message() *tgbotapi.Message {
	if m == nil {
		return nil
	}
	return &tgbotapi.Message{MessageID: m.MessageID, From: m.From, Chat: m.Chat, Text: m.Text, Caption: m.Caption, Photo: m.Photo,
		Voice: m.Voice, Audio: m.Audio, Document: m.Document, Video: m.Video, VideoNote: m.VideoNote, Sticker: m.Sticker}
}
