package sim

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// WriteHTML writes a self-contained HTML page of the report: the key table
// of the variants, the charts (inline SVG) and, per variant, the
// tables by region and by hour.
func WriteHTML(w io.Writer, r *Report, charts []Chart) error {
	type img struct {
		Title string
		SVG   template.HTML
	}
	imgs := make([]img, len(charts))
	for i, c := range charts {
		// Charts renders well-formed SVG with every text escaped.
		imgs[i] = img{Title: c.Title, SVG: template.HTML(c.SVG)}
	}
	titles, rows := ReplicatedTable(r)
	return pageTemplate.Execute(w, struct {
		R      *Report
		Charts []img
		Titles []string
		Rows   []ReplicatedRow
	}{r, imgs, titles, rows})
}

// fmtShare formats a share as a percentage, "–" for none.
func fmtShare(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100**v)
}

// fmtNum formats a number with two decimals, "–" for none.
func fmtNum(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.2f", *v)
}

// fmtClock formats an RFC 3339 hour start as the local clock time of the
// scenario (its UTC offset), with the day.
func fmtClock(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Format("Mon 15:04")
}

// fmtCauses formats misses by cause, most first.
func fmtCauses(m map[string]int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// cellMaps is CellMaps for the template.
func cellMaps(v VariantReport) struct{ OnTime, Unserved template.HTML } {
	a, b := CellMaps(&v)
	return struct{ OnTime, Unserved template.HTML }{a, b}
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"share":  fmtShare,
	"num":    fmtNum,
	"clock":  fmtClock,
	"causes": fmtCauses,
	"maps":   cellMaps,
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.R.Scenario}}: simulation report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child, td.l { text-align: left; }
thead th { background: #f2f2f2; }
figure.chart { margin: 0.5em 0; } figure.chart svg { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { color: #555; font-size: 0.9em; }
.maps { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figcaption { color: #555; font-size: 0.85em; max-width: 460px; }
dt { font-weight: 600; } dd { margin: 0 0 0.5em 1em; color: #333; }
</style>
</head>
<body>
<h1>{{.R.Scenario}}</h1>
{{range .R.Summary}}<p>{{.}}</p>
{{end}}<p class="note">Seed {{.R.Seed}}, scale {{.R.Scale}}, {{.R.HorizonHours}} hours from {{.R.Start}}.
Urgent: a worker arrives within 60 minutes; normal: the service starts within 24 hours (inside the window when one is asked).
A request that cannot be placed within its class is unserved, never placed late.</p>
{{with .R.Trace}}<p class="note">Trace: {{.Rows}} rows; {{.Requests}} requests ({{.UrgentRequests}} urgent) after {{.OutsideHorizon}} outside the horizon, {{.Skipped}} skipped, {{.Unmapped}} unmapped, {{.Duplicates}} duplicates, {{.Unparseable}} unparseable; {{.ScaledRequests}} at this scale.</p>{{end}}
<h2>Variants</h2>
<table>
<thead><tr><th>variant</th><th>change</th><th>policy</th><th>workers</th><th>requests</th><th>urgent</th><th>urgent on time</th><th>urgent p50 min</th><th>urgent p95 min</th><th>normal within 24 h</th><th>unserved</th><th>km / job</th><th>utilisation</th><th>fairness (Gini)</th></tr></thead>
<tbody>
{{range .R.Variants}}<tr><td>{{.Name}}</td><td class="l">{{.Change}}</td><td class="l">{{.Policy}}</td><td>{{.Workers}}</td><td>{{.Totals.Requests}}</td><td>{{.Totals.UrgentRequests}}</td><td>{{share .Totals.UrgentOnTimeShare}}</td><td>{{num .Totals.UrgentArrivalP50Minutes}}</td><td>{{num .Totals.UrgentArrivalP95Minutes}}</td><td>{{share .Totals.NormalWithin24hShare}}</td><td>{{.Totals.Unserved}}</td><td>{{num .Totals.TravelKmPerJob}}</td><td>{{share .Totals.Utilisation}}</td><td>{{num .Totals.FairnessGini}}</td></tr>
{{end}}</tbody>
</table>
{{with .R.Replications}}<h2>Over {{.Count}} seeds</h2>
<p class="note">The table above is of seed {{index .Seeds 0}}. Here each figure is the mean over seeds {{range $i, $s := .Seeds}}{{if $i}}, {{end}}{{$s}}{{end}} with its 95% confidence interval; Δ is the difference to the first variant paired by seed (the same demand draw), marked * where its interval excludes zero.</p>{{end}}
{{if .Titles}}<table>
<thead><tr><th>variant</th>{{range .Titles}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr><td>{{.Name}}</td>{{range .Cells}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>{{end}}
{{range .Charts}}<h3>{{.Title}}</h3>
<figure class="chart">{{.SVG}}</figure>
{{end}}
{{range .R.Variants}}<h2>{{.Name}}</h2>
<p class="note">Unserved by reason (the rule the server's 422 names): {{range $k, $v := .UnservedByReason}}{{$k}} {{$v}}; {{else}}none{{end}}</p>
<p class="note">Unserved by cause (what would have served them): {{range $k, $v := .Totals.MissesByCause}}{{$k}} {{$v}}; {{else}}none{{end}}.
structural: nobody in the roster could on an empty day (skills, or no shift at those hours); out_of_reach: nobody qualified lives near enough; shift_end: a worker nearby could start but not finish before the shift ends; busy_normal: a worker nearby was held by normal work not yet started, which re-planning or urgent-capacity protection could have put elsewhere; busy_urgent: workers nearby were held by urgent work or jobs already started.</p>
{{with maps .}}{{if .OnTime}}<div class="maps"><figure>{{.OnTime}}<figcaption>Urgent on-time share by H3 cell (resolution 7, about 5 km²): red none, yellow half, green all; grey no urgent request. Hover a cell for its figures.</figcaption></figure>
<figure>{{.Unserved}}<figcaption>Unserved requests by H3 cell: white none, dark red the most of any cell.</figcaption></figure></div>{{end}}{{end}}
{{with .Totals.ByService}}<details><summary>By service ({{len .}})</summary>
<table>
<thead><tr><th>service</th><th>requests</th><th>urgent</th><th>urgent on time</th><th>p95</th><th>normal within 24 h</th><th>unserved</th><th>unserved by cause</th><th>km / job</th></tr></thead>
<tbody>
{{range $name, $m := .}}<tr><td>{{$name}}</td><td>{{$m.Requests}}</td><td>{{$m.UrgentRequests}}</td><td>{{share $m.UrgentOnTimeShare}}</td><td>{{num $m.UrgentArrivalP95Minutes}}</td><td>{{share $m.NormalWithin24hShare}}</td><td>{{$m.Unserved}}</td><td class="l">{{causes $m.MissesByCause}}</td><td>{{num $m.TravelKmPerJob}}</td></tr>
{{end}}</tbody>
</table>
</details>{{end}}
<details><summary>By region ({{len .Regions}})</summary>
<table>
<thead><tr><th>region</th><th>workers</th><th>requests</th><th>urgent</th><th>urgent on time</th><th>p50</th><th>p95</th><th>normal within 24 h</th><th>unserved</th><th>km / job</th><th>utilisation</th><th>Gini</th></tr></thead>
<tbody>
{{range .Regions}}<tr><td>{{.Region}}</td><td>{{.Workers}}</td><td>{{.Requests}}</td><td>{{.UrgentRequests}}</td><td>{{share .UrgentOnTimeShare}}</td><td>{{num .UrgentArrivalP50Minutes}}</td><td>{{num .UrgentArrivalP95Minutes}}</td><td>{{share .NormalWithin24hShare}}</td><td>{{.Unserved}}</td><td>{{num .TravelKmPerJob}}</td><td>{{share .Utilisation}}</td><td>{{num .FairnessGini}}</td></tr>
{{end}}</tbody>
</table>
</details>
<details><summary>By hour</summary>
<table>
<thead><tr><th>hour (local)</th><th>requests</th><th>urgent</th><th>urgent on time</th><th>p50</th><th>p95</th><th>normal within 24 h</th><th>unserved</th><th>km / job</th><th>utilisation</th><th>Gini</th></tr></thead>
<tbody>
{{range .Hours}}<tr><td>{{clock .Start}}</td><td>{{.Requests}}</td><td>{{.UrgentRequests}}</td><td>{{share .UrgentOnTimeShare}}</td><td>{{num .UrgentArrivalP50Minutes}}</td><td>{{num .UrgentArrivalP95Minutes}}</td><td>{{share .NormalWithin24hShare}}</td><td>{{.Unserved}}</td><td>{{num .TravelKmPerJob}}</td><td>{{share .Utilisation}}</td><td>{{num .FairnessGini}}</td></tr>
{{end}}</tbody>
</table>
</details>
{{end}}
<h2>Terms</h2>
<dl>
<dt>urgent on time</dt><dd>the share of urgent requests a worker reached within 60 minutes of the request; an unserved urgent request counts as late.</dd>
<dt>normal within 24 h</dt><dd>the share of normal requests whose service started within 24 hours of the request, inside the customer's window when one was asked.</dd>
<dt>unserved</dt><dd>requests no worker could take within their promise: Doorstep never books one late.</dd>
<dt>utilisation</dt><dd>booked service minutes over shift minutes (breaks excluded), within the horizon; travel is not service.</dd>
<dt>fairness (Gini)</dt><dd>how unevenly booked minutes spread over the workers on shift: 0 when everyone works the same, towards 1 when a few do all the work.</dd>
<dt>p50 / p95</dt><dd>the median and the 95th percentile of minutes from an urgent request to the worker's arrival.</dd>
<dt>95% interval, significant</dt><dd>with several seeds, the range that holds the true mean with 95% confidence (Student's t); a difference to the first variant is significant when its interval, paired by seed, excludes zero.</dd>
</dl>
</body>
</html>
`))
