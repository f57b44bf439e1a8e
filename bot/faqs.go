package bot

import (
	"html"

	"bridgebot/flows/faq"
)

// faqAnswerer is what the rest of the turn asks of the FAQ: the running
// faqFeature, or noFAQ for a bot without one.
type faqAnswerer interface {
	// match is the matcher's reading of text.
	match(lang, text string) faq.Result
	// reply answers free text the matcher read as r.
	reply(t *turn, text string, r faq.Result)
	// replyInForm answers a question asked during the form, then shows
	// the step again.
	replyInForm(t *turn, text string, r faq.Result)
}

// faqFeature answers frequent questions: /faq, its buttons, and free text.
type faqFeature struct {
	f *faq.FAQ
	m *faq.Matcher
}

func (*faqFeature) name() string { return "faq" }

func (q *faqFeature) commands() []command {
	return []command{{rank: 40, en: "faq", es: "preguntas", aliases: []string{"questions"}, desc: "cmd.faq",
		run: func(t *turn, _ string) { q.list(t) }}}
}

func (*faqFeature) namespaces() []string { return []string{nsFAQ, nsFeedback} }

func (q *faqFeature) button(t *turn, cb callbackData, _ int) {
	if len(cb.args) != 1 {
		t.stale()
		return
	}
	if cb.ns == nsFAQ {
		q.answer(t, cb.arg(0))
		return
	}
	q.feedback(t, cb.arg(0))
}

func (q *faqFeature) menuActions() map[string]func(*turn) {
	return map[string]func(*turn){menuFAQ: q.list}
}

func (*faqFeature) menuButtons(t *turn) ([]Button, [][]Button) {
	return []Button{{Text: t.tr.T("menu.faq", nil), Data: data(nsMenu, menuFAQ)}}, nil
}

func (q *faqFeature) match(lang, text string) faq.Result { return q.m.Match(lang, text) }

func (q *faqFeature) list(t *turn) {
	var rows [][]Button
	for _, en := range q.f.Entries() {
		rows = append(rows, []Button{{Text: t.tr.T(en.TitleID, nil), Data: data(nsFAQ, en.ID)}})
	}
	rows = append(rows, []Button{{Text: t.tr.T("menu.back", nil), Data: data(nsMenu, menuMain)}})
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(faq.MsgListHeader, nil), Buttons: rows})
}

// answer shows one answer, its action button, and asks whether it helped.
// In the middle of the form it shows the answer only, with a way back to
// the form.
func (q *faqFeature) answer(t *turn, id string) {
	en := q.f.Entry(id)
	if en == nil {
		t.stale()
		return
	}
	t.s.SawFAQ, t.s.SawFAQAt = id, t.e.now()
	if t.s.Form != nil {
		t.resp.Messages = append(t.resp.Messages, q.answerMessage(t, en, true))
		return
	}
	t.resp.Messages = append(t.resp.Messages, q.answerMessage(t, en, false))
	feedback := append([]Button{{Text: t.tr.T(faq.MsgFeedbackYes, nil), Data: data(nsFeedback, "y")}}, t.e.desk.feedbackNo(t))
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(faq.MsgFeedbackAsk, nil), Buttons: [][]Button{feedback}})
}

// answerInline shows an answer in the middle of the form, the step itself
// following.
func (q *faqFeature) answerInline(t *turn, id string) {
	if en := q.f.Entry(id); en != nil {
		t.resp.Messages = append(t.resp.Messages, q.answerMessage(t, en, false))
	}
}

// answerMessage is an entry's answer with its action button; during the
// form the sign-up action is left out (the member is in it), and
// withContinue adds a way back to the form.
func (q *faqFeature) answerMessage(t *turn, en *faq.Entry, withContinue bool) Message {
	var rows [][]Button
	if b, ok := t.actionButton(en.Action); ok && (t.s.Form == nil || en.Action != faq.ActionSignup) {
		rows = append(rows, []Button{b})
	}
	if withContinue {
		rows = append(rows, []Button{{Text: t.tr.T("form.button.continue", nil), Data: data(nsMenu, menuMain)}})
	}
	return Message{Text: t.tr.T(en.AnswerID, nil), Buttons: rows}
}

// didYouMean offers the likely entries, the team and the whole list.
func (q *faqFeature) didYouMean(t *turn, cands []faq.Candidate) {
	var rows [][]Button
	for _, c := range cands {
		if en := q.f.Entry(c.ID); en != nil {
			rows = append(rows, []Button{{Text: t.tr.T(en.TitleID, nil), Data: data(nsFAQ, en.ID)}})
		}
	}
	rows = append(rows, t.e.desk.noneOfThese(t)...)
	rows = append(rows, []Button{{Text: t.tr.T("faq.all", nil), Data: data(nsMenu, menuFAQ)}})
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(faq.MsgDidYouMean, nil), Buttons: rows})
}

