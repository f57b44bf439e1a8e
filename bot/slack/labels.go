package slack

import (
	"sort"

	"bridgebot/flows"
)

// langName is the name staff see for a member's language: its own name,
// as on the member's language button (lang.button.*), never a flag:
// members come from many countries.
func (d *Desk) langName(lang string) string {
	if lang == "" {
		return "—"
	}
	if n := d.text("lang.button." + lang); n != "" {
		return n
	}
	return lang
}

// staffLang is the language of the labels staff read in Slack.
const staffLang = "en"

// flowsInOrder is the configured flows, the sign-up flow first, then by ID.
func (d *Desk) flowsInOrder() []*flows.Flow {
	out := make([]*flows.Flow, 0, len(d.cfg.Flows))
	for _, f := range d.cfg.Flows {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].ID == "signup") != (out[j].ID == "signup") {
			return out[i].ID == "signup"
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// step finds a form step by ID in the configured flows.
func (d *Desk) step(id string) *flows.Step {
	for _, f := range d.flowsInOrder() {
		if s := f.Step(id); s != nil {
			return s
		}
	}
	return nil
}

// text is a catalog message in the staff language, "" if there is none.
func (d *Desk) text(id string) string {
	if d.cfg.Locales == nil || id == "" {
		return ""
	}
	t, _ := d.cfg.Locales.Text(staffLang, id)
	return t
}

// fieldLabel is the short name of a form step ("Role" for "role"); the
// step ID when the flow or the text is unknown.
func (d *Desk) fieldLabel(step string) string {
	if s := d.step(step); s != nil {
		if t := d.text(s.Label); t != "" {
			return t
		}
	}
	return step
}

// answerLabel is what staff read for a stored answer: the option's
// English label ("Popular educator" for "popular-educator"), Yes/No for
// yes/no steps, and free text as it was written.
func (d *Desk) answerLabel(step, value string) string {
	s := d.step(step)
	if s == nil {
		return value
	}
	if s.Kind == flows.KindYesNo {
		switch value {
		case flows.Yes:
			return "Yes"
		case flows.No:
			return "No"
		}
	}
	if o := s.Option(value); o != nil {
		if t := d.text(o.Label); t != "" {
			return t
		}
	}
	return value
}

// faqSeen is the FAQ answer a member saw before asking (bot.FAQContext).
type faqSeen struct {
	Entry      string `json:"entry,omitempty"`
	DidNotHelp bool   `json:"no,omitempty"`
}

// faqLine tells staff, on a question's root, which FAQ answer the member
// saw before asking and whether they said it did not help; "" if none.
func (d *Desk) faqLine(f faqSeen) string {
	if f.Entry == "" {
		return ""
	}
	title := d.text("faq." + f.Entry + ".title")
	if title == "" {
		title = f.Entry
	}
	line := "📖 Saw the FAQ answer “" + slackEscape(title) + "” before asking"
	if f.DidNotHelp {
		line += " — *said it did not help*"
	}
	return line
}
