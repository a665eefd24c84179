// Package matcher ranks workers for requests. It applies the hard rules
// (skills, certificates, shifts, existing bookings and the travel between
// them, the class deadline, daily caps, excluded workers) and scores the
// survivors on soft costs (added travel, waiting, rating, workload fairness,
// the customer's preferred and previous workers), reporting every term.
//
// It is the decision core of Doorstep, and pure: it is handed a request, a
// pool of candidates with their timelines, the clock reading and the
// customer's history, does no I/O, and returns the decision — the ranked
// options (Match), a plan that moves bookings to make room (PlanRescue),
// the explanation of an unservable request (Explain, MainReason), a series
// plan (PlanSeries), a batch's candidates and assignment (BatchItems,
// Assign: rounds of exact assignment over lsap, then an exact search over
// every worker's insertion sequences on small components of the batch and
// an improvement search on larger ones, with whether the answer is proven
// optimal and bounds), the bookings a changed worker can no longer serve
// and where they go (Fit, Overran, PlanDisplaced).
// The server (dispatch) and the simulator (sim) both decide through it, and
// it is tested and benchmarked without Redis. A worker qualifies by
// doorstep.Worker.Qualifies, the one qualification rule.
package matcher

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Rejection reasons, as counted in Result.Rejected.
const (
	ReasonSkills       = "skills"
	ReasonCertificates = "certificates"
	ReasonShift        = "shift"
	ReasonBusy         = "busy"
	ReasonShiftEnd     = "shift_end"
	ReasonDeadline     = "deadline"
	ReasonExcluded     = "excluded"
	ReasonCap          = "cap"
)

// Cost terms, as named in Option.Breakdown.
const (
	TermTravel     = "travel"
	TermWait       = "wait"
	TermRating     = "rating"
	TermFairness   = "fairness"
	TermPreferred  = "preferred"
	TermContinuity = "continuity"
	// TermOvertime is the urgent overtime a job takes (Weights.Overtime).
	TermOvertime = "overtime"
	// TermProtection is the urgent capacity a normal job takes
	// (Weights.Protection, Config.Urgent).
	TermProtection = "protection"
)

// Weights of the soft costs. Costs are in "minutes of travel": a weight of 1
// makes one unit of the term as bad as one minute of added travel.
type Weights struct {
	// Travel per minute of travel the job adds to the worker's day.
	Travel float64 `json:"travel"`
	// UrgentWait per minute from the decision (the clock reading the
	// request is matched at, which a batch may reach after the request was
	// made) to the worker's arrival.
	UrgentWait float64 `json:"urgent_wait"`
	// NormalWait per minute the start lies after the earliest start allowed
	// (the start of the customer's window, or now).
	NormalWait float64 `json:"normal_wait"`
	// Rating per rating point below 5.
	Rating float64 `json:"rating"`
	// Fairness per shift's worth of minutes already booked that day: a
	// worker with half its shift booked costs Fairness/2 more than an idle
	// one.
	Fairness float64 `json:"fairness"`
	// Preferred is subtracted when the customer prefers the worker.
	Preferred float64 `json:"preferred"`
	// Continuity is subtracted when the worker last served the customer.
	Continuity float64 `json:"continuity"`
	// Overtime per minute an urgent job runs past its worker's shift, into
	// the shift's urgent overtime (doorstep.Shift.UrgentOvertimeMinutes):
	// the overtime a contract allows is used when no option inside a shift
	// is as good.
	Overtime float64 `json:"overtime"`
	// Protection per urgent call a normal job keeps its worker from
	// (UrgentProfile: the calls expected per worker on duty, for the
	// worker's skills, from the profile's Lead before the job's departure
	// to its end). It steers normal work away from the hours and workers
	// urgent calls need, within the job's promise; it is zero without
	// Config.Urgent.
	Protection float64 `json:"protection"`
}

// DefaultWeights are the weights used when Config.Weights is zero.
var DefaultWeights = Weights{
	Travel:     1,
	UrgentWait: 1,
	NormalWait: 0.05,
	Rating:     6,
	Fairness:   20,
	Preferred:  15,
	Continuity: 10,
	Overtime:   DefaultOvertime,
	Protection: DefaultProtection,
}

// DefaultOvertime is the default Weights.Overtime: a minute of overtime
// weighs as 1.5 minutes of travel, the usual premium of overtime pay.
const DefaultOvertime = 1.5

// DefaultProtection is the default Weights.Protection: a call kept from
// costs as much as 300 minutes of travel, which moves a normal job off a
// scarce night to the next day shift when its promise allows (tuned on
// seeds 101-110 of the example scenarios; bench/RESULTS.md, "Urgent
// capacity protection that works").
const DefaultProtection = 300

