package sim

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// outcome is what became of a request: the worker and slot it was booked
// in, or the reason it was not (worker -1).
type outcome struct {
	worker int32
	slot   schedule.Slot
	reason string
	// rescued: served by moving bookings (moves of them; see PlanRescue).
	rescued bool
	// moves is how many bookings the rescue that served it moved.
	moves int
	// cause, for an unserved request, is what would have served it
	// (missCause).
	cause string
	// What the day's disruptions did to it (Disruptions): its customer
	// cancelled it, nobody was home, it ran longer than planned, an earlier
	// job's overrun delayed it.
	cancelled, noShow, overran, delayed bool
	// replanned: an earlier job's overrun moved it to another worker
	// (the server's re-plan, replanOverrun).
	replanned              bool
	cancelPlanned, started bool
	// revealEnd is a started job's actual end, known at revealAt (the
	// earlier of it and the planned end).
	revealEnd, revealAt time.Time
	// inactive marks a retry that was not needed (its first request was
	// served): not a request. carried, on a first request asked again the
	// next day, is the retry's index + 1.
	inactive bool
	carried  int32
}

// engine is the discrete-event simulation of one variant. The simulated
// clock is the time of the event being handled: an arrival (insertion,
// greedy) or a batch tick. Before each, the workers move: a worker whose
// job ended is at the job's place, one whose shift ended is home. The
// workers' timelines are the truth of where they are and will be; the
// matcher plans from them exactly as the server does.
type engine struct {
	s      *Scenario
	policy Policy
	m      *matcher.Matcher
	travel geo.TravelModel
	prog   *progress

	workers []*doorstep.Worker
	regions []string            // by worker: its report region
	cands   []matcher.Candidate // by worker: its timeline as booked so far
	pos     []doorstep.Location // where each worker is, as the index has it
	ix      *matcher.Index
	moves   moveHeap

	arr  []arrival
	out  []outcome
	byID map[string]int32 // booking id (the request's) -> request index

	solve time.Duration // time in the batch solver (wall clock, for timing.json only)

	now       time.Time        // the clock: the latest time advanced to
	reqIdx    map[string]int32 // request id -> index, for retries (CarryOver)
	disturbed []bool           // by worker: an overrun pushed its day past the plan

	idx    []int // scratch
	cs     []matcher.Candidate
	relIdx []int // the workers of the latest re-plan's pool (replanOverrun)

	sb standbyState
}

func newEngine(s *Scenario, policy Policy, m *matcher.Matcher, workers []*doorstep.Worker, arr []arrival, prog *progress) *engine {
	e := &engine{
		s: s, policy: policy, m: m, travel: m.Config().Travel, prog: prog,
		workers: workers,
		cands:   make([]matcher.Candidate, len(workers)),
		pos:     make([]doorstep.Location, len(workers)),
		ix:      matcher.NewIndex(),
		arr:     arr,
		out:     make([]outcome, len(arr)),
		byID:    make(map[string]int32, len(arr)),

		disturbed: make([]bool, len(workers)),
	}
	for i := range arr {
		if arr[i].retryOf != "" {
			e.reqIdx = make(map[string]int32, len(arr))
			for j := range arr {
				e.reqIdx[arr[j].req.ID] = int32(j)
			}
			break
		}
	}
	for i, w := range workers {
		// The region the server files the worker under: a rescue moves
		// bookings only between workers of one region, as the server does.
		e.cands[i] = matcher.Candidate{Worker: w, Region: geo.RegionOf(w.Home).String()}
		e.pos[i] = w.Home
		e.ix.Put(i, w.Home)
		for _, sh := range w.Shifts {
			heap.Push(&e.moves, move{at: sh.End, kind: moveHome, w: int32(i), loc: w.Home, req: -1})
		}
	}
	e.standbyInit()
	return e
}

