package funnel

import (
	"context"
	"sort"

	"bridgebot/flows"
)

// Report is the funnel as organizers read it: per language, how many
// forms reached each step and how many stopped there, and what members
// asked the FAQ.
type Report struct {
	Flow  string // the flow's title
	Langs []LangReport
}

// LangReport is one language of a Report.
type LangReport struct {
	Lang, Name string
	Steps      []StepRow // in the flow's order
	Completed  int64
	FAQ        FAQCounts
	TopTopics  []TopicRow // most asked first, at most TopTopics
}

// StepRow is one step with its label.
type StepRow struct {
	ID, Label string
	StepCounts
}

// TopicRow is an FAQ entry and how often typed questions were answered
// with it.
type TopicRow struct {
	ID, Title string
	Asked     int64
}

// TopTopics is how many FAQ topics a report lists per language.
const TopTopics = 5

// Labels name what a report shows, in the organizers' language.
type Labels struct {
	Text      func(msgID string) string // a catalog message ("" if none)
	LangName  func(lang string) string
	TopicText func(id string) string // an FAQ entry's title ("" if none)
}

// Build reads the counts of flow f in langs and labels them.
func Build(ctx context.Context, s *Store, f *flows.Flow, langs []string, l Labels) (Report, error) {
	counts, err := s.Flow(ctx, f.ID, langs)
	if err != nil {
		return Report{}, err
	}
	faqs, err := s.Questions(ctx, langs)
	if err != nil {
		return Report{}, err
	}
	r := Report{Flow: or(l.Text(f.Title), f.ID)}
	for _, lang := range langs {
		c := counts[lang]
		lr := LangReport{Lang: lang, Name: or(l.LangName(lang), lang), Completed: c.Completed, FAQ: faqs[lang]}
		for _, st := range f.Steps {
			lr.Steps = append(lr.Steps, StepRow{ID: st.ID, Label: or(l.Text(st.Label), st.ID), StepCounts: c.Steps[st.ID]})
		}
		for id, n := range lr.FAQ.Topics {
			lr.TopTopics = append(lr.TopTopics, TopicRow{ID: id, Title: or(l.TopicText(id), id), Asked: n})
		}
		sort.Slice(lr.TopTopics, func(i, j int) bool {
			a, b := lr.TopTopics[i], lr.TopTopics[j]
			if a.Asked != b.Asked {
				return a.Asked > b.Asked
			}
			return a.ID < b.ID
		})
		lr.TopTopics = lr.TopTopics[:min(len(lr.TopTopics), TopTopics)]
		r.Langs = append(r.Langs, lr)
	}
	return r, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Started is how many forms reached the first step.
func (l LangReport) Started() int64 {
	if len(l.Steps) == 0 {
		return 0
	}
	return l.Steps[0].Reached
}
