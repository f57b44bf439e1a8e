package bot

import (
	"html"
	"reflect"
	"strings"

	"bridgebot/flows"
	"bridgebot/flows/faq"
)

// formFeature is the interest form: /signup, its buttons, and what members
// type while it is open. It is always there.
type formFeature struct{}

func (formFeature) name() string { return "form" }

func (formFeature) commands() []command {
	return []command{{rank: 30, en: "signup", es: "participar", aliases: []string{"inscribirme", "inscribir", "inscripcion", "registro"},
		desc: "cmd.signup", run: func(t *turn, _ string) { t.openSignup() }}}
}

func (formFeature) namespaces() []string { return []string{nsForm, nsAnswerOr} }

func (formFeature) button(t *turn, cb callbackData, msgID int) {
	if cb.ns == nsAnswerOr {
		t.answerOrQuestion(cb.arg(0), msgID)
		return
	}
	t.formButton(cb.raw, msgID)
}

// menuEdit opens the list of answers of a finished sign-up to change one.
const menuEdit = "edit"

func (formFeature) menuActions() map[string]func(*turn) {
	return map[string]func(*turn){menuSignup: (*turn).openSignup, menuEdit: (*turn).editSignup}
}

// openSignup starts the interest form, resumes it, or shows the member's
// finished sign-up read-only, with "Change something" and the menu.
func (t *turn) openSignup() {
	switch {
	case t.s.Form != nil:
		t.say("form.resume", nil)
	case t.signup != nil:
		t.showSignup()
		return
	default:
		st := flows.Start(t.e.signup)
		t.s.Form = &st
		t.s.FormUpdated = t.e.now()
		t.observe().FormStarted(st.Flow, t.s.Lang)
		t.say("signup.intro", nil)
	}
	t.showStep()
}

// showSignup shows a finished sign-up as it is: nothing is open, so what
// the member types next is a question, not an answer.
func (t *turn) showSignup() {
	text := t.tr.T("signup.existing", nil) + "\n\n" + t.e.signup.Summary(t.signup.Answers, t.tr) + "\n\n" + t.tr.T("menu.prompt", nil)
	rows := append([][]Button{{{Text: t.tr.T("menu.change", nil), Data: data(nsMenu, menuEdit)}}}, t.menuRows(false)...)
	// Protected like the form's steps: it lists every answer.
	t.resp.Messages = append(t.resp.Messages, Message{Text: text, Buttons: rows, Protect: true})
}

// editSignup opens a finished sign-up's list of answers to change one.
func (t *turn) editSignup() {
	if t.s.Form != nil || t.signup == nil {
		t.openSignup()
		return
	}
	st := flows.StartReview(t.e.signup, t.signup.Answers)
	st.Picking = true
	t.s.Form = &st
	t.s.FormUpdated = t.e.now()
	t.showStep()
}

func (t *turn) flow() *flows.Flow {
	if f := t.e.flows[t.s.Form.Flow]; f != nil {
		return f
	}
	return t.e.signup
}

// showStep draws the current form step with fresh buttons.
func (t *turn) showStep() {
	t.resp.Messages = append(t.resp.Messages, t.drawStep(true))
}

// drawStep renders the current step. A new revision makes every older
// keyboard stale; a multi-select toggle redraws the same keyboard in place
// and keeps it, so quick taps on several options all count.
func (t *turn) drawStep(newRev bool) Message {
	f := t.flow()
	st := f.Resume(*t.s.Form)
	t.s.Form = &st
	v := flows.Render(f, st, t.tr)
	if newRev {
		t.s.Rev++
	}
	rows := make([][]Button, len(v.Buttons))
	for i, row := range v.Buttons {
		for _, b := range row {
			rows[i] = append(rows[i], Button{Text: b.Text, Data: flows.CallbackData(t.s.Rev, b)})
		}
	}
	// Protected: a step can show the member's answers (the review lists
	// them all), which should not be forwarded or saved from the chat.
	return Message{Text: v.Text, Buttons: rows, Protect: true}
}

func (t *turn) formButton(raw string, msgID int) {
	rev, in, ok := flows.ParseCallbackData(raw)
	if !ok || t.s.Form == nil || rev != t.s.Rev {
		t.stale()
		return
	}
	if in.Action == flows.ActCancel {
		t.resp.ClearButtons = msgID
		t.askCancel()
		return
	}
	t.applyForm(in, msgID)
}

// text is a typed message: the question for the team the member was asked
// for, something typed while the form is open, or free text.
func (t *turn) text(text string) {
	if t.s.Pending == pendingAsk && t.e.desk.takeQuestion(t, text, nil) {
		return
	}
	t.s.Pending = pendingNone
	if t.s.Form != nil {
		t.formText(text)
		return
	}
	t.freeText(text)
}

// edited answers a member who edited a message they sent earlier: the bot
// reads each message once, so the edit changes nothing by itself. During
// the form they are told how to change an answer; with a question open for
// the team the corrected text joins it, marked ✏️; otherwise they are asked
// to send it again. Never a silent drop.
func (t *turn) edited(text string) {
	switch {
	case strings.TrimSpace(text) == "" && t.u.Attachment == nil:
		// a live location moving (Telegram edits it every few seconds):
		// nothing the member wrote changed, nothing to answer
	case t.s.Form != nil:
		t.say("input.edited", nil)
	case strings.TrimSpace(text) != "" && t.e.desk.takeEdit(t, text):
	default:
		t.say("input.edited_free", nil)
	}
}

