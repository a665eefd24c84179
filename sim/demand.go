package sim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// arrival is one request of the demand with its report region.
type arrival struct {
	req    doorstep.Request
	region string
	// retryOf, for a request asked again the next day, is the id of the
	// first request (Disruptions.CarryOver).
	retryOf string
}

// demand is the baseline demand draw with what the trace reader counted.
type demand struct {
	arrivals []arrival
	trace    *TraceStats
}

// TraceStats counts what became of a replayed trace's rows.
type TraceStats struct {
	Rows           int `json:"rows"`
	OutsideHorizon int `json:"outside_horizon"`
	Unparseable    int `json:"unparseable"`
	Skipped        int `json:"skipped"`
	Unmapped       int `json:"unmapped"`
	Duplicates     int `json:"duplicates"`
	Requests       int `json:"requests"`
	UrgentRequests int `json:"urgent_requests"`
	ScaledRequests int `json:"scaled_requests"`
}

// roundTo rounds d to a multiple of unit (at least one unit).
func roundTo(d, unit time.Duration) time.Duration {
	return max(unit, d.Round(unit))
}

// uniform draws from the range r.
func uniform(r *rand.Rand, rg Range) float64 { return rg[0] + r.Float64()*(rg[1]-rg[0]) }

// drawDuration draws a duration from the range in minutes, rounded to 5
// minutes; a nil range is the catalogue's default (zero).
func drawDuration(r *rand.Rand, rg Range) time.Duration {
	if rg == nil {
		return 0
	}
	return roundTo(time.Duration(uniform(r, rg)*float64(time.Minute)), 5*time.Minute)
}

// drawWindow gives a normal request a window with the scenario's
// probability. It always makes the same draws, so that what follows does
// not depend on the outcome.
func (s *Scenario) drawWindow(r *rand.Rand, req *doorstep.Request) {
	w := s.Demand.Windows
	if w == nil {
		return
	}
	hit := r.Float64() < w.Share
	after := roundTo(time.Duration(uniform(r, w.StartAfterHours)*float64(time.Hour)), 15*time.Minute)
	length := roundTo(time.Duration(uniform(r, w.LengthHours)*float64(time.Hour)), 15*time.Minute)
	if !hit || req.Urgency != doorstep.Normal {
		return
	}
	start := req.RequestedAt.Add(after)
	if ch := w.ClockHours; ch != nil {
		start = intoClockHours(start, ch[0], ch[1])
	}
	end := earliest(start.Add(length), req.RequestedAt.Add(doorstep.NormalStart))
	if end.Sub(start) < 15*time.Minute {
		return
	}
	req.Window = &doorstep.Window{Start: start, End: end}
}

// drawAhead makes a normal request an appointment booked ahead with the
// scenario's probability (Demand.Ahead). Like drawWindow, it always makes
// the same draws.
func (s *Scenario) drawAhead(r *rand.Rand, req *doorstep.Request) {
	a := s.Demand.Ahead
	if a == nil {
		return
	}
	clock, length := a.ClockHours, a.LengthHours
	if clock == nil {
		clock = Range{8, 16}
	}
	if length == nil {
		length = Range{2, 2}
	}
	hit := r.Float64() < a.Share
	lead := int(math.Round(uniform(r, a.LeadDays)))
	open := roundTo(time.Duration(uniform(r, clock)*float64(time.Hour)), 15*time.Minute)
	long := roundTo(time.Duration(uniform(r, length)*float64(time.Hour)), 15*time.Minute)
	if !hit || req.Urgency != doorstep.Normal {
		return
	}
	y, m, d := req.RequestedAt.Date()
	start := time.Date(y, m, d+lead, 0, 0, 0, 0, req.RequestedAt.Location()).Add(open)
	req.Window = &doorstep.Window{Start: start, End: start.Add(long)}
}

