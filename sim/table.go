package sim

import (
	"fmt"
	"io"
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
