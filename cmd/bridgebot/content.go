package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/slack"
	"bridgebot/flows"
	"bridgebot/flows/faq"
	"bridgebot/locales"
)

// content is the flows and texts the bot runs on.
type content struct {
	flows   map[string]*flows.Flow
	locales *locales.Catalog
	faq     *faq.FAQ // nil when the flows folder has no faq.yaml
}

// problemsError carries check problems; they are printed where found.
type problemsError struct{ ps flows.Problems }

func (e problemsError) Error() string {
	return fmt.Sprintf("%d problems in flows or locales", len(e.ps))
}

// source is a folder of YAML and the name problems are reported under.
func source(dir string, def fs.FS, defName string) (fs.FS, string) {
	if dir == "" {
		return def, defName
	}
	return os.DirFS(dir), dir
}

// loadContent reads and checks flows and locales; every problem of every
// file is returned together, each located as "file:line: message".
func loadContent(c config) (content, flows.Problems) {
	var ps flows.Problems
	flowFS, flowName := source(c.FlowsDir, flows.Default(), "flows/default")
	locFS, locName := source(c.LocalesDir, locales.Default(), "locales")
	prefix := func(list flows.Problems, dir string) flows.Problems {
		for i := range list {
			list[i].File = filepath.Join(dir, list[i].File)
		}
		return list
	}
	fl, err := flows.Load(flowFS)
	if err != nil {
		ps = append(ps, prefix(flows.AsProblems(err, "."), flowName)...)
	}
	cat, err := locales.Load(locFS)
	if err != nil {
		ps = append(ps, prefix(flows.AsProblems(err, "."), locName)...)
	}
	fq, fps := loadFAQ(flowFS, flowName)
	ps = append(ps, fps...)
	if cat != nil {
		// the privacy texts quote the retention settings
		cat.SetRetention(locales.Retention{FormDays: days(c.FormTTL), AnsweredDays: days(c.Retention.Answered), DeadDays: days(c.Retention.DeadLetters)})
		ps = append(ps, cat.CheckIDs("bridgebot (Go code)", []string{locales.OrganizationMessage, footerMessage})...)
		ps = append(ps, prefix(cat.Check(), locName)...)
		if fq != nil {
			ps = append(ps, faq.Check(fq, cat)...)
		}
		ps = append(ps, cat.CheckIDs("bot (Go code)", bot.MessageIDs())...)
		ps = append(ps, cat.CheckIDs("flows (Go code)", flows.UIMessageIDs())...)
		ps = append(ps, cat.CheckIDs("bot/slack (Go code)", slack.UIMessageIDs())...)
		ps = append(ps, cat.CheckIDs("bot/broadcast (Go code)", broadcast.UIMessageIDs())...)
		for _, f := range fl {
			ps = append(ps, prefix(flows.Check(f, cat), flowName)...)
		}
	}
	ps.Sort()
	return content{flows: fl, locales: cat, faq: fq}, ps
}

// loadFAQ reads faq.yaml from the flows folder; without one the bot runs
// without frequent questions.
func loadFAQ(fsys fs.FS, dir string) (*faq.FAQ, flows.Problems) {
	data, err := fs.ReadFile(fsys, flows.FAQFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	name := filepath.Join(dir, flows.FAQFile)
	if err != nil {
		return nil, flows.Problems{{File: name, Msg: err.Error()}}
	}
	f, err := faq.Parse(data, name)
	var fps flows.Problems
	if errors.As(err, &fps) {
		return nil, fps
	}
	if err != nil {
		return nil, flows.Problems{{File: name, Msg: err.Error()}}
	}
	return f, nil
}

// runCheck validates the configuration (cfgErr is what loading it
// found), the flows and the locales, printing every problem; with a valid
// configuration it also prints which features it enables.
func runCheck(c config, cfgErr error, stdout io.Writer) error {
	var ce configError
	switch {
	case errors.As(cfgErr, &ce):
		for _, p := range ce {
			fmt.Fprintln(stdout, "configuration:", p)
		}
	case cfgErr != nil:
		fmt.Fprintln(stdout, "configuration:", cfgErr)
	default:
		for _, f := range c.features() {
			fmt.Fprintln(stdout, f)
		}
	}
	ct, ps := loadContent(c)
	for _, p := range ps {
		fmt.Fprintln(stdout, p.String())
	}
	if len(ps) > 0 {
		fmt.Fprintf(stdout, "%d problems in flows or locales\n", len(ps))
	} else {
		fmt.Fprintln(stdout, "flows and locales are valid")
	}
	switch {
	case cfgErr != nil:
		return printedError{cfgErr}
	case len(ps) > 0:
		return problemsError{ps}
	}
	// facts that change with time, still as shipped: a reminder, not a problem
	if shipped, err := locales.Load(locales.Default()); err == nil && ct.locales != nil {
		_, locName := source(c.LocalesDir, nil, "locales")
		for _, n := range ct.locales.ShippedFacts(shipped) {
			n.File = filepath.Join(locName, n.File)
			fmt.Fprintln(stdout, "note: "+n.String())
		}
	}
	return nil
}

// printedError is an error already shown to the user.
type printedError struct{ error }

func (e printedError) Unwrap() error { return e.error }

// mustContent loads content or returns the problems as one error, so run
// and console refuse to start on invalid flows with check's messages.
func mustContent(c config, stderr io.Writer) (content, error) {
	ct, ps := loadContent(c)
	if len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintln(stderr, p.String())
		}
		return ct, fmt.Errorf("refusing to start: %w", problemsError{ps})
	}
	return ct, nil
}
