package telegramtest

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// parseHTML implements Telegram's parse_mode=HTML the way TDLib does
// (td/telegram/MessageEntity.cpp, parse_html), byte offsets and error texts
// included, so that HTML Telegram rejects is rejected here too. It returns
// the text as displayed and its entities with UTF-16 offsets.
//
// Faithful quirks: only '<' starts a tag, so a bare '>' or an '&' that is not
// a known entity passes through; unknown named entities (&nbsp;) stay
// literal; an end tag may be written "</>".
func parseHTML(text string) (string, []wireEntity, error) {
	at := func(i int) byte {
		if i < len(text) {
			return text[i]
		}
		return 0
	}
	type open struct {
		tag, arg string
		offset   int // UTF-16 offset in the output
		begin    int // byte offset in the output
	}
	var (
		out      strings.Builder
		entities []wireEntity
		stack    []open
		utf16    int
	)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '&' {
			if r, next, ok := decodeHTMLEntity(text, i); ok {
				if r >= 0xd800 && r <= 0xdfff {
					return "", nil, fmt.Errorf("Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units")
				}
				utf16 += utf16RuneLen(r)
				out.WriteRune(r)
				i = next - 1
				continue
			}
		}
		if c != '<' {
			if c&0xc0 != 0x80 { // first byte of a UTF-8 sequence
				utf16++
				if c >= 0xf0 {
					utf16++
				}
			}
			out.WriteByte(c)
			continue
		}

		begin := i
		i++
		if at(i) != '/' {
			for !isHTMLSpace(at(i)) && at(i) != '>' {
				i++
			}
			if at(i) == 0 {
				return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
			}
			tag := strings.ToLower(text[begin+1 : i])
			if !htmlTags[tag] {
				return "", nil, fmt.Errorf("Unsupported start tag %q at byte offset %d", tag, begin)
			}
			var arg string
			for at(i) != '>' {
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) == '>' {
					break
				}
				attrBegin := i
				for !isHTMLSpace(at(i)) && at(i) != '=' && at(i) != '>' {
					i++
				}
				name := text[attrBegin:i]
				if name == "" {
					return "", nil, fmt.Errorf("Empty attribute name in the tag %q at byte offset %d", tag, begin)
				}
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) != '=' {
					if tag == "blockquote" && name == "expandable" {
						continue // Bot API 7.4: <blockquote expandable>
					}
					return "", nil, fmt.Errorf("Expected equal sign in declaration of an attribute of the tag %q at byte offset %d", tag, begin)
				}
				i++
				for at(i) != 0 && isHTMLSpace(at(i)) {
					i++
				}
				if at(i) == 0 {
					return "", nil, fmt.Errorf("Unclosed start tag %q at byte offset %d", tag, begin)
				}
				var value string
				if q := at(i); q != '\'' && q != '"' {
					// An unquoted name token: letters, digits, periods, hyphens.
					tokenBegin := i
					for isAlnum(at(i)) || at(i) == '.' || at(i) == '-' {
						i++
					}
					value = strings.ToLower(text[tokenBegin:i])
					if !isHTMLSpace(at(i)) && at(i) != '>' {
						return "", nil, fmt.Errorf("Unexpected end of name token at byte offset %d", tokenBegin)
					}
				} else {
					i++
					var v strings.Builder
					for at(i) != q && at(i) != 0 {
						if at(i) == '&' {
							if r, next, ok := decodeHTMLEntity(text, i); ok {
								v.WriteRune(r)
								i = next
								continue
							}
						}
						v.WriteByte(text[i])
						i++
					}
					if at(i) == q {
						i++
					}
					value = v.String()
				}
				if at(i) == 0 {
					return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
				}
				switch {
				case tag == "a" && name == "href":
					arg = value
				case tag == "code" && name == "class" && strings.HasPrefix(value, "language-"):
					arg = strings.TrimPrefix(value, "language-")
				case tag == "span" && name == "class" && strings.HasPrefix(value, "tg-"):
					arg = strings.TrimPrefix(value, "tg-")
				case tag == "tg-emoji" && name == "emoji-id":
					arg = value
				}
			}
			if tag == "span" && arg != "spoiler" {
				return "", nil, fmt.Errorf(`Tag "span" must have class "tg-spoiler" at byte offset %d`, begin)
			}
			stack = append(stack, open{tag: tag, arg: arg, offset: utf16, begin: out.Len()})
			continue
		}

		// An end tag.
		if len(stack) == 0 {
			return "", nil, fmt.Errorf("Unexpected end tag at byte offset %d", begin)
		}
		for !isHTMLSpace(at(i)) && at(i) != '>' {
			i++
		}
		endTag := strings.ToLower(text[begin+2 : i])
		for at(i) != 0 && isHTMLSpace(at(i)) {
			i++
		}
		if at(i) != '>' {
			return "", nil, fmt.Errorf("Unclosed end tag at byte offset %d", begin)
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if endTag != "" && endTag != top.tag {
			return "", nil, fmt.Errorf(`Unmatched end tag at byte offset %d, expected "</%s>", found "</%s>"`, begin, top.tag, endTag)
		}
		if utf16 <= top.offset {
			continue // empty entities are dropped
		}
		e := wireEntity{Offset: top.offset, Length: utf16 - top.offset}
		switch top.tag {
		case "b", "strong":
			e.Type = "bold"
		case "i", "em":
			e.Type = "italic"
		case "u", "ins":
			e.Type = "underline"
		case "s", "strike", "del":
			e.Type = "strikethrough"
		case "tg-spoiler", "span":
			e.Type = "spoiler"
		case "blockquote":
			e.Type = "blockquote"
		case "tg-emoji":
			id, err := strconv.ParseInt(top.arg, 10, 64)
			if err != nil || id == 0 {
				return "", nil, fmt.Errorf("Invalid custom emoji identifier specified")
			}
			e.Type, e.CustomEmojiID = "custom_emoji", top.arg
		case "a":
			href := top.arg
			if href == "" {
				href = out.String()[top.begin:]
			}
			if uid, ok := userLink(href); ok {
				e.Type, e.User = "text_mention", &wireUser{ID: uid}
			} else if link, ok := checkedLink(href); ok {
				e.Type, e.URL = "text_link", link
			} else {
				continue // Telegram silently drops links it cannot use
			}
		case "pre":
			if n := len(entities); n > 0 && entities[n-1].Type == "code" && entities[n-1].Offset == e.Offset &&
				entities[n-1].Length == e.Length && entities[n-1].Language != "" {
				entities[n-1].Type = "pre"
				continue
			}
			e.Type = "pre"
		case "code":
			if n := len(entities); n > 0 && entities[n-1].Type == "pre" && entities[n-1].Offset == e.Offset &&
				entities[n-1].Length == e.Length && top.arg != "" {
				entities[n-1].Language = top.arg
				continue
			}
			e.Type, e.Language = "code", top.arg
		}
		entities = append(entities, e)
	}
	if len(stack) > 0 {
		return "", nil, fmt.Errorf("Can't find end tag corresponding to start tag %q", stack[len(stack)-1].tag)
	}
	for i := range entities {
		if entities[i].Type == "code" {
			entities[i].Language = "" // only pre carries a language
		}
	}
	sort.SliceStable(entities, func(a, b int) bool {
		if entities[a].Offset != entities[b].Offset {
			return entities[a].Offset < entities[b].Offset
		}
		return entities[a].Length > entities[b].Length
	})
	return out.String(), entities, nil
}

