package slack

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The broadcast modal's text fields are plain-text inputs: Slack sends
// exactly what the organizer typed. Organizers write the way they write
// in Slack, so telegramHTML reads Slack's markup and writes the Telegram
// HTML the announcement is sent in.

// telegramHTML converts an organizer's Slack-formatted text to Telegram
// HTML: *bold*, _italic_, ~strike~, `code`, ```code blocks```, links
// written <https://…|text> or <https://…>, and bare http(s) addresses.
// Everything else is text: <, > and & are escaped, so what is typed is
// what members read. Markers follow Slack's rules (an opening marker
// follows a space or punctuation and precedes a non-space, a closing one
// the reverse, both on one line); a marker without its pair stays as
// typed. The result is always well nested.
func telegramHTML(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for s != "" {
		start := strings.Index(s, "```")
		if start < 0 {
			lines(&b, s)
			break
		}
		end := strings.Index(s[start+3:], "```")
		if end < 0 || strings.TrimSpace(s[start+3:start+3+end]) == "" {
			// No closing fence (or nothing in between): the backticks are
			// text, and single ones may still pair up.
			lines(&b, s[:start+3])
			s = s[start+3:]
			continue
		}
		lines(&b, s[:start])
		code := strings.TrimPrefix(s[start+3:start+3+end], "\n")
		b.WriteString("<pre>" + escapeHTML(code) + "</pre>")
		s = s[start+3+end+3:]
	}
	return b.String()
}

// lines converts text without code blocks, line by line: Slack's inline
// markers never span lines.
func lines(b *strings.Builder, s string) {
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		inline(b, line, true)
	}
}

// marks are Slack's inline markers and the Telegram tags they become.
var marks = map[byte]string{'*': "b", '_': "i", '~': "s"}

// inline converts one line. links is false inside a link's text, where
// Telegram allows no second link.
func inline(b *strings.Builder, s string, links bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c == '`' {
			if j := strings.IndexByte(s[i+1:], '`'); j > 0 {
				b.WriteString("<code>" + escapeHTML(s[i+1:i+1+j]) + "</code>")
				i += j + 2
				continue
			}
		}
		if links && c == '<' {
			if href, text, n, ok := angleLink(s[i:]); ok {
				b.WriteString(`<a href="` + escapeHTML(href) + `">`)
				inline(b, text, false)
				b.WriteString("</a>")
				i += n
				continue
			}
		}
		if links && (c == 'h' || c == 'H') && !wordBefore(s, i) {
			if u := bareURL(s[i:]); u != "" {
				b.WriteString(`<a href="` + escapeHTML(u) + `">` + escapeHTML(u) + "</a>")
				i += len(u)
				continue
			}
		}
		if tag, ok := marks[c]; ok && opens(s, i) {
			if j := closer(s, i); j > 0 {
				b.WriteString("<" + tag + ">")
				inline(b, s[i+1:j], links)
				b.WriteString("</" + tag + ">")
				i = j + 1
				continue
			}
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		b.WriteString(escapeHTML(s[i : i+n]))
		i += n
	}
}

// opens reports whether the marker at s[i] can open: after the start, a
// space or punctuation, and before a non-space.
func opens(s string, i int) bool {
	if i+1 >= len(s) || isSpaceByte(s[i+1]) {
		return false
	}
	return !wordBefore(s, i)
}

// closer finds the marker closing the one at s[i]: the nearest same
// marker after a non-space and before the end, a space or punctuation.
func closer(s string, i int) int {
	c := s[i]
	for j := i + 2; j < len(s); j++ {
		if s[j] != c || isSpaceByte(s[j-1]) {
			continue
		}
		if j+1 == len(s) || !wordAt(s, j+1) {
			return j
		}
	}
	return -1
}

// wordBefore reports whether the character before s[i] is a letter or
// digit (so a marker there is inside a word, as in snake_case).
func wordBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func wordAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// angleLink reads Slack's link markup at the start of s: <url> or
// <url|text>, with an http(s) url. n is its length.
func angleLink(s string) (href, text string, n int, ok bool) {
	end := strings.IndexByte(s, '>')
	if end < 0 {
		return "", "", 0, false
	}
	inner := s[1:end]
	href, text, _ = strings.Cut(inner, "|")
	if !webURL(href) || strings.ContainsAny(inner, "<\n") {
		return "", "", 0, false
	}
	if strings.TrimSpace(text) == "" {
		text = href
	}
	return href, text, end + 1, true
}

// bareURL returns the http(s) address at the start of s, without the
// punctuation that ends a sentence after it ("see https://x.org.") or a
// closing parenthesis it did not open; "" if there is none.
func bareURL(s string) string {
	lower := strings.ToLower(s[:min(len(s), 8)])
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return ""
	}
	end := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' || r == '`' })
	if end < 0 {
		end = len(s)
	}
	u := s[:end]
	for u != "" {
		last := u[len(u)-1]
		if strings.IndexByte(".,;:!?'*_~", last) >= 0 || (last == ')' && strings.Count(u, "(") < strings.Count(u, ")")) {
			u = u[:len(u)-1]
			continue
		}
		break
	}
	if !webURL(u) {
		return ""
	}
	return u
}

// webURL accepts an absolute http(s) address with a host, as Telegram
// does for a link.
func webURL(raw string) bool {
	if raw == "" || strings.ContainsAny(raw, " \t\n\"") {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// escapeHTML escapes what Telegram's HTML parse mode reads as markup.
func escapeHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
