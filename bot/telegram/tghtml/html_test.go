package tghtml_test

import (
	"errors"
	"strings"
	"testing"

	"bridgebot/bot/telegram/tghtml"
)

func TestValidate(t *testing.T) {
	ok := []string{
		"plain text",
		"<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <strong>x</strong> <em>y</em> <ins>z</ins> <del>d</del> <strike>k</strike>",
		`<a href="https://example.org/a?b=1&amp;c=2">link</a>`,
		`<a href='http://example.org'>single quotes</a>`,
		"<b>nested <i>tags</i></b>",
		"<b>short end tag</>",
		`<span class="tg-spoiler">spoiler</span> <tg-spoiler>too</tg-spoiler>`,
		`<pre><code class="language-go">x := 1</code></pre> <code>c</code>`,
		"<blockquote>q</blockquote> <blockquote expandable>long</blockquote>",
		`<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`,
		"5 &lt; 6 &amp;&amp; 7 &gt; 6, a bare > is fine, &#128512; &#x1F600;",
		"unknown entity &nbsp; stays literal, & too",
		strings.Repeat("a", 4096),
		strings.Repeat("é", 4096),
		"<b>" + strings.Repeat("x", 4096) + "</b>", // tags do not count
	}
	for _, s := range ok {
		if err := tghtml.Validate(s); err != nil {
			t.Errorf("Validate(%.60q) = %v, want nil", s, err)
		}
	}
	bad := []struct{ text, want string }{
		{"", "empty"},
		{"<b> </b>", "empty"},
		{strings.Repeat("a", 4097), "too long: 4097"},
		{strings.Repeat("😀", 2049), "too long: 4098"}, // two UTF-16 units each
		{"<div>x</div>", "line 1, column 1: <div> is not supported"},
		{"line one\nsee <p>here</p>", "line 2, column 5: <p> is not supported"},
		{"a<br>b", "no <br>"},
		{"x < y", "write &lt;"},
		{"<b>open", "<b> is never closed"},
		{"<b><i>x</b></i>", "</b> found where </i> was expected"},
		{"x</b>", "never opened"},
		{`<a href="javascript:alert(1)">x</a>`, "must be a full http:// or https:// address"},
		{`<a href="example.org">x</a>`, "http"},
		{"<a>x</a>", "needs a link"},
		{`<span class="x">s</span>`, "tg-spoiler"},
		{`<b class=a/b>x</b>`, "quotes"},
		{"<tg-emoji>x</tg-emoji>", "emoji-id"},
		{"\xff", "UTF-8"},
	}
	for _, c := range bad {
		err := tghtml.Validate(c.text)
		var he *tghtml.Error
		if err == nil || !errors.As(err, &he) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%.40q) = %v, want an *Error containing %q", c.text, err, c.want)
		}
	}
}

func TestPlain(t *testing.T) {
	cases := map[string]string{
		`<b>Hi</b> &amp; <a href="https://x.org">welcome</a> &lt;3 &#233;`: "Hi & welcome <3 é",
		"<div>invalid</div> &amp;": "invalid &", // best effort
	}
	for in, want := range cases {
		if got := tghtml.Plain(in); got != want {
			t.Errorf("Plain(%q) = %q, want %q", in, got, want)
		}
	}
	if got := tghtml.Links(`<a href="https://a.org">a</a> <a href="http://b.org/x">b</a>`); strings.Join(got, " ") != "https://a.org http://b.org/x" {
		t.Errorf("Links = %v", got)
	}
}

func TestPlainLinksShowsWhereLinksGo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`Read <a href="https://example.org/x">the details</a>.`, "Read the details (https://example.org/x)."},
		{`<a href="https://example.org">https://example.org</a>`, "https://example.org"},
		{`<b><a href="https://a.org">A</a></b> &amp; <a href="https://b.org/?q=1&amp;r=2"><i>B</i></a>`, "A (https://a.org) & B (https://b.org/?q=1&r=2)"},
		{"no links &lt;here&gt;", "no links <here>"},
	} {
		if got := tghtml.PlainLinks(tc.in); got != tc.want {
			t.Errorf("PlainLinks(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
