package funnel

import (
	"bytes"
	"fmt"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Chart size: one panel per language, stacked.
const (
	ChartWidth  = 1200 // pixels
	PanelHeight = 500  // pixels per language
	chartDPI    = 96
)

var (
	colorReached = color.RGBA{R: 0x3b, G: 0x82, B: 0xc4, A: 0xff}
	colorStopped = color.RGBA{R: 0xd9, G: 0x5f, B: 0x43, A: 0xff}
)

// PNG draws the report as a chart: per language, a horizontal bar per
// step for the forms that reached it and one for those that stopped
// there, the first step at the top. It is ChartWidth by PanelHeight
// times the number of languages.
func (r Report) PNG() ([]byte, error) {
	if len(r.Langs) == 0 {
		return nil, fmt.Errorf("funnel: chart: no language to draw")
	}
	px := func(n int) vg.Length { return vg.Length(n) * vg.Inch / chartDPI }
	var rows [][]*plot.Plot
	for _, l := range r.Langs {
		p, err := r.panel(l)
		if err != nil {
			return nil, err
		}
		rows = append(rows, []*plot.Plot{p})
	}
	img := vgimg.NewWith(vgimg.UseWH(px(ChartWidth), px(PanelHeight*len(rows))), vgimg.UseDPI(chartDPI))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(18)}
	canvases := plot.Align(rows, tiles, dc)
	for i := range rows {
		rows[i][0].Draw(canvases[i][0])
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("funnel: chart: %w", err)
	}
	return buf.Bytes(), nil
}

// panel is one language's bars.
func (r Report) panel(l LangReport) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s — %s: %d started, %d sign-ups", r.Flow, l.Name, l.Started(), l.Completed)
	p.X.Label.Text = "members"
	n := len(l.Steps)
	reached, stopped := make(plotter.Values, n), make(plotter.Values, n)
	labels := make([]string, n)
	for i, s := range l.Steps {
		// bottom to top, so the first step is at the top
		j := n - 1 - i
		reached[j], stopped[j], labels[j] = float64(s.Reached), float64(s.Stopped()), s.Label
	}
	w := vg.Points(9)
	br, err := plotter.NewBarChart(reached, w)
	if err != nil {
		return nil, fmt.Errorf("funnel: chart: %w", err)
	}
	bs, err := plotter.NewBarChart(stopped, w)
	if err != nil {
		return nil, fmt.Errorf("funnel: chart: %w", err)
	}
	for _, b := range []*plotter.BarChart{br, bs} {
		b.Horizontal = true
		b.LineStyle.Width = 0
	}
	br.Color, bs.Color = colorReached, colorStopped
	br.Offset, bs.Offset = w/2, -w/2
	p.Add(br, bs)
	p.Legend.Add("reached the step", br)
	p.Legend.Add("stopped there (cancelled, deleted or expired)", bs)
	p.Legend.Top = true
	p.NominalY(labels...)
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	// room on the right for the legend; an empty funnel still has an axis
	p.X.Min, p.X.Max = 0, max(p.X.Max, 1)*1.4
	p.X.Tick.Marker = plot.TickerFunc(wholeTicks)
	return p, nil
}

// wholeTicks are ticks at whole numbers of members.
func wholeTicks(min, max float64) []plot.Tick {
	var out []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(min, max) {
		if t.Value != float64(int64(t.Value)) || t.Value > max {
			continue
		}
		if t.Label != "" {
			t.Label = strconv.FormatInt(int64(t.Value), 10)
		}
		out = append(out, t)
	}
	return out
}
