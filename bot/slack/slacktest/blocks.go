package slacktest

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Block is a loosely parsed Block Kit block, for assertions.
type Block struct {
	Type     string
	BlockID  string
	Text     string    // section/header/markdown text, context texts joined by " ", image alt text
	Fields   []string  // section fields
	Elements []Element // actions elements, a section's accessory, an input's element
}

// Element is a loosely parsed interactive element (button, select, input...).
type Element struct {
	Type     string
	ActionID string
	Value    string
	Text     string // a button's label
	URL      string
	Style    string
	Confirm  string // the title of a button's confirmation dialog, "" if none
}

// jobj is a JSON object parsed loosely: fields are decoded on demand, so a
// field of an unexpected type never spoils the rest.
type jobj map[string]json.RawMessage

func parseObj(raw json.RawMessage) (jobj, bool) {
	var m jobj
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// str returns a string field ("" when absent or not a string).
func (m jobj) str(key string) string {
	var s string
	_ = json.Unmarshal(m[key], &s)
	return s
}

func (m jobj) has(key string) bool {
	v, ok := m[key]
	return ok && string(v) != "null"
}

// objs returns an array-of-objects field.
func (m jobj) objs(key string) []jobj {
	var raws []json.RawMessage
	if json.Unmarshal(m[key], &raws) != nil {
		return nil
	}
	out := make([]jobj, 0, len(raws))
	for _, r := range raws {
		if o, ok := parseObj(r); ok {
			out = append(out, o)
		} else {
			out = append(out, jobj{})
		}
	}
	return out
}

// sub returns an object field.
func (m jobj) sub(key string) (jobj, bool) { return parseObj(m[key]) }

// text returns the text of a text object field, or the field itself when it
// is a plain string (markdown blocks), and the text object's type.
func (m jobj) text(key string) (text, typ string) {
	if t, ok := m.sub(key); ok {
		return t.str("text"), t.str("type")
	}
	return m.str(key), ""
}

// parseBlocks parses a blocks array loosely; it never fails on unexpected
// content (validateBlocks decides what Slack would reject).
func parseBlocks(raw json.RawMessage) []Block {
	var rbs []json.RawMessage
	if json.Unmarshal(raw, &rbs) != nil {
		return nil
	}
	out := make([]Block, 0, len(rbs))
	for _, r := range rbs {
		m, _ := parseObj(r)
		b := Block{Type: m.str("type"), BlockID: m.str("block_id")}
		b.Text, _ = m.text("text")
		for _, f := range m.objs("fields") {
			b.Fields = append(b.Fields, f.str("text"))
		}
		switch b.Type {
		case "context":
			var texts []string
			for _, e := range m.objs("elements") {
				if t := e.str("text"); t != "" {
					texts = append(texts, t)
				}
			}
			b.Text = strings.Join(texts, " ")
		case "image":
			b.Text = m.str("alt_text")
		case "actions":
			for _, e := range m.objs("elements") {
				b.Elements = append(b.Elements, parseElement(e))
			}
		}
		for _, key := range []string{"accessory", "element"} {
			if e, ok := m.sub(key); ok {
				b.Elements = append(b.Elements, parseElement(e))
			}
		}
		out = append(out, b)
	}
	return out
}

func parseElement(e jobj) Element {
	el := Element{Type: e.str("type"), ActionID: e.str("action_id"), Value: e.str("value"), URL: e.str("url"), Style: e.str("style")}
	el.Text, _ = e.text("text")
	if c, ok := e.sub("confirm"); ok {
		el.Confirm, _ = c.text("title")
	}
	return el
}

// blocksError is Slack's answer to blocks it rejects.
func blocksError(code string, problems ...string) *apiError {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = "[ERROR] " + p
	}
	return &apiError{code: code, extra: obj{"response_metadata": obj{"messages": msgs}}}
}

