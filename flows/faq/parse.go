// Package faq holds the BRIDGE bot's frequently asked questions: the data
// (flows/default/faq.yaml, embedded with the flows) and the matcher that picks the entry that
// answers a member's free-text message.
//
// The package is pure: it parses bytes handed to it and never reads files or
// the network. Texts shown to members live in locales/faq.<lang>.yaml under
// the message IDs referenced here.
//
// # YAML schema
//
//	greetings:              # optional; messages made ONLY of these phrases
//	  en: [hi, good morning, thanks, ...]   # are greetings (Result.Greeting)
//	  es: [hola, buenas tardes, gracias, ...]
//
//	outofscope:             # optional negative examples: questions that
//	  en: ["How much does a work visa cost?", ...]  # share words with an
//	  es: ["¿Cuánto cuesta una visa de trabajo?", ...] # entry but must not
//	                                                  # get any FAQ answer
//	legal:                  # optional: out-of-scope questions about legal
//	  en: ["Can you help with my asylum case?", ...]  # help, detention or
//	  es: ["¿Me ayudan con mi caso de asilo?", ...]   # immigration cases; the
//	                                                  # bot says it cannot give
//	                                                  # legal advice
//	common:                 # optional: words every question is implicitly
//	  en: [bridge, institute, ...] # about (the program's names); they
//	  es: [bridge, instituto, ...] # weigh as if every entry used them
//
//	entries:                # required, at least one
//	  - id: cost            # required; lowercase letters, digits and "-";
//	                        # unique; stable (code and organizers refer to it)
//	    title: faq.cost.title     # optional message ID; default faq.<id>.title
//	    answer: faq.cost.answer   # optional message ID; default faq.<id>.answer
//	    action: signup      # optional button under the answer:
//	                        #   signup    start the interest (sign-up) form
//	                        #   ask       ask the organizing team
//	                        #   subscribe get announcements
//	    examples:           # required: at least one per language (en, es);
//	      en: [...]         # realistic phrasings of the question
//	      es: [...]
//	    keywords:           # optional: words or short phrases that point
//	      en: [...]         # strongly to this entry
//	      es: [...]
//
// Every problem found is reported (not only the first) as a [Problems] error
// whose items read "file:line: message".
package faq

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"bridgebot/flows"
	"bridgebot/locales"
)

// Languages are the languages every entry must have examples for: those
// the bot speaks.
var Languages = locales.Languages

// Action is a button shown under an answer.
type Action string

// Actions an entry may carry.
const (
	ActionNone      Action = ""
	ActionSignup    Action = "signup"    // start the interest (sign-up) form
	ActionAsk       Action = "ask"       // ask the organizing team
	ActionSubscribe Action = "subscribe" // get announcements
)

// Valid reports whether a is a known action (or none).
func (a Action) Valid() bool {
	switch a {
	case ActionNone, ActionSignup, ActionAsk, ActionSubscribe:
		return true
	}
	return false
}

// MessageID is the message ID of the action's button label
// ("faq.action.<action>"), or "" for no action.
func (a Action) MessageID() string {
	if a == ActionNone {
		return ""
	}
	return "faq.action." + string(a)
}

// Message IDs of the texts the bot shows around the FAQ (not tied to an entry).
const (
	MsgListHeader     = "faq.list.header"     // "Frequent questions — tap one:"
	MsgDidYouMean     = "faq.didyoumean"      // "Did you mean…?"
	MsgFeedbackAsk    = "faq.feedback.ask"    // "Did this answer your question?"
	MsgFeedbackYes    = "faq.feedback.yes"    // button
	MsgFeedbackNo     = "faq.feedback.no"     // button
	MsgFeedbackThanks = "faq.feedback.thanks" // after "yes"
	MsgNoMatch        = "faq.nomatch"         // nothing matched
	MsgGreeting       = "faq.greeting"        // reply to a greeting
)

// UIMessageIDs returns the message IDs of the texts around the FAQ, including
// every action button label, so a checker can verify both locales have them.
func UIMessageIDs() []string {
	return []string{
		MsgListHeader, MsgDidYouMean, MsgFeedbackAsk, MsgFeedbackYes,
		MsgFeedbackNo, MsgFeedbackThanks, MsgNoMatch, MsgGreeting,
		ActionSignup.MessageID(), ActionAsk.MessageID(), ActionSubscribe.MessageID(),
	}
}

// Entry is one frequently asked question.
type Entry struct {
	ID       string
	TitleID  string // message ID of the short question (button label)
	AnswerID string // message ID of the answer
	Action   Action // button under the answer, if any
	// Examples and Keywords per language ("en", "es").
	Examples map[string][]string
	Keywords map[string][]string
	Line     int // line of the entry in its file
}

