package flows

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Typed answers
//
// Many members type where the form offers buttons: "si", "no", "yes",
// "organizadora", "educadora popular", "community leader", "2", "listo".
// TypedInputs reads such text as the buttons it stands for, so the member is
// understood; the buttons stay as the fallback when the text is not clear.
// It matches the option labels of every language it is given (a member may
// answer in the other language), ignoring case, accents, punctuation, emoji,
// gendered endings ("Organizador/a" = "organizadora" = "organizador") and
// one typo in longer words; a number picks the option at that position. It
// answers only when exactly one reading fits.

// Words for yes, no, done and confirm in both languages, normalized.
var (
	yesWords = setOf("si", "yes", "y", "s", "yeah", "yep", "yup", "claro", "claro que si", "ok", "okay", "dale",
		"va", "simon", "sure", "of course", "por supuesto", "afirmativo", "correcto", "asi es", "cierto", "sip", "sii")
	noWords = setOf("no", "n", "nope", "nah", "nel", "para nada", "negativo", "no gracias", "no thanks", "nop",
		"not really", "la verdad no", "no la verdad", "noo")
	agreeWords = setOf("acepto", "de acuerdo", "estoy de acuerdo", "i agree", "agree", "agreed", "si acepto",
		"yes i agree", "si estoy de acuerdo")
	declineWords = setOf("no acepto", "no estoy de acuerdo", "i dont agree", "i do not agree", "disagree",
		"decline", "no de acuerdo")
	doneWords = setOf("listo", "lista", "ya", "ya esta", "ya estuvo", "eso es todo", "es todo", "termine", "terminado",
		"done", "thats all", "thats it", "finished", "finish", "next", "siguiente", "continuar", "continue", "ok", "okay")
	confirmWords = setOf("confirmar", "confirmo", "confirm", "enviar", "envialo", "send", "submit", "si", "yes",
		"ok", "okay", "listo", "done", "correcto", "todo bien", "looks good", "all good", "dale")
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// TypedInputs reads text typed at the current step of st as the button
// presses it stands for (several for "migración y trabajo" on a multi
// step). It returns nil when the step takes text, or when the text is not a
// clear answer. trs are translators of every language, the member's first.
func TypedInputs(f *Flow, st State, text string, trs ...Translator) []Input {
	s := f.Step(f.Resume(st).Step)
	if s == nil || s.Kind == KindText {
		return nil
	}
	t := normalizeAnswer(text)
	if t == "" {
		return nil
	}
	switch s.Kind {
	case KindYesNo:
		first, _, _ := strings.Cut(strings.Trim(t, ",;"), " ")
		first = strings.Trim(first, ",;")
		if len(first) > 1 && first != t {
			// "si, vivo en juarez", "no, in Denver"
			switch {
			case yesWords[first]:
				return []Input{{Action: ActPick, Value: Yes}}
			case noWords[first]:
				return []Input{{Action: ActPick, Value: No}}
			}
		}
		switch {
		case yesWords[t] || t == "1" || matchesLabel(t, "form.button.yes", trs):
			return []Input{{Action: ActPick, Value: Yes}}
		case noWords[t] || t == "2" || matchesLabel(t, "form.button.no", trs):
			return []Input{{Action: ActPick, Value: No}}
		}
	case KindConsent:
		switch {
		case declineWords[t] || noWords[t] || t == "2" || matchesLabel(t, "form.button.decline", trs):
			return []Input{{Action: ActPick, Value: Decline}}
		case agreeWords[t] || yesWords[t] || t == "1" || matchesLabel(t, "form.button.agree", trs):
			return []Input{{Action: ActPick, Value: Agree}}
		}
	case KindChoice:
		if o := optionFor(s, t, trs); o != "" {
			return []Input{{Action: ActPick, Value: o}}
		}
	case KindMulti:
		if doneWords[t] {
			return []Input{{Action: ActDone}}
		}
		return multiInputs(s, st, t, trs)
	case KindReview:
		if confirmWords[t] || matchesLabel(t, "form.button.confirm", trs) {
			return []Input{{Action: ActConfirm}}
		}
	}
	return nil
}

// multiInputs reads "2, 5", "migracion y trabajo" or one label as the
// options to select (toggling only those not selected yet), then Done when
// the member named what they want ("migración y trabajo, listo").
func multiInputs(s *Step, st State, t string, trs []Translator) []Input {
	var parts []string
	for _, p := range strings.FieldsFunc(t, func(r rune) bool { return r == ',' || r == ';' }) {
		parts = append(parts, splitAnd(p)...)
	}
	var ins []Input
	done := false
	seen := map[string]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if doneWords[p] {
			done = true
			continue
		}
		o := optionFor(s, p, trs)
		if o == "" {
			// one unclear part makes the whole message unclear
			if len(parts) > 1 {
				if o = optionFor(s, t, trs); o != "" {
					return toggles(st, []string{o}, false)
				}
			}
			return nil
		}
		if !seen[o] {
			seen[o] = true
			ins = append(ins, Input{Action: ActToggle, Value: o})
		}
	}
	if len(ins) == 0 {
		if done {
			return []Input{{Action: ActDone}}
		}
		return nil
	}
	vals := make([]string, len(ins))
	for i, in := range ins {
		vals[i] = in.Value
	}
	return toggles(st, vals, done)
}