// Move kinds, in the order they apply at the same instant.
const (
	moveJob    = iota // a job ended: the worker is at its place
	moveHome          // a shift ended: the worker is home
	moveCancel        // a customer cancels a booking (Disruptions)
	moveStart         // a job starts: its fate is drawn (Disruptions)
	moveReveal        // a started job's actual end becomes known (Disruptions)
)

// move is a change of a worker's position at a time: the end of request
// req's job (moveJob), or of a shift (moveHome, req -1).
type move struct {
	at   time.Time
	kind int
	w    int32
	req  int32
	seq  int64
	loc  doorstep.Location
}

// moveHeap orders moves by time, kind, then the order they were pushed.
type moveHeap struct {
	items []move
	seq   int64
}

func (h *moveHeap) Len() int { return len(h.items) }
func (h *moveHeap) Less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	if c := a.at.Compare(b.at); c != 0 {
		return c < 0
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.seq < b.seq
}
func (h *moveHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *moveHeap) Push(x any) {
	m := x.(move)
	h.seq++
	m.seq = h.seq
	h.items = append(h.items, m)
}
func (h *moveHeap) Pop() any {
	n := len(h.items) - 1
	m := h.items[n]
	h.items = h.items[:n]
	return m
}

// advance applies every move due by now.
func (e *engine) advance(now time.Time) {
	e.now = now
	for e.moves.Len() > 0 && !e.moves.items[0].at.After(now) {
		m := heap.Pop(&e.moves).(move)
		switch m.kind {
		case moveCancel:
			e.cancelBooking(m)
			continue
		case moveStart:
			e.startJob(m)
			continue
		case moveReveal:
			e.revealJobEnd(m)
			continue
		}
		if m.kind == moveJob && (e.out[m.req].worker != m.w || !e.out[m.req].slot.End.Equal(m.at) || e.out[m.req].cancelled) {
			continue // the job was moved by a rescue, retimed or cancelled: its own move stands
		}
		if m.kind == moveJob && inOvertime(e.cands[m.w].Worker, m.at) {
			// An urgent job run into the overtime after the shift: the
			// worker goes home from it, as at a shift's end.
			m.loc = e.cands[m.w].Worker.Home
		}
		e.pos[m.w] = m.loc
		e.ix.Put(int(m.w), m.loc)
	}
}

// inOvertime reports whether t lies after the end of a shift of w, in its
// urgent overtime (doorstep.Shift.UrgentOvertimeMinutes).
func inOvertime(w *doorstep.Worker, t time.Time) bool {
	for i := range w.Shifts {
		sh := &w.Shifts[i]
		if sh.UrgentOvertimeMinutes > 0 && t.After(sh.End) && !t.After(sh.EndFor(true)) {
			return true
		}
	}
	return false
}

// run handles every arrival in order, as the policy says.
func (e *engine) run(ctx context.Context) error {
	if e.policy.Name == PolicyBatch {
		return e.runBatch(ctx)
	}
	for i := range e.arr {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("sim: stopped: %w", err)
			}
		}
		now := e.arr[i].req.RequestedAt
		e.advance(now)
		e.standby(now)
		if e.skipRetry(i) {
			e.prog.add(1)
			continue
		}
		if e.policy.Name == PolicyGreedy {
			e.greedy(i, now)
		} else {
			e.insertion(i, now)
		}
		e.standbySeen(i)
		e.prog.add(1)
	}
	e.drain()
	return nil
}

// drain applies the events left after the last arrival (jobs that start,
// run long or are cancelled later): the day plays out to its end.
func (e *engine) drain() {
	if e.moves.Len() > 0 {
		e.advance(e.s.Start.Add(e.s.horizon() + 3*doorstep.NormalStart + e.s.lead()))
	}
}

// qualified returns the filter of workers with req's skills and
// certificates.
func (e *engine) qualified(req *doorstep.Request) func(int) bool {
	return func(w int) bool {
		return e.workers[w].Qualifies(req)
	}
}

