package funnel_test

import (
	"bytes"
	"context"
	"image/png"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/funnel"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/flows"
	"bridgebot/internal/testkit"
)

const ttl = 14 * 24 * time.Hour

// Two replicas record into one Redis; forms that stay at a step past the
// form TTL count as expired there, those within it as open.
func TestFunnelIsSharedAndCountsExpiredForms(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	c := testkit.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	a := funnel.New(rdb, funnel.Options{Prefix: prefix, FormTTL: ttl, Now: c.Now})
	b := funnel.New(rdb, funnel.Options{Prefix: prefix, FormTTL: ttl, Now: c.Now})

	t0 := c.Now()
	// Replica a: three forms start; one goes on to "role" and confirms.
	for range 3 {
		a.FormArrived("signup", "name", "es", t0, true)
	}
	a.FormLeft("signup", "name", "es", t0, bot.FormMoved)
	a.FormArrived("signup", "role", "es", t0.Add(time.Minute), true)
	// Replica b: that form confirms; a second one is cancelled at "name".
	b.FormLeft("signup", "role", "es", t0.Add(time.Minute), bot.FormConfirmed)
	b.FormLeft("signup", "name", "es", t0, bot.FormCancelled)
	// An English form is touched again at the same step (a toggle).
	b.FormArrived("signup", "name", "en", t0, true)
	b.FormLeft("signup", "name", "en", t0, bot.FormMoved)
	b.FormArrived("signup", "name", "en", t0.Add(2*time.Hour), false)
	b.FAQ(bot.FAQAnswered, "cost", "es")
	a.FAQ(bot.FAQAnswered, "cost", "es")
	a.FAQ(bot.FAQUnmatched, "", "es")
	a.FAQFeedback(false, "es")
	for _, s := range []*funnel.Store{a, b} {
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}

	check := func(when string, want map[string]map[string]funnel.StepCounts, completed int64) {
		t.Helper()
		got, err := a.Flow(ctx, "signup", []string{"es", "en"})
		if err != nil {
			t.Fatal(err)
		}
		for lang, steps := range want {
			for step, w := range steps {
				if g := got[lang].Steps[step]; g != w {
					t.Errorf("%s: %s %s = %+v, want %+v", when, lang, step, g, w)
				}
			}
		}
		if got["es"].Completed != completed {
			t.Errorf("%s: completed %d, want %d", when, got["es"].Completed, completed)
		}
	}
	check("at once", map[string]map[string]funnel.StepCounts{
		"es": {"name": {Reached: 3, Cancelled: 1, Open: 1}, "role": {Reached: 1}},
		"en": {"name": {Reached: 1, Open: 1}},
	}, 1)

	// Forms count as expired within the hour after their TTL (their hour
	// of arrival is folded whole): the Spanish one has, the English one,
	// touched two hours later, is still open.
	c.Advance(ttl + 70*time.Minute)
	check("within the TTL", map[string]map[string]funnel.StepCounts{
		"es": {"name": {Reached: 3, Cancelled: 1, Expired: 1}},
		"en": {"name": {Reached: 1, Open: 1}},
	}, 1)
	c.Advance(2 * time.Hour)
	check("past the TTL", map[string]map[string]funnel.StepCounts{
		"es": {"name": {Reached: 3, Cancelled: 1, Expired: 1}},
		"en": {"name": {Reached: 1, Expired: 1}},
	}, 1)
	// Folding twice does not count twice.
	check("read again", map[string]map[string]funnel.StepCounts{
		"es": {"name": {Reached: 3, Cancelled: 1, Expired: 1}},
	}, 1)

	q, err := b.Questions(ctx, []string{"es"})
	if err != nil {
		t.Fatal(err)
	}
	if f := q["es"]; f.Topics["cost"] != 2 || f.Answered != 2 || f.Unmatched != 1 || f.NotHelpful != 1 {
		t.Fatalf("faq counts: %+v", f)
	}
}