// FAQ is a parsed, validated FAQ file. It is immutable after Parse.
type FAQ struct {
	File       string
	entries    []*Entry
	byID       map[string]*Entry
	Greetings  map[string][]string // per language
	OutOfScope map[string][]string // per language
	// Legal are out-of-scope questions about legal help, detention or
	// immigration cases: the bot says plainly it cannot give legal advice
	// and offers the team (Result.Legal).
	Legal  map[string][]string // per language
	Common map[string][]string // per language: the program's names

	digest [sha256.Size]byte // of the source, to share one trained matcher
}

// Entries returns the entries in file order. Do not modify them.
func (f *FAQ) Entries() []*Entry { return f.entries }

// Entry returns the entry with the given ID, or nil.
func (f *FAQ) Entry(id string) *Entry { return f.byID[id] }

// MessageIDs returns, sorted and without duplicates, every message ID the
// FAQ data references: each entry's title and answer and the label of each
// action used. See also UIMessageIDs.
func (f *FAQ) MessageIDs() []string {
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, e := range f.entries {
		add(e.TitleID)
		add(e.AnswerID)
		add(e.Action.MessageID())
	}
	sort.Strings(ids)
	return ids
}

// Problem and Problems are the flows package's: one vocabulary for every
// "file:line: message" that `bridgebot check` prints.
type (
	Problem  = flows.Problem
	Problems = flows.Problems
)

// DefaultFile is the name used in problems about the shipped FAQ, which
// lives beside the shipped flows so a deployment copies one folder.
const DefaultFile = "flows/default/faq.yaml"

// DefaultYAML is the shipped FAQ file.
var DefaultYAML = func() []byte {
	data, err := fs.ReadFile(flows.Default(), flows.FAQFile)
	if err != nil {
		panic(err) // embedded at build time
	}
	return data
}()

var defaultOnce = sync.OnceValues(func() (*FAQ, error) {
	return Parse(DefaultYAML, DefaultFile)
})

// Default returns the FAQ shipped with the bot (parsed once).
func Default() (*FAQ, error) { return defaultOnce() }

var idRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

type parser struct {
	file     string
	problems Problems
}

func (p *parser) addf(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse parses and validates FAQ YAML. filename is used in problems only.
// On any problem it returns a nil FAQ and a Problems error listing them all.
func Parse(data []byte, filename string) (*FAQ, error) {
	p := &parser{file: filename}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		for _, msg := range strings.Split(err.Error(), "\n") {
			msg = strings.TrimSpace(msg)
			if msg == "" || msg == "yaml: unmarshal errors:" {
				continue
			}
			line := 1
			if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = m[2]
			} else if m := regexp.MustCompile(`^line (\d+): (.*)$`).FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = m[2]
			}
			p.addf(line, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
		}
		return nil, p.problems
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.addf(1, "empty file: expected a mapping with \"entries\"")
		return nil, p.problems
	}
	f := &FAQ{File: filename, byID: map[string]*Entry{}}
	root := doc.Content[0]
	if !p.expect(root, yaml.MappingNode, "top level") {
		return nil, p.problems
	}
	var entriesNode *yaml.Node
	p.eachKey(root, "top level", func(k, v *yaml.Node) {
		switch k.Value {
		case "entries":
			entriesNode = v
		case "greetings":
			f.Greetings = p.langLists(k, v, "greetings", false)
		case "outofscope":
			f.OutOfScope = p.langLists(k, v, "outofscope", false)
		case "legal":
			f.Legal = p.langLists(k, v, "legal", false)
		case "common":
			f.Common = p.langLists(k, v, "common", false)
		default:
			p.addf(k.Line, "unknown key %q at top level (want entries, greetings, outofscope, legal, common)", k.Value)
		}
	})
	if entriesNode == nil {
		p.addf(root.Line, "missing \"entries\"")
	} else if p.expect(entriesNode, yaml.SequenceNode, "entries") {
		if len(entriesNode.Content) == 0 {
			p.addf(entriesNode.Line, "\"entries\" is empty")
		}
		firstLine := map[string]int{}
		for _, en := range entriesNode.Content {
			e := p.entry(en)
			if e == nil || e.ID == "" {
				continue
			}
			if l, dup := firstLine[e.ID]; dup {
				p.addf(e.Line, "duplicate entry id %q (first defined at line %d)", e.ID, l)
				continue
			}
			firstLine[e.ID] = e.Line
			f.entries = append(f.entries, e)
			f.byID[e.ID] = e
		}
	}
	if len(p.problems) > 0 {
		sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].Line < p.problems[j].Line })
		return nil, p.problems
	}
	f.digest = sha256.Sum256(data)
	return f, nil
}