// near returns the qualified workers around req, widening the search until
// Matching.Candidates of them could serve it (matcher.CouldServe) and no
// worker farther out can beat the best option found (matcher.Settled), or
// the class's reach is covered, as the server's booking path does.
func (e *engine) near(dst []int, req *doorstep.Request, now time.Time, keep func(int) bool) []int {
	search := matcher.SearchFor(req, now, e.travel, e.s.Matching.NormalReachKm)
	enough := func(found []int, rings int) (bool, int) {
		could := 0
		for _, w := range found {
			if matcher.CouldServe(e.workers[w], req, now) {
				could++
			}
		}
		if could < e.s.Matching.Candidates {
			return false, 0
		}
		best := e.bestCost(req, found, now)
		return e.m.Settled(req, search, rings, best), e.m.SettleRings(req, search, best)
	}
	return e.ix.WidenTo(dst, search, keep, enough)
}

// bestCost is matcher.BestCost over workers ws.
func (e *engine) bestCost(req *doorstep.Request, ws []int, now time.Time) float64 {
	if req.Urgency != doorstep.Urgent {
		return math.Inf(1) // spares building the candidates
	}
	cs := make([]matcher.Candidate, len(ws))
	for k, w := range ws {
		cs[k] = e.cands[w]
	}
	return e.m.BestCost(req, cs, now)
}

// book records request i on worker w in slot and adds the stop to the
// worker's timeline.
func (e *engine) book(i int, w int, slot schedule.Slot) {
	req := &e.arr[i].req
	c := &e.cands[w]
	c.Timeline = c.Timeline.Insert(schedule.Stop{BookingID: req.ID, Arrival: slot.Arrival,
		Start: slot.Start, End: slot.End, Location: req.Location, Urgent: req.Urgency == doorstep.Urgent})
	e.booked(i, w, slot)
}

// booked records request i on worker w whose timeline already holds it,
// with the booking the server would store (which a rescue may move).
func (e *engine) booked(i int, w int, slot schedule.Slot) {
	req := &e.arr[i].req
	e.out[i] = outcome{worker: int32(w), slot: slot}
	c := &e.cands[w]
	c.Version++
	c.Bookings = append(c.Bookings, matcher.BookingFor(req, &matcher.Option{WorkerID: c.Worker.ID, Slot: slot}, req.ID, "", req.RequestedAt))
	e.byID[req.ID] = int32(i)
	heap.Push(&e.moves, move{at: slot.End, kind: moveJob, w: int32(w), req: int32(i), loc: req.Location})
	e.planFate(i, e.now)
}

// rescue serves request i by plan rp, as the server's booking does in one
// atomic step: the moved bookings leave their workers' days, the request
// takes its place, and each moved booking lands on its new slot.
func (e *engine) rescue(i int, rp *matcher.RescuePlan) {
	worker := func(id string) int {
		for k := range e.cs {
			if e.cs[k].Worker.ID == id {
				return e.idx[k]
			}
		}
		panic("sim: a rescue names a worker it was not given")
	}
	for _, mv := range rp.Moves {
		c := &e.cands[worker(mv.From.WorkerID)]
		c.Timeline = c.Timeline.Without(mv.From.ID)
		c.Bookings = slices.DeleteFunc(slices.Clone(c.Bookings), func(b *doorstep.Booking) bool { return b.ID == mv.From.ID })
	}
	e.book(i, worker(rp.Option.WorkerID), rp.Option.Slot)
	e.out[i].rescued, e.out[i].moves = true, len(rp.Moves)
	for _, mv := range rp.Moves {
		to := worker(mv.To.WorkerID)
		moved := mv.To
		t := &e.cands[to]
		t.Timeline = t.Timeline.Insert(schedule.StopOf(&moved))
		t.Bookings = append(t.Bookings, &moved)
		t.Version++
		j := e.byID[moved.ID]
		e.out[j].worker, e.out[j].slot = int32(to), mv.Option.Slot
		heap.Push(&e.moves, move{at: moved.End, kind: moveJob, w: int32(to), req: j, loc: moved.Location})
		e.planFate(int(j), e.now)
	}
}

