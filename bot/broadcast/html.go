package broadcast

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxTextLen is Telegram's limit on a message's displayed text, in UTF-16
// code units (an emoji outside the Basic Multilingual Plane counts two).
const MaxTextLen = 4096

// HTMLError is a problem in an announcement's Telegram HTML, located when
// it is about a place in the text.
type HTMLError struct {
	Line, Col int // 1-based; Col counts characters. 0 when not about a place.
	Msg       string
}

func (e *HTMLError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
	}
	return e.Msg
}

// supportedTags are the tags of Telegram's HTML parse mode.
var supportedTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "a": true, "code": true, "pre": true,
	"blockquote": true, "tg-spoiler": true, "span": true, "tg-emoji": true,
}

const tagList = `b, strong, i, em, u, ins, s, strike, del, a href, code, pre, blockquote, tg-spoiler, span class="tg-spoiler", tg-emoji`

// ValidateHTML checks an announcement text the way Telegram will parse it
// with parse_mode HTML, before anything is sent: valid UTF-8; only tags
// Telegram supports, properly nested and closed; links with an http(s)
// URL; a literal "<" written as &lt;; and a displayed text (tags removed,
// entities decoded) that is not empty and at most MaxTextLen UTF-16 units.
// It returns nil or an *HTMLError.
func ValidateHTML(text string) error {
	if _, _, err := parseHTML(text); err != nil {
		return err
	}
	return nil
}

// RenderPlain returns the text as members see it: tags removed and
// entities (&lt; &gt; &amp; &quot; &#…;) decoded, links showing their text.
// Invalid HTML is rendered as well as it can be.
func RenderPlain(html string) string {
	plain, _, err := parseHTML(html)
	if err == nil {
		return plain
	}
	return decodeEntities(anyTag.ReplaceAllString(html, ""))
}

// RenderPlainLinks is RenderPlain with each link's address after its
// text, "text (https://…)", unless the text is the address: a preview
// shows organizers where links go before members can tap them.
func RenderPlainLinks(html string) string {
	plain, links, err := parseHTML(html)
	if err != nil {
		return RenderPlain(html)
	}
	var b strings.Builder
	from := 0
	for _, l := range links {
		b.WriteString(plain[from:l.end])
		if strings.TrimSpace(plain[l.start:l.end]) != l.href {
			b.WriteString(" (" + l.href + ")")
		}
		from = l.end
	}
	b.WriteString(plain[from:])
	return b.String()
}

// Links returns the link targets (href) of a valid text, in order.
func Links(html string) []string {
	_, links, _ := parseHTML(html)
	var out []string
	for _, l := range links {
		out = append(out, l.href)
	}
	return out
}

// link is a link of a parsed text: its href and where its text is in the
// plain rendering.
type link struct {
	href       string
	start, end int
}

var anyTag = regexp.MustCompile(`<[^>]*>`)