// attachment handles a photo, voice note, document or sticker: staff can
// receive it in a question thread; a form step or the FAQ cannot read it.
func (t *turn) attachment(a *Attachment, caption string) {
	if t.e.desk.takeAttachment(t, a, caption) {
		return
	}
	if t.s.Form != nil {
		t.say("input.media_in_form", nil)
		t.showStep()
		return
	}
	t.say("input.media", nil)
	t.menu("")
}

// applyForm runs one input through the flow engine and shows the result.
func (t *turn) applyForm(in flows.Input, msgID int) {
	f := t.flow()
	out := flows.Apply(f, *t.s.Form, in)
	if out.Invalid {
		t.stale()
		return
	}
	if !out.Toggled && in.Action != flows.ActBack {
		t.observe().FormStepAnswered(f.ID, t.s.Form.Step, t.s.Lang)
	}
	t.s.Form = &out.State
	t.s.FormUpdated = t.e.now()
	if out.Toggled && msgID != 0 {
		m := t.drawStep(false)
		m.Edit = msgID
		t.resp.Messages = append(t.resp.Messages, m)
		return
	}
	t.resp.ClearButtons = msgID
	if out.Done {
		t.finish(f, out.State.Answers)
		return
	}
	if out.Notice != "" && out.Brief {
		m := t.drawStep(true)
		m.Text = t.tr.T(out.Notice, out.NoticeData)
		t.resp.Messages = append(t.resp.Messages, m)
		return
	}
	if out.Notice != "" {
		t.say(out.Notice, out.NoticeData)
	}
	t.showStep()
}

// finish stores the confirmed sign-up and thanks the member; the features
// that care (announcements, the staff desk) hear about it.
func (t *turn) finish(f *flows.Flow, answers flows.Answers) {
	if t.signup != nil && reflect.DeepEqual(answers, f.Prune(t.signup.Answers)) {
		// confirmed without a change: nothing to save or tell the team
		t.s.Form = nil
		t.menu(t.tr.T("cancel.unchanged", nil))
		return
	}
	now := t.e.now()
	su := &Signup{ChatID: t.u.ChatID, Lang: t.s.Lang, Source: t.s.Source, Answers: answers, Created: now, Updated: now}
	done := f.ReviewStep().Done
	if t.signup != nil {
		su.Created = t.signup.Created
		if su.Source == "" {
			su.Source = t.signup.Source
		}
		done = "signup.updated"
	}
	updated := t.signup != nil
	if !updated {
		t.observe().FormCompleted(f.ID, t.s.Lang)
	}
	t.change.Signup = su
	t.signup = su
	t.s.Form = nil
	for _, fe := range t.e.reg.features {
		if l, ok := fe.(signupListener); ok {
			l.signupConfirmed(t, su, updated)
		}
	}
	t.menu(t.tr.T(done, nil))
}

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
		if q := questionForm(text); q != notAQuestion {
			r := t.e.faq.match(t.s.Lang, text)
			if q == clearlyAQuestion && (r.ID != "" || r.Ambiguous || r.Legal) || r.ID != "" && r.Score >= clearAnswer {
				t.e.faq.replyInForm(t, text, r)
				return
			}
		}
		t.applyForm(flows.Input{Text: text}, 0) // "please use the buttons"
		return
	}
	if q := questionForm(text); q != notAQuestion {
		r := t.e.faq.match(t.s.Lang, text)
		switch {
		case q == clearlyAQuestion && r.ID != "" && r.Score >= clearAnswer:
			t.e.faq.replyInForm(t, text, r)
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

// askAnswerOrQuestion asks whether text is the member's answer or a
// question for the bot.
func (t *turn) askAnswerOrQuestion(text string) {
	t.s.Pending, t.s.Question = pendingAnswerOrQuestion, clip(text)
	t.resp.Messages = append(t.resp.Messages, Message{
		Text: t.tr.T("form.answer_or_question", map[string]any{"Text": html.EscapeString(t.s.Question)}),
		Buttons: [][]Button{
			{{Text: t.tr.T("form.button.its_answer", nil), Data: data(nsAnswerOr, "a")}},
			{{Text: t.tr.T("form.button.its_question", nil), Data: data(nsAnswerOr, "q")}},
		},
	})
}

// answerOrQuestion handles the member's choice.
func (t *turn) answerOrQuestion(v string, msgID int) {
	text := t.s.Question
	if t.s.Pending != pendingAnswerOrQuestion || t.s.Form == nil || text == "" || (v != "a" && v != "q") {
		t.s.Pending = pendingNone
		t.stale()
		return
	}
	t.s.Pending, t.s.Question = pendingNone, ""
	t.resp.ClearButtons = msgID
	if v == "a" {
		t.applyForm(flows.Input{Text: text}, 0)
		return
	}
	t.e.faq.replyInForm(t, text, t.e.faq.match(t.s.Lang, text))
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
