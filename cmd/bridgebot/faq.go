package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"bridgebot/flows/faq"
	"bridgebot/locales"
)

// runFAQ lets organizers see how a question will be understood:
// `faq match --lang es "text"` prints the matcher's verdict as JSON and
// nothing else on stdout; `faq list` prints the entries. Neither needs
// Redis or a running bot.
func runFAQ(c config, args []string, s streams) error {
	stdout, stderr := s.out, s.err
	if len(args) == 0 {
		fmt.Fprintln(stderr, `usage: bridgebot faq match [--lang es|en] "question" | bridgebot faq list [--lang es|en]`)
		return errUsage
	}
	fset := flag.NewFlagSet("faq "+args[0], flag.ContinueOnError)
	fset.SetOutput(stderr)
	lang := fset.String("lang", "en", "the member's language: es or en")
	if err := fset.Parse(args[1:]); err != nil {
		return errUsage
	}
	if !locales.Supported(*lang) {
		fmt.Fprintf(stderr, "unknown language %q: want es or en\n", *lang)
		return errUsage
	}
	ct, err := mustContent(c, stderr)
	if err != nil {
		return err
	}
	if ct.faq == nil {
		return fmt.Errorf("no %s in FLOWS_DIR: there are no frequent questions", "faq.yaml")
	}
	switch args[0] {
	case "match":
		text := strings.Join(fset.Args(), " ")
		if strings.TrimSpace(text) == "" {
			fmt.Fprintln(stderr, `usage: bridgebot faq match [--lang es|en] "question"`)
			return errUsage
		}
		r := faq.NewMatcher(ct.faq).Match(*lang, text)
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	case "list":
		tr := ct.locales.For(*lang)
		for _, e := range ct.faq.Entries() {
			action := ""
			if e.Action != faq.ActionNone {
				action = "  [" + string(e.Action) + "]"
			}
			fmt.Fprintf(stdout, "%-18s %s%s\n", e.ID, tr.T(e.TitleID, nil), action)
		}
		return nil
	}
	fmt.Fprintf(stderr, "unknown faq command %q: want match or list\n", args[0])
	return errUsage
}
