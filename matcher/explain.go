package matcher

import (
	"math"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Rejection is one candidate ruled out, with the hard rule that stopped it.
type Rejection struct {
	WorkerID string
	Reason   string
}

// Explanation says why no candidate can serve a request within its class.
type Explanation struct {
	// Deadline is the class deadline that could not be met.
	Deadline time.Time
	// Reason is the most telling rejection (MainReason), or
	// ReasonNoCandidates when there was no candidate at all.
	Reason string
	// Rejected counts the candidates by the rule that stopped them.
	Rejected map[string]int
	// Candidates holds each candidate's rejection, in the pool's order.
	Candidates []Rejection
	// EarliestArrival is the earliest a qualified candidate could arrive
	// were the class deadline lifted (searching a day past it), and
	// EarliestWorker who; both are zero when no candidate could at all.
	EarliestArrival time.Time
	EarliestWorker  string
}

// telling orders the rejection reasons from the most telling (the
// candidate came closest to serving) to the least: a worker on shift who
// could not arrive in time says more than one who could not finish before
// its shift ends, than one booked solid, than a daily cap, than a worker
// off shift, than one without the certificates or skills, than one the
// customer excluded.
var telling = []string{ReasonDeadline, ReasonShiftEnd, ReasonBusy, ReasonCap, ReasonShift,
	ReasonCertificates, ReasonSkills, ReasonExcluded}

// MainReason is the most telling rejection in counts (see Explanation): a
// qualified worker with no shift makes it "shift" however many unqualified
// workers were also near. With no rejection it is "busy": every feasible
// candidate went to other requests.
func MainReason(rej map[string]int) string {
	for _, r := range telling {
		if rej[r] > 0 {
			return r
		}
	}
	return ReasonBusy
}

// ReasonOf is why a request with the given number of candidates and
// their rejections went unserved: ReasonNoCandidates without candidates,
// else MainReason. It is Explanation.Reason, for callers (the simulator)
// that have the counts and need not explain further.
func ReasonOf(rej map[string]int, candidates int) string {
	if candidates == 0 {
		return ReasonNoCandidates
	}
	return MainReason(rej)
}

// Explain says why none of cands can serve req at clock reading now: the
// rule that stopped each candidate, their counts and the most telling of
// them, and the earliest a qualified candidate could arrive beyond the
// class deadline. It is what an unservable answer reports.
func (m *Matcher) Explain(req *doorstep.Request, cands []Candidate, now time.Time, hist History) Explanation {
	ex := Explanation{Deadline: req.Deadline(), Rejected: map[string]int{}}
	job := schedule.JobFor(req, now)
	for i := range cands {
		_, reason := m.Evaluate(req, job, &cands[i], hist)
		if reason == "" {
			continue // feasible: it went to another request (batch, series)
		}
		ex.Rejected[reason]++
		ex.Candidates = append(ex.Candidates, Rejection{WorkerID: cands[i].Worker.ID, Reason: reason})
	}
	ex.Reason = ReasonOf(ex.Rejected, len(cands))
	ex.EarliestArrival, ex.EarliestWorker = m.EarliestBeyond(req, cands, now)
	return ex
}

// EarliestBeyond finds the earliest arrival among qualified candidates
// when the class deadline is lifted (searching a day past it), and whose:
// Explanation.EarliestArrival and EarliestWorker.
func (m *Matcher) EarliestBeyond(req *doorstep.Request, cands []Candidate, now time.Time) (time.Time, string) {
	b := m.newBeyond(req, now, m.Evaluate)
	for i := range cands {
		b.Add(&cands[i], i)
	}
	return b.Earliest()
}

// Beyond is EarliestBeyond made in parts, for candidates known to be
// qualified and not excluded (a narrow search's): a search may add a
// worker while it reads it, its memory at hand, and the rest after. Each
// candidate is added with its place in the candidates' order, and the
// answer is EarliestBeyond's on them in that order, whatever the order
// they were added in.
//
// Once it has an arrival, it evaluates only the workers who might match it
// (mayBeat): a day past the deadline most of a city's qualified workers
// can come, and each evaluation searches a day of their timeline.
type Beyond struct {
	relaxed  doorstep.Request
	job      schedule.Job
	evaluate func(*doorstep.Request, schedule.Job, *Candidate, History) (Option, string)
	// reachKm bounds the distance a trip covers (Matcher.reachWithin).
	reachKm func(time.Duration) float64
	best    Option
	at      int // best's place
	found   bool
	// exhaustive evaluates every worker added: the answer mayBeat is
	// tested against.
	exhaustive bool
}

// NewBeyond starts an EarliestBeyond of req at clock reading now.
func (m *Matcher) NewBeyond(req *doorstep.Request, now time.Time) *Beyond {
	return m.newBeyond(req, now, m.evaluateQualified)
}

func (m *Matcher) newBeyond(req *doorstep.Request, now time.Time,
	evaluate func(*doorstep.Request, schedule.Job, *Candidate, History) (Option, string)) *Beyond {
	b := &Beyond{relaxed: *req, evaluate: evaluate, reachKm: m.reachWithin}
	b.relaxed.Urgency = doorstep.Normal
	b.relaxed.Window = nil
	b.relaxed.RequestedAt = req.Deadline()
	b.job = schedule.JobFor(&b.relaxed, now)
	// An appointment's pool is read around its window, not from now.
	b.job.EarliestStart = schedule.JobFor(req, now).EarliestStart
	return b
}

// Add evaluates candidate c, at place at of the candidates' order.
func (b *Beyond) Add(c *Candidate, at int) {
	if b.found && !b.exhaustive && !b.mayBeat(c.Worker.Shifts, c.Worker.Home, c.Timeline, at) {
		return
	}
	o, reason := b.evaluate(&b.relaxed, b.job, c, History{})
	if reason != "" {
		return
	}
	if !b.found || o.Slot.Arrival.Before(b.best.Slot.Arrival) || (o.Slot.Arrival.Equal(b.best.Slot.Arrival) && at < b.at) {
		b.best, b.at, b.found = o, at, true
	}
}

// CannotBeat reports whether candidate c, added after every candidate
// added so far, cannot change the earliest arrival: before one is found,
// when none of its shifts has a start for the job (its evaluation would
// find no slot); after, when it cannot arrive before it (mayBeat). The
// best only gets earlier, so a candidate that cannot beat it now never
// can: a search may leave it out (dispatch, the narrow pool's Drop).
func (b *Beyond) CannotBeat(c *Candidate) bool {
	return b.CannotBeatFrom(c.Worker.Shifts, c.Worker.Home, c.Timeline)
}

// CannotBeatFrom is CannotBeat of a worker whose shifts, home and stops
// are shifts, home and tl: it reads nothing else of a worker, so a store
// that knows those without the worker's record may ask it.
func (b *Beyond) CannotBeatFrom(shifts []doorstep.Shift, home doorstep.Location, tl schedule.Timeline) bool {
	switch {
	case b.exhaustive:
		return false
	case !b.found:
		return ShiftsVerdict(shifts, b.job) != ""
	}
	return !b.mayBeat(shifts, home, tl, math.MaxInt)
}

// HomeRule is CannotBeatFrom for the workers whose shifts start and end
// as one list does and who have no stop (FromHome): worked out once for
// the list, it leaves each worker a distance to compare.
type HomeRule struct {
	none bool // no such worker can beat the best, wherever it is
	any  bool // every such worker might (a shift under way, or none found)
	to   doorstep.Location
	km   float64 // else: one might when its home is within km of to
}

// FromHome is the HomeRule of shifts: mayBeat of a worker with no stops,
// taken apart. A shift with a start before the best keeps every worker
// when it is under way, else the ones whose home is within the distance
// the travel model covers from the shift's start to the best; any shift
// will do, so the farthest of those distances.
func (b *Beyond) FromHome(shifts []doorstep.Shift) HomeRule {
	switch {
	case b.exhaustive:
		return HomeRule{any: true}
	case !b.found:
		return HomeRule{none: ShiftsVerdict(shifts, b.job) != "", any: true}
	}
	r := HomeRule{none: true, to: b.job.Location, km: -1}
	best := b.best.Slot.Arrival
	for i := range shifts {
		sh := &shifts[i]
		lo, hi := b.job.StartsIn(sh)
		if lo.After(hi) || !lo.Before(best) {
			continue
		}
		r.none = false
		if !sh.Start.After(b.job.NotBefore) {
			r.any = true
			break
		}
		r.km = max(r.km, b.reachKm(best.Sub(sh.Start)))
	}
	return r
}

// None reports whether no worker of the rule can beat the best, wherever
// it is and whatever it has booked (before an arrival is found, none of
// its shifts has a start for the job; after, none has a start before it):
// a search may drop every worker with the rule's shifts at once.
func (r HomeRule) None() bool { return r.none }

// CannotBeat is CannotBeatFrom(shifts, home, nil) for the rule's shifts.
// A home farther north or south than the distance allows is told without
// the trip's trigonometry (a great circle is no shorter than its change
// of latitude).
func (r HomeRule) CannotBeat(home doorstep.Location) bool {
	switch {
	case r.none:
		return true
	case r.any:
		return false
	}
	const kmPerDegree = geo.EarthRadiusKm * math.Pi / 180 // of latitude
	if math.Abs(home.Lat-r.to.Lat)*kmPerDegree > max(r.km, geo.SamePlaceKm)+1e-9 {
		return true
	}
	km := geo.DistanceKm(home, r.to)
	return km >= geo.SamePlaceKm && km > r.km
}

// mayBeat reports whether candidate c, at place at, might arrive before
// the best arrival found, or at it from an earlier place, as
// schedule.Planner.EarliestSlot places a job:
//   - in a shift whose range of starts meets the job's, arriving as the
//     service starts, so not before the range's first start, lo;
//   - leaving no earlier than the shift's start, from home, unless the
//     shift is under way when the job may first start (then from a
//     reported position: such a worker might), or a stop of the shift
//     ends by the best arrival (it might leave from there);
//   - over a trip longer than d when it covers more than the travel
//     model's ReachKm allows in d (Matcher.reachWithin), which bounds a
//     trip at any hour.
//
// Bookings and breaks only delay the rest.
func (b *Beyond) mayBeat(shifts []doorstep.Shift, home doorstep.Location, tl schedule.Timeline, at int) bool {
	best, job := b.best.Slot.Arrival, &b.job
	before := func(t time.Time) bool { return t.Before(best) || t.Equal(best) && at < b.at }
	km := -1.0 // from home to the job, once asked
	for i := range shifts {
		sh := &shifts[i]
		lo, hi := job.StartsIn(sh)
		if lo.After(hi) || !before(lo) {
			continue // no start here, or none before the best
		}
		if !sh.Start.After(job.NotBefore) {
			return true // under way: from wherever the worker is
		}
		for k := range tl {
			if end := tl[k].End; end.After(sh.Start) && !end.After(best) {
				return true // from a stop of the shift
			}
		}
		if km < 0 {
			km = geo.DistanceKm(home, job.Location)
		}
		if km < geo.SamePlaceKm || km <= b.reachKm(best.Sub(sh.Start)) {
			return true
		}
	}
	return false
}

// Earliest is the earliest arrival of the candidates added, and whose
// (zero and "" for none).
func (b *Beyond) Earliest() (time.Time, string) { return b.best.Slot.Arrival, b.best.WorkerID }