// feedback handles "Did this answer your question?".
func (q *faqFeature) feedback(t *turn, v string) {
	t.observe().FAQFeedback(v == "y", t.s.Lang)
	switch v {
	case "y":
		t.s.Question = ""
		t.menu(t.tr.T(faq.MsgFeedbackThanks, nil))
	case "n":
		t.e.desk.relayKept(t)
	default:
		t.s.Question = ""
		t.menu(t.tr.T("faq.feedback.sorry", nil) + "\n\n" + t.contactText())
	}
}

// actionButton is the button under an answer; actions whose feature is
// not running are left out (never a dead button).
func (t *turn) actionButton(a faq.Action) (Button, bool) {
	if a == faq.ActionSubscribe && t.e.subs.isSubscribed(t) {
		// a subscriber asking about announcements wants the way out
		return Button{Text: t.tr.T("menu.unsubscribe", nil), Data: data(nsMenu, menuUnsub)}, true
	}
	action := map[faq.Action]string{faq.ActionSignup: menuSignup, faq.ActionAsk: menuAsk, faq.ActionSubscribe: menuSub}[a]
	if _, ok := t.e.reg.byAction[action]; !ok || action == "" {
		return Button{}, false
	}
	return Button{Text: t.tr.T(a.MessageID(), nil), Data: data(nsMenu, action)}, true
}

// clearAnswer is the least FAQ score at which a message is answered even
// though it could be something else: one added to an open question for the
// team, or typed in the middle of a text step of the form. Plain FAQ
// questions are answered from the matcher's own threshold.
const clearAnswer = 0.8

// freeText is a message typed outside any form. When the member has an open
// question for the team, a message that clearly asks something the FAQ
// answers is answered; anything else joins the question, and the member is
// told it did. Otherwise it is matched against the FAQ.
func (t *turn) freeText(text string) {
	r := t.e.faq.match(t.s.Lang, text)
	if t.e.desk.takeFollowUp(t, text, r) {
		return
	}
	t.observeFAQ(r)
	t.e.faq.reply(t, text, r)
}

func (q *faqFeature) reply(t *turn, text string, r faq.Result) {
	switch {
	case r.Greeting:
		t.menu(t.tr.T(faq.MsgGreeting, map[string]any{"Name": html.EscapeString(t.u.From.FirstName)}))
	case r.ID != "":
		t.e.desk.keepQuestion(t, text)
		q.answer(t, r.ID)
	case r.Ambiguous && len(r.Candidates) > 0:
		t.e.desk.keepQuestion(t, text)
		q.didYouMean(t, r.Candidates)
	default:
		t.noMatch(text, r.Legal)
	}
}

func (q *faqFeature) replyInForm(t *turn, text string, r faq.Result) {
	switch {
	case r.ID != "":
		q.answerInline(t, r.ID)
		t.say("form.back", nil)
		t.showStep()
	case r.Ambiguous && len(r.Candidates) > 0:
		t.e.desk.keepQuestion(t, text)
		q.didYouMean(t, r.Candidates)
	default:
		t.noMatch(text, r.Legal)
	}
}

// noFAQ is a bot without an FAQ: nothing matches; free text gets the menu,
// a question during the form the team or the contact (noMatch).
type noFAQ struct{}

func (noFAQ) match(string, string) faq.Result { return faq.Result{} }

func (noFAQ) reply(t *turn, _ string, _ faq.Result) { t.menu(t.tr.T("input.unknown_text", nil)) }

func (noFAQ) replyInForm(t *turn, text string, r faq.Result) { t.noMatch(text, r.Legal) }

// noMatch says kindly that the bot can only answer questions about the
// institutes (and, for a legal question, that it cannot give legal advice),
// then offers the team when the desk runs, or the contact the organizers
// configured. Without either it points to the questions it can answer.
func (t *turn) noMatch(text string, legal bool) {
	lead := "faq.nomatch"
	if legal {
		lead = "faq.legal"
	}
	if t.e.desk.offer(t, t.tr.T(lead, nil), text) {
		return
	}
	if t.s.Form != nil {
		t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(lead, nil) + "\n\n" + t.contactText()})
		t.showStep()
		return
	}
	t.menu(t.tr.T(lead, nil) + "\n\n" + t.contactText())
}

// contactText says how to reach the organizers without the staff desk: the
// contact they configured, or the questions the bot can answer.
func (t *turn) contactText() string {
	if t.e.contact != "" {
		return t.tr.T("contact.configured", map[string]any{"Contact": html.EscapeString(t.e.contact)})
	}
	return t.tr.T("contact.none", nil)
}
