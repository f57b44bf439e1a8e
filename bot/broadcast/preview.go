package broadcast

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// Preview is what a broadcast will do, shown before it is sent.
type Preview struct {
	Job Job
	// Groups has one entry per member language, in Langs order.
	Groups []PreviewGroup
	// Recipients will get a message; Skipped are in the audience but get
	// nothing (no version in their language, no Fallback).
	Recipients, Skipped int
	// Rate is the configured send rate and Duration the expected time to
	// deliver to every recipient at that rate.
	Rate     float64
	Duration time.Duration
	// Plain is each language version as members of that language see it
	// (RenderPlain), with the footer (Options.Footer).
	Plain map[string]string
	// Shown is Plain with each link's address after its text
	// (RenderPlainLinks), for organizers checking where links go.
	Shown map[string]string
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
func (s *Store) Preview(ctx context.Context, j Job) (Preview, error) {
	j = j.normalized()
	if err := j.Validate(); err != nil {
		return Preview{}, err
	}
	counts, err := s.Count(ctx, j.Audience)
	if err != nil {
		return Preview{}, err
	}
	p := Preview{Job: j, Rate: s.opts.rateFor(j.Paid), Plain: map[string]string{}, Shown: map[string]string{}}
	for _, l := range Langs {
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
		p.Plain[l], p.Shown[l] = RenderPlain(html), RenderPlainLinks(html)
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

// String renders the preview for a terminal: who gets what, how long it
// takes, and each version as members will see it.
func (p Preview) String() string {
	var b strings.Builder
	j := p.Job
	fmt.Fprintf(&b, "Audience: %s\n", describeAudience(j.Audience))
	for _, g := range p.Groups {
		var what string
		switch {
		case g.Members == 0:
			what = "nobody"
		case g.Gets == g.Lang:
			what = "get the " + LangName(g.Gets) + " version"
		case g.Gets != "":
			what = "get the " + LangName(g.Gets) + " version (fallback: there is no " + LangName(g.Lang) + " version)"
		default:
			what = "get nothing: there is no " + LangName(g.Lang) + " version (use fallback to send them the other one)"
		}
		fmt.Fprintf(&b, "  %-8s %6d members  %s\n", LangName(g.Lang)+":", g.Members, what)
	}
	fmt.Fprintf(&b, "Recipients: %d", p.Recipients)
	if p.Skipped > 0 {
		fmt.Fprintf(&b, " (%d skipped)", p.Skipped)
	}
	fmt.Fprintf(&b, "; about %s at %s messages/s", FormatDuration(p.Duration), formatRate(p.Rate))
	if j.Paid {
		b.WriteString(" (paid broadcast)")
	}
	b.WriteString("\n")
	if j.At.IsZero() {
		b.WriteString("When: now\n")
	} else {
		fmt.Fprintf(&b, "When: %s\n", j.At.Local().Format("Mon 2 Jan 2006 15:04 MST"))
	}
	for _, l := range j.langs() {
		fmt.Fprintf(&b, "\n── %s version, as members will see it ──\n", LangName(l))
		b.WriteString(p.Plain[l])
		b.WriteString("\n")
		if links := Links(j.Texts[l]); len(links) > 0 {
			fmt.Fprintf(&b, "   links: %s\n", strings.Join(links, ", "))
		}
		if a := j.Announcement(l, false); a.ButtonURL != "" {
			fmt.Fprintf(&b, "[ %s ] → %s\n", a.ButtonLabel, a.ButtonURL)
		}
	}
	return b.String()
}

func describeAudience(a Audience) string {
	if a.IsAll() {
		return "all subscribers"
	}
	return a.String()
}

func formatRate(r float64) string {
	if r == math.Trunc(r) {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

// FormatDuration renders a duration for people: "45s", "3m20s", "2h05m".
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(math.Ceil(d.Seconds())))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}