// parseHTML follows Telegram's parser (TDLib's parse_html): only '<'
// starts a tag, a bare '>' or an unknown "&name;" is literal text, an end
// tag may be written "</>", attributes other than the known ones are
// ignored.
func parseHTML(s string) (plain string, links []link, herr *HTMLError) {
	if !utf8.ValidString(s) {
		return "", nil, &HTMLError{Msg: "the text is not valid UTF-8"}
	}
	at := func(pos int, format string, args ...any) *HTMLError {
		line, col := position(s, pos)
		return &HTMLError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
	}
	type open struct {
		tag, href string
		pos, out  int
	}
	var (
		out   strings.Builder
		stack []open
	)
	for i := 0; i < len(s); {
		switch s[i] {
		case '&':
			if r, next, ok := decodeEntity(s, i); ok {
				out.WriteRune(r)
				i = next
				continue
			}
			out.WriteByte('&')
			i++
		case '<':
			if i+1 < len(s) && s[i+1] == '/' {
				end := strings.IndexByte(s[i:], '>')
				if end < 0 {
					return "", nil, at(i, "end tag is not closed with '>'; write &lt; for a literal <")
				}
				name := strings.ToLower(strings.TrimSpace(s[i+2 : i+end]))
				if len(stack) == 0 {
					return "", nil, at(i, "</%s> closes a tag that was never opened", name)
				}
				top := stack[len(stack)-1]
				if name != "" && name != top.tag {
					l, c := position(s, top.pos)
					return "", nil, at(i, "</%s> found where </%s> was expected (<%s> opened at line %d, column %d): close tags in the reverse order of opening", name, top.tag, top.tag, l, c)
				}
				stack = stack[:len(stack)-1]
				if top.tag == "a" {
					links = append(links, link{href: top.href, start: top.out, end: out.Len()})
				}
				i += end + 1
				continue
			}
			j := i + 1
			for j < len(s) && !isSpace(s[j]) && s[j] != '>' {
				j++
			}
			name := strings.ToLower(s[i+1 : j])
			switch {
			case name == "":
				return "", nil, at(i, "a bare < starts a tag; write &lt; for a literal <")
			case name == "br" || name == "br/":
				return "", nil, at(i, "Telegram has no <br>: write a line break instead")
			case !supportedTags[name]:
				return "", nil, at(i, "<%s> is not supported by Telegram (supported: %s); write &lt; for a literal <", strings.TrimSuffix(name, "/"), tagList)
			case j >= len(s):
				return "", nil, at(i, "<%s is not closed with '>'", name)
			}
			attrs, next, msg := parseAttrs(s, j, name)
			if msg != "" {
				return "", nil, at(i, "%s", msg)
			}
			o := open{tag: name, pos: i, out: out.Len()}
			switch name {
			case "a":
				href, ok := attrs["href"]
				if !ok {
					return "", nil, at(i, `<a> needs a link: <a href="https://…">text</a>`)
				}
				if err := checkURL(href); err != nil {
					return "", nil, at(i, "%v", err)
				}
				o.href = href
			case "span":
				if attrs["class"] != "tg-spoiler" {
					return "", nil, at(i, `<span> must be <span class="tg-spoiler"> (a spoiler)`)
				}
			case "tg-emoji":
				if id, err := strconv.ParseInt(attrs["emoji-id"], 10, 64); err != nil || id == 0 {
					return "", nil, at(i, `<tg-emoji> needs a numeric emoji-id="…"`)
				}
			}
			stack = append(stack, o)
			i = next
		default:
			out.WriteByte(s[i])
			i++
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return "", nil, at(top.pos, "<%s> is never closed: add </%s>", top.tag, top.tag)
	}
	plain = out.String()
	if strings.TrimSpace(plain) == "" {
		return "", nil, &HTMLError{Msg: "the text is empty"}
	}
	if n := utf16Len(plain); n > MaxTextLen {
		return "", nil, &HTMLError{Msg: fmt.Sprintf("the text is too long: %d characters as displayed (UTF-16 units), Telegram allows %d", n, MaxTextLen)}
	}
	return plain, links, nil
}

// parseAttrs reads the attributes of a start tag from s[i] (just after its
// name) to its '>', returning them and the index after '>'.
func parseAttrs(s string, i int, tag string) (map[string]string, int, string) {
	attrs := map[string]string{}
	at := func(k int) byte {
		if k < len(s) {
			return s[k]
		}
		return 0
	}
	skip := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	for {
		skip()
		if i >= len(s) {
			return nil, 0, fmt.Sprintf("<%s is not closed with '>'", tag)
		}
		if s[i] == '>' {
			return attrs, i + 1, ""
		}
		begin := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' && s[i] != '>' {
			i++
		}
		name := strings.ToLower(s[begin:i])
		skip()
		if at(i) != '=' {
			if tag == "blockquote" && name == "expandable" {
				continue
			}
			return nil, 0, fmt.Sprintf("attribute %q of <%s> needs a value, as in %s=\"…\"", name, tag, name)
		}
		i++
		skip()
		var value string
		switch q := at(i); q {
		case 0:
			return nil, 0, fmt.Sprintf("<%s is not closed with '>'", tag)
		case '"', '\'':
			end := strings.IndexByte(s[i+1:], q)
			if end < 0 {
				return nil, 0, fmt.Sprintf("the value of %s in <%s> has no closing %c", name, tag, q)
			}
			value = decodeEntities(s[i+1 : i+1+end])
			i += end + 2
		default:
			begin := i
			for isAlnum(at(i)) || at(i) == '.' || at(i) == '-' {
				i++
			}
			if !isSpace(at(i)) && at(i) != '>' {
				return nil, 0, fmt.Sprintf("put the value of %s in <%s> in quotes", name, tag)
			}
			value = strings.ToLower(s[begin:i])
		}
		attrs[name] = value
	}
}

// checkURL accepts absolute http and https URLs with a host.
func checkURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(raw, " \t\n") {
		return fmt.Errorf("link %q must be a full http:// or https:// address", raw)
	}
	return nil
}

// decodeEntity decodes &lt; &gt; &amp; &quot; and numeric references at
// s[pos]; the ';' is optional, as in Telegram.
func decodeEntity(s string, pos int) (rune, int, bool) {
	end := pos + 1
	if end < len(s) && s[end] == '#' {
		end++
		base := 10
		if end < len(s) && (s[end] == 'x' || s[end] == 'X') {
			base = 16
			end++
		}
		start := end
		for end < len(s) && end-start < 8 && isDigit(s[end], base) {
			end++
		}
		code, err := strconv.ParseUint(s[start:end], base, 32)
		if err != nil || code == 0 || code >= 0x10ffff || (code >= 0xd800 && code <= 0xdfff) {
			return 0, 0, false
		}
		if end < len(s) && s[end] == ';' {
			end++
		}
		return rune(code), end, true
	}
	for end < len(s) && isAlpha(s[end]) {
		end++
	}
	var r rune
	switch s[pos+1 : end] {
	case "lt":
		r = '<'
	case "gt":
		r = '>'
	case "amp":
		r = '&'
	case "quot":
		r = '"'
	default:
		return 0, 0, false
	}
	if end < len(s) && s[end] == ';' {
		end++
	}
	return r, end, true
}

func decodeEntities(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '&' {
			if r, next, ok := decodeEntity(s, i); ok {
				b.WriteRune(r)
				i = next
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// position turns a byte offset into a 1-based line and character column.
func position(s string, pos int) (line, col int) {
	before := s[:pos]
	line = strings.Count(before, "\n") + 1
	col = utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xffff {
			n++
		}
	}
	return n
}

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '\v', '\f':
		return true
	}
	return false
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool { return isAlpha(c) || (c >= '0' && c <= '9') }

func isDigit(c byte, base int) bool {
	if c >= '0' && c <= '9' {
		return true
	}
	return base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
}
