package faq

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"bridgebot/flows"
)

// Catalog is what Check needs of the locales.
type Catalog interface {
	flows.Catalog
	CheckIDs(file string, ids []string) flows.Problems
}

// Check reports what would break the FAQ at run time, beside flows.Check:
// an entry's title or answer missing or empty in a language, a title too
// long for a button, an ID too long for Telegram's callback data, and the
// texts around the FAQ missing in a language.
func Check(f *FAQ, cat Catalog) flows.Problems {
	var ps flows.Problems
	add := func(e *Entry, format string, args ...any) {
		ps = append(ps, flows.Problem{File: f.File, Line: e.Line, Msg: fmt.Sprintf(format, args...)})
	}
	for _, e := range f.Entries() {
		for _, id := range []string{e.TitleID, e.AnswerID, e.Action.MessageID()} {
			if id == "" {
				continue
			}
			for _, lang := range cat.Languages() {
				text, ok := cat.Text(lang, id)
				switch {
				case !ok || strings.TrimSpace(text) == "":
					add(e, "entry %q: message %q is missing or empty in language %q", e.ID, id, lang)
				case id == e.TitleID && utf8.RuneCountInString(text) > flows.MaxButtonLabel:
					add(e, "entry %q: title (%s) is %d characters, over the button limit of %d", e.ID, lang, utf8.RuneCountInString(text), flows.MaxButtonLabel)
				}
			}
		}
		if n := len("q|" + e.ID); n > flows.MaxCallbackData {
			add(e, "entry %q: id too long for Telegram callback data (%d bytes)", e.ID, n)
		}
	}
	return append(ps, cat.CheckIDs(f.File, UIMessageIDs())...)
}