// validateBlocks checks a message's blocks for the mistakes Slack rejects
// with invalid_blocks: more than 50 blocks, blocks without a type, duplicate
// or over-long block_ids or action_ids, sections without text or fields,
// texts over their limits, mrkdwn where only plain_text is allowed (headers,
// button labels). It is deliberately conservative: unknown block types pass.
func validateBlocks(raw json.RawMessage, maxBlocks int) *apiError {
	var rbs []json.RawMessage
	if err := json.Unmarshal(raw, &rbs); err != nil {
		return blocksError("invalid_blocks_format", "blocks must be a JSON array of objects")
	}
	if len(rbs) > maxBlocks {
		return blocksError("invalid_blocks", fmt.Sprintf("no more than %d items allowed [json-pointer:/blocks]", maxBlocks))
	}
	var problems []string
	bad := func(i int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...)+fmt.Sprintf(" [json-pointer:/blocks/%d]", i))
	}
	blockIDs := map[string]bool{}
	actionIDs := map[string]bool{}
	checkElement := func(i int, e jobj) {
		if id := e.str("action_id"); id != "" {
			if utf8.RuneCountInString(id) > 255 {
				bad(i, "action_id must be at most 255 characters")
			}
			if actionIDs[id] {
				bad(i, "action_id %q is not unique", id)
			}
			actionIDs[id] = true
		}
		if e.str("type") == "button" {
			text, typ := e.text("text")
			switch {
			case !e.has("text"):
				bad(i, "button must have text")
			case typ != "plain_text":
				bad(i, "button text must be plain_text")
			case utf8.RuneCountInString(text) > 75:
				bad(i, "button text must be at most 75 characters")
			}
			if utf8.RuneCountInString(e.str("value")) > 2000 {
				bad(i, "button value must be at most 2000 characters")
			}
			if st := e.str("style"); st != "" && st != "primary" && st != "danger" {
				bad(i, "button style must be primary or danger")
			}
		}
	}
	for i, r := range rbs {
		m, ok := parseObj(r)
		if !ok {
			bad(i, "must be an object with a type")
			continue
		}
		typ := m.str("type")
		if typ == "" {
			bad(i, "missing required field: type")
			continue
		}
		if m.has("block_id") {
			id := m.str("block_id")
			switch {
			case id == "":
				bad(i, "block_id must be a non-empty string")
			case utf8.RuneCountInString(id) > 255:
				bad(i, "block_id must be at most 255 characters")
			case blockIDs[id]:
				bad(i, "block_id %q is not unique", id)
			}
			blockIDs[id] = true
		}
		hasText := m.has("text")
		text, textType := m.text("text")
		if hasText && typ != "markdown" && textType != "plain_text" && textType != "mrkdwn" {
			bad(i, "text must be a text object of type plain_text or mrkdwn")
		}
		elements := m.objs("elements")
		switch typ {
		case "section":
			fields := m.objs("fields")
			if !hasText && len(fields) == 0 {
				bad(i, "must provide either text or fields")
			}
			if utf8.RuneCountInString(text) > 3000 {
				bad(i, "section text must be at most 3000 characters")
			}
			if len(fields) > 10 {
				bad(i, "no more than 10 fields allowed")
			}
			for _, f := range fields {
				if utf8.RuneCountInString(f.str("text")) > 2000 {
					bad(i, "field text must be at most 2000 characters")
				}
			}
		case "header":
			switch {
			case !hasText:
				bad(i, "header must have text")
			case textType != "plain_text":
				bad(i, "header text must be plain_text")
			case utf8.RuneCountInString(text) > 150:
				bad(i, "header text must be at most 150 characters")
			}
		case "actions":
			if len(elements) == 0 {
				bad(i, "actions must have elements")
			}
			if len(elements) > 25 {
				bad(i, "no more than 25 elements allowed")
			}
			for _, e := range elements {
				checkElement(i, e)
			}
		case "context":
			if len(elements) == 0 {
				bad(i, "context must have elements")
			}
			if len(elements) > 10 {
				bad(i, "no more than 10 elements allowed")
			}
		}
		for _, key := range []string{"accessory", "element"} {
			if e, ok := m.sub(key); ok {
				checkElement(i, e)
			}
		}
	}
	if len(problems) > 0 {
		return blocksError("invalid_blocks", problems...)
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("slacktest: marshal: " + err.Error())
	}
	return b
}

// extractField returns one field of a JSON object, or nil.
func extractField(raw json.RawMessage, name string) json.RawMessage {
	m, ok := parseObj(raw)
	if !ok {
		return nil
	}
	return m[name]
}
