// Package locales holds every word the bot says, as go-i18n message files
// for English and Spanish, and the checks that keep the two complete.
//
// Following go-i18n's own example there is one Bundle for the process and a
// Localizer per member language; files are named <anything>.<lang>.yaml so a
// deployment can split texts (messages, FAQ) across files.
package locales

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"

	"bridgebot/flows"
)

//go:embed *.yaml
var embedded embed.FS

// Default returns the message files shipped with the bot; LOCALES_DIR
// replaces them with a folder of the deployment's own.
func Default() fs.FS { return embedded }

// Languages the bot speaks, default first. A member whose Telegram
// language is anything else gets the default.
var Languages = []string{"en", "es"}

// DefaultLanguage is used when a member's language is unknown or unsupported.
const DefaultLanguage = "en"

// Match maps a Telegram language_code ("es", "es-419", "es-MX", "en-US",
// "") to a language the bot speaks.
func Match(code string) string {
	code = strings.ToLower(strings.TrimSpace(code))
	for _, l := range Languages {
		if code == l || strings.HasPrefix(code, l+"-") || strings.HasPrefix(code, l+"_") {
			return l
		}
	}
	return DefaultLanguage
}

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// Catalog is the loaded messages of every language.
type Catalog struct {
	bundle     *i18n.Bundle
	localizers map[string]*Localizer
	texts      map[string]map[string]string        // lang → id → raw text
	where      map[string]map[string]flows.Problem // lang → id → file and line
	shared     map[string]any                      // SetShared
}

// Retention is what the privacy texts say about how long things are kept,
// in days ({{.FormDays}}, {{.AnsweredDays}}, {{.DeadDays}} in any message);
// DefaultRetention unless the deployment sets its own (SetRetention).
type Retention struct {
	FormDays, AnsweredDays, DeadDays int
}

// DefaultRetention matches the bot's default settings (FORM_TTL,
// DESK_ANSWERED_RETENTION, OUTBOX_DEAD_RETENTION).
var DefaultRetention = Retention{FormDays: 14, AnsweredDays: 90, DeadDays: 30}

// OrganizationMessage is the one message where organizers write what only
// their organization can state (for example about sharing information
// with any authority); every message can include it as {{.Organization}}.
const OrganizationMessage = "privacy.organization"

// SetRetention makes every message see the deployment's retention
// settings (a field ≤ 0 keeps its default). Call it before the catalog is
// used.
func (c *Catalog) SetRetention(r Retention) {
	for _, f := range []struct {
		v   *int
		def int
	}{{&r.FormDays, DefaultRetention.FormDays},
		{&r.AnsweredDays, DefaultRetention.AnsweredDays}, {&r.DeadDays, DefaultRetention.DeadDays}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	c.shared = map[string]any{"FormDays": r.FormDays, "AnsweredDays": r.AnsweredDays, "DeadDays": r.DeadDays}
}

// Load reads every *.<lang>.yaml in fsys. Syntax errors and duplicate IDs
// are returned as flows.Problems with file and line.
func Load(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{
		bundle:     i18n.NewBundle(language.MustParse(DefaultLanguage)),
		localizers: map[string]*Localizer{},
		texts:      map[string]map[string]string{},
		where:      map[string]map[string]flows.Problem{},
	}
	c.bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list locales: %w", err)
	}
	sort.Strings(names)
	var ps flows.Problems
	for _, name := range names {
		lang := langOf(name)
		if !Supported(lang) {
			ps = append(ps, flows.Problem{File: name, Msg: fmt.Sprintf("file name must end in .%s.yaml", strings.Join(Languages, ".yaml or ."))})
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read locale: %w", err)
		}
		ps = append(ps, c.add(name, lang, data)...)
	}
	for _, lang := range Languages {
		if len(c.texts[lang]) == 0 {
			ps = append(ps, flows.Problem{File: "*." + lang + ".yaml", Msg: fmt.Sprintf("no messages for language %q", lang)})
		}
		c.localizers[lang] = &Localizer{lang: lang, l: i18n.NewLocalizer(c.bundle, lang, DefaultLanguage), plain: plainTexts(c.texts[lang]), c: c}
	}
	if len(ps) > 0 {
		ps.Sort()
		return nil, ps
	}
	return c, nil
}

func langOf(name string) string {
	base := strings.TrimSuffix(path.Base(name), ".yaml")
	return base[strings.LastIndex(base, ".")+1:]
}

// add parses one file twice: with yaml.Node for line numbers and checks,
// and with go-i18n for rendering.
func (c *Catalog) add(name, lang string, data []byte) flows.Problems {
	var ps flows.Problems
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return flows.Problems{{File: name, Msg: err.Error()}}
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return flows.Problems{{File: name, Line: root.Line, Msg: "a message file is a mapping of message IDs to texts"}}
	}
	if c.texts[lang] == nil {
		c.texts[lang] = map[string]string{}
		c.where[lang] = map[string]flows.Problem{}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		at := flows.Problem{File: name, Line: k.Line}
		if v.Kind != yaml.ScalarNode {
			ps = append(ps, flows.Problem{File: name, Line: k.Line, Msg: fmt.Sprintf("message %q must be a single text", k.Value)})
			continue
		}
		if prev, dup := c.where[lang][k.Value]; dup {
			ps = append(ps, flows.Problem{File: name, Line: k.Line, Msg: fmt.Sprintf("message %q is already defined at %s:%d", k.Value, prev.File, prev.Line)})
			continue
		}
		if _, err := template.New(k.Value).Parse(v.Value); err != nil {
			ps = append(ps, flows.Problem{File: name, Line: v.Line, Msg: fmt.Sprintf("message %q: bad template: %v", k.Value, err)})
		}
		c.texts[lang][k.Value] = v.Value
		c.where[lang][k.Value] = at
	}
	if len(ps) > 0 {
		return ps
	}
	if _, err := c.bundle.ParseMessageFileBytes(data, name); err != nil {
		ps = append(ps, flows.Problem{File: name, Msg: err.Error()})
	}
	return ps
}

