package load

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteText prints the report as a table, one line an operation, and a
// warning for each operation the server has no endpoint for.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "target %s, %d workers, %d/s for %v (elapsed %v)\n", r.Target, r.Workers, r.Rate, r.Duration, r.Elapsed.Round(1e6))
	fmt.Fprintf(w, "%-10s %7s %7s %9s %7s %9s %9s %9s %9s  %s\n", "op", "sent", "failed", "answers/s", "skipped", "p50", "p95", "p99", "max", "status")
	for _, o := range append(slices.Clone(r.Ops), r.Total) {
		fmt.Fprintf(w, "%-10s %7d %7d %9.1f %7d %9s %9s %9s %9s  %s\n", o.Name, o.Sent, o.Failed, o.Throughput, o.Skipped,
			o.P50, o.P95, o.P99, o.Max, o.statusText())
	}
	// Each status's latencies apart, where an operation had more than one;
	// then each class's, where it sent several.
	for _, o := range r.Ops {
		writeApart(w, o.Name, "status", o.ByStatus, func(code int, l Latency) string {
			return fmt.Sprintf("%d: p50 %s p99 %s max %s (%d)", code, l.P50, l.P99, l.Max, l.Answers)
		})
	}
	for _, o := range r.Ops {
		writeApart(w, o.Name, "class", o.ByClass, func(class string, l ClassLatency) string {
			return fmt.Sprintf("%s: p50 %s p99 %s max %s (%s)", class, l.P50, l.P99, l.Max, strings.Join(countsText(l.Status), " "))
		})
	}
	// What the server reported of the same answers (Server-Timing).
	for _, o := range r.Ops {
		if l := o.Server; l != nil {
			fmt.Fprintf(w, "%s:server p50 %s p99 %s max %s (%d answers timed)\n", o.Name, l.P50, l.P99, l.Max, l.Answers)
		}
	}
	for _, o := range r.Ops {
		if o.Missing {
			fmt.Fprintf(w, "warning: every %s request was answered 404: the server has no such endpoint\n", o.Name)
		}
	}
}

// writeApart prints op's answers apart by what, one part a key of m in
// order ("op:by-what part; part"), when m has more than one key.
func writeApart[K cmp.Ordered, V any](w io.Writer, op, what string, m map[K]V, part func(K, V) string) {
	if len(m) < 2 {
		return
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, part(k, m[k]))
	}
	fmt.Fprintf(w, "%s:by-%s %s\n", op, what, strings.Join(parts, "; "))
}

// countsText spells answers counted by status, "200:3902", in order.
func countsText(status map[int]int) []string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(status)) {
		parts = append(parts, fmt.Sprintf("%d:%d", code, status[code]))
	}
	return parts
}

func (o *OpStats) statusText() string {
	parts := countsText(o.Status)
	errs := 0
	for _, n := range o.Errors {
		errs += n
	}
	if errs > 0 {
		parts = append(parts, fmt.Sprintf("no-answer:%d", errs))
	}
	return strings.Join(parts, " ")
}

// RowHeader is the header of the markdown table Row writes.
const RowHeader = "| server | workers | op | rate/s | sent | failed | p50 | p95 | p99 | max | server heap/worker | server RSS/worker | Redis used_memory/worker | load avg (start / end) |\n" +
	"|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"

// Rows are markdown table rows of the report, one an operation: the rows of
// bench/RESULTS.md's load tables (RowHeader). label names the server (its
// store and settings); the memory columns — after the run, per worker of
// the city — and the load average come from Extra (doorstep load fills
// them).
func (r *Report) Rows(label string) string {
	var b strings.Builder
	heap, _ := r.Extra["server_heap_after_per_worker_bytes"].(float64)
	rss, _ := r.Extra["server_rss_after_per_worker_bytes"].(float64)
	redis, _ := r.Extra["redis_used_memory_after_per_worker_bytes"].(float64)
	loadavg, _ := r.Extra["loadavg"].(string)
	bytesCol := func(v float64) string {
		if v == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f B", v)
	}
	for _, o := range r.Ops {
		rate := float64(r.Rate) * float64(o.Sent) / float64(max(1, r.Total.Sent))
		fmt.Fprintf(&b, "| %s | %d | %s | %.0f | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", label, r.Workers, o.Name, rate,
			o.Sent, o.Failed, o.P50, o.P95, o.P99, o.Max, bytesCol(heap), bytesCol(rss), bytesCol(redis), loadavg)
	}
	return b.String()
}
