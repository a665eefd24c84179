package sim

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// levers say, for the main cause of the misses, what to try next.
var levers = map[string]string{
	CauseStructural: "nobody in the roster could serve them on an empty day: add a group with the skills they need, or shifts at the hours they come",
	CauseOutOfReach: "nobody qualified lives near enough: add workers homed where they come (add_workers with homes in that region)",
	CauseShiftEnd:   "workers nearby could start them but not finish before their shift ends: try later or longer shifts, breaks away from the shift's end, or urgent overtime (urgent_overtime_minutes)",
	CauseBusyNormal: "workers nearby were held by normal work that had not started: a policy that keeps urgent capacity free or re-plans normal work, or more workers at those hours",
	CauseBusyUrgent: "workers nearby were all on urgent work or jobs already under way: more workers of those services at those hours",
}

// Summarize writes the report's summary: what each variant changed and
// what it did to each promise (with the 95% interval and whether the
// change is beyond the spread of seeds, in a replicated report), the main
// cause of the baseline's remaining misses, where and when they
// concentrate, and the lever to try next. It reads nothing but the report.
func Summarize(r *Report) []string {
	if len(r.Variants) == 0 {
		return nil
	}
	var out []string
	rep := r.Replications
	b := &r.Variants[0]
	seeds := fmt.Sprintf("seed %d", r.Seed)
	if rep != nil {
		seeds = fmt.Sprintf("the mean over %d seeds (%d-%d) with its 95%% confidence interval", rep.Count, rep.Seeds[0], rep.Seeds[len(rep.Seeds)-1])
	}
	out = append(out, fmt.Sprintf("%s (%s): urgent requests reached within the hour %s; normal requests started within 24 hours %s; %s unserved of %s requests. Figures are %s.",
		b.Name, b.Change, figure(b, "urgent_on_time_share", true), figure(b, "normal_within_24h_share", true),
		figure(b, "unserved", false), figure(b, "requests", false), seeds))
	if rep == nil {
		out = append(out, "One seed is one draw of the day: differences of a few points between variants may be chance. Run with -replications 10 for confidence intervals.")
	}
	if causes := b.Totals.MissesByCause; len(causes) > 0 {
		keys := slices.Collect(maps.Keys(causes))
		slices.SortFunc(keys, func(x, y string) int { return cmp.Or(cmp.Compare(causes[y], causes[x]), cmp.Compare(x, y)) })
		top := keys[0]
		where := ""
		if h := worstHour(b); h != "" {
			where = " They concentrate " + h
			if rg := worstRegion(b); rg != "" {
				where += " and in " + rg
			}
			where += "."
		}
		out = append(out, fmt.Sprintf("Of the %s's %d unserved requests (seed %d), %d are %s: %s.%s",
			b.Name, b.Totals.Unserved, r.Seed, causes[top], top, levers[top], where))
	}
	for i := 1; i < len(r.Variants); i++ {
		v := &r.Variants[i]
		out = append(out, fmt.Sprintf("%s (%s): urgent within the hour %s, normal within 24 hours %s, unserved %s.%s",
			v.Name, v.Change, change(r, v, "urgent_on_time_share", true), change(r, v, "normal_within_24h_share", true), change(r, v, "unserved", false),
			overtime(v)))
	}
	return out
}

// overtime says what urgent overtime a variant used (its price), when it
// used any and its baseline-relative figures would not show it.
func overtime(v *VariantReport) string {
	if v.Totals.OvertimeJobs == 0 && v.Replications["overtime_jobs"].Mean == 0 {
		return ""
	}
	return fmt.Sprintf(" Jobs run past their shift's end: %s, %s minutes over in all.", figure(v, "overtime_jobs", false), figure(v, "overtime_minutes", false))
}

// figure formats a variant's metric: its value, or its mean and interval
// in a replicated report.
func figure(v *VariantReport, field string, share bool) string {
	f, unit := 1.0, ""
	if share {
		f, unit = 100, "%"
	}
	if iv, ok := v.Replications[field]; ok && iv.CI95Low != nil {
		return fmt.Sprintf("%.1f%s (%.1f-%.1f)", iv.Mean*f, unit, *iv.CI95Low*f, *iv.CI95High*f)
	}
	m, err := numericFields(&v.Totals)
	if err != nil {
		return "–"
	}
	x, ok := m[field]
	if !ok {
		return "–"
	}
	if share {
		return fmt.Sprintf("%.1f%s", x*f, unit)
	}
	return fmt.Sprintf("%g", x)
}

// change formats a variant's metric against the first variant's.
func change(r *Report, v *VariantReport, field string, share bool) string {
	f, unit := 1.0, ""
	if share {
		f, unit = 100, " points"
	}
	if d, ok := v.Differences[field]; ok && d.CI95Low != nil {
		if d.Mean == 0 && d.SD == 0 {
			return "unchanged on every seed"
		}
		verdict := "within the spread of seeds: not distinguishable from no change"
		if d.Significant {
			verdict = "significant over the seeds"
		}
		return fmt.Sprintf("%+.1f%s (95%% interval %+.1f to %+.1f; %s)", d.Mean*f, unit, *d.CI95Low*f, *d.CI95High*f, verdict)
	}
	a, err1 := numericFields(&r.Variants[0].Totals)
	b, err2 := numericFields(&v.Totals)
	x, ok1 := a[field]
	y, ok2 := b[field]
	if err1 != nil || err2 != nil || !ok1 || !ok2 {
		return "–"
	}
	return fmt.Sprintf("%+.1f%s (one seed)", (y-x)*f, unit)
}

// worstHour names the local hour with the most unserved requests, when it
// holds at least a fifth of them.
func worstHour(v *VariantReport) string {
	best, n := -1, 0
	for i, h := range v.Hours {
		if h.Unserved > n {
			best, n = i, h.Unserved
		}
	}
	if best < 0 || 5*n < v.Totals.Unserved {
		return ""
	}
	start := v.Hours[best].Start
	if len(start) >= 16 {
		start = start[11:16] // HH:MM of the RFC 3339 time, local to the scenario
	}
	return fmt.Sprintf("in the hour from %s (%d of them)", start, n)
}

// worstRegion names the region with the most unserved requests, when it
// holds at least a third of them.
func worstRegion(v *VariantReport) string {
	best, n := "", 0
	for _, r := range v.Regions {
		if r.Unserved > n || r.Unserved == n && strings.Compare(r.Region, best) < 0 {
			best, n = r.Region, r.Unserved
		}
	}
	if best == "" || 3*n < v.Totals.Unserved {
		return ""
	}
	return fmt.Sprintf("region %s (%d)", best, n)
}