// unserved records that request i could not be served at now, for reason
// (what the server's 422 names), and diagnoses its cause.
func (e *engine) unserved(i int, reason string, now time.Time) {
	e.out[i] = outcome{worker: -1, reason: reason, cause: e.missCause(i, now)}
}

// insertion books request i as POST /v1/bookings does: the best option of
// matcher.Match over the qualified workers nearby; for a request nobody
// can serve, the plan of matcher.PlanRescue that moves normal bookings to
// make room; else unserved with the reason the server's 422 names.
func (e *engine) insertion(i int, now time.Time) {
	req := &e.arr[i].req
	e.idx = e.near(e.idx[:0], req, now, e.qualified(req))
	e.cs = e.cs[:0]
	for _, w := range e.idx {
		e.cs = append(e.cs, e.cands[w])
	}
	res := e.m.Match(req, e.cs, now, matcher.History{})
	if len(res.Options) == 0 {
		if rp := e.m.PlanRescue(req, e.cs, now, matcher.History{}); rp != nil {
			e.rescue(i, rp)
			return
		}
		e.unserved(i, matcher.ReasonOf(res.Rejected, len(e.idx)), now)
		return
	}
	o := &res.Options[0]
	for k := range e.cs {
		if e.cs[k].Worker.ID == o.WorkerID {
			e.book(i, e.idx[k], o.Slot)
			return
		}
	}
	panic("sim: matcher chose a worker it was not given")
}

