package broadcast

import (
	"fmt"
	"slices"
	"strings"

	"bridgebot/bot"
	"bridgebot/flows"
)

// Borders are the values of the border filter: the answers of the sign-up
// form's yes/no border step. Languages, roles and areas are Choices.
var Borders = []string{flows.Yes, flows.No}

// Audience selects subscribers. Within a filter the values are
// alternatives (lang=en,es is anyone in English or Spanish; area=a,b is
// anyone who chose a or b); different filters must all hold. An empty
// filter does not restrict, so the zero Audience is every subscriber.
type Audience struct {
	Langs  []string
	Areas  []string
	Roles  []string
	Border string // "yes", "no" or "" for either
}

// ParseAudience reads an audience expression:
//
//	expr   = "all" | "" | term { " " term }
//	term   = key "=" value { "," value }
//	key    = "lang" | "area" | "role" | "border"
//
// Values are those of the Choices and Borders (border takes one);
// keys and values are case-insensitive, a key may be repeated (its values
// add up), and spaces around "=" and "," are allowed. Examples: "all",
// "lang=es", "area=migration,labor border=yes role=organizer".
func ParseAudience(expr string, c Choices) (Audience, error) {
	return parseAudience(expr, &c)
}

// parseAudience is ParseAudience; with nil choices it takes any value (a
// stored job's audience is read back even if the form changed since).
func parseAudience(expr string, c *Choices) (Audience, error) {
	var a Audience
	s := strings.ToLower(strings.TrimSpace(expr))
	if s == "" || s == "all" {
		return a, nil
	}
	// Normalise "key = a , b" to "key=a,b" so terms split on spaces.
	for _, sep := range []string{"=", ","} {
		for strings.Contains(s, " "+sep) || strings.Contains(s, sep+" ") {
			s = strings.ReplaceAll(strings.ReplaceAll(s, " "+sep, sep), sep+" ", sep)
		}
	}
	for _, term := range strings.Fields(s) {
		if term == "all" {
			return Audience{}, fmt.Errorf(`audience %q: "all" cannot be combined with filters`, expr)
		}
		key, vals, ok := strings.Cut(term, "=")
		if !ok || key == "" {
			return Audience{}, fmt.Errorf("audience %q: %q is not key=value (keys: lang, area, role, border)", expr, term)
		}
		var values []string
		for v := range strings.SplitSeq(vals, ",") {
			if v == "" {
				return Audience{}, fmt.Errorf("audience %q: empty value for %s", expr, key)
			}
			values = append(values, v)
		}
		switch key {
		case "lang", "langs", "language":
			if err := check(expr, "lang", values, c, func(c *Choices) []Choice { return c.Langs }); err != nil {
				return Audience{}, err
			}
			a.Langs = addUnique(a.Langs, values)
		case "area", "areas":
			if err := check(expr, "area", values, c, func(c *Choices) []Choice { return c.Areas }); err != nil {
				return Audience{}, err
			}
			a.Areas = addUnique(a.Areas, values)
		case "role", "roles":
			if err := check(expr, "role", values, c, func(c *Choices) []Choice { return c.Roles }); err != nil {
				return Audience{}, err
			}
			a.Roles = addUnique(a.Roles, values)
		case "border":
			if err := checkValues(expr, "border", values, Borders); err != nil {
				return Audience{}, err
			}
			if len(values) > 1 || (a.Border != "" && a.Border != values[0]) {
				return Audience{}, fmt.Errorf("audience %q: border takes one value, yes or no (leave it out for both)", expr)
			}
			a.Border = values[0]
		default:
			return Audience{}, fmt.Errorf("audience %q: unknown key %q (keys: lang, area, role, border)", expr, key)
		}
	}
	return a, nil
}

// check is checkValues against one list of the choices, if any.
func check(expr, key string, values []string, c *Choices, list func(*Choices) []Choice) error {
	if c == nil {
		return nil
	}
	return checkValues(expr, key, values, choiceValues(list(c)))
}

func checkValues(expr, key string, values, valid []string) error {
	for _, v := range values {
		if !slices.Contains(valid, v) {
			return fmt.Errorf("audience %q: unknown %s %q (valid: %s)", expr, key, v, strings.Join(valid, ", "))
		}
	}
	return nil
}

func addUnique(list, values []string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// Validate reports a value that ParseAudience would refuse (for audiences
// built in code, such as from a Slack form).
func (a Audience) Validate(c Choices) error {
	for _, f := range []struct {
		key    string
		values []string
		want   []Choice
	}{{"lang", a.Langs, c.Langs}, {"area", a.Areas, c.Areas}, {"role", a.Roles, c.Roles}} {
		for _, v := range f.values {
			if !hasChoice(f.want, v) {
				return fmt.Errorf("audience: unknown %s %q (valid: %s)", f.key, v, strings.Join(choiceValues(f.want), ", "))
			}
		}
	}
	if a.Border != "" && !slices.Contains(Borders, a.Border) {
		return fmt.Errorf("audience: border %q: want yes, no or empty", a.Border)
	}
	return nil
}

// String is the canonical expression, which ParseAudience reads back:
// "all", or the filters in the order lang, area, role, border.
func (a Audience) String() string {
	var terms []string
	add := func(key string, values []string) {
		if len(values) > 0 {
			terms = append(terms, key+"="+strings.Join(values, ","))
		}
	}
	add("lang", a.Langs)
	add("area", a.Areas)
	add("role", a.Roles)
	if a.Border != "" {
		terms = append(terms, "border="+a.Border)
	}
	if len(terms) == 0 {
		return "all"
	}
	return strings.Join(terms, " ")
}

// IsAll reports whether the audience is every subscriber.
func (a Audience) IsAll() bool {
	return len(a.Langs) == 0 && len(a.Areas) == 0 && len(a.Roles) == 0 && a.Border == ""
}

// Match reports whether a subscriber is in the audience.
func (a Audience) Match(s bot.Subscription) bool {
	if len(a.Langs) > 0 && !slices.Contains(a.Langs, s.Lang) {
		return false
	}
	if len(a.Roles) > 0 && !slices.Contains(a.Roles, s.Role) {
		return false
	}
	if a.Border != "" && s.Border != a.Border {
		return false
	}
	if len(a.Areas) > 0 && !slices.ContainsFunc(s.Areas, func(x string) bool { return slices.Contains(a.Areas, x) }) {
		return false
	}
	return true
}
