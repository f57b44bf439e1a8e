package bot

import (
	"slices"
	"time"

	"bridgebot/flows"
)

// formPlace is where a new sign-up's form was when a turn began, so that
// once the turn is saved the observer hears where it went (FormLeft,
// FormArrived). Updates of a finished sign-up are not the funnel.
type formPlace struct {
	state flows.State // a copy: the flow engine never changes a state in place
	lang  string
	since time.Time
}

// placeOfForm is the form's place now; nil when there is no form or the
// member has a finished sign-up (the form is an update).
func (t *turn) placeOfForm() *formPlace {
	if t.s.Form == nil || t.hadSignup {
		return nil
	}
	return &formPlace{state: *t.s.Form, lang: t.s.Lang, since: t.s.FormUpdated}
}

// observeForm tells the observer how the form moved in a saved turn. A
// form that had expired when the turn began (the turn dropped it) is not
// reported as leaving: it stays counted at its step as of its time,
// where a store sees it expire, whether or not the member ever returns.
func (t *turn) observeForm() {
	if t.hadSignup {
		return
	}
	b, a := t.formBefore, t.placeOfForm()
	if b != nil && t.e.now().Sub(b.since) > t.e.formTTL {
		b = nil
	}
	if b == nil && a == nil {
		return
	}
	if b != nil && a != nil && b.state.Flow == a.state.Flow && b.state.Step == a.state.Step && b.lang == a.lang && b.since.Equal(a.since) {
		return
	}
	obs := t.e.observe()
	if b != nil {
		end := FormMoved
		if a == nil {
			switch {
			case t.change.Forget:
				end = FormDeleted
			case t.change.Signup != nil:
				end = FormConfirmed
			default:
				end = FormCancelled
			}
		}
		obs.FormLeft(b.state.Flow, b.state.Step, b.lang, b.since, end)
	}
	if a != nil {
		obs.FormArrived(a.state.Flow, a.state.Step, a.lang, a.since, b == nil || firstVisit(b.state, a.state.Step))
	}
}

// firstVisit reports whether a form at state b moving to step gets there
// for the first time: it is answering b's step for the first time (not
// coming forward again after Back), step is not one answered before, and
// it is not on the way back from changing an answer on the review. The
// state does not remember steps only seen, so this is inferred; a form
// that goes Back and then takes a new branch (a conditional step it had
// not seen) does not count that step as reached.
func firstVisit(b flows.State, step string) bool {
	if step == b.Step || b.Editing || b.Picking || slices.Contains(b.History, step) {
		return false
	}
	_, again := b.Answers[b.Step]
	_, answered := b.Answers[step]
	return !again && !answered
}
