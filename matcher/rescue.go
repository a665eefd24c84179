package matcher

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Bounds of PlanRescue's search. They keep it bounded and deterministic
// whatever the pool: the same pool always gives the same plan. They were
// chosen on the simulator's seeds 101-110 (bench/RESULTS.md,
// "Re-planning"): twice the 16 workers and targets first tried served 1.5
// to 3 more requests a day on the example city. The evaluation budget
// trades the last few plans for latency and caps the worst case
// (BenchmarkPlanRescue: a city where nothing can move spends it all). It
// was 1,000, chosen when that served 0.6 fewer a day than 3,000; on the
// example city as it decides since (December 2026), a third of the plans
// ran out of it. At 3,000, 6% do, and the city serves 1.9 more requests a
// day (seeds 401-500, chosen on 301-340; 20,000 serves 2.1):
// bench/RESULTS.md, "The rescue's evaluation budget, again".
const (
	// MaxRescueWorkers bounds the workers PlanRescue tries to free: the
	// nearest qualified candidates with a movable booking (for an urgent
	// request, only those that could reach it within the hour).
	MaxRescueWorkers = 32
	// MaxRescueBookings bounds the movable bookings examined per worker,
	// earliest start first among those in the way (see inTheWay).
	MaxRescueBookings = 12
	// MaxRescueTargets bounds the workers a moved booking may go to: the
	// workers the plan already touches, then the nearest qualified
	// candidates of the region to the booking's place.
	MaxRescueTargets = 40
	// MaxChainWorkers bounds the workers of a chain's middle link (the
	// worker who takes the first moved booking once one of its own moves).
	MaxChainWorkers = 6
	// MaxRescueMoves is the most bookings one plan moves: a chain of two
	// (A off the freed worker onto W, B off W onto X) or two bookings off
	// the freed worker.
	MaxRescueMoves = 2
	// MaxRescueEvaluations bounds the slot searches (Evaluate) one plan
	// costs (where a moved booking goes on a worker as read is searched
	// once); the search stops there and keeps the best plan found.
	MaxRescueEvaluations = 3000
)

// RescuePlan makes room for a request no candidate can serve as things
// stand, by moving not-yet-started bookings inside their promises: normal
// ones, and for an urgent request urgent ones too (MayMove).
// It is found but not made: the caller applies it in one atomic step.
type RescuePlan struct {
	// Option is the request's option on the freed worker.
	Option Option
	// Moves are the bookings moved, in order: those taken off the freed
	// worker first, then a chain's follow-up. Never empty; at most
	// MaxRescueMoves, each booking at most once.
	Moves []Move
	// Region holds every touched worker: the plan is applied in one
	// atomic step, which on Redis Cluster is one hash slot (a region's).
	Region string
	// Expect is the version each touched worker was read at: the freed
	// worker and every move's source and destination.
	Expect map[string]int64
	// Added is the cost the plan adds: the request's option, plus each
	// moved booking's new option, less what each moved booking cost where
	// it stood. Plans are ranked by fewer moves, then lower Added.
	Added float64
}

// Move is one booking a RescuePlan moves.
type Move struct {
	// From is the booking as read; To is the same booking after the move
	// (another worker or another start, touched at the clock reading with
	// reason doorstep.ChangeRescue: its version one more).
	From *doorstep.Booking
	To   doorstep.Booking
	// Option is To's option (worker and slot).
	Option Option
}

