package flows

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a flow, FAQ or locale file, located so an
// organizer editing YAML can go straight to it.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Problems is every problem found, reported together so one run of
// `bridgebot check` shows the whole list rather than the first mistake.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Sort orders problems by file and line for stable output.
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}

// AsProblems extracts the problem list from an error returned by this
// package, or wraps any other error as a single problem.
func AsProblems(err error, file string) Problems {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	return Problems{{File: file, Msg: err.Error()}}
}

var identRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ParseFlow reads one flow from YAML. The file format:
//
//	id: signup                 # stable identifier, also used in callbacks
//	title: signup.title        # message ID
//	steps:
//	  - id: name
//	    kind: text             # text | choice | multi | yesno | consent | review
//	    prompt: signup.name.prompt
//	    label: signup.name.label
//	    max: 100
//	  - id: role_other
//	    kind: text
//	    when: {step: role, equals: other}   # or {step: areas, has: other}
//
// It returns the flow and, when anything is wrong, Problems (the flow is then
// nil). Structural checks run here; checks that need locales run in Check.
func ParseFlow(data []byte, file string) (*Flow, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{{File: file, Line: yamlErrLine(err), Msg: err.Error()}}
	}
	p := &parser{file: file}
	f := p.flow(&doc)
	if len(p.problems) > 0 {
		p.problems.Sort()
		return nil, p.problems
	}
	return f, nil
}

type parser struct {
	file     string
	problems Problems
}

func (p *parser) addf(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// fields walks a mapping node, reporting keys it does not know (a typo such
// as "optinal" would otherwise be silently ignored).
func (p *parser) fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.addf(n.Line, "%s must be a mapping of keys to values", what)
		return nil
	}
	out := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(known, k.Value) {
			p.addf(k.Line, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(known, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.addf(k.Line, "key %q given twice in %s", k.Value, what)
		}
		out[k.Value] = v
	}
	return out
}

func (p *parser) str(n *yaml.Node, key string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.addf(n.Line, "%s must be a single value", key)
		return ""
	}
	return strings.TrimSpace(n.Value)
}

func (p *parser) integer(n *yaml.Node, key string) int {
	if n == nil {
		return 0
	}
	var v int
	if err := n.Decode(&v); err != nil || v < 0 {
		p.addf(n.Line, "%s must be a whole number ≥ 0", key)
	}
	return v
}

func (p *parser) boolean(n *yaml.Node, key string) bool {
	if n == nil {
		return false
	}
	var v bool
	if err := n.Decode(&v); err != nil {
		p.addf(n.Line, "%s must be true or false", key)
	}
	return v
}

func (p *parser) flow(doc *yaml.Node) *Flow {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.addf(0, "empty file: a flow needs an id and steps")
		return nil
	}
	root := doc.Content[0]
	m := p.fields(root, "the flow", "id", "title", "steps")
	if m == nil {
		return nil
	}
	f := &Flow{ID: p.str(m["id"], "id"), Title: p.str(m["title"], "title"), File: p.file, Line: root.Line, index: map[string]int{}}
	if !identRE.MatchString(f.ID) {
		p.addf(root.Line, "flow id %q must be lower-case letters, digits, - or _ (at most 32)", f.ID)
	}
	steps := m["steps"]
	if steps == nil || steps.Kind != yaml.SequenceNode || len(steps.Content) == 0 {
		p.addf(root.Line, "flow %q has no steps", f.ID)
		return f
	}
	for _, sn := range steps.Content {
		s := p.step(sn)
		if s == nil {
			continue
		}
		if _, dup := f.index[s.ID]; dup {
			p.addf(s.Line, "step id %q is used twice", s.ID)
			continue
		}
		f.index[s.ID] = len(f.Steps)
		f.Steps = append(f.Steps, s)
	}
	p.structure(f)
	return f
}

