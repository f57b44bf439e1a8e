package tghtml_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"bridgebot/bot/telegram/tghtml"
)

// FuzzHTML checks the announcement validator against any text: it never
// panics; what it accepts is valid UTF-8, renders to a non-empty plain text
// without tags, and has only http(s) links.
func FuzzHTML(f *testing.F) {
	for _, s := range []string{
		"<b>Hola</b> &amp; bienvenidas",
		`<a href="https://nnirr.org">NNIRR</a>`,
		"<i>unclosed",
		"a < b",
		"</>",
		"&#x1F600; &#128512; &unknown;",
		`<span class="tg-spoiler">x</span><tg-emoji emoji-id="1">👍</tg-emoji>`,
		"<pre><code class=\"language-go\">x</code></pre>",
		`<a href="javascript:alert(1)">x</a>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := tghtml.Validate(s)
		plain := tghtml.Plain(s)
		links := tghtml.Links(s)
		if err != nil {
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("accepted invalid UTF-8 %q", s)
		}
		if strings.TrimSpace(plain) == "" && plain == "" {
			t.Fatalf("accepted %q with an empty text", s)
		}
		for _, l := range links {
			if !strings.HasPrefix(strings.ToLower(l), "http://") && !strings.HasPrefix(strings.ToLower(l), "https://") {
				t.Fatalf("accepted %q with link %q", s, l)
			}
		}
	})
}
