package bot

import (
	"html"
	"strings"

	"bridgebot/flows"
	"bridgebot/flows/faq"
)

// Text typed in the middle of the form
//
// Members type where the form offers buttons ("si", "organizadora",
// "listo") and ask questions where it expects an answer ("¿es gratis?" at
// the organization question). The first are read as the buttons they name
// (flows.TypedInputs); the second are answered and the same step asked
// again, with the earlier answer intact, instead of being saved as the
// answer. The bar for taking text away from a text step is high, since
// ordinary answers may end in "?" ("El Paso?"): it must read as a question
// and match an FAQ entry clearly (clearAnswer); when it reads as a question
// and only might be one, the member is asked which it is.

// pendingAnswerOrQuestion: the member was asked whether their text is an
// answer to the step or a question; the text waits in Session.Question.
const pendingAnswerOrQuestion = "answer-or-question"

// formText handles text typed while a form is open.
func (t *turn) formText(text string) {
	f := t.flow()
	st := f.Resume(*t.s.Form)
	step := f.Step(st.Step)
	if step.Kind != flows.KindText {
		if ins := flows.TypedInputs(f, st, text, t.translators()...); ins != nil {
			t.applyTyped(ins)
			return
		}
		// not an answer this step takes: a question, if it reads as one
		// and the FAQ knows it
		if q := questionForm(text); t.e.matcher != nil && q != notAQuestion {
			r := t.e.matcher.Match(t.s.Lang, text)
			if q == clearlyAQuestion && (r.ID != "" || r.Ambiguous || r.Legal) || r.ID != "" && r.Score >= clearAnswer {
				t.questionInForm(text, r)
				return
			}
		}
		t.applyForm(flows.Input{Text: text}, 0) // "please use the buttons"
		return
	}
	if q := questionForm(text); t.e.matcher != nil && q != notAQuestion {
		r := t.e.matcher.Match(t.s.Lang, text)
		switch {
		case q == clearlyAQuestion && r.ID != "" && r.Score >= clearAnswer:
			t.questionInForm(text, r)
			return
		case r.ID != "" || r.Ambiguous || r.Legal:
			t.askAnswerOrQuestion(text)
			return
		}
	}
	t.applyForm(flows.Input{Text: text}, 0)
}

// applyTyped applies the button presses a typed answer stands for, in
// order, stopping at the first the form does not take as it is.
func (t *turn) applyTyped(ins []flows.Input) {
	f := t.flow()
	for i, in := range ins {
		if i == len(ins)-1 {
			t.applyForm(in, 0)
			return
		}
		out := flows.Apply(f, *t.s.Form, in)
		if out.Invalid || out.Notice != "" || out.Done {
			t.applyForm(in, 0)
			return
		}
		t.s.Form = &out.State
	}
}

// questionInForm answers a question asked during the form, then shows the
// step again (its earlier answer, if any, untouched).
func (t *turn) questionInForm(text string, r faq.Result) {
	switch {
	case r.ID != "":
		if en := t.e.faq.Entry(r.ID); en != nil {
			t.resp.Messages = append(t.resp.Messages, t.answerMessage(en, false))
		}
		t.say("form.back", nil)
		t.showStep()
	case r.Ambiguous && len(r.Candidates) > 0:
		t.keepQuestion(text)
		t.didYouMean(r.Candidates)
	default:
		t.noMatch(text, r.Legal)
	}
}

// askAnswerOrQuestion asks whether text is the member's answer or a
// question for the bot.
func (t *turn) askAnswerOrQuestion(text string) {
	t.s.Pending, t.s.Question = pendingAnswerOrQuestion, clip(text)
	t.resp.Messages = append(t.resp.Messages, Message{
		Text: t.tr.T("form.answer_or_question", map[string]any{"Text": html.EscapeString(t.s.Question)}),
		Buttons: [][]Button{
			{{Text: t.tr.T("form.button.its_answer", nil), Data: "aq|a"}},
			{{Text: t.tr.T("form.button.its_question", nil), Data: "aq|q"}},
		},
	})
}

// answerOrQuestion handles the member's choice.
func (t *turn) answerOrQuestion(v string, msgID int) {
	text := t.s.Question
	if t.s.Pending != pendingAnswerOrQuestion || t.s.Form == nil || text == "" || (v != "a" && v != "q") {
		t.s.Pending = ""
		t.resp.Notice = t.tr.T("notice.stale", nil)
		return
	}
	t.s.Pending, t.s.Question = "", ""
	t.resp.ClearButtons = msgID
	if v == "a" {
		t.applyForm(flows.Input{Text: text}, 0)
		return
	}
	t.questionInForm(text, t.e.matcher.Match(t.s.Lang, text))
}

// translators are the member's language first, then the others: typed
// answers may use any language's labels.
func (t *turn) translators() []flows.Translator {
	trs := []flows.Translator{t.tr}
	for _, l := range t.e.cat.Languages() {
		if l != t.s.Lang {
			trs = append(trs, t.e.cat.For(l))
		}
	}
	return trs
}

// questionWords start a question in either language.
var questionWords = map[string]bool{
	"que": true, "como": true, "cuando": true, "donde": true, "cuanto": true, "cuanta": true, "cuantos": true,
	"quien": true, "quienes": true, "cual": true, "cuales": true, "porque": true, "what": true, "whats": true,
	"how": true, "when": true, "where": true, "who": true, "whos": true, "which": true, "why": true,
}

// askingVerbs start a yes/no question when a "?" ends it: "is it free?",
// "es gratis?", "hay becas?".
var askingVerbs = map[string]bool{
	"is": true, "are": true, "do": true, "does": true, "did": true, "can": true, "could": true, "will": true,
	"would": true, "should": true, "may": true, "am": true, "have": true, "has": true, "es": true, "son": true,
	"hay": true, "puedo": true, "puede": true, "pueden": true, "podemos": true, "tienen": true, "tiene": true,
	"tengo": true, "necesito": true, "ocupo": true, "dan": true, "van": true, "va": true, "sera": true,
	"seran": true, "esta": true, "estan": true, "cobran": true, "cuesta": true, "se": true, "aceptan": true,
}

// How much a message reads as a question.
const (
	notAQuestion     = iota
	maybeAQuestion   // only a "?" at the end: "Tucson, AZ?" may well be an answer
	clearlyAQuestion // "¿…", a question word first, or "is…?", "hay…?"
)

// questionForm tells how much text is phrased as a question.
func questionForm(text string) int {
	words := strings.Fields(faq.Normalize(text))
	switch {
	case len(words) == 0:
		return notAQuestion
	case strings.ContainsRune(text, '¿') || questionWords[words[0]]:
		return clearlyAQuestion
	case strings.ContainsRune(text, '?') && askingVerbs[words[0]]:
		return clearlyAQuestion
	case strings.ContainsRune(text, '?'):
		return maybeAQuestion
	}
	return notAQuestion
}

// looksLikeQuestion reports whether text is clearly phrased as a question.
func looksLikeQuestion(text string) bool { return questionForm(text) == clearlyAQuestion }