// Languages lists the languages the catalog has (flows.Catalog).
func (c *Catalog) Languages() []string { return Languages }

// Text returns the raw text of a message (flows.Catalog).
func (c *Catalog) Text(lang, id string) (string, bool) {
	t, ok := c.texts[lang][id]
	return t, ok
}

// Check reports messages present in one language but not another, and
// empty texts: the locale completeness rule every deployment must meet.
func (c *Catalog) Check() flows.Problems {
	var ps flows.Problems
	for _, lang := range Languages {
		for id, text := range c.texts[lang] {
			at := c.where[lang][id]
			if strings.TrimSpace(text) == "" {
				ps = append(ps, flows.Problem{File: at.File, Line: at.Line, Msg: fmt.Sprintf("message %q is empty", id)})
			}
			for _, other := range Languages {
				if _, ok := c.texts[other][id]; !ok {
					ps = append(ps, flows.Problem{File: at.File, Line: at.Line, Msg: fmt.Sprintf("message %q is missing in language %q", id, other)})
				}
			}
		}
	}
	ps.Sort()
	return ps
}

// CheckIDs reports every ID of ids missing in some language: the messages
// Go code uses, which no flow file lists.
func (c *Catalog) CheckIDs(file string, ids []string) flows.Problems {
	var ps flows.Problems
	for _, id := range ids {
		for _, lang := range Languages {
			if t, ok := c.texts[lang][id]; !ok || strings.TrimSpace(t) == "" {
				ps = append(ps, flows.Problem{File: file, Msg: fmt.Sprintf("message %q used by the bot is missing or empty in language %q", id, lang)})
			}
		}
	}
	return ps
}

// For returns the localizer of a language (the default for unknown ones).
func (c *Catalog) For(lang string) *Localizer {
	if l, ok := c.localizers[lang]; ok {
		return l
	}
	return c.localizers[DefaultLanguage]
}

// Localizer renders messages in one language. It implements
// flows.Translator.
type Localizer struct {
	lang string
	l    *i18n.Localizer
	// plain are the language's texts without template actions, which
	// go-i18n would render unchanged: T returns them without its lookup
	// and template machinery (a measurable share of a reply's CPU).
	plain map[string]string
	c     *Catalog // its SetRetention values and raw texts
}

// plainTexts picks the non-empty texts with no template action.
func plainTexts(texts map[string]string) map[string]string {
	out := make(map[string]string, len(texts))
	for id, t := range texts {
		if t != "" && !strings.Contains(t, "{{") {
			out[id] = t
		}
	}
	return out
}

// Lang is the localizer's language.
func (l *Localizer) Lang() string { return l.lang }

// T renders a message. A missing message renders as its ID, which `check`
// and the completeness tests keep from ever reaching a member.
//
// Every message also sees the retention settings (SetRetention) and
// {{.Organization}}, the organizers' statement (OrganizationMessage),
// unless data sets them.
func (l *Localizer) T(id string, data map[string]any) string {
	if s, ok := l.plain[id]; ok {
		return s
	}
	s, err := l.l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: l.withShared(id, data)})
	if err != nil || s == "" {
		return id
	}
	return s
}

func (l *Localizer) withShared(id string, data map[string]any) map[string]any {
	shared := map[string]any{"FormDays": DefaultRetention.FormDays, "AnsweredDays": DefaultRetention.AnsweredDays, "DeadDays": DefaultRetention.DeadDays}
	if l.c != nil && l.c.shared != nil {
		shared = l.c.shared
	}
	out := make(map[string]any, len(data)+len(shared)+1)
	for k, v := range shared {
		out[k] = v
	}
	if id != OrganizationMessage && l.c != nil && strings.Contains(l.c.texts[l.lang][id], ".Organization") {
		out["Organization"] = l.T(OrganizationMessage, nil)
	}
	for k, v := range data {
		out[k] = v
	}
	return out
}

// Render is T for callers that build data as a map of strings.
func (l *Localizer) Render(id string, kv ...any) string {
	if len(kv) == 0 {
		return l.T(id, nil)
	}
	data := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		data[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return l.T(id, data)
}

var _ flows.Translator = (*Localizer)(nil)

// FactsFile is the name, before ".<lang>.yaml", of the message files that
// hold facts which change with time (dates, places, costs, language of the
// institutes). Organizers keep them up to date.
const FactsFile = "facts"

// ShippedFacts lists every message defined in a facts file of c whose text
// is still the one shipped with the bot (in shipped), located at its file
// and line: a reminder for organizers, not a problem.
func (c *Catalog) ShippedFacts(shipped *Catalog) flows.Problems {
	var ps flows.Problems
	for _, lang := range Languages {
		for id, text := range c.texts[lang] {
			at := c.where[lang][id]
			if path.Base(at.File) != FactsFile+"."+lang+".yaml" {
				continue
			}
			if orig, ok := shipped.Text(lang, id); ok && orig == text {
				ps = append(ps, flows.Problem{File: at.File, Line: at.Line,
					Msg: fmt.Sprintf("message %q still holds the shipped text; update it when dates, places or costs are announced", id)})
			}
		}
	}
	ps.Sort()
	return ps
}