// PlanRescue looks for a way to serve req (urgent or normal), which no
// candidate can serve as things stand, by moving bookings that have not
// started — normal ones, and for an urgent req urgent ones too
// (MayMove) — to other candidates of the same region, or to other
// slots of their own worker, without breaking their promises (MovedJob: a
// normal start moves only inside an appointment's window, and a booking
// without a window keeps its start exactly; an urgent booking is still
// reached within its hour; excluded workers stay excluded), and only to a
// start inside RescueSpan. It returns nil when no plan exists within its
// bounds.
//
// Shapes tried, in this order, each only when the ones before found
// nothing: one move (a booking off a freed worker, to another worker or to
// a later slot of its own); then two moves: a chain (the booking goes to a
// worker W once one of W's bookings moves on, W possibly the freed worker
// itself) or two consecutive bookings off the freed worker (when neither
// alone frees it). Among plans of the fewest moves the lowest Added wins;
// a tie keeps the first found, searching freed workers nearest first (then
// by id), their bookings by start, each moved booking going to its
// cheapest option (ties by arrival, then worker id). Nothing depends on
// the order of cands or on booking ids.
//
// Every touched worker is in the freed worker's region: a booking lives in
// its region's hash slot (its id says which) and a plan is one atomic step,
// which Redis Cluster cannot make across slots. Plans in different
// regions compete as above. The candidates must carry their Bookings and
// Region.
func (m *Matcher) PlanRescue(req *doorstep.Request, cands []Candidate, now time.Time, hist History) *RescuePlan {
	p := &planner{m: m, req: req, job: schedule.JobFor(req, now), cands: cands, now: now, hist: hist,
		budget: MaxRescueEvaluations, placed: map[string]float64{}, targets: map[string][]int{},
		onRead: map[evalKey]evalResult{}}
	return p.plan()
}

// planner is one PlanRescue search.
type planner struct {
	m      *Matcher
	req    *doorstep.Request
	job    schedule.Job
	cands  []Candidate
	now    time.Time
	hist   History
	budget int // Evaluate calls left
	// placed caches each booking's cost where it stands, targets each
	// booking's destinations (indices into cands), by booking id.
	placed  map[string]float64
	targets map[string][]int
	// onRead caches where a booking goes on a candidate as read.
	onRead map[evalKey]evalResult
	// qualified caches, by region and the skills and certificates asked,
	// the candidates of the region who have them, by latitude (nearest
	// asks once per booking, and a busy city's bookings ask for a few
	// trades); at[i] is where candidate i is at now, once asked
	// (known[i]).
	qualified map[string]*byLatitude
	at        []doorstep.Location
	known     []bool
}

// state is a plan in the making: copies of the candidates it touched, as
// changed, the moves so far and the cost added.
type state struct {
	touched []touched
	moves   []Move
	added   float64
	// f is the freed worker (index in cands), opt the request's option.
	f   int
	opt Option
}

type touched struct {
	i int // index in cands
	c Candidate
}

// cand returns candidate i as the state has it.
func (s *state) cand(p *planner, i int) *Candidate {
	for k := range s.touched {
		if s.touched[k].i == i {
			return &s.touched[k].c
		}
	}
	return &p.cands[i]
}

// with returns a copy of s in which candidate i has timeline tl.
func (s state) with(p *planner, i int, tl schedule.Timeline) state {
	c := *s.cand(p, i)
	c.Timeline = tl
	out := s
	out.touched = make([]touched, 0, len(s.touched)+1)
	found := false
	for _, t := range s.touched {
		if t.i == i {
			t.c, found = c, true
		}
		out.touched = append(out.touched, t)
	}
	if !found {
		out.touched = append(out.touched, touched{i: i, c: c})
	}
	return out
}

// newStop names the request's own stop in a plan's timelines; no booking
// id is empty.
const newStop = ""

// eval is Evaluate within the budget: false when infeasible or spent.
func (p *planner) eval(req *doorstep.Request, job schedule.Job, c *Candidate, hist History) (Option, bool) {
	if p.budget <= 0 {
		return Option{}, false
	}
	p.budget--
	o, reason := p.m.Evaluate(req, job, c, hist)
	return o, reason == ""
}

// freeing is a worker with bookings taken off and the request on it.
type freeing struct {
	f       int
	removed []*doorstep.Booking
	st      state
}

