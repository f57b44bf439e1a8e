package telegram

import (
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"bridgebot/bot"
)

// Convert turns a Telegram update into a neutral one. ok is false for
// updates the bot does not act on (channel posts, inline queries, …).
// It never panics on missing parts: callbacks from inline messages have no
// Message, channel posts have no From.
func Convert(u tgbotapi.Update, botUsername string) (bot.Update, bool) {
	out := bot.Update{ID: int64(u.UpdateID)}
	switch {
	case u.Message != nil:
		fillMessage(&out, u.Message, botUsername)
	case u.EditedMessage != nil:
		fillMessage(&out, u.EditedMessage, botUsername)
		out.Edited = true
	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		if q.From == nil {
			return out, false
		}
		out.From = user(q.From)
		out.ChatID, out.ChatType = q.From.ID, bot.ChatPrivate
		cb := &bot.Callback{ID: q.ID, Data: q.Data}
		if q.Message != nil && q.Message.Chat != nil {
			out.ChatID, out.ChatType = q.Message.Chat.ID, chatType(q.Message.Chat.Type)
			cb.MessageID = q.Message.MessageID
		}
		out.Callback = cb
	case u.MyChatMember != nil:
		m := u.MyChatMember
		out.ChatID, out.ChatType = m.Chat.ID, chatType(m.Chat.Type)
		out.From = user(&m.From)
		blocked := m.NewChatMember.Status == "kicked"
		if !blocked && m.NewChatMember.Status != "member" {
			return out, false
		}
		out.Blocked = &blocked
	default:
		return out, false
	}
	if out.ChatID == 0 {
		return out, false
	}
	return out, true
}

func fillMessage(out *bot.Update, m *tgbotapi.Message, botUsername string) {
	if m.Chat != nil {
		out.ChatID, out.ChatType = m.Chat.ID, chatType(m.Chat.Type)
	}
	if m.From != nil {
		out.From = user(m.From)
	}
	out.MessageID = m.MessageID
	out.Text = m.Text
	if out.Text == "" {
		out.Text = m.Caption
	}
	out.Command, out.Args = parseCommand(m.Text, botUsername)
	out.Attachment = attachment(m)
}

func user(u *tgbotapi.User) bot.User {
	return bot.User{ID: u.ID, FirstName: u.FirstName, Username: u.UserName, LanguageCode: u.LanguageCode}
}

func chatType(t string) bot.ChatType {
	if t == "private" {
		return bot.ChatPrivate
	}
	return bot.ChatGroup
}

// parseCommand reads "/cmd@bot args". The library's Command() slices by
// byte offsets from UTF-16 entity offsets; a command is always at the
// start of the text, so reading the text directly is both simpler and
// correct. A command addressed to another bot is not ours.
func parseCommand(text, botUsername string) (cmd, args string) {
	if !strings.HasPrefix(text, "/") || len(text) < 2 {
		return "", ""
	}
	head, rest, _ := strings.Cut(text[1:], " ")
	if i := strings.IndexAny(head, "\n\t"); i >= 0 {
		rest = head[i+1:] + " " + rest
		head = head[:i]
	}
	name, at, addressed := strings.Cut(head, "@")
	if addressed && botUsername != "" && !strings.EqualFold(at, botUsername) {
		return "", ""
	}
	if name == "" || len(name) > 64 {
		return "", ""
	}
	return strings.ToLower(name), strings.TrimSpace(rest)
}

func attachment(m *tgbotapi.Message) *bot.Attachment {
	switch {
	case len(m.Photo) > 0:
		p := m.Photo[len(m.Photo)-1] // the largest size
		return &bot.Attachment{Kind: "photo", FileID: p.FileID, MIME: "image/jpeg", Size: int64(p.FileSize)}
	case m.Voice != nil:
		return &bot.Attachment{Kind: "voice", FileID: m.Voice.FileID, MIME: m.Voice.MimeType, Size: int64(m.Voice.FileSize)}
	case m.Audio != nil:
		return &bot.Attachment{Kind: "audio", FileID: m.Audio.FileID, FileName: m.Audio.FileName, MIME: m.Audio.MimeType, Size: int64(m.Audio.FileSize)}
	case m.Document != nil:
		return &bot.Attachment{Kind: "document", FileID: m.Document.FileID, FileName: m.Document.FileName, MIME: m.Document.MimeType, Size: int64(m.Document.FileSize)}
	case m.Video != nil:
		return &bot.Attachment{Kind: "video", FileID: m.Video.FileID, FileName: m.Video.FileName, MIME: m.Video.MimeType, Size: int64(m.Video.FileSize)}
	case m.VideoNote != nil:
		return &bot.Attachment{Kind: "video_note", FileID: m.VideoNote.FileID, Size: int64(m.VideoNote.FileSize)}
	case m.Sticker != nil:
		return &bot.Attachment{Kind: "sticker", FileID: m.Sticker.FileID}
	case m.Text == "" && m.Caption == "":
		// Location, contact, poll, dice…: nothing the bot can read.
		return &bot.Attachment{Kind: "other"}
	}
	return nil
}
