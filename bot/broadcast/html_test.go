package broadcast_test

import (
	"errors"
	"strings"
	"testing"

	"bridgebot/bot/broadcast"
)

func TestValidateHTML(t *testing.T) {
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
		if err := broadcast.ValidateHTML(s); err != nil {
			t.Errorf("ValidateHTML(%.60q) = %v, want nil", s, err)
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
		err := broadcast.ValidateHTML(c.text)
		var he *broadcast.HTMLError
		if err == nil || !errors.As(err, &he) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ValidateHTML(%.40q) = %v, want an HTMLError containing %q", c.text, err, c.want)
		}
	}
}

func TestRenderPlain(t *testing.T) {
	cases := map[string]string{
		`<b>Hi</b> &amp; <a href="https://x.org">welcome</a> &lt;3 &#233;`: "Hi & welcome <3 é",
		"<div>invalid</div> &amp;": "invalid &", // best effort
	}
	for in, want := range cases {
		if got := broadcast.RenderPlain(in); got != want {
			t.Errorf("RenderPlain(%q) = %q, want %q", in, got, want)
		}
	}
	if got := broadcast.Links(`<a href="https://a.org">a</a> <a href="http://b.org/x">b</a>`); strings.Join(got, " ") != "https://a.org http://b.org/x" {
		t.Errorf("Links = %v", got)
	}
}

func TestParseAudience(t *testing.T) {
	good := map[string]string{
		"":        "all",
		"all":     "all",
		" ALL ":   "all",
		"lang=es": "lang=es",
		"area=migration,labor border=yes role=organizer": "area=migration,labor role=organizer border=yes",
		"role = organizer , popular-educator lang=en,es": "lang=en,es role=organizer,popular-educator",
		"area=labor area=climate,labor":                  "area=labor,climate",
		"border=no":                                      "border=no",
	}
	for in, want := range good {
		a, err := broadcast.ParseAudience(in)
		if err != nil {
			t.Errorf("ParseAudience(%q): %v", in, err)
			continue
		}
		if a.String() != want {
			t.Errorf("ParseAudience(%q).String() = %q, want %q", in, a.String(), want)
		}
		b, err := broadcast.ParseAudience(a.String())
		if err != nil || b.String() != a.String() {
			t.Errorf("round trip of %q: %v, %v", a.String(), b, err)
		}
	}
	bad := map[string]string{
		"region=north":         `unknown key "region"`,
		"lang=fr":              `unknown lang "fr" (valid: en, es)`,
		"area=housing":         `unknown area "housing"`,
		"role=boss":            `unknown role "boss"`,
		"border=maybe":         `unknown border "maybe"`,
		"border=yes,no":        "border takes one value",
		"lang":                 "not key=value",
		"lang=":                "empty value",
		"lang=es,":             "empty value",
		"all lang=es":          `"all" cannot be combined`,
		"border=yes border=no": "border takes one value",
	}
	for in, want := range bad {
		if _, err := broadcast.ParseAudience(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAudience(%q) = %v, want error containing %q", in, err, want)
		}
	}
}

func TestAudienceMatch(t *testing.T) {
	sub := broadcast.Subscriber{Lang: "es", Role: "organizer", Areas: []string{"labor", "climate"}, Border: "yes"}
	cases := map[string]bool{
		"all":                       true,
		"lang=es":                   true,
		"lang=en":                   false,
		"area=climate,detention":    true,
		"area=detention":            false,
		"role=organizer border=yes": true,
		"role=organizer border=no":  false,
		"lang=en,es area=labor role=other,organizer": true,
	}
	for expr, want := range cases {
		a, err := broadcast.ParseAudience(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Match(sub); got != want {
			t.Errorf("%q matches %+v = %v, want %v", expr, sub, got, want)
		}
	}
	if (broadcast.Audience{Areas: []string{"housing"}}).Validate() == nil {
		t.Error("Validate accepted an unknown area")
	}
}

func TestRenderPlainLinksShowsWhereLinksGo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`Read <a href="https://example.org/x">the details</a>.`, "Read the details (https://example.org/x)."},
		{`<a href="https://example.org">https://example.org</a>`, "https://example.org"},
		{`<b><a href="https://a.org">A</a></b> &amp; <a href="https://b.org/?q=1&amp;r=2"><i>B</i></a>`, "A (https://a.org) & B (https://b.org/?q=1&r=2)"},
		{"no links &lt;here&gt;", "no links <here>"},
	} {
		if got := broadcast.RenderPlainLinks(tc.in); got != tc.want {
			t.Errorf("RenderPlainLinks(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