// knownReport is a funnel with known numbers.
func knownReport() funnel.Report {
	steps := func(rows ...funnel.StepRow) []funnel.StepRow { return rows }
	return funnel.Report{Flow: "Interest form", Langs: []funnel.LangReport{
		{Lang: "es", Name: "Español", Completed: 4, Steps: steps(
			funnel.StepRow{ID: "name", Label: "Name", StepCounts: funnel.StepCounts{Reached: 10, Cancelled: 1, Expired: 2}},
			funnel.StepRow{ID: "role", Label: "Role", StepCounts: funnel.StepCounts{Reached: 7, Open: 1, Deleted: 1}},
			funnel.StepRow{ID: "review", Label: "Review", StepCounts: funnel.StepCounts{Reached: 5, Expired: 1}},
		), FAQ: funnel.FAQCounts{Answered: 6, DidYouMean: 1, Unmatched: 3, Helpful: 4, NotHelpful: 1},
			TopTopics: []funnel.TopicRow{{ID: "cost", Title: "How much does it cost?", Asked: 4}, {ID: "dates", Title: "When is it?", Asked: 2}}},
		{Lang: "en", Name: "English", Steps: steps(
			funnel.StepRow{ID: "name", Label: "Name"},
			funnel.StepRow{ID: "role", Label: "Role"},
			funnel.StepRow{ID: "review", Label: "Review"},
		)},
	}}
}

func TestChartIsAPNGOfTheExpectedSize(t *testing.T) {
	raw, err := knownReport().PNG()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("not a PNG: % x", raw[:min(len(raw), 8)])
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != funnel.ChartWidth || b.Dy() != 2*funnel.PanelHeight {
		t.Fatalf("chart is %dx%d, want %dx%d", b.Dx(), b.Dy(), funnel.ChartWidth, 2*funnel.PanelHeight)
	}
	// Something was drawn in both colors of the bars.
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if !seen[[3]uint32{0x3b, 0x82, 0xc4}] || !seen[[3]uint32{0xd9, 0x5f, 0x43}] {
		t.Fatal("the chart has no reached or no stopped bars")
	}
	if _, err := (funnel.Report{Flow: "x"}).PNG(); err == nil {
		t.Fatal("a chart of no language")
	}
}

func TestTextBars(t *testing.T) {
	var b bytes.Buffer
	if err := knownReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `Interest form — how far members got
█ went on   ▒ still filling it out   ░ stopped there (cancelled, deleted or expired)

Español: 10 started, 4 sign-ups
  Name    █████████████████████░░░░░░░░░ 10 reached, 3 stopped (1 cancelled, 0 deleted, 2 expired)
  Role    ███████████████▒▒▒░░░ 7 reached, 1 stopped (0 cancelled, 1 deleted, 0 expired), 1 still there
  Review  ████████████░░░ 5 reached, 1 stopped (0 cancelled, 0 deleted, 1 expired)
  FAQ: 6 answered, 1 did-you-mean, 3 unmatched; helpful 4, not helpful 1
       4  How much does it cost?
       2  When is it?

English: 0 started, 0 sign-ups
  Name    0 reached
  Role    0 reached
  Review  0 reached
  FAQ: 0 answered, 0 did-you-mean, 0 unmatched; helpful 0, not helpful 0
`
	if b.String() != want {
		t.Fatalf("text bars:\n%s\nwant:\n%s", b.String(), want)
	}
}

// Build labels the steps in the flow's order and lists the FAQ topics
// most asked first.
func TestBuildLabelsStepsInFlowOrder(t *testing.T) {
	rdb, prefix := redistest.New(t)
	ctx := context.Background()
	s := funnel.New(rdb, funnel.Options{Prefix: prefix})
	fl, err := flows.Load(flows.Default())
	if err != nil {
		t.Fatal(err)
	}
	f := fl[flows.SignupFlow]
	now := time.Now()
	s.FormArrived(f.ID, f.Steps[0].ID, "en", now, true)
	for i, topic := range []string{"a", "b", "b", "c", "c", "c", "d", "e", "f"} {
		s.FAQ(bot.FAQAnswered, topic, "en")
		_ = i
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := funnel.Build(ctx, s, f, []string{"en"}, funnel.Labels{
		Text:      func(id string) string { return "«" + id + "»" },
		LangName:  func(string) string { return "English" },
		TopicText: func(id string) string { return "topic " + id },
	})
	if err != nil {
		t.Fatal(err)
	}
	l := r.Langs[0]
	if len(l.Steps) != len(f.Steps) || l.Steps[0].ID != f.Steps[0].ID || l.Steps[0].Label != "«"+f.Steps[0].Label+"»" || l.Started() != 1 {
		t.Fatalf("steps: %+v", l.Steps)
	}
	if len(l.TopTopics) != funnel.TopTopics || l.TopTopics[0].Title != "topic c" || l.TopTopics[1].ID != "b" || l.TopTopics[2].ID != "a" {
		t.Fatalf("topics: %+v", l.TopTopics)
	}
}
