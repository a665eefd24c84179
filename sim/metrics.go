package sim

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// round4 rounds x to 4 decimals, so that the report's JSON is stable.
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// ratio is num/den rounded, or nil without a denominator.
func ratio(num, den float64) *float64 {
	if den <= 0 {
		return nil
	}
	v := round4(num / den)
	return &v
}

func ptr(x float64) *float64 {
	v := round4(x)
	return &v
}

// Percentile returns the p-quantile (p in [0, 1]) of sorted values by
// linear interpolation between closest ranks (NumPy's default): the value
// at position p*(n-1). It returns NaN for no values.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	pos := p * float64(n-1)
	lo := int(math.Floor(pos))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (sorted[lo+1]-sorted[lo])*(pos-float64(lo))
}

// Gini returns the Gini coefficient of non-negative values: the mean
// absolute difference over all ordered pairs divided by twice the mean. It
// is 0 when every value is equal (or all are zero, or there are none) and
// approaches 1 when one value holds everything.
func Gini(values []float64) float64 {
	n := len(values)
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	if n == 0 || sum <= 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	// sum_i sum_j |x_i - x_j| = 2 * sum_i (2i - n + 1) x_(i), i from 0.
	acc := 0.0
	for i, v := range s {
		acc += float64(2*i-n+1) * v
	}
	return acc / (float64(n) * sum)
}

// Bins of the urgent arrival histogram.
const (
	arrivalBinMinutes = 2
	arrivalBins       = 30 // to 60 minutes
)

// reqAcc accumulates the request side of a Metrics.
type reqAcc struct {
	requests, urgent, onTime, normal, normalOK, unserved, jobs, rescues, rescueMoves int
	km                                                                               float64
	arrivals                                                                         []float64 // urgent, in minutes
	causes                                                                           map[string]int
	// Disruptions.
	cancelled, noShows, overruns, delayed, replanned, carried, servedOnRetry int
}

// add counts request r with its outcome o; retry, for a request asked
// again the next day, is the retry's outcome, which stands for it.
func (a *reqAcc) add(r *doorstep.Request, o, retry *outcome) {
	if retry != nil {
		a.carried++
		if retry.worker >= 0 {
			a.servedOnRetry++
		}
		o = retry
	}
	a.requests++
	urgent := r.Urgency == doorstep.Urgent
	if urgent {
		a.urgent++
	} else {
		a.normal++
	}
	if o.worker < 0 {
		a.unserved++
		if o.cause != "" {
			if a.causes == nil {
				a.causes = map[string]int{}
			}
			a.causes[o.cause]++
		}
		return
	}
	if o.cancelled {
		a.cancelled++
	} else {
		a.jobs++
	}
	if o.noShow {
		a.noShows++
	}
	if o.overran {
		a.overruns++
	}
	if o.delayed {
		a.delayed++
	}
	if o.replanned {
		a.replanned++
	}
	if o.rescued {
		a.rescues++
		a.rescueMoves += o.moves
	}
	if !o.cancelled {
		a.km += o.slot.DistanceKm
	}
	if urgent {
		m := o.slot.Arrival.Sub(r.RequestedAt).Minutes()
		a.arrivals = append(a.arrivals, m)
		if !o.slot.Arrival.After(r.RequestedAt.Add(doorstep.UrgentArrival)) {
			a.onTime++
		} else {
			// Booked in time, reached late: only an earlier job's overrun
			// does that (Disruptions); a miss of its own kind.
			if a.causes == nil {
				a.causes = map[string]int{}
			}
			a.causes[CauseOverrunDelay]++
		}
		return
	}
	// Held to its promise: an appointment to its window, any other
	// normal request to its 24 hours (doorstep.Request.Deadline).
	ok := !o.slot.Start.After(r.Deadline())
	if w := r.Window; w != nil {
		ok = ok && w.Contains(o.slot.Start)
	}
	if ok {
		a.normalOK++
	}
}

