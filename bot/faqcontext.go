package bot

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
// question, the answer the member saw last (which then counts as told)
// and whether they said it did not help; nothing for a follow-up.
func (t *turn) faqContext(isNew bool) FAQContext {
	if !isNew {
		return FAQContext{}
	}
	c := FAQContext{SawFAQ: t.s.SawFAQ}
	t.s.SawFAQ = ""
	if t.u.Callback != nil {
		cb := parseCallback(t.u.Callback.Data)
		c.FAQDidNotHelp = c.SawFAQ != "" && cb.ns == nsFeedback && cb.arg(0) == "n"
	}
	return c
}