func (p *planner) plan() *RescuePlan {
	freed := p.freeable()
	var best *state
	keep := func(s *state) {
		if s != nil && (best == nil || len(s.moves) < len(best.moves) ||
			len(s.moves) == len(best.moves) && s.added < best.added) {
			best = s
		}
	}
	// One move: a booking off a freed worker, placed directly.
	var singles []freeing
	freesAlone := map[string]bool{}
	for _, f := range freed {
		for _, b := range p.inTheWay(f, p.req, p.job, state{}) {
			if fr, ok := p.free(f, b); ok {
				singles = append(singles, fr)
				freesAlone[b.ID] = true
				keep(p.placeAll(fr.st, f, fr.removed))
			}
		}
	}
	if best != nil {
		return p.result(best)
	}
	// Two moves: chains from each single freeing, then pairs.
	for _, fr := range singles {
		keep(p.chain(fr))
	}
	for _, f := range freed {
		mov := p.inTheWay(f, p.req, p.job, state{})
		for k := 0; k+1 < len(mov); k++ {
			if freesAlone[mov[k].ID] || freesAlone[mov[k+1].ID] {
				continue // a chain covers it
			}
			if fr, ok := p.free(f, mov[k], mov[k+1]); ok {
				keep(p.placeAll(fr.st, f, fr.removed))
			}
		}
	}
	if best == nil {
		return nil
	}
	return p.result(best)
}

// Rescuable reports whether PlanRescue has a worker to try to free among
// cands: one qualified and not excluded, on a shift that can hold the job,
// with a booking it may move (and, for an urgent req, within the hour's
// reach). When it has none among the workers who can take req,
// PlanRescue returns nil whatever other workers the pool holds: a caller
// that read only those (a narrow pool) need not read the others to know.
//
// It stops at the first such worker: asked of every request nobody can
// serve directly, before a plan's turn (dispatch), it had cost a seventh
// of a busy city's CPU when it gathered and sorted them all as the plan
// does (bench/RESULTS.md, "A busy city: a bound on rescue plans").
func (m *Matcher) Rescuable(req *doorstep.Request, cands []Candidate, now time.Time) bool {
	p := &planner{m: m, req: req, job: schedule.JobFor(req, now), cands: cands, now: now}
	reach := p.reach()
	for i := range p.cands {
		if p.freeableAt(i, reach) {
			return true
		}
	}
	return false
}

// freeable returns the candidates PlanRescue tries to free (freeableAt),
// nearest first (then by id), at most MaxRescueWorkers. It walks those
// whose shifts, skills and certificates allow it (mayFree) outward from
// the request by bands of latitude (nearestIn), and asks for a movable
// booking and the reach only of the ones it meets: reading every
// qualified worker's bookings had been a third of a busy city's plan.
func (p *planner) freeable() []int {
	reach := p.reach()
	return p.nearestIn(p.bandsOf(p.mayFree), p.req.Location, MaxRescueWorkers, func(i int, km float64) bool {
		return km <= reach && p.hasMovable(i)
	})
}

// reach is how far an urgent request's worker may be (freeableAt), from
// the hour left; +Inf for a normal request.
func (p *planner) reach() float64 {
	if p.req.Urgency != doorstep.Urgent {
		return math.Inf(1)
	}
	return p.m.cfg.Travel.ReachKm(p.req.Deadline().Sub(p.now))
}

// freeableAt reports whether PlanRescue may try to free candidate i:
// qualified, not excluded, with a shift that can hold the job
// (ShiftCanHold), a movable booking and within reach km (reach).
func (p *planner) freeableAt(i int, reach float64) bool {
	return p.mayFree(i) && p.hasMovable(i) && geo.DistanceKm(p.position(i), p.req.Location) <= reach
}

// hasMovable reports whether candidate i holds a booking a plan may move
// (mayMove).
func (p *planner) hasMovable(i int) bool { return slices.ContainsFunc(p.cands[i].Bookings, p.mayMove) }

