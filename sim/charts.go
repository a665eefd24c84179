package sim

import (
	"bytes"
	"fmt"
	"image/color"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Chart is a rendered PNG chart of a report.
type Chart struct {
	// Name is the file name, e.g. "arrivals.png".
	Name  string
	Title string
	PNG   []byte
}

// Chart size: 768 x 432 pixels at the PNG canvas's 96 dpi.
const (
	chartWidth  = 8 * vg.Inch
	chartHeight = 4.5 * vg.Inch
)

// Charts draws the report's charts with gonum/plot: the distribution of
// urgent arrival times against the 60-minute promise, the urgent on-time
// share by hour and the utilisation by hour, one line per variant. They
// are drawn from the report alone.
func Charts(r *Report) ([]Chart, error) {
	type draw func(*Report) (*plot.Plot, error)
	specs := []struct {
		name, title string
		fn          draw
	}{
		{"arrivals.png", "Urgent arrival times", arrivalsChart},
		{"ontime_by_hour.png", "Urgent on-time share by hour", onTimeChart},
		{"utilisation_by_hour.png", "Utilisation by hour", utilisationChart},
	}
	out := make([]Chart, 0, len(specs))
	for _, sp := range specs {
		p, err := sp.fn(r)
		if err != nil {
			return nil, fmt.Errorf("sim: chart %s: %w", sp.name, err)
		}
		p.Title.Text = fmt.Sprintf("%s: %s", r.Scenario, sp.title)
		wt, err := p.WriterTo(chartWidth, chartHeight, "png")
		if err != nil {
			return nil, fmt.Errorf("sim: chart %s: %w", sp.name, err)
		}
		var buf bytes.Buffer
		if _, err := wt.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("sim: chart %s: %w", sp.name, err)
		}
		out = append(out, Chart{Name: sp.name, Title: sp.title, PNG: buf.Bytes()})
	}
	return out, nil
}

// newPlot returns a plot with the house style: grid, legend top left.
func newPlot(x, y string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = false
	return p
}

// palette is Tableau's ten distinct colours.
var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{188, 189, 34, 255},
	color.RGBA{23, 190, 207, 255},
}

// styleLine colours line i of a chart; past ten lines, colours repeat
// dashed.
func styleLine(l *plotter.Line, i int) {
	l.Color = palette[i%len(palette)]
	l.Width = vg.Points(1.8)
	l.Dashes = plotutil.Dashes(i / len(palette))
}

// arrivalsChart plots, per variant, the cumulative share of its urgent
// requests reached within x minutes (unserved ones are never reached, so
// each line ends at the on-time share), and the 60-minute promise.
func arrivalsChart(r *Report) (*plot.Plot, error) {
	p := newPlot("minutes from request to arrival", "share of urgent requests reached")
	for i, v := range r.Variants {
		h := v.UrgentArrivals
		xys := plotter.XYs{{X: 0, Y: 0}}
		reached := 0
		for b, c := range h.Counts {
			reached += c
			y := 0.0
			if v.Totals.UrgentRequests > 0 {
				y = float64(reached) / float64(v.Totals.UrgentRequests)
			}
			xys = append(xys, plotter.XY{X: float64((b + 1) * h.BinMinutes), Y: y})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		styleLine(l, i)
		p.Add(l)
		label := v.Name
		if s := v.Totals.UrgentOnTimeShare; s != nil {
			label = fmt.Sprintf("%s: %.1f%% on time, %d unserved", v.Name, 100**s, v.Totals.UrgentRequests-sumInts(h.Counts))
		}
		p.Legend.Add(label, l)
	}
	promise, err := plotter.NewLine(plotter.XYs{{X: 60, Y: 0}, {X: 60, Y: 1}})
	if err != nil {
		return nil, err
	}
	promise.Color = color.Black
	promise.Width = vg.Points(2)
	promise.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
	p.Add(promise)
	p.Legend.Add("60-minute promise", promise)
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(24)
	p.Legend.XOffs = -vg.Points(70)
	p.X.Min, p.X.Max = 0, 64
	p.Y.Min, p.Y.Max = 0, 1
	p.Y.Tick.Marker = shareTicks
	return p, nil
}

// shareTicks marks shares from 0 to 1 by quarters, leaving any room above
// 1 to the legend.
var shareTicks = plot.ConstantTicks{
	{Value: 0, Label: "0"}, {Value: 0.25, Label: "0.25"}, {Value: 0.5, Label: "0.5"},
	{Value: 0.75, Label: "0.75"}, {Value: 1, Label: "1"},
}

func sumInts(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

// hourChart plots one metric by hour, a line per variant (hours without a
// value are skipped).
func hourChart(r *Report, ylabel string, value func(*Metrics) *float64) (*plot.Plot, error) {
	p := newPlot("hour (local clock time of the start of each hour)", ylabel)
	n := len(r.Variants)
	for i, v := range r.Variants {
		// Variants that agree in an hour would hide one another: each is
		// nudged sideways by a few minutes and drawn with its own glyph.
		dx := (float64(i) - float64(n-1)/2) * 0.08
		xys := make(plotter.XYs, 0, len(v.Hours))
		for _, h := range v.Hours {
			if y := value(&h.Metrics); y != nil {
				xys = append(xys, plotter.XY{X: float64(h.Hour) + dx, Y: *y})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		styleLine(l, i)
		s.Color = l.Color
		s.Shape = plotutil.Shape(i)
		s.Radius = vg.Points(2.5)
		p.Add(l, s)
		p.Legend.Add(v.Name, l)
	}
	// A band above 1 for the legend, one line per variant.
	p.Y.Min, p.Y.Max = 0, 1.08+0.075*float64(len(r.Variants))
	p.Y.Tick.Marker = shareTicks
	p.X.Tick.Marker = clockTicks(r)
	return p, nil
}

func onTimeChart(r *Report) (*plot.Plot, error) {
	return hourChart(r, "urgent on-time share (arrival <= 60 min)", func(m *Metrics) *float64 { return m.UrgentOnTimeShare })
}

func utilisationChart(r *Report) (*plot.Plot, error) {
	return hourChart(r, "utilisation (service minutes / shift minutes)", func(m *Metrics) *float64 { return m.Utilisation })
}

// clockTicks labels hour indices with the clock time they start at.
func clockTicks(r *Report) plot.Ticker {
	start, err := time.Parse(time.RFC3339, r.Start)
	hours := 0
	if len(r.Variants) > 0 {
		hours = len(r.Variants[0].Hours)
	}
	step := max(1, hours/8)
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var ts []plot.Tick
		for h := 0; h <= hours; h++ {
			label := ""
			if h%step == 0 {
				label = fmt.Sprintf("+%dh", h)
				if err == nil {
					label = start.Add(time.Duration(h) * time.Hour).Format("15:04")
				}
			}
			ts = append(ts, plot.Tick{Value: float64(h), Label: label})
		}
		return ts
	})
}