func (p *parser) step(n *yaml.Node) *Step {
	m := p.fields(n, "a step", "id", "kind", "prompt", "label", "help", "optional", "validate", "max", "min", "options", "when", "decline", "done")
	if m == nil {
		return nil
	}
	s := &Step{
		ID:       p.str(m["id"], "id"),
		Kind:     Kind(p.str(m["kind"], "kind")),
		Prompt:   p.str(m["prompt"], "prompt"),
		Label:    p.str(m["label"], "label"),
		Help:     p.str(m["help"], "help"),
		Optional: p.boolean(m["optional"], "optional"),
		Validate: p.str(m["validate"], "validate"),
		Max:      p.integer(m["max"], "max"),
		Min:      p.integer(m["min"], "min"),
		Decline:  p.str(m["decline"], "decline"),
		Done:     p.str(m["done"], "done"),
		Line:     n.Line,
	}
	if !identRE.MatchString(s.ID) {
		p.addf(n.Line, "step id %q must be lower-case letters, digits, - or _ (at most 32)", s.ID)
	}
	switch s.Kind {
	case KindText, KindChoice, KindMulti, KindYesNo, KindConsent, KindReview:
	default:
		p.addf(n.Line, "step %q: kind %q is not one of text, choice, multi, yesno, consent, review", s.ID, s.Kind)
	}
	if s.Prompt == "" {
		p.addf(n.Line, "step %q has no prompt (a message ID)", s.ID)
	}
	if s.Label == "" && s.Answerable() {
		p.addf(n.Line, "step %q has no label (the message ID shown on the review)", s.ID)
	}
	if s.Validate != "" && s.Validate != ValidateEmail && s.Validate != ValidatePhone {
		p.addf(m["validate"].Line, "step %q: validate %q is not one of email, phone", s.ID, s.Validate)
	}
	if s.Validate != "" && s.Kind != KindText {
		p.addf(m["validate"].Line, "step %q: only text steps can be validated", s.ID)
	}
	if opts := m["options"]; opts != nil {
		if opts.Kind != yaml.SequenceNode {
			p.addf(opts.Line, "step %q: options must be a list", s.ID)
		} else {
			for _, on := range opts.Content {
				om := p.fields(on, "an option", "value", "label")
				if om == nil {
					continue
				}
				o := Option{Value: p.str(om["value"], "value"), Label: p.str(om["label"], "label"), Line: on.Line}
				if !identRE.MatchString(o.Value) {
					p.addf(on.Line, "step %q: option value %q must be lower-case letters, digits, - or _ (at most 32)", s.ID, o.Value)
				}
				if o.Label == "" {
					p.addf(on.Line, "step %q: option %q has no label (a message ID)", s.ID, o.Value)
				}
				if s.Option(o.Value) != nil {
					p.addf(on.Line, "step %q: option %q is listed twice", s.ID, o.Value)
				}
				s.Options = append(s.Options, o)
			}
		}
	}
	switch s.Kind {
	case KindChoice, KindMulti:
		if len(s.Options) < 2 {
			p.addf(n.Line, "step %q: a %s step needs at least two options", s.ID, s.Kind)
		}
	default:
		if len(s.Options) > 0 {
			p.addf(m["options"].Line, "step %q: a %s step takes no options", s.ID, s.Kind)
		}
	}
	if s.Kind == KindMulti && s.Min == 0 && !s.Optional {
		s.Min = 1
	}
	if s.Kind == KindConsent && s.Decline == "" {
		p.addf(n.Line, "step %q: a consent step needs decline (the message shown when the member does not agree)", s.ID)
	}
	if s.Kind == KindConsent && s.Optional {
		p.addf(n.Line, "step %q: consent cannot be optional", s.ID)
	}
	if w := m["when"]; w != nil {
		wm := p.fields(w, "when", "step", "equals", "has")
		if wm != nil {
			s.When = &Condition{Step: p.str(wm["step"], "step"), Equals: p.str(wm["equals"], "equals"), Has: p.str(wm["has"], "has"), Line: w.Line}
			if (s.When.Equals == "") == (s.When.Has == "") {
				p.addf(w.Line, "step %q: when needs exactly one of equals or has", s.ID)
			}
		}
	}
	return s
}

// structure checks what only the whole flow can tell: transitions to steps
// that do not exist and steps that can never be reached.
func (p *parser) structure(f *Flow) {
	review := -1
	for i, s := range f.Steps {
		if s.Kind == KindReview {
			if review >= 0 {
				p.addf(s.Line, "step %q: a flow has one review step", s.ID)
			}
			review = i
			continue
		}
		if review >= 0 {
			p.addf(s.Line, "step %q is unreachable: it comes after the review step %q", s.ID, f.Steps[review].ID)
		}
		if s.When == nil {
			continue
		}
		dep, ok := f.index[s.When.Step]
		switch {
		case !ok:
			p.addf(s.When.Line, "step %q depends on step %q, which does not exist", s.ID, s.When.Step)
		case dep >= i:
			p.addf(s.When.Line, "step %q is unreachable: it depends on step %q, which comes later", s.ID, s.When.Step)
		default:
			d := f.Steps[dep]
			if s.When.Equals != "" && d.Kind != KindChoice {
				p.addf(s.When.Line, "step %q: equals needs a choice step, %q is %s", s.ID, d.ID, d.Kind)
			}
			if s.When.Has != "" && d.Kind != KindMulti {
				p.addf(s.When.Line, "step %q: has needs a multi step, %q is %s", s.ID, d.ID, d.Kind)
			}
			if v := s.When.Equals + s.When.Has; d.Option(v) == nil {
				p.addf(s.When.Line, "step %q is unreachable: step %q has no option %q", s.ID, d.ID, v)
			}
		}
	}
	if review < 0 {
		p.addf(f.Line, "flow %q has no review step: members must see and confirm their answers", f.ID)
	}
	if review == 0 {
		p.addf(f.Line, "flow %q has no questions before its review", f.ID)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// yamlErrLine digs the line number out of a yaml.v3 syntax error message.
func yamlErrLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}
