package slack

import (
	"strings"
	"testing"
	"unicode/utf8"

	"bridgebot/bot/telegram/tghtml"
)

func TestTelegramHTMLFromSlackMarkup(t *testing.T) {
	long := strings.Repeat("*Fecha* _lugar_ ~costo~ <https://example.org/a?b=1&c=2|más> 🎉 ", 60)
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Meeting on Friday", "Meeting on Friday"},
		{"bold italic strike", "*Dates* are _set_, ~maybe~", "<b>Dates</b> are <i>set</i>, <s>maybe</s>"},
		{"nested", "*bold _and italic_*", "<b>bold <i>and italic</i></b>"},
		{"nested three", "~*_all_*~", "<s><b><i>all</i></b></s>"},
		{"crossed markers", "*a _b* c_", "<b>a _b</b> c_"},
		{"unbalanced", "*not closed and _this neither", "*not closed and _this neither"},
		{"lone markers", "2 * 3 = 6 and a_b_c and ~ tilde", "2 * 3 = 6 and a_b_c and ~ tilde"},
		{"marker after space does not close", "*a *", "*a *"},
		{"markers do not span lines", "*first\nsecond*", "*first\nsecond*"},
		{"line breaks", "one\ntwo\r\nthree", "one\ntwo\nthree"},
		{"slack link", "Read <https://example.org/x|the details>.", `Read <a href="https://example.org/x">the details</a>.`},
		{"slack link without text", "<https://example.org>", `<a href="https://example.org">https://example.org</a>`},
		{"formatted link text", "<https://example.org|*big* news>", `<a href="https://example.org"><b>big</b> news</a>`},
		{"bare url", "See https://example.org/a_b_c.", `See <a href="https://example.org/a_b_c">https://example.org/a_b_c</a>.`},
		{"bare url in parentheses", "(https://example.org/x)", `(<a href="https://example.org/x">https://example.org/x</a>)`},
		{"url with a query", "https://example.org/?a=1&b=2", `<a href="https://example.org/?a=1&amp;b=2">https://example.org/?a=1&amp;b=2</a>`},
		{"url inside bold", "*go to https://example.org*", `<b>go to <a href="https://example.org">https://example.org</a></b>`},
		{"not a web link", "<mailto:a@example.org|mail> <ftp://x> <@U123>", "&lt;mailto:a@example.org|mail&gt; &lt;ftp://x&gt; &lt;@U123&gt;"},
		{"script", "<script>alert('x')</script>", "&lt;script&gt;alert('x')&lt;/script&gt;"},
		{"html is text", "<b>bold</b> & <a href=\"https://x.org\">x</a>", "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href=&quot;<a href=\"https://x.org\">https://x.org</a>&quot;&gt;x&lt;/a&gt;"},
		{"entities are text", "&lt; &amp;", "&amp;lt; &amp;amp;"},
		{"javascript link", "<javascript:alert(1)|click>", "&lt;javascript:alert(1)|click&gt;"},
		{"quote in a link", `<https://x.org/"onmouseover=x|hi>`, `&lt;<a href="https://x.org/">https://x.org/</a>&quot;onmouseover=x|hi&gt;`},
		{"inline code", "Run `*not bold* <b>` now", "Run <code>*not bold* &lt;b&gt;</code> now"},
		{"code block", "Before\n```\n*raw* <x>\nline\n```\nafter", "Before\n<pre>*raw* &lt;x&gt;\nline\n</pre>\nafter"},
		{"unclosed code block", "```*b*", "```<b>b</b>"},
		{"emoji and accents", "*¡Ya hay fechas!* 🎉 _Año_ 👩🏽‍🌾", "<b>¡Ya hay fechas!</b> 🎉 <i>Año</i> 👩🏽‍🌾"},
		{"markers in a word", "snake_case_name and 3*4*5", "snake_case_name and 3*4*5"},
		{"only markers", "***", "<b>*</b>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := telegramHTML(tc.in)
			if got != tc.want {
				t.Fatalf("telegramHTML(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			if err := tghtml.Validate(got); err != nil {
				t.Fatalf("invalid Telegram HTML %q: %v", got, err)
			}
		})
	}
	t.Run("very long", func(t *testing.T) {
		got := telegramHTML(long)
		if err := tghtml.Validate(got); err != nil {
			t.Fatalf("invalid Telegram HTML: %v", err)
		}
		if n := strings.Count(got, "<b>Fecha</b>"); n != 60 {
			t.Fatalf("%d bold dates of 60", n)
		}
	})
}

// Whatever an organizer types becomes valid Telegram HTML whose displayed
// text is what they typed, less the markup.
func FuzzTelegramHTML(f *testing.F) {
	for _, s := range []string{"*a _b_ c*", "<https://x.org|y>", "```a```", "`x`", "https://x.org/(a)", "~_*", "<<>>&&", "*\n*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) || strings.TrimSpace(s) == "" || utf8.RuneCountInString(s) > 3000 {
			return
		}
		got := telegramHTML(s)
		plain := tghtml.Plain(got)
		if strings.TrimSpace(plain) == "" {
			return // only markers, e.g. "``": nothing to send
		}
		if err := tghtml.Validate(got); err != nil {
			t.Fatalf("telegramHTML(%q) = %q: %v", s, got, err)
		}
	})
}

// Staff replies arrive as Slack message events: entities escaped,
// mentions and e-mail links marked up. They go through the announcements'
// converter, so crossed markers can no longer make Telegram refuse a reply
// (the regular expressions before wrote "<b>bold <i>it</b> x</i>").
func TestStaffReplyToTelegramHTML(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"*bold _it* x_", "<b>bold _it</b> x_"},
		{"Hola <@U0STAFF>, *sí* hay _cupo_", "Hola , <b>sí</b> hay <i>cupo</i>"},
		{"escribe a <mailto:info@bridge.org|info@bridge.org> o <tel:+5215555|+52 1 5555>", "escribe a info@bridge.org o +52 1 5555"},
		{"mira <https://bridge.org/x|la página> &amp; &lt;b&gt;", `mira <a href="https://bridge.org/x">la página</a> &amp; &lt;b&gt;`},
		{"  <!here> ~ya no~  ", "<s>ya no</s>"},
	} {
		got := mrkdwnToHTML(tc.in)
		if got != tc.want {
			t.Errorf("mrkdwnToHTML(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if err := tghtml.Validate(got); err != nil {
			t.Errorf("mrkdwnToHTML(%q) = %q, which Telegram refuses: %v", tc.in, got, err)
		}
	}
}