// drawDemand draws the baseline demand: synthetic or replayed.
func (s *Scenario) drawDemand(opts *Options) (*demand, error) {
	r := newRand(s.Seed, streamDemand)
	var d demand
	var err error
	if s.Demand.Synthetic != nil {
		d.arrivals = s.synthetic(r)
	} else if d.arrivals, d.trace, err = s.replay(r, opts); err != nil {
		return nil, err
	}
	for i := range d.arrivals {
		d.arrivals[i].req.ID = fmt.Sprintf("r%06d", i)
	}
	if d.trace != nil && s.Scale != 1 {
		// A trace is what it is: scaling thins it or copies its rows.
		all := func(*arrival) bool { return true }
		d.arrivals = s.multiply(r, d.arrivals, all, s.Scale, s.Start, s.Start.Add(s.horizon()))
	}
	if d.trace != nil {
		d.trace.ScaledRequests = len(d.arrivals)
	}
	for i := range d.arrivals {
		if err := s.catalogue.Resolve(&d.arrivals[i].req); err != nil {
			return nil, fmt.Errorf("sim: request %d: %w", i, err)
		}
	}
	if dd := s.Disruptions; dd != nil && dd.CarryOver {
		d.arrivals = s.addRetries(d.arrivals)
	}
	return &d, nil
}

// hourWeights is the HourlyProfile scaled to a mean of 1 (all ones without
// a profile): the factor of each clock hour on RequestsPerHour.
func (y *Synthetic) hourWeights() [24]float64 {
	var w [24]float64
	for h := range w {
		w[h] = 1
	}
	if len(y.HourlyProfile) == 24 {
		mean := 0.0
		for _, v := range y.HourlyProfile {
			mean += v / 24
		}
		for h, v := range y.HourlyProfile {
			w[h] = v / mean
		}
	}
	return w
}

// synthetic draws Poisson arrivals hour by hour.
func (s *Scenario) synthetic(r *rand.Rand) []arrival {
	y := s.Demand.Synthetic
	profile := y.hourWeights()
	places := y.Hotspots
	if len(places) == 0 {
		places = s.areaPlaces()
	}
	weights := make([]float64, len(y.Services))
	total := 0.0
	for i, m := range y.Services {
		weights[i] = m.Weight
		total += m.Weight
	}
	end := s.Start.Add(s.horizon())
	var out []arrival
	for hs := s.Start; hs.Before(end); hs = hs.Add(time.Hour) {
		he := earliest(hs.Add(time.Hour), end)
		rate := y.RequestsPerHour * s.Scale * profile[hs.Hour()] // per hour
		if rate <= 0 {
			continue
		}
		t := hs
		for {
			t = t.Add(time.Duration(r.ExpFloat64() / rate * float64(time.Hour)))
			if !t.Before(he) {
				break
			}
			out = append(out, s.syntheticRequest(r, t.Truncate(time.Second), places, weights, total))
		}
	}
	return out
}

func (s *Scenario) syntheticRequest(r *rand.Rand, at time.Time, places []Place, weights []float64, total float64) arrival {
	y := s.Demand.Synthetic
	x := r.Float64() * total
	k := len(weights) - 1
	for i, w := range weights {
		if x < w {
			k = i
			break
		}
		x -= w
	}
	m := &y.Services[k]
	share := y.UrgentShare
	if m.UrgentShare != nil {
		share = *m.UrgentShare
	}
	req := doorstep.Request{Service: m.Service, Urgency: doorstep.Normal, RequestedAt: at}
	if r.Float64() < share {
		req.Urgency = doorstep.Urgent
	}
	req.Location = pick(r, places).point(r)
	req.Duration = drawDuration(r, m.DurationMinutes)
	s.drawWindow(r, &req)
	s.drawAhead(r, &req)
	return arrival{req: req, region: s.regionOf(req.Location)}
}

// Copies made by multiply move by up to this much.
const (
	copyJitter   = 15 * time.Minute
	copyJitterKm = 1.0
)

