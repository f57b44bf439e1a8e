package broadcast

import (
	"fmt"
	"slices"
	"sync"

	"bridgebot/bot"
	"bridgebot/flows"
	"bridgebot/locales"
)

// Choice is one value an audience may select, with the label staff read.
type Choice struct{ Value, Label string }

// Choices are what an audience can be filtered by: the languages the bot
// speaks and the options of the sign-up form's role and areas steps, each
// labelled in English for staff. The loaded sign-up flow owns the options
// (flows/default/signup.yaml) and the texts own the labels, so a changed
// form changes what organizers can select. NewChoices reads them;
// Options.Choices passes them to a Store.
type Choices struct {
	Langs, Roles, Areas []Choice
}

// staffLang is the language of the labels staff read.
const staffLang = "en"

// LangNameID is the message with a language's name, per language code.
func LangNameID(lang string) string { return "lang.name." + lang }

// UIMessageIDs lists the messages broadcasts read (the languages' names),
// for completeness checks.
func UIMessageIDs() []string {
	var out []string
	for _, l := range locales.Languages {
		out = append(out, LangNameID(l))
	}
	return out
}

// NewChoices reads the choices from the sign-up flow and the texts; a
// step the flow lacks offers nothing to select.
func NewChoices(signup *flows.Flow, cat *locales.Catalog) Choices {
	label := func(id, fallback string) string {
		if t, ok := cat.Text(staffLang, id); ok {
			return t
		}
		return fallback
	}
	var c Choices
	for _, l := range locales.Languages {
		c.Langs = append(c.Langs, Choice{Value: l, Label: label(LangNameID(l), l)})
	}
	options := func(step string) []Choice {
		var out []Choice
		if s := signup.Step(step); s != nil {
			for _, o := range s.Options {
				out = append(out, Choice{Value: o.Value, Label: label(o.Label, o.Value)})
			}
		}
		return out
	}
	c.Roles, c.Areas = options(bot.StepRole), options(bot.StepAreas)
	return c
}

// ShippedChoices are the choices of the shipped flow and texts, for a
// Store given none (tests, the load program).
var ShippedChoices = sync.OnceValues(shippedChoices)

func shippedChoices() (Choices, error) {
	fl, err := flows.Load(flows.Default())
	if err != nil {
		return Choices{}, fmt.Errorf("broadcast: shipped flows: %w", err)
	}
	cat, err := locales.Load(locales.Default())
	if err != nil {
		return Choices{}, fmt.Errorf("broadcast: shipped texts: %w", err)
	}
	return NewChoices(fl[flows.SignupFlow], cat), nil
}

// LangName is a language's name for staff ("Spanish" for "es"); the code
// for one the bot does not speak.
func (c Choices) LangName(lang string) string {
	for _, ch := range c.Langs {
		if ch.Value == lang {
			return ch.Label
		}
	}
	return lang
}

// choiceValues are the values of a list of choices.
func choiceValues(cs []Choice) []string {
	out := make([]string, len(cs))
	for i, ch := range cs {
		out[i] = ch.Value
	}
	return out
}

// isZero reports whether no choices were given.
func (c Choices) isZero() bool { return c.Langs == nil && c.Roles == nil && c.Areas == nil }

// hasChoice reports whether value is one of cs.
func hasChoice(cs []Choice, value string) bool {
	return slices.ContainsFunc(cs, func(ch Choice) bool { return ch.Value == value })
}
