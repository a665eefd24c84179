package sim

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// Chart is a rendered SVG chart of a report.
type Chart struct {
	// Name is the file name, e.g. "arrivals.svg".
	Name  string
	Title string
	SVG   []byte
}

// Chart size in SVG user units (pixels), and the plot area's margins.
const (
	chartWidth   = 768
	chartHeight  = 432
	marginLeft   = 64
	marginRight  = 16
	marginTop    = 36
	marginBottom = 48
)

// Charts draws the report's charts as SVG: the distribution of urgent
// arrival times against the 60-minute promise, the urgent on-time share by
// hour and the utilisation by hour, one line per variant. They are drawn
// from the report alone (the same report gives the same bytes), with no
// plotting library, so that the server binary, which shares this package,
// carries none.
func Charts(r *Report) ([]Chart, error) {
	specs := []struct {
		name, title string
		fn          func(*Report) *chart
	}{
		{"arrivals.svg", "Urgent arrival times", arrivalsChart},
		{"ontime_by_hour.svg", "Urgent on-time share by hour", onTimeChart},
		{"utilisation_by_hour.svg", "Utilisation by hour", utilisationChart},
	}
	out := make([]Chart, 0, len(specs))
	for _, sp := range specs {
		c := sp.fn(r)
		c.title = fmt.Sprintf("%s: %s", r.Scenario, sp.title)
		out = append(out, Chart{Name: sp.name, Title: sp.title, SVG: c.render(strings.TrimSuffix(sp.name, ".svg"))})
	}
	return out, nil
}

// palette is Tableau's ten distinct colours.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// dashes are the stroke patterns of lines past the palette's ten: colours
// repeat, dashed.
var dashes = []string{"", "6 3", "2 3", "8 3 2 3"}

// xy is a point in data units.
type xy struct{ x, y float64 }

// series is one line of a chart.
type series struct {
	label  string
	pts    []xy
	colour string
	dash   string
	width  float64
	points bool // draw a marker at each point
}

// tick is a labelled axis position in data units ("" draws the grid line
// alone).
type tick struct {
	at    float64
	label string
}

// chart is a line chart in data units, legend in the top right corner.
type chart struct {
	title, xlabel, ylabel  string
	xmin, xmax, ymin, ymax float64
	xticks, yticks         []tick
	lines                  []series
	legendBottom           bool // the legend in the bottom right corner, not the top right
}

// styled returns line i's colour and dash pattern.
func styled(i int) (string, string) {
	return palette[i%len(palette)], dashes[(i/len(palette))%len(dashes)]
}

// arrivalsChart plots, per variant, the cumulative share of its urgent
// requests reached within x minutes (unserved ones are never reached, so
// each line ends at the on-time share), and the 60-minute promise.
func arrivalsChart(r *Report) *chart {
	c := &chart{xlabel: "minutes from request to arrival", ylabel: "share of urgent requests reached",
		xmin: 0, xmax: 64, ymin: 0, ymax: 1, yticks: shareTicks, legendBottom: true}
	for m := 0; m <= 60; m += 10 {
		c.xticks = append(c.xticks, tick{float64(m), fmt.Sprint(m)})
	}
	for i, v := range r.Variants {
		h := v.UrgentArrivals
		pts := []xy{{0, 0}}
		reached := 0
		for b, n := range h.Counts {
			reached += n
			y := 0.0
			if v.Totals.UrgentRequests > 0 {
				y = float64(reached) / float64(v.Totals.UrgentRequests)
			}
			pts = append(pts, xy{float64((b + 1) * h.BinMinutes), y})
		}
		label := v.Name
		if s := v.Totals.UrgentOnTimeShare; s != nil {
			label = fmt.Sprintf("%s: %.1f%% on time, %d unserved", v.Name, 100**s, v.Totals.UrgentRequests-sumInts(h.Counts))
		}
		colour, dash := styled(i)
		c.lines = append(c.lines, series{label: label, pts: pts, colour: colour, dash: dash, width: 1.8})
	}
	c.lines = append(c.lines, series{label: "60-minute promise", pts: []xy{{60, 0}, {60, 1}}, colour: "#000000", dash: "6 4", width: 2})
	return c
}

// shareTicks mark shares from 0 to 1 by quarters.
var shareTicks = []tick{{0, "0"}, {0.25, "0.25"}, {0.5, "0.5"}, {0.75, "0.75"}, {1, "1"}}

