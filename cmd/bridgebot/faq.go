package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"bridgebot/flows/faq"
	"bridgebot/locales"
)

// runFAQ lets organizers see how a question will be understood:
// `faq match --lang es "text"` prints the matcher's verdict as JSON and
// nothing else on stdout; `faq list` prints the entries; `faq crossval`
// prints the examples that a matcher trained without them answers with
// another entry (misfiled examples and overlapping entries, after an edit
// of faq.yaml). None needs Redis or a running bot.
func runFAQ(c config, args []string, s streams) error {
	stdout, stderr := s.out, s.err
	if len(args) == 0 {
		fmt.Fprintln(stderr, `usage: bridgebot faq match [--lang es|en] "question" | bridgebot faq list [--lang es|en] | bridgebot faq crossval [--min 0.5]`)
		return errUsage
	}
	fset := flag.NewFlagSet("faq "+args[0], flag.ContinueOnError)
	fset.SetOutput(stderr)
	lang := fset.String("lang", "en", "the member's language: es or en")
	minScore := fset.Float64("min", 0.5, "crossval: the least probability of the other answer to list an example")
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
	case "crossval":
		printSuspects(stdout, faq.CrossValidate(ct.faq, 5), *minScore)
		return nil
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
	fmt.Fprintf(stderr, "unknown faq command %q: want match, list or crossval\n", args[0])
	return errUsage
}

// printSuspects prints the cross-validation's suspects at or above min.
func printSuspects(w io.Writer, suspects []faq.Suspect, min float64) {
	fmt.Fprintln(w, "Examples that a matcher trained without them answers with another entry.")
	fmt.Fprintln(w, "A misfiled example teaches the matcher the wrong answer: move it. Entries that")
	fmt.Fprintln(w, "overlap may need examples that tell them apart. Most lines are for you to judge.")
	n := 0
	for _, s := range suspects {
		if s.Score < min {
			continue
		}
		if n == 0 {
			fmt.Fprintf(w, "\n%-18s %-4s %-18s %5s  %s\n", "filed under", "lang", "answered as", "prob", "example")
		}
		n++
		fmt.Fprintf(w, "%-18s %-4s %-18s %5.2f  %q\n", s.Entry, s.Lang, s.Answer, s.Score, s.Example)
	}
	if n == 0 {
		fmt.Fprintf(w, "\nNone at %.2f or more.\n", min)
	}
}