var kindNames = map[yaml.Kind]string{
	yaml.DocumentNode: "document", yaml.SequenceNode: "list",
	yaml.MappingNode: "mapping", yaml.ScalarNode: "text", yaml.AliasNode: "alias",
}

func (p *parser) expect(n *yaml.Node, kind yaml.Kind, what string) bool {
	if n.Kind == kind {
		return true
	}
	p.addf(n.Line, "%s: expected a %s, got a %s", what, kindNames[kind], kindNames[n.Kind])
	return false
}

// eachKey calls fn for each key of a mapping, reporting duplicate keys.
func (p *parser) eachKey(m *yaml.Node, what string, fn func(k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if l, dup := seen[k.Value]; dup {
			p.addf(k.Line, "%s: key %q repeated (first at line %d)", what, k.Value, l)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	if !p.expect(n, yaml.ScalarNode, what) {
		return "", false
	}
	return strings.TrimSpace(n.Value), true
}

// langLists parses {en: [...], es: [...]}. With required, both Languages
// must be present and non-empty.
func (p *parser) langLists(key, n *yaml.Node, what string, required bool) map[string][]string {
	out := map[string][]string{}
	if !p.expect(n, yaml.MappingNode, what) {
		return out
	}
	p.eachKey(n, what, func(k, v *yaml.Node) {
		lang := k.Value
		if !locales.Supported(lang) {
			p.addf(k.Line, "%s: unknown language %q (want %s)", what, lang, strings.Join(Languages, ", "))
			return
		}
		if !p.expect(v, yaml.SequenceNode, what+"."+lang) {
			return
		}
		for _, item := range v.Content {
			s, ok := p.scalar(item, what+"."+lang)
			if !ok {
				continue
			}
			if s == "" {
				p.addf(item.Line, "%s.%s: empty text", what, lang)
				continue
			}
			out[lang] = append(out[lang], s)
		}
	})
	if required {
		for _, lang := range Languages {
			if len(out[lang]) == 0 {
				p.addf(key.Line, "%s: no %s given for language %q", what, what, lang)
			}
		}
	}
	return out
}

func (p *parser) entry(n *yaml.Node) *Entry {
	if !p.expect(n, yaml.MappingNode, "entry") {
		return nil
	}
	e := &Entry{Line: n.Line}
	var haveExamples bool
	p.eachKey(n, "entry", func(k, v *yaml.Node) {
		switch k.Value {
		case "id":
			if s, ok := p.scalar(v, "id"); ok {
				if !idRE.MatchString(s) {
					p.addf(v.Line, "invalid id %q: use lowercase letters, digits and \"-\"", s)
				}
				e.ID = s
			}
		case "title":
			if s, ok := p.scalar(v, "title"); ok {
				e.TitleID = s
			}
		case "answer":
			if s, ok := p.scalar(v, "answer"); ok {
				e.AnswerID = s
			}
		case "action":
			if s, ok := p.scalar(v, "action"); ok {
				e.Action = Action(s)
				if !e.Action.Valid() || s == "" {
					p.addf(v.Line, "unknown action %q (want signup, ask or subscribe)", s)
				}
			}
		case "examples":
			haveExamples = true
			e.Examples = p.langLists(k, v, "examples", true)
			for _, lang := range Languages {
				p.checkMatchable(v, e.Examples[lang], "example")
			}
		case "keywords":
			e.Keywords = p.langLists(k, v, "keywords", false)
		default:
			p.addf(k.Line, "entry: unknown key %q (want id, title, answer, action, examples, keywords)", k.Value)
		}
	})
	if e.ID == "" {
		p.addf(n.Line, "entry without id")
	}
	if !haveExamples {
		p.addf(n.Line, "entry %q has no examples (need at least one per language: %s)", e.ID, strings.Join(Languages, ", "))
	}
	if e.TitleID == "" && e.ID != "" {
		e.TitleID = "faq." + e.ID + ".title"
	}
	if e.AnswerID == "" && e.ID != "" {
		e.AnswerID = "faq." + e.ID + ".answer"
	}
	return e
}

// checkMatchable reports examples that contain no word at all (only
// punctuation or emoji), since they teach the matcher nothing.
func (p *parser) checkMatchable(n *yaml.Node, texts []string, what string) {
	for _, t := range texts {
		if Normalize(t) == "" {
			line := n.Line
			for _, ln := range n.Content {
				if ln.Kind == yaml.SequenceNode {
					for _, it := range ln.Content {
						if strings.TrimSpace(it.Value) == t {
							line = it.Line
						}
					}
				}
			}
			p.addf(line, "%s %q has no words", what, t)
		}
	}
}
