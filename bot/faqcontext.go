package bot

import "time"

// FAQContextWindow is how recently a member must have seen an FAQ answer
// for staff to be told they saw it before asking. A question asked soon
// after an answer is usually about it; one seen days earlier is not
// context for today's question, and showing it would mislead staff.
const FAQContextWindow = 30 * time.Minute

// FAQContext is what the FAQ showed a member before they asked the team,
// so staff do not answer with what the member already read. It is part of
// DeskMessage (embedded) and set only on a new question.
type FAQContext struct {
	// SawFAQ is the ID of the last FAQ entry whose answer the member was
	// shown before asking ("" if none since their last question).
	SawFAQ string `json:"saw_faq,omitempty"`
	// FAQDidNotHelp: the question was sent by answering "No" to "Did this
	// answer your question?".
	FAQDidNotHelp bool `json:"faq_did_not_help,omitempty"`
}

// faqContext is the FAQ context of a message for staff: for a new
// question, the answer the member saw last if within FAQContextWindow
// (which then counts as told) and whether they said it did not help;
// nothing for a follow-up.
func (t *turn) faqContext(isNew bool) FAQContext {
	if !isNew {
		return FAQContext{}
	}
	var c FAQContext
	if t.e.now().Sub(t.s.SawFAQAt) <= FAQContextWindow {
		c.SawFAQ = t.s.SawFAQ
	}
	t.s.SawFAQ, t.s.SawFAQAt = "", time.Time{}
	if t.u.Callback != nil {
		cb := parseCallback(t.u.Callback.Data)
		c.FAQDidNotHelp = c.SawFAQ != "" && cb.ns == nsFeedback && cb.arg(0) == "n"
	}
	return c
}
