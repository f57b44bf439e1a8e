package telegramtest

import (
	"fmt"
	"testing"
)

// These cases pin the HTML parser to TDLib's behaviour, including the
// lenient corners a stricter parser would get wrong.
func TestParseHTML(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, plain string
		entities  string
		err       string
	}{
		{in: "plain", plain: "plain", entities: "[]"},
		{in: "a > b & c", plain: "a > b & c", entities: "[]"},
		{in: "&lt;&gt;&amp;&quot;&#65;&#x42;&lt", plain: `<>&"AB<`, entities: "[]"},
		{in: "&nbsp;&unknown;", plain: "&nbsp;&unknown;", entities: "[]"},
		{in: "<B>x</b>", plain: "x", entities: "[{bold 0 1}]"},
		{in: "<b>a<i>b</i></b>", plain: "ab", entities: "[{bold 0 2} {italic 1 1}]"},
		{in: "<b>x</>", plain: "x", entities: "[{bold 0 1}]"},
		{in: "<b></b>x", plain: "x", entities: "[]"},
		{in: "😀<u>x</u>", plain: "😀x", entities: "[{underline 2 1}]"},
		{in: "<s>1</s><strike>2</strike><del>3</del><ins>4</ins><em>5</em><strong>6</strong>", plain: "123456",
			entities: "[{strikethrough 0 1} {strikethrough 1 1} {strikethrough 2 1} {underline 3 1} {italic 4 1} {bold 5 1}]"},
		{in: `<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>`, plain: "st", entities: "[{spoiler 0 1} {spoiler 1 1}]"},
		{in: `<a href="https://e.com/?a=1&amp;b=2">l</a>`, plain: "l", entities: "[{text_link 0 1 https://e.com/?a=1&b=2}]"},
		{in: `<a href='tg://user?id=42'>u</a>`, plain: "u", entities: "[{text_mention 0 1 42}]"},
		{in: `<a href="javascript:alert(1)">x</a>`, plain: "x", entities: "[]"},
		{in: `<a>e.com</a>`, plain: "e.com", entities: "[{text_link 0 5 http://e.com}]"},
		{in: `<pre><code class="language-go">x</code></pre>`, plain: "x", entities: "[{pre 0 1 go}]"},
		{in: `<code class="language-go">x</code>`, plain: "x", entities: "[{code 0 1}]"},
		{in: `<pre>x</pre>`, plain: "x", entities: "[{pre 0 1}]"},
		{in: `<blockquote expandable>q</blockquote>`, plain: "q", entities: "[{blockquote 0 1}]"},
		{in: `<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>`, plain: "👍", entities: "[{custom_emoji 0 2 5368324170671202286}]"},
		{in: `<b class=x.y-z>t</b>`, plain: "t", entities: "[{bold 0 1}]"},

		{in: "<foo>", err: `Unsupported start tag "foo" at byte offset 0`},
		{in: "ab<b", err: "Unclosed start tag at byte offset 2"},
		{in: "<b>", err: `Can't find end tag corresponding to start tag "b"`},
		{in: "<b><i>x</b></i>", err: `Unmatched end tag at byte offset 7, expected "</i>", found "</b>"`},
		{in: "</b>", err: "Unexpected end tag at byte offset 0"},
		{in: "<b>x</b", err: "Unclosed end tag at byte offset 4"},
		{in: "<a href>x</a>", err: `Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0`},
		{in: `<a href=x"y">x</a>`, err: "Unexpected end of name token at byte offset 8"},
		{in: `<a href=>x</a>`, plain: "x", entities: "[]"}, // empty href: the text "x" is no link
		{in: `<a href="x`, err: "Unclosed start tag at byte offset 0"},
		{in: `<span>x</span>`, err: `Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{in: `<tg-emoji emoji-id="abc">x</tg-emoji>`, err: "Invalid custom emoji identifier specified"},
		{in: "&#xD800;", err: "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"},
	} {
		plain, entities, err := parseHTML(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("parseHTML(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseHTML(%q) = error %v", tc.in, err)
			continue
		}
		if plain != tc.plain || formatEntities(entities) != tc.entities {
			t.Errorf("parseHTML(%q) = %q %s, want %q %s", tc.in, plain, formatEntities(entities), tc.plain, tc.entities)
		}
	}
}

func formatEntities(es []wireEntity) string {
	out := "["
	for i, e := range es {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("{%s %d %d", e.Type, e.Offset, e.Length)
		for _, extra := range []string{e.URL, e.Language, e.CustomEmojiID} {
			if extra != "" {
				out += " " + extra
			}
		}
		if e.User != nil {
			out += fmt.Sprintf(" %d", e.User.ID)
		}
		out += "}"
	}
	return out + "]"
}

func TestBotCommandEntities(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"/start", "[{bot_command 0 6}]"},
		{"/start@my_bot arg", "[{bot_command 0 13}]"},
		{"hi /help and /stop.", "[{bot_command 3 5} {bot_command 13 5}]"},
		{"😀 /go", "[{bot_command 3 3}]"},
		{"a/b", "[]"},
		{"/", "[]"},
		{"/x@ab", "[]"},    // the bot name needs 3+ characters
		{"/café", "[]"},    // a letter right after the command
		{"path/to", "[]"},  // preceded by a letter
		{"</b>", "[]"},     // preceded by '<'
		{"//double", "[]"}, // preceded by '/'
		{"/a_1 /b2", "[{bot_command 0 4} {bot_command 5 3}]"},
	} {
		if got := formatEntities(botCommandEntities(tc.in)); got != tc.want {
			t.Errorf("botCommandEntities(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestUTF16Len(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"": 0, "abc": 3, "é": 1, "😀": 2, "a😀b": 4, "中文": 2} {
		if got := utf16Len(in); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", in, got, want)
		}
	}
}