// metrics combines the request side with the workers' shift and booked
// minutes (values: each worker's booked minutes, for fairness).
func (a *reqAcc) metrics(shift, booked float64, values []float64) Metrics {
	m := Metrics{
		Requests: a.requests, UrgentRequests: a.urgent, NormalRequests: a.normal,
		Unserved: a.unserved, Jobs: a.jobs, Rescues: a.rescues, RescueMoves: a.rescueMoves,
		UrgentOnTimeShare:    ratio(float64(a.onTime), float64(a.urgent)),
		NormalWithin24hShare: ratio(float64(a.normalOK), float64(a.normal)),
		TravelKmPerJob:       ratio(a.km, float64(a.jobs)),
		Utilisation:          ratio(booked, shift),
		MissesByCause:        a.causes,
		Cancelled:            a.cancelled, NoShows: a.noShows, Overruns: a.overruns, Delayed: a.delayed, Replanned: a.replanned,
		CarriedOver: a.carried, ServedOnRetry: a.servedOnRetry,
	}
	if len(a.arrivals) > 0 {
		slices.Sort(a.arrivals)
		m.UrgentArrivalP50Minutes = ptr(Percentile(a.arrivals, 0.5))
		m.UrgentArrivalP95Minutes = ptr(Percentile(a.arrivals, 0.95))
	}
	if len(values) > 0 {
		m.FairnessGini = ptr(Gini(values))
	}
	return m
}

// workLedger holds each worker's shift and booked minutes per hour of the
// horizon.
type workLedger struct {
	start  time.Time
	hours  int
	shift  []float64 // [w*hours+h]
	booked []float64
}

// addSpan adds the minutes of [a, b) that fall in each hour to row (one
// worker's hours), with sign.
func (l *workLedger) addSpan(row []float64, a, b time.Time, sign float64) {
	end := l.start.Add(time.Duration(l.hours) * time.Hour)
	if a.Before(l.start) {
		a = l.start
	}
	if b.After(end) {
		b = end
	}
	for a.Before(b) {
		h := int(a.Sub(l.start) / time.Hour)
		next := earliest(l.start.Add(time.Duration(h+1)*time.Hour), b)
		row[h] += sign * next.Sub(a).Minutes()
		a = next
	}
}