// Config configures a Matcher. The zero value is usable: every zero field
// takes its default.
type Config struct {
	// Travel is the travel-time model; nil means geo.Linear{}.
	Travel geo.TravelModel
	// Weights of the soft costs; the zero value means DefaultWeights.
	Weights Weights
	// Urgent is the urgent demand expected, which Weights.Protection
	// prices; nil means none is known and the term is zero.
	Urgent *UrgentProfile
	// MaxOptions is how many ranked options Match returns; 0 means 5.
	MaxOptions int
}

func (c *Config) validate() error {
	if c.Travel == nil {
		c.Travel = geo.Linear{}
	}
	if c.Weights == (Weights{}) {
		c.Weights = DefaultWeights
	}
	w := c.Weights
	for _, v := range []float64{w.Travel, w.UrgentWait, w.NormalWait, w.Rating, w.Fairness, w.Preferred, w.Continuity, w.Overtime, w.Protection} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("matcher: weights must be finite and non-negative, got %+v", w)
		}
	}
	if err := c.Urgent.Validate(); err != nil {
		return err
	}
	switch {
	case c.MaxOptions == 0:
		c.MaxOptions = 5
	case c.MaxOptions < 0 || c.MaxOptions > 1000:
		return fmt.Errorf("matcher: max options %d out of [1, 1000]", c.MaxOptions)
	}
	return nil
}

// Matcher ranks candidates for requests. It is safe for concurrent use.
type Matcher struct {
	cfg     Config
	planner schedule.Planner
	// learnt, when set (SetUrgentProfile), replaces cfg.Urgent.
	learnt atomic.Pointer[UrgentProfile]
	// reach holds the travel model's ReachKm at every reachStep up to
	// reachMax (reachWithin), made when first asked.
	reach     []float64
	reachOnce sync.Once
}

// reachStep and reachMax bound reachWithin's table: the trips an urgent
// option's cost or an earliest arrival's bound ask about are mostly well
// under two hours.
const (
	reachStep = 10 * time.Second
	reachMax  = 2 * time.Hour
)

// reachWithin is an upper bound on the straight-line distance a trip of
// at most d covers at any hour: the travel model's ReachKm at d rounded up
// to a reachStep, from a table, or ReachKm itself beyond reachMax (a
// model's ReachKm may look at every hour of the day, and a dense city's
// search asks it for thousands of workers).
func (m *Matcher) reachWithin(d time.Duration) float64 {
	if d > reachMax {
		return m.cfg.Travel.ReachKm(d)
	}
	m.reachOnce.Do(func() {
		m.reach = make([]float64, reachMax/reachStep+1)
		for i := range m.reach {
			m.reach[i] = m.cfg.Travel.ReachKm(time.Duration(i) * reachStep)
		}
	})
	return m.reach[(max(d, 0)+reachStep-1)/reachStep]
}

// New returns a Matcher for cfg.
func New(cfg Config) (*Matcher, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Matcher{cfg: cfg, planner: schedule.Planner{Travel: cfg.Travel}}, nil
}

// Config returns the matcher's configuration with defaults filled in.
func (m *Matcher) Config() Config { return m.cfg }

// Candidate is a worker with its timeline as read, and the version of that
// timeline (which a reservation pins).
type Candidate struct {
	Worker   *doorstep.Worker
	Timeline schedule.Timeline
	Version  int64
	// Region is the worker's region (geo.RegionOf its home): the workers of
	// one atomic step share it. Only PlanRescue and PlanSeries need it.
	Region string
	// Bookings are the confirmed bookings the timeline was built from;
	// only PlanRescue needs them (it moves some).
	Bookings []*doorstep.Booking
}

// History is what is known of the customer: the worker who last served it.
type History struct {
	LastWorker string
}

// Breakdown holds each soft-cost term of an option.
type Breakdown struct {
	Travel, Wait, Rating, Fairness, Preferred, Continuity, Overtime, Protection float64
}

// Total is the sum of the terms.
func (b Breakdown) Total() float64 {
	return b.Travel + b.Wait + b.Rating + b.Fairness + b.Preferred + b.Continuity + b.Overtime + b.Protection
}

// Map returns the terms by name, as the API reports them.
func (b Breakdown) Map() map[string]float64 {
	return map[string]float64{
		TermTravel: b.Travel, TermWait: b.Wait, TermRating: b.Rating,
		TermFairness: b.Fairness, TermPreferred: b.Preferred, TermContinuity: b.Continuity,
		TermOvertime: b.Overtime, TermProtection: b.Protection,
	}
}

// Option is one feasible (worker, slot) pair with its cost.
type Option struct {
	WorkerID  string
	Version   int64
	Slot      schedule.Slot
	Cost      float64
	Breakdown Breakdown
}

// Result is the answer to Match.
type Result struct {
	// Options are the best feasible options, cheapest first (ties broken by
	// earlier arrival, then worker id, so the order is deterministic).
	Options []Option
	// Deadline is the class deadline: latest arrival (urgent) or start (normal).
	Deadline time.Time
	// Considered is the number of candidates examined.
	Considered int
	// Rejected counts candidates by the hard rule they failed.
	Rejected map[string]int
	// Feasible is the number of candidates that passed every hard rule.
	Feasible int
	// Outranked is the number of qualified candidates an urgent match did
	// not evaluate: each would have cost more than every option returned
	// (Tally.outranked). Considered is Feasible, Outranked and the
	// rejections.
	Outranked int
}

