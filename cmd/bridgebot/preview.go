package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"bridgebot/bot/broadcast"
	"bridgebot/bot/telegram/tghtml"
	"bridgebot/locales"
)

// renderPreview is a broadcast preview for a terminal: who gets what, how
// long it takes, and each version as members will see it.
func renderPreview(p broadcast.Preview) string {
	var b strings.Builder
	j := p.Job
	fmt.Fprintf(&b, "Audience: %s\n", describeAudience(j.Audience))
	for _, g := range p.Groups {
		var what string
		switch {
		case g.Members == 0:
			what = "nobody"
		case g.Gets == g.Lang:
			what = "get the " + p.LangName(g.Gets) + " version"
		case g.Gets != "":
			what = "get the " + p.LangName(g.Gets) + " version (fallback: there is no " + p.LangName(g.Lang) + " version)"
		default:
			what = "get nothing: there is no " + p.LangName(g.Lang) + " version (use fallback to send them the other one)"
		}
		fmt.Fprintf(&b, "  %-8s %6d members  %s\n", p.LangName(g.Lang)+":", g.Members, what)
	}
	fmt.Fprintf(&b, "Recipients: %d", p.Recipients)
	if p.Skipped > 0 {
		fmt.Fprintf(&b, " (%d skipped)", p.Skipped)
	}
	fmt.Fprintf(&b, "; about %s at %s messages/s", formatDuration(p.Duration), formatRate(p.Rate))
	if j.Paid {
		b.WriteString(" (paid broadcast)")
	}
	b.WriteString("\n")
	if j.At.IsZero() {
		b.WriteString("When: now\n")
	} else {
		fmt.Fprintf(&b, "When: %s\n", j.At.Local().Format("Mon 2 Jan 2006 15:04 MST"))
	}
	for _, l := range locales.Languages {
		if _, ok := p.Plain[l]; !ok {
			continue // no text in this language
		}
		fmt.Fprintf(&b, "\n── %s version, as members will see it ──\n", p.LangName(l))
		b.WriteString(p.Plain[l])
		b.WriteString("\n")
		if links := tghtml.Links(j.Texts[l]); len(links) > 0 {
			fmt.Fprintf(&b, "   links: %s\n", strings.Join(links, ", "))
		}
		if a := j.Announcement(l, false); a.ButtonURL != "" {
			fmt.Fprintf(&b, "[ %s ] → %s\n", a.ButtonLabel, a.ButtonURL)
		}
	}
	return b.String()
}

func describeAudience(a broadcast.Audience) string {
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

// formatDuration renders a duration for people: "45s", "3m20s", "2h05m".
func formatDuration(d time.Duration) string {
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
