package sim

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// ErrNoTraces is returned by Run for a replay scenario when Options.Open is
// nil: the caller does not allow reading traces.
var ErrNoTraces = errors.New("replaying a trace is not available here (no trace opener)")

// cond is one column a rule matches: index and value.
type cond struct {
	col int
	val string
}

// compileWhere turns a Where into conditions on column indices, in column
// name order; an unknown column is an error naming field.
func compileWhere(field string, w Where, cols map[string]int) ([]cond, error) {
	names := make([]string, 0, len(w))
	for k := range w {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]cond, 0, len(w))
	for _, k := range names {
		i, ok := cols[strings.ToLower(strings.TrimSpace(k))]
		if !ok {
			return nil, bad(field+"."+k, "the trace has no column %q", k)
		}
		out = append(out, cond{col: i, val: strings.TrimSpace(w[k])})
	}
	return out, nil
}

func matches(cs []cond, rec []string) bool {
	for _, c := range cs {
		if c.col >= len(rec) || !strings.EqualFold(strings.TrimSpace(rec[c.col]), c.val) {
			return false
		}
	}
	return true
}

// replay reads the scenario's trace: the rows of the horizon, mapped by the
// rules, deduplicated, ordered by time (rows of the same minute keep their
// order in the file).
func (s *Scenario) replay(r *rand.Rand, opts *Options) ([]arrival, *TraceStats, error) {
	rp := s.Demand.Replay
	if opts.Open == nil {
		return nil, nil, ErrNoTraces
	}
	f, err := opts.Open(rp.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("open trace %s: %w", rp.Path, err)
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("read trace %s: header: %w", rp.Path, err)
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.ToLower(strings.TrimSpace(h))] = i
	}
	col := func(field, name string) (int, error) {
		i, ok := cols[strings.ToLower(name)]
		if !ok {
			return 0, bad("demand.replay."+field, "the trace has no column %q (columns: %s)", name, strings.Join(header, ", "))
		}
		return i, nil
	}
	ti, err := col("time_column", rp.TimeColumn)
	if err != nil {
		return nil, nil, err
	}
	lati, err := col("lat_column", rp.LatColumn)
	if err != nil {
		return nil, nil, err
	}
	lngi, err := col("lng_column", rp.LngColumn)
	if err != nil {
		return nil, nil, err
	}
	regi := -1
	if rp.RegionColumn != "" {
		if regi, err = col("region_column", rp.RegionColumn); err != nil {
			return nil, nil, err
		}
	}
	rules := make([][]cond, len(rp.Rules))
	for i := range rp.Rules {
		if rules[i], err = compileWhere(fmt.Sprintf("demand.replay.rules[%d].where", i), rp.Rules[i].Where, cols); err != nil {
			return nil, nil, err
		}
	}
	skips := make([][]cond, len(rp.Skip))
	for i, w := range rp.Skip {
		if skips[i], err = compileWhere(fmt.Sprintf("demand.replay.skip[%d]", i), w, cols); err != nil {
			return nil, nil, err
		}
	}

	st := &TraceStats{}
	end := s.Start.Add(s.horizon())
	dedupe := time.Duration(rp.DedupeMinutes * float64(time.Minute))
	lastSeen := map[string]time.Time{}
	var out []arrival
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read trace %s: %w", rp.Path, err)
		}
		st.Rows++
		field := func(i int) string { return strings.TrimSpace(rec[i]) }
		at, terr := time.Parse(time.RFC3339, field(ti))
		lat, laterr := strconv.ParseFloat(field(lati), 64)
		lng, lngerr := strconv.ParseFloat(field(lngi), 64)
		loc := doorstep.Location{Lat: lat, Lng: lng}
		if terr != nil || laterr != nil || lngerr != nil || loc.Validate("location") != nil || (lat == 0 && lng == 0) {
			st.Unparseable++
			continue
		}
		if at.Before(s.Start) || !at.Before(end) {
			st.OutsideHorizon++
			continue
		}
		if slices.ContainsFunc(skips, func(c []cond) bool { return matches(c, rec) }) {
			st.Skipped++
			continue
		}
		k := slices.IndexFunc(rules, func(c []cond) bool { return matches(c, rec) })
		rule := rp.Default
		if k >= 0 {
			rule = &rp.Rules[k]
		}
		if rule == nil {
			st.Unmapped++
			continue
		}
		if dedupe > 0 {
			key := strconv.Itoa(k) + "|" + field(lati) + "|" + field(lngi)
			if last, ok := lastSeen[key]; ok && at.Sub(last).Abs() < dedupe {
				st.Duplicates++
				continue
			}
			lastSeen[key] = at
		}
		req := doorstep.Request{Service: rule.Service, Urgency: rule.Urgency, Location: loc, RequestedAt: at.In(s.Start.Location())}
		req.Duration = drawDuration(r, rule.DurationMinutes)
		s.drawWindow(r, &req)
		s.drawAhead(r, &req)
		a := arrival{req: req}
		if regi >= 0 {
			a.region = strings.ToLower(field(regi))
			if a.region == "" {
				a.region = otherRegion
			}
		} else {
			a.region = s.regionOf(loc)
		}
		st.Requests++
		if req.Urgency == doorstep.Urgent {
			st.UrgentRequests++
		}
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b arrival) int { return a.req.RequestedAt.Compare(b.req.RequestedAt) })
	return out, st, nil
}
