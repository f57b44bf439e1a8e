package telegram

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"bridgebot/bot"
)

// The staff desk relays through these (slack.Messenger): it needs message
// IDs back, to mirror staff edits, and files in both directions.

// maxDownload is the Bot API's getFile limit.
const maxDownload = 20 << 20

// SendText sends an HTML message, in several parts when it is longer than
// Telegram allows, and returns the ID of the first part.
func (b *Bot) SendText(ctx context.Context, chatID int64, html string) (int, error) {
	api := b.with(ctx, b.cfg.RequestTimeout)
	first := 0
	for _, part := range split(html, MaxText) {
		msg := tgbotapi.NewMessage(chatID, part)
		msg.ParseMode = tgbotapi.ModeHTML
		var sent tgbotapi.Message
		err := b.retry(ctx, "sendMessage", func() error {
			var err error
			sent, err = api.Send(msg)
			return err
		})
		if err != nil && isEntityError(err) {
			msg.ParseMode, msg.Text = "", plain(msg.Text)
			err = b.retry(ctx, "sendMessage", func() error {
				var err error
				sent, err = api.Send(msg)
				return err
			})
		}
		if err != nil {
			return first, fmt.Errorf("telegram: send: %w", err)
		}
		if first == 0 {
			first = sent.MessageID
		}
	}
	return first, nil
}

// EditText replaces the text of an earlier message.
func (b *Bot) EditText(ctx context.Context, chatID int64, messageID int, html string) error {
	api := b.with(ctx, b.cfg.RequestTimeout)
	edit := tgbotapi.NewEditMessageText(chatID, messageID, truncateUTF16(html, MaxText))
	edit.ParseMode = tgbotapi.ModeHTML
	err := b.retry(ctx, "editMessageText", func() error { _, err := api.Request(edit); return err })
	if err != nil && !isNotModified(err) {
		return fmt.Errorf("telegram: edit: %w", err)
	}
	return nil
}

// SendFile uploads a file: images as photos, audio as audio, the rest as
// documents, so the member sees them as they would from a person.
func (b *Bot) SendFile(ctx context.Context, chatID int64, f bot.File) (int, error) {
	api := b.with(ctx, b.cfg.RequestTimeout*3)
	data := tgbotapi.FileBytes{Name: f.Name, Bytes: f.Data}
	var c tgbotapi.Chattable
	switch {
	case strings.HasPrefix(f.MIME, "image/") && f.MIME != "image/svg+xml" && len(f.Data) < 10<<20:
		p := tgbotapi.NewPhoto(chatID, data)
		p.Caption, p.ParseMode = f.Caption, tgbotapi.ModeHTML
		c = p
	case strings.HasPrefix(f.MIME, "audio/"):
		a := tgbotapi.NewAudio(chatID, data)
		a.Caption, a.ParseMode = f.Caption, tgbotapi.ModeHTML
		c = a
	default:
		doc := tgbotapi.NewDocument(chatID, data)
		doc.Caption, doc.ParseMode = f.Caption, tgbotapi.ModeHTML
		c = doc
	}
	var sent tgbotapi.Message
	err := b.retry(ctx, "sendFile", func() error {
		var err error
		sent, err = api.Send(c)
		return uploadError(err)
	})
	if err != nil {
		return 0, fmt.Errorf("telegram: send file: %w", err)
	}
	return sent.MessageID, nil
}

// uploadError restores the status of an upload error: the library reports
// upload failures with Code 0, so a 429 or 403 would look permanent.
func uploadError(err error) error {
	te, ok := err.(*tgbotapi.Error)
	if !ok || te.Code != 0 {
		return err
	}
	switch {
	case te.RetryAfter > 0 || strings.Contains(te.Message, "Too Many Requests"):
		te.Code = 429
	case strings.HasPrefix(te.Message, "Forbidden"):
		te.Code = 403
	case strings.HasPrefix(te.Message, "Bad Request"):
		te.Code = 400
	}
	return te
}

// Fetch downloads a file a member sent (getFile, then the file URL).
func (b *Bot) Fetch(ctx context.Context, fileID string) (bot.File, error) {
	api := b.with(ctx, b.cfg.RequestTimeout*3)
	var f tgbotapi.File
	err := b.retry(ctx, "getFile", func() error {
		var err error
		f, err = api.GetFile(tgbotapi.FileConfig{FileID: fileID})
		return err
	})
	if err != nil {
		return bot.File{}, fmt.Errorf("telegram: getFile: %w", err)
	}
	url := strings.TrimRight(b.cfg.APIURL, "/") + "/file/bot" + b.cfg.Token + "/" + f.FilePath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return bot.File{}, fmt.Errorf("telegram: download: %w", err)
	}
	resp, err := b.client(ctx, b.cfg.RequestTimeout*3).Do(req)
	if err != nil {
		return bot.File{}, fmt.Errorf("telegram: download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return bot.File{}, fmt.Errorf("telegram: download: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return bot.File{}, fmt.Errorf("telegram: download: %w", err)
	}
	if len(data) > maxDownload {
		return bot.File{}, fmt.Errorf("telegram: file larger than %d MB", maxDownload>>20)
	}
	return bot.File{Name: path.Base(f.FilePath), MIME: resp.Header.Get("Content-Type"), Data: data}, nil
}

// truncateUTF16 keeps a message within Telegram's limit.
func truncateUTF16(s string, limit int) string {
	if utf16Len(s) <= limit {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && utf16Len(string(r)) > limit-1 {
		r = r[:len(r)-len(r)/8-1]
	}
	return string(r) + "…"
}
