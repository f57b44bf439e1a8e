package flows

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Telegram limits a flow must fit in.
const (
	// MaxCallbackData is Telegram's limit on callback_data, in bytes.
	MaxCallbackData = 64
	// MaxButtonLabel is the longest button label we allow, in characters.
	// Telegram documents no hard limit, but labels beyond ~64 characters
	// are cut off on phones, so a longer one is a mistake worth reporting.
	MaxButtonLabel = 64
)

// CallbackData encodes a form button for Telegram: "f|rev|action|value".
// rev is the session revision the button was drawn at, so a button pressed
// on an older message is recognised as stale rather than acted upon.
func CallbackData(rev uint32, b Button) string {
	return "f|" + strconv.FormatUint(uint64(rev), 10) + "|" + string(b.Action) + "|" + b.Value
}

// ParseCallbackData is the inverse of CallbackData. ok is false for data
// that is not a form button at all.
func ParseCallbackData(data string) (rev uint32, in Input, ok bool) {
	parts := strings.SplitN(data, "|", 4)
	if len(parts) != 4 || parts[0] != "f" {
		return 0, Input{}, false
	}
	n, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return 0, Input{}, false
	}
	return uint32(n), Input{Action: Action(parts[2]), Value: parts[3]}, true
}

// Catalog is what Check needs of the locales: which languages exist and the
// raw text of a message in one of them.
type Catalog interface {
	Languages() []string
	Text(lang, id string) (string, bool)
}

// Ref is one place a flow refers to a message.
type Ref struct {
	ID     string
	Line   int
	Button string // prefix drawn before the label when it is a button, else ""
	Value  string // the callback value when it is a button
	Action Action
}

// Refs lists every message the flow uses, with where it is used.
func (f *Flow) Refs() []Ref {
	refs := []Ref{{ID: f.Title, Line: f.Line}}
	for _, s := range f.Steps {
		refs = append(refs, Ref{ID: s.Prompt, Line: s.Line})
		if s.Label != "" && s.Editable() {
			refs = append(refs, Ref{ID: s.Label, Line: s.Line, Button: "✏️ ", Action: ActEdit, Value: s.ID})
		}
		if s.Label != "" && !s.Editable() {
			refs = append(refs, Ref{ID: s.Label, Line: s.Line})
		}
		for _, id := range []string{s.Help, s.Decline, s.Done} {
			if id != "" {
				refs = append(refs, Ref{ID: id, Line: s.Line})
			}
		}
		for _, o := range s.Options {
			act := ActPick
			if s.Kind == KindMulti {
				act = ActToggle
			}
			refs = append(refs, Ref{ID: o.Label, Line: o.Line, Button: "✅ ", Action: act, Value: o.Value})
		}
	}
	return refs
}

// Check reports everything in the flow that would break or embarrass the
// bot in some language: missing or empty messages, button labels too long
// for a phone, callback data over Telegram's limit.
func Check(f *Flow, cat Catalog) Problems {
	var ps Problems
	add := func(line int, format string, args ...any) {
		ps = append(ps, Problem{File: f.File, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for _, r := range f.Refs() {
		if r.ID == "" {
			continue
		}
		if r.Action != "" {
			data := CallbackData(^uint32(0), Button{Action: r.Action, Value: r.Value})
			if len(data) > MaxCallbackData {
				add(r.Line, "button %q: callback data %q is %d bytes, over Telegram's %d", r.Value, data, len(data), MaxCallbackData)
			}
		}
		key := fmt.Sprint(r.ID, r.Line)
		if seen[key] {
			continue
		}
		seen[key] = true
		for _, lang := range cat.Languages() {
			text, ok := cat.Text(lang, r.ID)
			switch {
			case !ok:
				add(r.Line, "message %q is missing in language %q", r.ID, lang)
			case strings.TrimSpace(text) == "":
				add(r.Line, "message %q is empty in language %q", r.ID, lang)
			case r.Button != "" && utf8.RuneCountInString(r.Button+text) > MaxButtonLabel:
				add(r.Line, "button label %q (%s) is %d characters, over the limit of %d", r.ID, lang, utf8.RuneCountInString(r.Button+text), MaxButtonLabel)
			}
		}
	}
	return ps
}