// htmlTags are the start tags Telegram's HTML parse mode accepts.
var htmlTags = map[string]bool{
	"a": true, "b": true, "strong": true, "i": true, "em": true, "s": true, "strike": true, "del": true,
	"u": true, "ins": true, "tg-spoiler": true, "tg-emoji": true, "span": true, "pre": true, "code": true,
	"blockquote": true,
}

// decodeHTMLEntity decodes &lt; &gt; &amp; &quot; and numeric references at
// text[pos]; the trailing ';' is optional, as in TDLib.
func decodeHTMLEntity(text string, pos int) (r rune, next int, ok bool) {
	at := func(i int) byte {
		if i < len(text) {
			return text[i]
		}
		return 0
	}
	end := pos + 1
	var code uint64
	if at(pos+1) == '#' {
		end++
		if at(pos+2) == 'x' {
			end++
			for isHexDigit(at(end)) {
				code = min(code*16+uint64(hexValue(at(end))), 1<<32)
				end++
			}
		} else {
			for at(end) >= '0' && at(end) <= '9' {
				code = min(code*10+uint64(at(end)-'0'), 1<<32)
				end++
			}
		}
		if code == 0 || code >= 0x10ffff || end-pos >= 10 {
			return 0, 0, false
		}
	} else {
		for isAlpha(at(end)) {
			end++
		}
		switch text[pos+1 : end] {
		case "lt":
			code = '<'
		case "gt":
			code = '>'
		case "amp":
			code = '&'
		case "quot":
			code = '"'
		default:
			return 0, 0, false
		}
	}
	if at(end) == ';' {
		end++
	}
	return rune(code), end, true
}

// userLink recognises tg://user?id=N links, which become text_mention.
func userLink(href string) (int64, bool) {
	u, err := url.Parse(href)
	if err != nil || !strings.EqualFold(u.Scheme, "tg") || !strings.EqualFold(u.Host, "user") {
		return 0, false
	}
	id, err := strconv.ParseInt(u.Query().Get("id"), 10, 64)
	return id, err == nil && id > 0
}

// checkedLink approximates TDLib's link check: http(s), tg and ton links are
// kept, a bare host gets "http://", anything else is unusable.
func checkedLink(href string) (string, bool) {
	href = strings.TrimSpace(href)
	if href == "" || strings.ContainsAny(href, " \n\t") {
		return "", false
	}
	u, err := url.Parse(href)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ton":
		return href, u.Host != ""
	case "tg":
		return href, true
	case "":
		if strings.Contains(href, ".") && !strings.HasPrefix(href, "/") {
			return "http://" + href, true
		}
	}
	return "", false
}

// isHTMLSpace is TDLib's is_space, which counts the terminating NUL (0 here
// marks the end of the text).
func isHTMLSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', 0, '\v', '\f':
		return true
	}
	return false
}

func isAlpha(c byte) bool    { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool    { return isAlpha(c) || (c >= '0' && c <= '9') }
func isHexDigit(c byte) bool { return hexValue(c) >= 0 }

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// utf16RuneLen is 2 for runes outside the Basic Multilingual Plane
// (surrogate pairs), else 1.
func utf16RuneLen(r rune) int {
	if r > 0xffff {
		return 2
	}
	return 1
}

// utf16Len counts UTF-16 code units, the unit of Telegram's length limits
// and entity offsets.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16RuneLen(r)
	}
	return n
}