// greedy books request i on the nearest qualified worker idle now, at its
// earliest feasible slot; when no idle worker can take it, on the nearest
// busy one that can.
func (e *engine) greedy(i int, now time.Time) {
	req := &e.arr[i].req
	e.idx = e.near(e.idx[:0], req, now, e.qualified(req))
	type cand struct {
		busy bool
		km   float64
		w    int
	}
	order := make([]cand, len(e.idx))
	for k, w := range e.idx {
		order[k] = cand{busy: !e.idle(w, now), km: geo.DistanceKm(e.pos[w], req.Location), w: w}
	}
	slices.SortFunc(order, func(a, b cand) int {
		if a.busy != b.busy {
			if a.busy {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(a.km, b.km); c != 0 {
			return c
		}
		return cmp.Compare(a.w, b.w)
	})
	job := schedule.JobFor(req, now)
	rejected := map[string]int{}
	for _, c := range order {
		o, reason := e.m.Evaluate(req, job, &e.cands[c.w], matcher.History{})
		if reason == "" {
			e.book(i, c.w, o.Slot)
			return
		}
		rejected[reason]++
	}
	e.unserved(i, matcher.ReasonOf(rejected, len(order)), now)
}

// idle reports whether worker w is neither travelling to nor serving a job
// at now.
func (e *engine) idle(w int, now time.Time) bool {
	for _, st := range e.cands[w].Timeline {
		if !st.End.After(now) {
			continue
		}
		depart := st.Arrival
		if i, ok := e.byID[st.BookingID]; ok {
			depart = depart.Add(-e.out[i].slot.Travel)
		}
		if !depart.After(now) {
			return false
		}
	}
	return true
}

// runBatch buffers arrivals and assigns them at ticks aligned on the
// start: an urgent request at the first tick of BatchSeconds at or after
// its arrival, a normal one at the first tick of NormalBatchSeconds. A
// tick assigns every request due by then in one batch (assign).
func (e *engine) runBatch(ctx context.Context) error {
	period := time.Duration(e.policy.BatchSeconds) * time.Second
	normal := time.Duration(e.policy.NormalBatchSeconds) * time.Second
	if normal <= 0 {
		normal = period // a policy not validated: one period
	}
	tickAt := func(t time.Time, p time.Duration) time.Time {
		k := (t.Sub(e.s.Start) + p - 1) / p
		return e.s.Start.Add(k * p)
	}
	release := make([]time.Time, len(e.arr)) // by request: the tick it is due at
	var pending []int                        // arrived, not yet assigned
	next := 0                                // the next arrival
	for next < len(e.arr) || len(pending) > 0 {
		if len(pending) == 0 {
			e.enqueue(next, tickAt, period, normal, release, &pending)
			next++
			continue
		}
		tick := release[pending[0]]
		for _, i := range pending[1:] {
			if release[i].Before(tick) {
				tick = release[i]
			}
		}
		if next < len(e.arr) && !e.arr[next].req.RequestedAt.After(tick) {
			e.enqueue(next, tickAt, period, normal, release, &pending)
			next++
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sim: stopped: %w", err)
		}
		var due, later []int
		for _, i := range pending {
			if release[i].After(tick) {
				later = append(later, i)
			} else {
				due = append(due, i)
			}
		}
		if err := e.assign(due, tick); err != nil {
			return err
		}
		pending = later
	}
	e.drain()
	return nil
}

// enqueue adds arrival i to pending, due at its tick (see runBatch); a
// retry that is no longer needed (skipRetry) is not.
func (e *engine) enqueue(i int, tickAt func(time.Time, time.Duration) time.Time, urgent, normal time.Duration,
	release []time.Time, pending *[]int) {
	r := &e.arr[i].req
	if e.arr[i].retryOf != "" {
		e.advance(r.RequestedAt)
		if e.skipRetry(i) {
			e.prog.add(1)
			return
		}
	}
	if r.Urgency == doorstep.Urgent {
		release[i] = tickAt(r.RequestedAt, urgent)
	} else {
		release[i] = tickAt(r.RequestedAt, normal)
	}
	*pending = append(*pending, i)
	e.prog.add(1)
}

// assign places the buffered requests optimally at now, then books each
// one the assignment could not place as insertion does (a rescue
// included): what POST /v1/assign with commit does
// (dispatch.Service.Assign).
func (e *engine) assign(buf []int, now time.Time) error {
	e.advance(now)
	reqs := make([]*doorstep.Request, len(buf))
	for k, i := range buf {
		reqs[k] = &e.arr[i].req
	}
	items := e.m.BatchItems(reqs, nil, e.cands, e.ix, now, e.s.Matching.NormalReachKm, e.s.Matching.Candidates)
	res, err := e.m.Assign(items, e.cands, now, matcher.BatchOptions{MaxRounds: e.s.Matching.MaxRounds})
	if err != nil {
		return fmt.Errorf("sim: batch at %s: %w", now.Format(time.RFC3339), err)
	}
	e.solve += res.Solve
	for _, a := range res.Assignments {
		e.booked(buf[a.Item], a.Worker, a.Option.Slot)
	}
	left := make([]int, len(res.Unassigned))
	for k, u := range res.Unassigned {
		left[k] = buf[u.Item]
	}
	// Urgent requests first, then in the batch's order, as the server
	// books what a batch left.
	slices.SortStableFunc(left, func(a, b int) int {
		return doorstep.CompareUrgency(e.arr[a].req.Urgency, e.arr[b].req.Urgency)
	})
	for _, i := range left {
		e.insertion(i, now)
	}
	return nil
}

// verify checks every worker's day against the hard rules: the simulation
// must never have booked what the server would refuse.
func (e *engine) verify() error {
	for i, w := range e.workers {
		if e.disturbed[i] {
			continue // an overrun ran the day past its plan, as real days do
		}
		if err := schedule.Verify(w, e.cands[i].Timeline, e.travel); err != nil {
			return fmt.Errorf("sim: worker %s: a booked day breaks a hard rule: %w", w.ID, err)
		}
	}
	return nil
}