// report computes the variant's report from the bookings.
func (e *engine) report() *VariantReport {
	s := e.s
	hours := int(math.Ceil(s.HorizonHours - 1e-9))
	hend := s.Start.Add(s.horizon())
	nw := len(e.workers)
	l := &workLedger{start: s.Start, hours: hours, shift: make([]float64, nw*hours), booked: make([]float64, nw*hours)}
	var overJobs int
	var overMinutes float64 // urgent jobs run into their shift's overtime
	for w, wk := range e.workers {
		row := l.shift[w*hours : (w+1)*hours]
		for _, sh := range wk.Shifts {
			l.addSpan(row, sh.Start, earliest(sh.End, hend), 1)
			for _, b := range sh.Breaks {
				// A flexible break's minutes are spread evenly over its
				// range (a fixed break's fill it).
				share := b.Duration.Minutes() / b.Latest.Sub(b.Earliest).Minutes()
				l.addSpan(row, b.Earliest, earliest(b.Latest, hend), -share)
			}
		}
		brow := l.booked[w*hours : (w+1)*hours]
		for _, st := range e.cands[w].Timeline {
			l.addSpan(brow, st.Start, earliest(st.End, hend), 1)
			if over := overtimeOf(e.workers[w], &st); over > 0 {
				overJobs++
				overMinutes += over.Minutes()
			}
		}
	}

	total := &reqAcc{}
	byService := map[string]*reqAcc{}
	byHour := make([]reqAcc, hours)
	byRegion := map[string]*reqAcc{}
	byCell := map[geo.Cell]*reqAcc{}
	reasons := map[string]int{}
	hist := Histogram{BinMinutes: arrivalBinMinutes, Counts: make([]int, arrivalBins)}
	for i := range e.arr {
		a, o := &e.arr[i], &e.out[i]
		if a.retryOf != "" {
			continue // counted with the request it retries
		}
		var retry *outcome
		if o.carried > 0 {
			retry = &e.out[o.carried-1]
		}
		total.add(&a.req, o, retry)
		if retry != nil {
			o = retry // what finally became of the household's request
		}
		sa := byService[a.req.Service]
		if sa == nil {
			sa = &reqAcc{}
			byService[a.req.Service] = sa
		}
		sa.add(&a.req, o, retry)
		h := min(max(int(a.req.RequestedAt.Sub(s.Start)/time.Hour), 0), hours-1)
		byHour[h].add(&a.req, o, retry)
		ra := byRegion[a.region]
		if ra == nil {
			ra = &reqAcc{}
			byRegion[a.region] = ra
		}
		ra.add(&a.req, o, retry)
		cell := geo.CellOf(a.req.Location, MapResolution)
		ca := byCell[cell]
		if ca == nil {
			ca = &reqAcc{}
			byCell[cell] = ca
		}
		ca.add(&a.req, o, retry)
		if o.worker < 0 {
			reasons[o.reason]++
		} else if a.req.Urgency == doorstep.Urgent {
			m := o.slot.Arrival.Sub(a.req.RequestedAt).Minutes()
			if b := int(m / arrivalBinMinutes); b < arrivalBins || m == arrivalBins*arrivalBinMinutes {
				hist.Counts[min(b, arrivalBins-1)]++
			} else {
				hist.Over++
			}
		}
	}

	// Worker side: totals, per hour and per region of the worker.
	sumRow := func(row []float64) float64 {
		t := 0.0
		for _, v := range row {
			t += v
		}
		return t
	}
	wShift := make([]float64, nw)
	wBooked := make([]float64, nw)
	regionWorkers := map[string][]int{}
	var allShift, allBooked float64
	var onShift []float64
	for w := range e.workers {
		wShift[w] = sumRow(l.shift[w*hours : (w+1)*hours])
		wBooked[w] = sumRow(l.booked[w*hours : (w+1)*hours])
		allShift += wShift[w]
		allBooked += wBooked[w]
		if wShift[w] > 0 {
			onShift = append(onShift, wBooked[w])
		}
		r := e.regions[w]
		regionWorkers[r] = append(regionWorkers[r], w)
	}

	vr := &VariantReport{
		Policy:           e.policy.String(),
		Workers:          nw,
		Totals:           total.metrics(allShift, allBooked, onShift),
		UnservedByReason: reasons,
		UrgentArrivals:   hist,
		Hours:            make([]HourMetrics, hours),
	}
	vr.Totals.OvertimeJobs, vr.Totals.OvertimeMinutes = overJobs, math.Round(overMinutes*10)/10
	cells := slices.Collect(maps.Keys(byCell))
	slices.Sort(cells)
	vr.Cells = make([]CellMetrics, 0, len(cells))
	for _, c := range cells {
		ca := byCell[c]
		vr.Cells = append(vr.Cells, CellMetrics{Cell: c.String(), Requests: ca.requests, UrgentRequests: ca.urgent,
			UrgentOnTimeShare: ratio(float64(ca.onTime), float64(ca.urgent)), Unserved: ca.unserved})
	}
	vr.Totals.StandbyMoves, vr.Totals.StandbyKm = e.sb.moves, math.Round(e.sb.km*10)/10
	if len(byService) > 0 {
		vr.Totals.ByService = make(map[string]Metrics, len(byService))
		for name, sa := range byService {
			vr.Totals.ByService[name] = sa.metrics(0, 0, nil)
		}
	}
	for h := range hours {
		var sh, bk float64
		var vals []float64
		for w := range nw {
			x, y := l.shift[w*hours+h], l.booked[w*hours+h]
			sh += x
			bk += y
			if x > 0 {
				vals = append(vals, y)
			}
		}
		vr.Hours[h] = HourMetrics{Hour: h, Start: s.Start.Add(time.Duration(h) * time.Hour).Format(time.RFC3339),
			Metrics: byHour[h].metrics(sh, bk, vals)}
	}
	names := make([]string, 0, len(byRegion)+len(regionWorkers))
	for r := range byRegion {
		names = append(names, r)
	}
	for r := range regionWorkers {
		if byRegion[r] == nil {
			names = append(names, r)
		}
	}
	slices.Sort(names)
	for _, r := range names {
		ra := byRegion[r]
		if ra == nil {
			ra = &reqAcc{}
		}
		var sh, bk float64
		var vals []float64
		for _, w := range regionWorkers[r] {
			sh += wShift[w]
			bk += wBooked[w]
			if wShift[w] > 0 {
				vals = append(vals, wBooked[w])
			}
		}
		vr.Regions = append(vr.Regions, RegionMetrics{Region: r, Workers: len(regionWorkers[r]), Metrics: ra.metrics(sh, bk, vals)})
	}
	return vr
}

// overtimeOf is how long stop st of worker w runs past the end of the
// shift it began in (urgent overtime), zero for a stop inside its shift.
func overtimeOf(w *doorstep.Worker, st *schedule.Stop) time.Duration {
	for i := range w.Shifts {
		sh := &w.Shifts[i]
		if !st.Start.Before(sh.Start) && !st.Start.After(sh.End) && st.End.After(sh.End) {
			return st.End.Sub(sh.End)
		}
	}
	return 0
}
