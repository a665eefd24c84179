package sim

import (
	"fmt"
	"io"
	"strings"
)

// WriteTable writes the key table of the variants in Markdown.
func WriteTable(w io.Writer, r *Report) error {
	_, err := fmt.Fprintln(w, "| variant | change | workers | requests | urgent | urgent on time | urgent p50 / p95 min | normal within 24 h | unserved | km / job | utilisation | Gini |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	if err != nil {
		return err
	}
	for _, v := range r.Variants {
		t := &v.Totals
		_, err := fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %s | %s / %s | %s | %d | %s | %s | %s |\n",
			v.Name, v.Change, v.Workers, t.Requests, t.UrgentRequests, fmtShare(t.UrgentOnTimeShare),
			fmtNum(t.UrgentArrivalP50Minutes), fmtNum(t.UrgentArrivalP95Minutes), fmtShare(t.NormalWithin24hShare),
			t.Unserved, fmtNum(t.TravelKmPerJob), fmtShare(t.Utilisation), fmtNum(t.FairnessGini))
		if err != nil {
			return err
		}
	}
	return nil
}

// replicatedMetrics are the totals fields the replicated table shows, with
// their column titles and whether they are shares (shown in percent).
var replicatedMetrics = []struct {
	Field, Title string
	Share        bool
}{
	{"urgent_on_time_share", "urgent on time", true},
	{"normal_within_24h_share", "normal within 24 h", true},
	{"unserved", "unserved", false},
	{"travel_km_per_job", "km / job", false},
	{"utilisation", "utilisation", true},
}

// ReplicatedRow is one variant of the replicated table: per metric, the
// mean with its 95% interval and, after the first variant, the paired
// difference to it (marked * when significant).
type ReplicatedRow struct {
	Name  string
	Cells []string
}

// ReplicatedTable returns the replicated table's titles and rows, or nil
// for a report of one seed.
func ReplicatedTable(r *Report) (titles []string, rows []ReplicatedRow) {
	if r.Replications == nil {
		return nil, nil
	}
	for _, m := range replicatedMetrics {
		titles = append(titles, m.Title, "Δ "+m.Title)
	}
	for i, v := range r.Variants {
		row := ReplicatedRow{Name: v.Name}
		for _, m := range replicatedMetrics {
			f := 1.0
			unit := ""
			if m.Share {
				f, unit = 100, " pts"
			}
			iv, ok := v.Replications[m.Field]
			switch {
			case !ok || iv.N == 0:
				row.Cells = append(row.Cells, "–")
			case iv.CI95Low == nil:
				row.Cells = append(row.Cells, fmt.Sprintf("%.2f", iv.Mean*f))
			default:
				row.Cells = append(row.Cells, fmt.Sprintf("%.2f [%.2f, %.2f]", iv.Mean*f, *iv.CI95Low*f, *iv.CI95High*f))
			}
			d, ok := v.Differences[m.Field]
			switch {
			case i == 0:
				row.Cells = append(row.Cells, "")
			case !ok || d.CI95Low == nil:
				row.Cells = append(row.Cells, "–")
			default:
				mark := ""
				if d.Significant {
					mark = " *"
				}
				row.Cells = append(row.Cells, fmt.Sprintf("%+.2f%s [%+.2f, %+.2f]%s", d.Mean*f, unit, *d.CI95Low*f, *d.CI95High*f, mark))
			}
		}
		rows = append(rows, row)
	}
	return titles, rows
}

// WriteReplicatedTable writes, for a replicated report, each variant's
// means with their 95% confidence intervals and the paired differences to
// the first variant; nothing for a report of one seed.
func WriteReplicatedTable(w io.Writer, r *Report) error {
	titles, rows := ReplicatedTable(r)
	if titles == nil {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\nOver %d seeds (%d-%d): mean [95%% CI]; Δ is the difference to %s paired by seed, * where significant.\n\n| variant | %s |\n|---|%s\n",
		r.Replications.Count, r.Replications.Seeds[0], r.Replications.Seeds[len(r.Replications.Seeds)-1], r.Variants[0].Name,
		strings.Join(titles, " | "), strings.Repeat("--:|", len(titles))); err != nil {
		return err
	}
	for _, row := range rows {
		if _, err := fmt.Fprintf(w, "| %s | %s |\n", row.Name, strings.Join(row.Cells, " | ")); err != nil {
			return err
		}
	}
	return nil
}