// multiply scales the arrivals for which sel is true by factor: each is
// kept with probability factor when factor < 1; otherwise it is kept and
// copied floor(factor-1) times, plus once more with probability
// frac(factor-1). Copies move by up to copyJitter (within [lo, hi)) and
// copyJitterKm, and take the id of their original with a suffix. The result
// is ordered by arrival, then id.
func (s *Scenario) multiply(r *rand.Rand, in []arrival, sel func(*arrival) bool, factor float64, lo, hi time.Time) []arrival {
	out := make([]arrival, 0, len(in))
	for i := range in {
		a := &in[i]
		if !sel(a) {
			out = append(out, *a)
			continue
		}
		u := r.Float64()
		if factor < 1 {
			if u < factor {
				out = append(out, *a)
			}
			continue
		}
		out = append(out, *a)
		extra := factor - 1
		n := int(math.Floor(extra))
		if u < extra-float64(n) {
			n++
		}
		for c := range n {
			out = append(out, s.copyOf(r, a, c, lo, hi))
		}
	}
	sortArrivals(out)
	return out
}

// sortArrivals orders arrivals by time, then id: the order the engine
// handles them in.
func sortArrivals(arr []arrival) {
	slices.SortStableFunc(arr, func(a, b arrival) int {
		if c := a.req.RequestedAt.Compare(b.req.RequestedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.req.ID, b.req.ID)
	})
}

// copyOf returns copy c of a, moved in time and place.
func (s *Scenario) copyOf(r *rand.Rand, a *arrival, c int, lo, hi time.Time) arrival {
	cp := *a
	req := &cp.req
	shift := time.Duration((2*r.Float64() - 1) * float64(copyJitter)).Truncate(time.Second)
	at := req.RequestedAt.Add(shift)
	if at.Before(lo) {
		at = lo
	}
	if !at.Before(hi) {
		at = hi.Add(-time.Second)
	}
	shift = at.Sub(req.RequestedAt)
	req.RequestedAt = at
	req.Location = inDisc(r, req.Location, copyJitterKm)
	if w := req.Window; w != nil {
		// The window moves with the request; one inside the request's 24
		// hours stays inside them.
		end := w.End.Add(shift)
		if within := a.req.RequestedAt.Add(doorstep.NormalStart); !w.End.After(within) {
			end = earliest(end, req.RequestedAt.Add(doorstep.NormalStart))
		}
		req.Window = &doorstep.Window{Start: w.Start.Add(shift), End: end}
		if !req.Window.End.After(req.Window.Start) {
			req.Window = nil
		}
	}
	req.ID = fmt.Sprintf("%s-c%d", a.req.ID, c+1)
	// Resolved fields are shared with the original; copy the slices so no
	// later change aliases them.
	req.Skills = slices.Clone(req.Skills)
	req.Certificates = slices.Clone(req.Certificates)
	return cp
}

// variantDemand applies a variant's demand change to the baseline draw.
func (s *Scenario) variantDemand(vi int, v *Variant, base []arrival) []arrival {
	u := v.ScaleUrgent
	if u == nil {
		return applyDurations(base, v.Reshape)
	}
	from := s.Start.Add(time.Duration(u.FromHour * float64(time.Hour)))
	to := s.Start.Add(time.Duration(u.ToHour * float64(time.Hour)))
	sel := func(a *arrival) bool {
		return a.req.Urgency == doorstep.Urgent && !a.req.RequestedAt.Before(from) && a.req.RequestedAt.Before(to)
	}
	return s.multiply(newRand(s.Seed, streamVariant+uint64(vi)), base, sel, u.Factor, from, to)
}

// earliest returns the earlier of a and b.
func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// intoClockHours returns t when its clock time lies in [from, to) hours;
// otherwise it moves t forward into the next such range, as far past its
// start as t was past the previous range's end (modulo the range's length),
// so that windows asked for out of hours spread over the next day's hours.
func intoClockHours(t time.Time, from, to float64) time.Time {
	y, m, d := t.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	h := t.Sub(midnight).Hours()
	if from <= h && h < to {
		return t
	}
	excess := h + 24 - to // hours since yesterday's range ended
	base := midnight
	if h >= to {
		excess = h - to
		base = midnight.AddDate(0, 0, 1)
	}
	off := from + math.Mod(excess, to-from)
	return base.Add(time.Duration(off * float64(time.Hour))).Truncate(time.Minute)
}
