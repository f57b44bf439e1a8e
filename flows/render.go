package flows

import (
	"html"
	"slices"
	"strings"
)

// Translator turns a message ID into text in the member's language. The
// bot passes one per member (a go-i18n Localizer underneath).
type Translator interface {
	T(id string, data map[string]any) string
}

// View is what the member sees for a step: Telegram-HTML text (member
// answers are escaped) and rows of buttons.
type View struct {
	Text    string
	Buttons [][]Button
}

// Button is a localized label plus the input it stands for.
type Button struct {
	Text   string
	Action Action
	Value  string
}

// Bot-level actions rendered by flows but handled by the bot: cancelling
// asks for confirmation and discards the whole form.
const ActCancel Action = "x"

// Render draws the current step of st.
func Render(f *Flow, st State, tr Translator) View {
	s := f.Step(st.Step)
	if s.Kind == KindReview && st.Picking {
		return f.renderPicker(st, tr)
	}
	var b strings.Builder
	if s.Kind != KindReview {
		pos, total := f.Position(st)
		b.WriteString("<i>" + tr.T("form.progress", map[string]any{"N": pos, "Total": total}) + "</i>\n")
	}
	b.WriteString(tr.T(s.Prompt, nil))
	if s.Help != "" {
		b.WriteString("\n\n" + tr.T(s.Help, nil))
	}
	var rows [][]Button
	switch s.Kind {
	case KindText:
		if v, ok := st.Answers[s.ID]; ok && len(v) > 0 {
			b.WriteString("\n\n" + tr.T("form.current", map[string]any{"Value": html.EscapeString(v[0])}))
		}
	case KindChoice:
		for _, o := range s.Options {
			rows = append(rows, []Button{{Text: mark(st.Answers[s.ID], o.Value, "• ") + tr.T(o.Label, nil), Action: ActPick, Value: o.Value}})
		}
	case KindMulti:
		var row []Button
		for _, o := range s.Options {
			box := "▫️ "
			if slices.Contains(st.Draft, o.Value) {
				box = "✅ "
			}
			row = append(row, Button{Text: box + tr.T(o.Label, nil), Action: ActToggle, Value: o.Value})
			if len(row) == 2 {
				rows, row = append(rows, row), nil
			}
		}
		if row != nil {
			rows = append(rows, row)
		}
		rows = append(rows, []Button{{Text: tr.T("form.button.done", map[string]any{"Count": len(st.Draft)}), Action: ActDone}})
	case KindYesNo:
		rows = append(rows, []Button{
			{Text: mark(st.Answers[s.ID], Yes, "• ") + tr.T("form.button.yes", nil), Action: ActPick, Value: Yes},
			{Text: mark(st.Answers[s.ID], No, "• ") + tr.T("form.button.no", nil), Action: ActPick, Value: No},
		})
	case KindConsent:
		rows = append(rows,
			[]Button{{Text: tr.T("form.button.agree", nil), Action: ActPick, Value: Agree}},
			[]Button{{Text: tr.T("form.button.decline", nil), Action: ActPick, Value: Decline}})
	case KindReview:
		// On a phone: Confirm first, then one button that opens the list
		// of answers to change (renderPicker).
		b.WriteString("\n\n" + f.Summary(st.Answers, tr))
		rows = append(rows,
			[]Button{{Text: tr.T("form.button.confirm", nil), Action: ActConfirm}},
			[]Button{{Text: tr.T("form.button.change", nil), Action: ActChange}})
	}
	var nav []Button
	if len(st.History) > 0 || st.Editing {
		nav = append(nav, Button{Text: tr.T("form.button.back", nil), Action: ActBack})
	}
	if s.Optional {
		nav = append(nav, Button{Text: tr.T("form.button.skip", nil), Action: ActSkip})
	}
	nav = append(nav, Button{Text: tr.T("form.button.cancel", nil), Action: ActCancel})
	rows = append(rows, nav)
	return View{Text: b.String(), Buttons: rows}
}

// Summary is every answer that applies, one "<b>Label:</b> answer" line
// each: the review, and a finished sign-up shown read-only.
func (f *Flow) Summary(a Answers, tr Translator) string {
	var lines []string
	for _, t := range f.Applicable(a) {
		lines = append(lines, "<b>"+tr.T(t.Label, nil)+":</b> "+f.answerText(t, a, tr))
	}
	return strings.Join(lines, "\n")
}

// renderPicker is the review's list of answers to change: their short
// labels, two to a row, and Back to the review. Consent is not among them:
// the text says that withdrawing it is /delete.
func (f *Flow) renderPicker(st State, tr Translator) View {
	var rows [][]Button
	var row []Button
	for _, t := range f.Applicable(st.Answers) {
		if !t.Editable() {
			continue
		}
		row = append(row, Button{Text: tr.T(t.Label, nil), Action: ActEdit, Value: t.ID})
		if len(row) == 2 {
			rows, row = append(rows, row), nil
		}
	}
	if row != nil {
		rows = append(rows, row)
	}
	rows = append(rows, []Button{
		{Text: tr.T("form.button.back", nil), Action: ActBack},
		{Text: tr.T("form.button.cancel", nil), Action: ActCancel},
	})
	return View{Text: tr.T("form.change.prompt", nil), Buttons: rows}
}

func mark(answer []string, value, prefix string) string {
	if len(answer) == 1 && answer[0] == value {
		return prefix
	}
	return ""
}

// AnswerText is one answer as the member reads it: option labels in their
// language, free text escaped for Telegram HTML, "—" when skipped.
func (f *Flow) answerText(s *Step, a Answers, tr Translator) string {
	vals, ok := a[s.ID]
	if !ok || len(vals) == 0 {
		return "—"
	}
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		out = append(out, html.EscapeString(ValueText(s, v, tr)))
	}
	return strings.Join(out, ", ")
}

// ValueText is one stored value as the member reads it, unescaped: an
// option's label, yes/no and consent in words, or the text itself.
func ValueText(s *Step, v string, tr Translator) string {
	switch s.Kind {
	case KindChoice, KindMulti:
		if o := s.Option(v); o != nil {
			return tr.T(o.Label, nil)
		}
	case KindYesNo:
		if v == Yes {
			return tr.T("form.button.yes", nil)
		}
		return tr.T("form.button.no", nil)
	case KindConsent:
		return tr.T("form.value.agreed", nil)
	}
	return v
}

// Position is the current question's number and the number of questions,
// so the member knows how far along they are. Only questions every member
// is asked are counted: a follow-up that an answer brings in (role
// "other" → "describe your role") carries the number of the question
// before it, so the total never jumps as conditional steps appear.
func (f *Flow) Position(st State) (pos, total int) {
	for _, s := range f.Steps {
		if !s.Answerable() || s.When != nil {
			continue
		}
		total++
		if f.index[s.ID] <= f.index[st.Step] {
			pos = total
		}
	}
	return max(pos, 1), total
}

// UIMessageIDs lists the messages the form engine and its rendering use
// (buttons, notices, errors), for completeness checks; a flow's own texts
// are checked by Check.
func UIMessageIDs() []string {
	return []string{
		"form.progress", "form.current",
		"form.button.back", "form.button.skip", "form.button.cancel", "form.button.done",
		"form.button.yes", "form.button.no", "form.button.agree", "form.button.decline", "form.button.confirm",
		"form.button.change", "form.change.prompt",
		"form.value.agreed", "form.error.use_buttons", "form.error.empty", "form.error.empty_optional",
		"form.error.too_long", "form.error.email", "form.error.phone", "form.error.phone_country", "form.error.choose_min", "form.error.missing",
	}
}
