package sim

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/doorstep-dev/doorstep/geo"
)

// Map size in CSS pixels.
const mapWidth = 460

// cellShape is a cell of a map: its corners projected to the page.
type cellShape struct {
	m      *CellMetrics
	points []float64 // x0 y0 x1 y1 ...
}

// projectCells places the cells of v on a page mapWidth wide: an
// equirectangular projection about the cells' mean latitude (faithful at
// city scale), north up.
func projectCells(v *VariantReport) ([]cellShape, float64) {
	type corner struct{ lat, lng float64 }
	shapes := make([]cellShape, 0, len(v.Cells))
	var all [][]corner
	minLat, maxLat, minLng, maxLng, sumLat := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1), 0.0
	for i := range v.Cells {
		c, err := geo.ParseCell(v.Cells[i].Cell)
		if err != nil {
			continue
		}
		var cs []corner
		for _, p := range c.Boundary() {
			cs = append(cs, corner{p.Lat, p.Lng})
			minLat, maxLat = min(minLat, p.Lat), max(maxLat, p.Lat)
			minLng, maxLng = min(minLng, p.Lng), max(maxLng, p.Lng)
		}
		sumLat += c.Center().Lat
		all = append(all, cs)
		shapes = append(shapes, cellShape{m: &v.Cells[i]})
	}
	if len(shapes) == 0 {
		return nil, 0
	}
	k := math.Cos(sumLat / float64(len(shapes)) * math.Pi / 180)
	w := (maxLng - minLng) * k
	h := maxLat - minLat
	scale := mapWidth / max(w, 1e-9)
	for i, cs := range all {
		for _, p := range cs {
			shapes[i].points = append(shapes[i].points, (p.lng-minLng)*k*scale, (maxLat-p.lat)*scale)
		}
	}
	return shapes, h * scale
}

// onTimeColour runs from red (no urgent request on time) through yellow
// to green (all on time).
func onTimeColour(share float64) string {
	share = min(max(share, 0), 1)
	r, g := 215.0, 48+(200-48)*share*2
	if share > 0.5 {
		r, g = 215-(215-26)*(share-0.5)*2, 200-(200-150)*(share-0.5)*2
	}
	return fmt.Sprintf("rgb(%.0f,%.0f,%.0f)", r, g, 60.0)
}

// unservedColour runs from white (none) to dark red (max).
func unservedColour(n, maxN int) string {
	if n == 0 || maxN == 0 {
		return "rgb(255,255,255)"
	}
	f := float64(n) / float64(maxN)
	return fmt.Sprintf("rgb(%.0f,%.0f,%.0f)", 255-(255-165)*f, 235-235*f, 225-210*f)
}

// CellMaps draws variant v's two maps as inline SVG: each H3 cell where
// requests came coloured by its urgent on-time share (grey: no urgent
// request) and by its unserved count. Hovering a cell shows its figures.
func CellMaps(v *VariantReport) (onTime, unserved template.HTML) {
	shapes, height := projectCells(v)
	if len(shapes) == 0 {
		return "", ""
	}
	maxUnserved := 0
	for _, s := range shapes {
		maxUnserved = max(maxUnserved, s.m.Unserved)
	}
	draw := func(title string, fill func(*CellMetrics) string) template.HTML {
		var b strings.Builder
		fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="-2 -2 %d %.0f" role="img" aria-label="%s">`,
			mapWidth+4, height+4, mapWidth+4, height+4, template.HTMLEscapeString(title))
		for _, s := range shapes {
			b.WriteString(`<polygon points="`)
			for i := 0; i < len(s.points); i += 2 {
				fmt.Fprintf(&b, "%.1f,%.1f ", s.points[i], s.points[i+1])
			}
			share := "no urgent request"
			if s.m.UrgentOnTimeShare != nil {
				share = fmt.Sprintf("%.0f%% of %d urgent on time", 100**s.m.UrgentOnTimeShare, s.m.UrgentRequests)
			}
			fmt.Fprintf(&b, `" fill="%s" stroke="#888" stroke-width="0.5"><title>cell %s: %d requests, %s, %d unserved</title></polygon>`,
				fill(s.m), s.m.Cell, s.m.Requests, share, s.m.Unserved)
		}
		b.WriteString(`</svg>`)
		return template.HTML(b.String()) // built from numbers and escaped text only
	}
	onTime = draw("urgent on-time share by H3 cell", func(m *CellMetrics) string {
		if m.UrgentOnTimeShare == nil {
			return "rgb(225,225,225)"
		}
		return onTimeColour(*m.UrgentOnTimeShare)
	})
	unserved = draw("unserved requests by H3 cell", func(m *CellMetrics) string { return unservedColour(m.Unserved, maxUnserved) })
	return onTime, unserved
}
