package funnel

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// barWidth is the longest text bar, in characters.
const barWidth = 30

// WriteText writes the report as text bars for a terminal: per language,
// each step's reached count as a bar (█ went on, ▒ still filling it out,
// ░ stopped there), then the FAQ.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — how far members got\n", r.Flow)
	b.WriteString("█ went on   ▒ still filling it out   ░ stopped there (cancelled, deleted or expired)\n")
	for _, l := range r.Langs {
		fmt.Fprintf(&b, "\n%s: %d started, %d sign-ups\n", l.Name, l.Started(), l.Completed)
		width := 0
		var most int64
		for _, s := range l.Steps {
			width = max(width, utf8.RuneCountInString(s.Label))
			most = max(most, s.Reached, s.Stopped()+s.Open)
		}
		for _, s := range l.Steps {
			stopped, open := s.Stopped(), s.Open
			on := max(s.Reached-stopped-open, 0)
			bars := bar('█', on, most) + bar('▒', open, most) + bar('░', stopped, most)
			if bars != "" {
				bars += " "
			}
			fmt.Fprintf(&b, "  %s%s  %s%d reached", s.Label, strings.Repeat(" ", width-utf8.RuneCountInString(s.Label)), bars, s.Reached)
			if stopped > 0 {
				fmt.Fprintf(&b, ", %d stopped (%d cancelled, %d deleted, %d expired)", stopped, s.Cancelled, s.Deleted, s.Expired)
			}
			if open > 0 {
				fmt.Fprintf(&b, ", %d still there", open)
			}
			b.WriteString("\n")
		}
		f := l.FAQ
		fmt.Fprintf(&b, "  FAQ: %d answered, %d did-you-mean, %d unmatched; helpful %d, not helpful %d\n", f.Answered, f.DidYouMean, f.Unmatched, f.Helpful, f.NotHelpful)
		for _, t := range l.TopTopics {
			fmt.Fprintf(&b, "    %4d  %s\n", t.Asked, t.Title)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// bar is n of most as a run of c, at most barWidth long; a nonzero count
// is at least one character.
func bar(c rune, n, most int64) string {
	if n <= 0 || most <= 0 {
		return ""
	}
	k := int((n*barWidth + most/2) / most)
	return strings.Repeat(string(c), max(k, 1))
}
