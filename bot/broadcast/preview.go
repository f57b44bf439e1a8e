package broadcast

import (
	"context"
	"math"
	"time"

	"bridgebot/bot/telegram/tghtml"
	"bridgebot/locales"
)

// Preview is what a broadcast will do, shown before it is sent.
type Preview struct {
	Job Job
	// Groups has one entry per member language, in locales.Languages order.
	Groups []PreviewGroup
	// Recipients will get a message; Skipped are in the audience but get
	// nothing (no version in their language, no Fallback).
	Recipients, Skipped int
	// Rate is the configured send rate and Duration the expected time to
	// deliver to every recipient at that rate.
	Rate     float64
	Duration time.Duration
	// Plain is each language version as members of that language see it
	// (tghtml.Plain), with the footer (Options.Footer).
	Plain map[string]string
	// Shown is Plain with each link's address after its text
	// (tghtml.PlainLinks), for organizers checking where links go.
	Shown map[string]string

	choices Choices // names the languages
}

// PreviewGroup is the audience members of one language.
type PreviewGroup struct {
	Lang    string
	Members int
	Gets    string // the version they get: Lang, the other language (Fallback), or "" (none)
}

// Preview validates the job, counts its audience per language (streamed)
// and tells who gets which version and how long delivery should take at
// the configured rate (Options.Rate, or PaidRate for an allowed paid job).
func (s *Jobs) Preview(ctx context.Context, j Job) (Preview, error) {
	j = j.normalized()
	if err := j.Validate(s.opts.Choices); err != nil {
		return Preview{}, err
	}
	counts, err := s.subs.Count(ctx, j.Audience)
	if err != nil {
		return Preview{}, err
	}
	p := Preview{Job: j, Rate: s.opts.rateFor(j.Paid), Plain: map[string]string{}, Shown: map[string]string{}, choices: s.opts.Choices}
	for _, l := range locales.Languages {
		g := PreviewGroup{Lang: l, Members: counts[l], Gets: j.VersionFor(l)}
		p.Groups = append(p.Groups, g)
		if g.Gets == "" {
			p.Skipped += g.Members
		} else {
			p.Recipients += g.Members
		}
	}
	for _, l := range j.langs() {
		html := withFooter(Announcement{HTML: j.Texts[l]}, s.opts.Footer, l, l).HTML
		p.Plain[l], p.Shown[l] = tghtml.Plain(html), tghtml.PlainLinks(html)
	}
	p.Duration = EstimateDuration(p.Recipients, p.Rate)
	return p, nil
}

// EstimateDuration is the time n messages take at rate per second.
func EstimateDuration(n int, rate float64) time.Duration {
	if n <= 0 || rate <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(float64(n) / rate * float64(time.Second)))
}

// LangName is a language's name for staff (Choices.LangName).
func (p Preview) LangName(lang string) string { return p.choices.LangName(lang) }