// mayFree is freeableAt but for the bookings and the reach: whether
// candidate i is qualified, not excluded and has a shift that can hold
// the job. A worker none of whose shifts can hold the job is not freed by
// moving its bookings: the job would not fit it anyway. (The shifts are
// checked first: where a window no shift holds makes a request
// unservable, they turn away every worker, and the lists of skills cost
// more to compare.)
func (p *planner) mayFree(i int) bool {
	w := p.cands[i].Worker
	return ShiftCanHold(w, p.job) && !slices.Contains(p.req.ExcludedWorkers, w.ID) && w.Qualifies(p.req)
}

// movable returns c's bookings a plan may move (mayMove), by start.
func (p *planner) movable(c *Candidate) []*doorstep.Booking {
	var out []*doorstep.Booking
	for _, b := range c.Bookings {
		if p.mayMove(b) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
	return out
}

// mayMove reports whether a plan may move booking b: confirmed, not
// started (the worker has not arrived), not reported under way (its
// worker set off for it: doorstep.Booking.UnderWay), normal, or urgent
// when the request is urgent (MayMove).
func (p *planner) mayMove(b *doorstep.Booking) bool {
	return MayMove(p.req, b) && b.Status == doorstep.StatusConfirmed && b.Arrival.After(p.now) && !b.UnderWay()
}

// wayReach is how far outside a job's range of starts (before its earliest
// start, after its latest end) a booking may lie and still be in its way:
// the travel to and from it. It is a bound on travel within a search, not
// a promise: a booking farther off is never tried.
const wayReach = 2 * time.Hour

// inTheWay returns the movable bookings of candidate i (as st has it) that
// may keep job (of req) off it: those within wayReach of the job's range,
// or every movable one when the worker's daily cap is what refuses it; the
// first MaxRescueBookings by start.
func (p *planner) inTheWay(i int, req *doorstep.Request, job schedule.Job, st state) []*doorstep.Booking {
	mov := p.movable(&p.cands[i])
	p.budget--
	if _, reason := p.m.Evaluate(req, job, st.cand(p, i), History{}); reason != ReasonCap {
		lo, hi := job.EarliestStart.Add(-wayReach), job.LatestStart.Add(job.Duration+wayReach)
		mov = slices.DeleteFunc(mov, func(b *doorstep.Booking) bool { return !b.End.After(lo) || !b.Start.Before(hi) })
	}
	return mov[:min(len(mov), MaxRescueBookings)]
}

// free takes bookings bs off candidate f and places the request there.
func (p *planner) free(f int, bs ...*doorstep.Booking) (freeing, bool) {
	c := p.cands[f]
	for _, b := range bs {
		c.Timeline = c.Timeline.Without(b.ID)
	}
	o, ok := p.eval(p.req, p.job, &c, p.hist)
	if !ok {
		return freeing{}, false
	}
	st := state{}.with(p, f, c.Timeline.Insert(schedule.Stop{BookingID: newStop,
		Arrival: o.Slot.Arrival, Start: o.Slot.Start, End: o.Slot.End, Location: p.req.Location,
		Urgent: p.req.Urgency == doorstep.Urgent}))
	st.added, st.f, st.opt = o.Cost, f, o
	for _, b := range bs {
		st.added -= p.placedCost(b, f)
	}
	return freeing{f: f, removed: bs, st: st}, true
}

// placedCost is what booking b costs where it stands on candidate i: its
// option at its very start on the worker's day without it (0 when that is
// no longer feasible, the worker's day having changed under it).
func (p *planner) placedCost(b *doorstep.Booking, i int) float64 {
	if v, ok := p.placed[b.ID]; ok {
		return v
	}
	mreq, job := MovedJob(b, p.now)
	job.EarliestStart, job.LatestStart = b.Start, b.Start
	c := p.cands[i]
	c.Timeline = c.Timeline.Without(b.ID)
	o, ok := p.eval(mreq, job, &c, History{LastWorker: b.WorkerID})
	v := 0.0
	if ok {
		v = o.Cost
	}
	p.placed[b.ID] = v
	return v
}

// placeAll places bookings bs (taken off candidate from) one after the
// other, each on its cheapest target as the plan stands; nil when one
// finds none.
func (p *planner) placeAll(st state, from int, bs []*doorstep.Booking) *state {
	for _, b := range bs {
		next, ok := p.place(st, from, b)
		if !ok {
			return nil
		}
		st = next
	}
	return &st
}

// place moves booking b (already off its worker's timeline in st) to its
// cheapest target.
func (p *planner) place(st state, from int, b *doorstep.Booking) (state, bool) {
	mreq, mjob := p.movedJob(b)
	hist := History{LastWorker: b.WorkerID}
	var best Option
	bi := -1
	for _, i := range p.targetsOf(st, from, b) {
		o, ok := p.evalOn(st, i, b, mreq, mjob, hist)
		if !ok || o.WorkerID == b.WorkerID && o.Slot.Start.Equal(b.Start) {
			continue // no slot, or no move at all
		}
		if bi < 0 || less(&o, &best) {
			best, bi = o, i
		}
	}
	if bi < 0 {
		return state{}, false
	}
	return p.moved(st, bi, b, best), true
}

// evalOn evaluates moved booking b on candidate i as st has it. A
// candidate the plan has not touched is as read, so its answer is kept
// for the next plan that tries b there.
func (p *planner) evalOn(st state, i int, b *doorstep.Booking, mreq *doorstep.Request, mjob schedule.Job, hist History) (Option, bool) {
	if slices.ContainsFunc(st.touched, func(t touched) bool { return t.i == i }) {
		return p.eval(mreq, mjob, st.cand(p, i), hist)
	}
	k := evalKey{b.ID, i}
	if r, ok := p.onRead[k]; ok {
		return r.o, r.ok
	}
	o, ok := p.eval(mreq, mjob, &p.cands[i], hist)
	if ok || p.budget > 0 { // a refusal for want of budget is not an answer
		p.onRead[k] = evalResult{o, ok}
	}
	return o, ok
}

type evalKey struct {
	booking string
	i       int
}

type evalResult struct {
	o  Option
	ok bool
}

// moved returns st with booking b on candidate i at option o.
func (p *planner) moved(st state, i int, b *doorstep.Booking, o Option) state {
	to := *b
	to.Touch(p.now, doorstep.ChangeRescue)
	to.WorkerID, to.Start, to.End, to.Arrival = o.WorkerID, o.Slot.Start, o.Slot.End, o.Slot.Arrival
	next := st.with(p, i, st.cand(p, i).Timeline.Insert(schedule.StopOf(&to)))
	next.moves = append(slices.Clip(st.moves), Move{From: b, To: to, Option: o})
	next.added += o.Cost
	return next
}

// targetsOf returns where booking b (from candidate from) may go: the
// workers st touched, then the nearest qualified, not excluded candidates
// of from's region to b's place (by id on a tie), MaxRescueTargets in all.
func (p *planner) targetsOf(st state, from int, b *doorstep.Booking) []int {
	near, ok := p.targets[b.ID]
	if !ok {
		near = p.nearest(from, b, MaxRescueTargets)
		p.targets[b.ID] = near
	}
	out := make([]int, 0, MaxRescueTargets)
	for _, t := range st.touched {
		out = append(out, t.i)
	}
	for _, i := range near {
		if len(out) == MaxRescueTargets {
			break
		}
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}

// nearest returns up to k candidates of from's region that may take
// booking b, nearest to b's place first (then by id): the k first of
// them all sorted so. A rescue plan asks this of every booking it may
// move, and in a busy city the qualified are thousands: measuring the
// distance to each of them had been most of a plan's time
// (bench/RESULTS.md, "A busy day's rescue plans").
func (p *planner) nearest(from int, b *doorstep.Booking, k int) []int {
	q := p.qualifiedIn(p.cands[from].Region, b.Skills, b.Certificates)
	return p.nearestIn(q, b.Location, k, func(i int, _ float64) bool {
		return !slices.Contains(b.ExcludedWorkers, p.cands[i].Worker.ID)
	})
}

// nearestIn returns the k candidates of q nearest to at that keep allows
// (asked with each one's distance), nearest first, ties by worker id: the
// k first of them all sorted so (nearestK).
//
// It walks q outward from at's latitude, band by band, and stops at the
// first band farther from at than the k-th nearest found
// (geo.ApartBeyondKm): nobody beyond it could be nearer.
func (p *planner) nearestIn(q *byLatitude, to doorstep.Location, k int, keep func(i int, km float64) bool) []int {
	if k <= 0 {
		return nil
	}
	best := nearestK{p: p, k: k}
	visit := func(band int) {
		for _, i := range q.idx[q.start[band]:q.start[band+1]] {
			if km := geo.DistanceKm(p.position(i), to); keep(i, km) {
				best.add(near{i, km})
			}
		}
	}
	at := to.Lat
	home := q.band(at)
	visit(home)
	lo, hi := home-1, home+1
	for {
		for lo >= 0 && q.empty(lo) {
			lo--
		}
		for hi < q.bands() && q.empty(hi) {
			hi++
		}
		var next int
		switch {
		case lo < 0 && hi == q.bands():
			return best.indices()
		case lo < 0:
			next, hi = hi, hi+1
		case hi == q.bands() || q.gap(lo, at) <= q.gap(hi, at):
			next, lo = lo, lo-1
		default:
			next, hi = hi, hi+1
		}
		// The other way is no nearer: it was not taken.
		if best.full() && geo.ApartBeyondKm(q.edge(next, at), at, best.last().km) {
			return best.indices()
		}
		visit(next)
	}
}

// byLatitude is a set of candidates in bands of latitude (of where they
// are at the plan's time): band j holds idx[start[j]:start[j+1]], whose
// latitudes lie in [lo[j], hi[j]], and every latitude of a band is below
// every one of the next. A band is the latitude's offset from min over
// width, so a place's own band is found without a search.
type byLatitude struct {
	idx, start []int
	lo, hi     []float64
	min, width float64
}

// bandsFor is how many bands n candidates are put in: about eight a band.
func bandsFor(n int) int { return min(max(n/8, 1), 4096) }

// band returns the band latitude lat falls in (the first or the last for
// a latitude below or above them all). A larger latitude's band is never
// a smaller one: rounded subtraction and division keep the order.
func (q *byLatitude) band(lat float64) int {
	if q.width == 0 || !(lat > q.min) {
		return 0
	}
	return min(int((lat-q.min)/q.width), q.bands()-1)
}

func (q *byLatitude) bands() int       { return len(q.start) - 1 }
func (q *byLatitude) empty(j int) bool { return q.start[j] == q.start[j+1] }

// gap is how far in latitude band j (not empty) lies from lat.
func (q *byLatitude) gap(j int, lat float64) float64 { return math.Abs(lat - q.edge(j, lat)) }

// edge is the latitude of band j (not empty) nearest to lat.
func (q *byLatitude) edge(j int, lat float64) float64 {
	return min(max(lat, q.lo[j]), q.hi[j])
}

// qualifiedIn returns the candidates of region with every one of skills
// and certificates (Worker.Qualifies), in bands of latitude.
func (p *planner) qualifiedIn(region string, skills, certificates []string) *byLatitude {
	key := region + "\x00" + strings.Join(skills, "\x00") + "\x00\x00" + strings.Join(certificates, "\x00")
	if q, ok := p.qualified[key]; ok {
		return q
	}
	req := doorstep.Request{Skills: skills, Certificates: certificates}
	q := p.bandsOf(func(i int) bool { return p.cands[i].Region == region && p.cands[i].Worker.Qualifies(&req) })
	if p.qualified == nil {
		p.qualified = map[string]*byLatitude{}
	}
	p.qualified[key] = q
	return q
}

// bandsOf files the candidates in (those for which in is true) in bands
// of latitude, about eight a band (bandsFor), each band in the order of
// cands.
func (p *planner) bandsOf(in func(i int) bool) *byLatitude {
	var set []int
	q := &byLatitude{min: math.Inf(1)}
	top := math.Inf(-1)
	for i := range p.cands {
		if in(i) {
			set = append(set, i)
			lat := p.position(i).Lat
			q.min, top = min(q.min, lat), max(top, lat)
		}
	}
	n := bandsFor(len(set))
	if len(set) > 0 && top > q.min {
		q.width = (top - q.min) / float64(n)
	} else {
		n = 1
	}
	q.start = make([]int, n+1)
	for _, i := range set {
		q.start[q.band(p.position(i).Lat)+1]++
	}
	for j := range n {
		q.start[j+1] += q.start[j]
	}
	q.idx, q.lo, q.hi = make([]int, len(set)), make([]float64, n), make([]float64, n)
	fill := slices.Clone(q.start[:n])
	for _, i := range set {
		lat := p.position(i).Lat
		j := q.band(lat)
		if fill[j] == q.start[j] {
			q.lo[j], q.hi[j] = lat, lat
		}
		q.lo[j], q.hi[j] = min(q.lo[j], lat), max(q.hi[j], lat)
		q.idx[fill[j]] = i
		fill[j]++
	}
	return q
}

// position is where candidate i is at p.now (Worker.PositionAt).
func (p *planner) position(i int) doorstep.Location {
	if p.known == nil {
		p.at, p.known = make([]doorstep.Location, len(p.cands)), make([]bool, len(p.cands))
	}
	if !p.known[i] {
		p.at[i], p.known[i] = p.cands[i].Worker.PositionAt(p.now), true
	}
	return p.at[i]
}

// near is a candidate (by index) at a distance.
type near struct {
	i  int
	km float64
}

// nearestK keeps the k nearest of the candidates it is given, nearest
// first, ties by worker id (so the answer does not depend on the pool's
// order), as it goes rather than sorting them all: a busy city's whole
// pool is thousands of workers, and k is a few dozen.
type nearestK struct {
	p    *planner
	k    int
	best []near
}

func (n *nearestK) before(a, b near) int {
	if c := cmp.Compare(a.km, b.km); c != 0 {
		return c
	}
	return cmp.Compare(n.p.cands[a.i].Worker.ID, n.p.cands[b.i].Worker.ID)
}

// full reports whether n holds k: a candidate must then beat the last.
func (n *nearestK) full() bool { return len(n.best) >= n.k }

// last is the k-th nearest so far (n full, k > 0).
func (n *nearestK) last() near { return n.best[len(n.best)-1] }

// add offers c.
func (n *nearestK) add(c near) {
	if n.k <= 0 || n.full() && n.before(c, n.last()) >= 0 {
		return
	}
	at, _ := slices.BinarySearchFunc(n.best, c, n.before)
	if !n.full() {
		n.best = slices.Insert(n.best, at, c)
		return
	}
	copy(n.best[at+1:], n.best[at:n.k-1])
	n.best[at] = c
}

// indices returns the candidates kept, nearest first.
func (n *nearestK) indices() []int {
	if n.k <= 0 {
		return nil
	}
	out := make([]int, len(n.best))
	for j, c := range n.best {
		out[j] = c.i
	}
	return out
}

// chain places the booking fr took off on a worker W once one of W's own
// bookings moves on to its cheapest target (W itself, the freed worker,
// or another). W ranges over the freed worker and the MaxChainWorkers
// nearest others that may take the booking.
func (p *planner) chain(fr freeing) *state {
	b := fr.removed[0]
	mreq, mjob := p.movedJob(b)
	hist := History{LastWorker: b.WorkerID}
	ws := []int{fr.f}
	for _, i := range p.targetsOf(fr.st, fr.f, b) {
		if len(ws) == 1+MaxChainWorkers {
			break
		}
		if i != fr.f {
			ws = append(ws, i)
		}
	}
	var best *state
	for _, w := range ws {
		c := fr.st.cand(p, w)
		for _, other := range p.inTheWay(w, mreq, mjob, fr.st) {
			if other.ID == b.ID || !slices.ContainsFunc(c.Timeline, func(s schedule.Stop) bool { return s.BookingID == other.ID }) {
				continue
			}
			st := fr.st.with(p, w, c.Timeline.Without(other.ID))
			o, ok := p.eval(mreq, mjob, st.cand(p, w), hist)
			if !ok {
				continue
			}
			st = p.moved(st, w, b, o)
			st.added -= p.placedCost(other, w)
			if next, ok := p.place(st, w, other); ok && (best == nil || next.added < best.added) {
				best = &next
			}
		}
	}
	return best
}

// result turns a finished state into the plan.
func (p *planner) result(st *state) *RescuePlan {
	expect := make(map[string]int64, len(st.touched))
	for _, t := range st.touched {
		expect[t.c.Worker.ID] = p.cands[t.i].Version
	}
	return &RescuePlan{Option: st.opt, Moves: st.moves, Region: p.cands[st.f].Region, Expect: expect, Added: st.added}
}

// MayMove reports whether a rescue for req may move booking b by its
// class: a normal booking always; an urgent one only to make room for an
// urgent request, and then only inside its own promise (MovedJob). An
// urgent booking never gives way to normal work. An unstarted urgent
// booking on the one worker who can reach a new urgent call in time, when
// another worker can still reach the booking within its hour, is the
// miss this saves (bench/RESULTS.md, "Issue 11: the last points").
func MayMove(req *doorstep.Request, b *doorstep.Booking) bool {
	return b.Urgency == doorstep.Normal || req.Urgency == doorstep.Urgent
}

// movedJob is MovedJob bounded to RescueSpan.
func (p *planner) movedJob(b *doorstep.Booking) (*doorstep.Request, schedule.Job) {
	mreq, job := MovedJob(b, p.now)
	lo, hi := RescueSpan(p.job, p.now)
	job.EarliestStart, job.LatestStart = latest(job.EarliestStart, lo), earliest(job.LatestStart, hi)
	return mreq, job
}

// RescueSpan is the range of starts PlanRescue may move a booking to when
// it makes room for job at clock reading now: from now to now + 24 hours
// or the job's latest start, whichever is later; for an appointment whose
// starts begin more than 24 hours ahead, from its earliest start. A caller
// reads the pool's bookings from a working day before lo (dispatch), so
// that an appointment days ahead needs no bookings of the days between.
func RescueSpan(job schedule.Job, now time.Time) (lo, hi time.Time) {
	lo, ahead := now, now.Add(doorstep.NormalStart)
	if job.EarliestStart.After(ahead) {
		lo = job.EarliestStart
	}
	return lo, latest(job.LatestStart, ahead)
}

// MovedJob is the request and job of an existing booking being moved. A
// normal booking's start stays inside its promise (an appointment's
// window), and a booking without a window keeps its start exactly (its
// customer was told that time). An urgent booking keeps its promise: a
// worker arrives within the hour of its request (its customer is told the
// new arrival through the booking's last change). The request keeps the
// booking's preferred and excluded workers.
func MovedJob(b *doorstep.Booking, now time.Time) (*doorstep.Request, schedule.Job) {
	r := b.Request()
	job := schedule.JobFor(r, now)
	if b.Urgency == doorstep.Urgent {
		return r, job
	}
	if b.Window == nil {
		job.EarliestStart, job.LatestStart = b.Start, b.Start
	}
	return r, job
}