func sumInts(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

// hourChart plots one metric by hour, a line per variant (hours without a
// value are skipped).
func hourChart(r *Report, ylabel string, value func(*Metrics) *float64) *chart {
	c := &chart{xlabel: "hour (local clock time of the start of each hour)", ylabel: ylabel, ymin: 0, ymax: 1, yticks: shareTicks}
	n := len(r.Variants)
	hours := 0
	for i, v := range r.Variants {
		hours = max(hours, len(v.Hours))
		// Variants that agree in an hour would hide one another: each is
		// nudged sideways by a few minutes and marked at each point.
		dx := (float64(i) - float64(n-1)/2) * 0.08
		var pts []xy
		for _, h := range v.Hours {
			if y := value(&h.Metrics); y != nil {
				pts = append(pts, xy{float64(h.Hour) + dx, *y})
				c.ymax = max(c.ymax, *y)
			}
		}
		if len(pts) == 0 {
			continue
		}
		colour, dash := styled(i)
		c.lines = append(c.lines, series{label: v.Name, pts: pts, colour: colour, dash: dash, width: 1.8, points: true})
	}
	c.xmin, c.xmax = -0.5, float64(max(hours, 1))-0.5
	c.xticks = clockTicks(r, hours)
	// A band above the data for the legend, one line per variant.
	c.ymax += 0.08 + 0.075*float64(len(c.lines))
	return c
}

func onTimeChart(r *Report) *chart {
	return hourChart(r, "urgent on-time share (arrival <= 60 min)", func(m *Metrics) *float64 { return m.UrgentOnTimeShare })
}

func utilisationChart(r *Report) *chart {
	return hourChart(r, "utilisation (service minutes / shift minutes)", func(m *Metrics) *float64 { return m.Utilisation })
}

// clockTicks labels hour indices with the clock time they start at, about
// eight labels in all.
func clockTicks(r *Report, hours int) []tick {
	start, err := time.Parse(time.RFC3339, r.Start)
	step := max(1, hours/8)
	var ts []tick
	for h := 0; h < hours; h++ {
		label := ""
		if h%step == 0 {
			label = fmt.Sprintf("+%dh", h)
			if err == nil {
				label = start.Add(time.Duration(h) * time.Hour).Format("15:04")
			}
		}
		ts = append(ts, tick{float64(h), label})
	}
	return ts
}

// render writes the chart as a standalone SVG document; id names its
// clipping path, unique among the charts of a page that shows them inline.
func (c *chart) render(id string) []byte {
	pw := float64(chartWidth - marginLeft - marginRight)
	ph := float64(chartHeight - marginTop - marginBottom)
	sx := func(x float64) float64 { return marginLeft + (x-c.xmin)/(c.xmax-c.xmin)*pw }
	sy := func(y float64) float64 { return marginTop + (c.ymax-y)/(c.ymax-c.ymin)*ph }
	clampY := func(y float64) float64 { return math.Max(c.ymin, math.Min(c.ymax, y)) }

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Liberation Sans, Arial, Helvetica, sans-serif" font-size="12">`+"\n",
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, chartHeight)
	fmt.Fprintf(&b, `<text x="%d" y="22" text-anchor="middle" font-size="15">%s</text>`+"\n", chartWidth/2, html.EscapeString(c.title))
	// Grid and ticks.
	for _, t := range c.yticks {
		y := sy(t.at)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd"/>`+"\n", sx(c.xmin), y, sx(c.xmax), y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", sx(c.xmin)-6, y+4, html.EscapeString(t.label))
	}
	for _, t := range c.xticks {
		x := sx(t.at)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#dddddd"/>`+"\n", x, sy(c.ymin), x, sy(c.ymax))
		if t.label != "" {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, sy(c.ymin)+16, html.EscapeString(t.label))
		}
	}
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#000000"/>`+"\n", sx(c.xmin), sy(c.ymax), pw, ph)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", marginLeft+pw/2, chartHeight-10, html.EscapeString(c.xlabel))
	fmt.Fprintf(&b, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", marginTop+ph/2, html.EscapeString(c.ylabel))
	// Lines, clipped to the plot area.
	fmt.Fprintf(&b, `<clipPath id="clip-%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></clipPath>`+"\n", id, sx(c.xmin), sy(c.ymax), pw, ph)
	fmt.Fprintf(&b, `<g clip-path="url(#clip-%s)" fill="none">`+"\n", id)
	for _, l := range c.lines {
		var pts strings.Builder
		for i, p := range l.pts {
			if i > 0 {
				pts.WriteByte(' ')
			}
			fmt.Fprintf(&pts, "%.1f,%.1f", sx(p.x), sy(clampY(p.y)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" stroke="%s" stroke-width="%g"%s><title>%s</title></polyline>`+"\n",
			pts.String(), l.colour, l.width, dashAttr(l.dash), html.EscapeString(l.label))
		if l.points {
			for _, p := range l.pts {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`+"\n", sx(p.x), sy(clampY(p.y)), l.colour)
			}
		}
	}
	b.WriteString("</g>\n")
	// The legend, one row per line, on a white box (text about 6.5
	// units a character).
	right := sx(c.xmax) - 8
	longest := 0
	for _, l := range c.lines {
		longest = max(longest, len([]rune(l.label)))
	}
	top := sy(c.ymax) + 4
	if c.legendBottom {
		top = sy(c.ymin) - 22 - 16*float64(len(c.lines)-1)
	}
	boxW := 6.5*float64(longest) + 44
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#ffffff" fill-opacity="0.85"/>`+"\n",
		right-boxW, top, boxW, 16*float64(len(c.lines))+4)
	for i, l := range c.lines {
		y := sy(c.ymax) + 16 + 16*float64(i)
		if c.legendBottom {
			y = sy(c.ymin) - 10 - 16*float64(len(c.lines)-1-i)
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%g"%s/>`+"\n",
			right-28, y-4, right, y-4, l.colour, l.width, dashAttr(l.dash))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", right-34, y, html.EscapeString(l.label))
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func dashAttr(d string) string {
	if d == "" {
		return ""
	}
	return ` stroke-dasharray="` + d + `"`
}