// toggles selects vals (leaving ones already selected as they are).
func toggles(st State, vals []string, done bool) []Input {
	var ins []Input
	for _, v := range vals {
		selected := false
		for _, d := range st.Draft {
			selected = selected || d == v
		}
		if !selected {
			ins = append(ins, Input{Action: ActToggle, Value: v})
		}
	}
	if done {
		ins = append(ins, Input{Action: ActDone})
	}
	if len(ins) == 0 {
		// everything named is already selected: the member is done
		ins = append(ins, Input{Action: ActDone})
	}
	return ins
}

// splitAnd splits "migracion y trabajo" / "labor and climate" at the
// conjunctions, but only into parts that are all option-like; callers
// check every part.
func splitAnd(t string) []string {
	words := strings.Fields(t)
	var parts []string
	var cur []string
	for _, w := range words {
		if w == "y" || w == "and" || w == "e" || w == "&" {
			parts = append(parts, strings.Join(cur, " "))
			cur = nil
			continue
		}
		cur = append(cur, w)
	}
	return append(parts, strings.Join(cur, " "))
}

// optionFor returns the value of the one option that t names (by number,
// value or label in any language), or "".
func optionFor(s *Step, t string, trs []Translator) string {
	if n, err := strconv.Atoi(t); err == nil {
		if n >= 1 && n <= len(s.Options) {
			return s.Options[n-1].Value
		}
		return ""
	}
	found := ""
	for _, o := range s.Options {
		ok := labelWords(o.Value) == labelWords(t)
		for _, tr := range trs {
			ok = ok || sameLabel(t, tr.T(o.Label, nil))
		}
		if ok {
			if found != "" && found != o.Value {
				return "" // two options fit: not clear
			}
			found = o.Value
		}
	}
	if found != "" {
		return found
	}
	// a sentence that names one option: "soy organizadora", "I'm a
	// community leader in Yuma"
	words := " " + labelWords(t) + " "
	for _, o := range s.Options {
		ok := false
		for _, tr := range trs {
			l := labelWords(normalizeAnswer(tr.T(o.Label, nil)))
			ok = ok || len(l) >= 4 && strings.Contains(words, " "+l+" ")
		}
		if ok {
			if found != "" && found != o.Value {
				return ""
			}
			found = o.Value
		}
	}
	return found
}

func matchesLabel(t, id string, trs []Translator) bool {
	for _, tr := range trs {
		if sameLabel(t, tr.T(id, nil)) {
			return true
		}
	}
	return false
}

// sameLabel reports whether typed text t (normalized) names a button label:
// the same words up to gendered endings, or one typo in a word of 5+ letters.
func sameLabel(t, label string) bool {
	a, b := labelWords(t), labelWords(normalizeAnswer(label))
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	if len(a) >= 5 && len(b) >= 5 && editDistance(a, b) <= 1+len(b)/12 {
		return true
	}
	return false
}

// labelWords reduces a normalized label to comparable words: gender and
// plural endings dropped ("organizador/a", "organizadora", "organizadores"
// → "organizador"), hyphens as spaces.
func labelWords(s string) string {
	s = strings.ReplaceAll(s, "-", " ")
	s = strings.ReplaceAll(s, "/a", "")
	s = strings.ReplaceAll(s, "(a)", "")
	words := strings.Fields(s)
	for i, w := range words {
		for _, suf := range []string{"as", "os", "es", "a", "o", "s"} {
			if len(w)-len(suf) >= 4 && strings.HasSuffix(w, suf) {
				w = w[:len(w)-len(suf)]
				break
			}
		}
		words[i] = w
	}
	return strings.Join(words, " ")
}

// normalizeAnswer lower-cases text, removes accents, emoji and
// punctuation except "," ";" "/" "(" ")" and "-" inside words, and folds
// spaces: "¡Sí! 👍" → "si".
func normalizeAnswer(text string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(strings.ToLower(text)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(",;/()-&", r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case r == '\'' || r == '’':
			continue // "don't" → "dont"
		default:
			space = true
		}
	}
	return strings.Trim(b.String(), " ,;-")
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
