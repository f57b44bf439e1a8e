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
	var b strings.Builder
	if s.Kind != KindReview {
		pos, total := f.position(st)
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
		b.WriteString("\n")
		var row []Button
		for _, t := range f.Applicable(st.Answers) {
			b.WriteString("\n<b>" + tr.T(t.Label, nil) + ":</b> " + f.answerText(t, st.Answers, tr))
			row = append(row, Button{Text: "✏️ " + tr.T(t.Label, nil), Action: ActEdit, Value: t.ID})
			if len(row) == 2 {
				rows, row = append(rows, row), nil
			}
		}
		if row != nil {
			rows = append(rows, row)
		}
		rows = append(rows, []Button{{Text: tr.T("form.button.confirm", nil), Action: ActConfirm}})
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

// position is the step's number among the questions that apply, so the
// member knows how far along they are.
func (f *Flow) position(st State) (int, int) {
	steps := f.Applicable(st.Answers)
	pos := len(steps)
	for i, s := range steps {
		if s.ID == st.Step {
			pos = i + 1
		}
	}
	return pos, len(steps)
}
