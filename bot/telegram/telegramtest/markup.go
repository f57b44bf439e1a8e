package telegramtest

import (
	"bytes"
	"encoding/json"
	"strings"
)

// markup is a message's reply_markup.
type markup struct {
	raw       string          // as sent
	inline    bool            // an InlineKeyboardMarkup
	canonical json.RawMessage // inline keyboards, re-encoded: echoed in messages and compared for "not modified"
	buttons   [][]Button
}

// sameMarkup reports whether two markups are equal for "message is not
// modified". Only inline keyboards are part of a message's state.
func sameMarkup(a, b *markup) bool {
	ai, bi := a != nil && a.inline, b != nil && b.inline
	if !ai || !bi {
		return ai == bi
	}
	return bytes.Equal(a.canonical, b.canonical)
}

// buttonActions are the fields of an InlineKeyboardButton of which exactly
// one must be used.
var buttonActions = []string{
	"url", "callback_data", "web_app", "login_url", "switch_inline_query",
	"switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
	"copy_text", "callback_game", "pay",
}

// parseMarkup reads and validates the reply_markup parameter (a JSON
// string). Reply keyboards, ReplyKeyboardRemove and ForceReply are accepted
// as they are; inline keyboards are validated button by button.
func parseMarkup(p *params) (*markup, *apiError) {
	raw, ok := p.get("reply_markup")
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	m := &markup{raw: raw}
	ik, ok := obj["inline_keyboard"]
	if !ok {
		return m, nil
	}
	var rows [][]map[string]json.RawMessage
	if err := json.Unmarshal(ik, &rows); err != nil || rows == nil {
		return nil, badRequest(`field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays`)
	}
	m.inline = true
	for _, row := range rows {
		var out []Button
		for _, b := range row {
			btn, err := parseButton(b)
			if err != nil {
				return nil, err
			}
			out = append(out, btn)
		}
		m.buttons = append(m.buttons, out)
	}
	canonical, err := json.Marshal(map[string]any{"inline_keyboard": rows})
	if err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	m.canonical = canonical
	return m, nil
}

func parseButton(b map[string]json.RawMessage) (Button, *apiError) {
	const prefix = "can't parse inline keyboard button: "
	rawText, ok := b["text"]
	if !ok {
		return Button{}, badRequest(prefix + `Can't find field "text"`)
	}
	var btn Button
	if err := json.Unmarshal(rawText, &btn.Text); err != nil {
		return Button{}, badRequest(prefix + `Field "text" must be of type String`)
	}
	if strings.TrimSpace(btn.Text) == "" {
		return Button{}, badRequest("BUTTON_TEXT_INVALID")
	}
	used := 0
	for _, field := range buttonActions {
		v, ok := b[field]
		if !ok || string(v) == "null" || string(v) == `""` || string(v) == "false" {
			continue // Telegram treats an empty callback_data as absent
		}
		used++
	}
	switch {
	case used == 0:
		return Button{}, badRequest(prefix + "Text buttons are unallowed in the inline keyboard")
	case used > 1:
		// Telegram silently picks one; a button that says two things is a
		// bug in the bot either way, so the fake refuses it.
		return Button{}, badRequest(prefix + "exactly one of the optional fields must be used")
	}
	if v, ok := b["callback_data"]; ok {
		if err := json.Unmarshal(v, &btn.CallbackData); err != nil {
			return Button{}, badRequest(prefix + `Field "callback_data" must be of type String`)
		}
		if len(btn.CallbackData) > 64 {
			return Button{}, badRequest("BUTTON_DATA_INVALID")
		}
	}
	if v, ok := b["url"]; ok {
		if err := json.Unmarshal(v, &btn.URL); err != nil {
			return Button{}, badRequest(prefix + `Field "url" must be of type String`)
		}
		if _, ok := checkedLink(btn.URL); btn.URL != "" && !ok {
			return Button{}, badRequest("BUTTON_URL_INVALID")
		}
	}
	return btn, nil
}