// Match ranks cands for req (resolved against the catalogue) at clock
// reading now and returns the best options.
func (m *Matcher) Match(req *doorstep.Request, cands []Candidate, now time.Time, hist History) Result {
	t := m.NewTally(req, now, &hist)
	t.Add(cands)
	return t.Result()
}

// Best is the cheapest option of cands for req at clock reading now (Match's
// first), without counting the rejections; false when none can serve it.
func (m *Matcher) Best(req *doorstep.Request, cands []Candidate, now time.Time, hist History) (Option, bool) {
	job := schedule.JobFor(req, now)
	var best Option
	found := false
	for i := range cands {
		if o, reason := m.Evaluate(req, job, &cands[i], hist); reason == "" && (!found || less(&o, &best)) {
			best, found = o, true
		}
	}
	return best, found
}

// Evaluate applies the hard rules to one candidate and, when it passes,
// returns its best option; otherwise it returns the reason it failed.
func (m *Matcher) Evaluate(req *doorstep.Request, job schedule.Job, c *Candidate, hist History) (Option, string) {
	if reason := disqualified(req, c.Worker); reason != "" {
		return Option{}, reason
	}
	return m.evaluateQualified(req, job, c, hist)
}

// disqualified is the rule that rules w out of req before its day is
// looked at (ReasonExcluded, ReasonSkills or ReasonCertificates), or "".
func disqualified(req *doorstep.Request, w *doorstep.Worker) string {
	if slices.Contains(req.ExcludedWorkers, w.ID) {
		return ReasonExcluded
	}
	return w.Lacks(req) // doorstep.Worker.Qualifies
}

// evaluateQualified is Evaluate for a candidate known to be qualified and
// not excluded.
func (m *Matcher) evaluateQualified(req *doorstep.Request, job schedule.Job, c *Candidate, hist History) (Option, string) {
	w := c.Worker
	slot, err := m.planner.EarliestSlot(w, c.Timeline, job)
	if err != nil {
		return Option{}, reasonOf(err)
	}
	b := m.cost(req, job, w, &slot, hist)
	if b.Protection != 0 {
		slot, b = m.protectedSlot(req, job, w, c.Timeline, hist, slot, b)
	}
	return Option{WorkerID: w.ID, Version: c.Version, Slot: slot, Cost: b.Total(), Breakdown: b}, ""
}

func (m *Matcher) cost(req *doorstep.Request, job schedule.Job, w *doorstep.Worker, s *schedule.Slot, hist History) Breakdown {
	wt := &m.cfg.Weights
	var b Breakdown
	b.Travel = wt.Travel * s.AddedTravel.Minutes()
	if req.Urgency == doorstep.Urgent {
		b.Wait = wt.UrgentWait * s.Arrival.Sub(job.NotBefore).Minutes()
	} else {
		b.Wait = wt.NormalWait * s.Start.Sub(job.EarliestStart).Minutes()
	}
	b.Rating = wt.Rating * (5 - min(max(w.Rating, 0), 5))
	if s.ShiftMinutes > 0 {
		b.Fairness = wt.Fairness * float64(s.DayMinutes) / float64(s.ShiftMinutes)
	}
	if slices.Contains(req.PreferredWorkers, w.ID) {
		b.Preferred = -wt.Preferred
	}
	if hist.LastWorker != "" && hist.LastWorker == w.ID {
		b.Continuity = -wt.Continuity
	}
	b.Overtime = wt.Overtime * s.Overtime.Minutes()
	if req.Urgency != doorstep.Urgent {
		b.Protection = m.protection(job, w, s)
	}
	return b
}

func reasonOf(err error) string {
	switch err {
	case schedule.ErrDeadline:
		return ReasonDeadline
	case schedule.ErrBusy:
		return ReasonBusy
	case schedule.ErrShiftEnd:
		return ReasonShiftEnd
	case schedule.ErrCap:
		return ReasonCap
	}
	return ReasonShift
}

// less orders options: cheaper first, then earlier arrival, then worker id.
func less(a, b *Option) bool {
	if a.Cost != b.Cost {
		return a.Cost < b.Cost
	}
	if !a.Slot.Arrival.Equal(b.Slot.Arrival) {
		return a.Slot.Arrival.Before(b.Slot.Arrival)
	}
	return a.WorkerID < b.WorkerID
}

// insertBest inserts o into best (sorted, at most k long).
func insertBest(best []Option, o Option, k int) []Option {
	if len(best) == k && !less(&o, &best[k-1]) {
		return best
	}
	i := len(best)
	for i > 0 && less(&o, &best[i-1]) {
		i--
	}
	best = slices.Insert(best, i, o)
	if len(best) > k {
		best = best[:k]
	}
	return best
}
