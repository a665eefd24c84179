package sim

import (
	"cmp"
	"container/heap"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Disruptions make the simulated day imperfect, as real days are: jobs
// take more or less time than planned, customers cancel, households are not
// at home, and requests nobody could serve are asked again the next day.
// Each request's fate is drawn from its own random stream (by the
// scenario's seed and the request's id), so every variant and policy meets
// the same fates.
type Disruptions struct {
	// DurationCV is the coefficient of variation of a job's actual
	// duration around the planned one (log-normal with mean 1); 0 means
	// jobs take exactly what was planned. A job that runs long delays the
	// worker's later jobs (travel included), which may then arrive or
	// start late; one that ends early frees the worker.
	DurationCV float64 `json:"duration_cv,omitempty"`
	// CancelShare is the share of normal bookings their customer cancels,
	// at a uniform time between the booking and its start: the slot is
	// freed. Urgent bookings are not cancelled.
	CancelShare float64 `json:"cancel_share,omitempty"`
	// NoShowShare is the share of jobs where nobody is at home: the worker
	// waits NoShowMinutes (0 means 15) after arriving, then leaves.
	NoShowShare   float64 `json:"no_show_share,omitempty"`
	NoShowMinutes float64 `json:"no_show_minutes,omitempty"`
	// CarryOver asks an unserved normal request again 24 hours later
	// (once, when that is inside the horizon): the household tries again
	// tomorrow. A request served on its second try counts as served, not
	// within 24 hours.
	CarryOver bool `json:"carry_over,omitempty"`
}

func (d *Disruptions) validate(f string) error {
	switch {
	case !finite(d.DurationCV, 0, 2):
		return bad(f+".duration_cv", "must be in [0, 2]")
	case !finite(d.CancelShare, 0, 1):
		return bad(f+".cancel_share", "must be in [0, 1]")
	case !finite(d.NoShowShare, 0, 1):
		return bad(f+".no_show_share", "must be in [0, 1]")
	case d.NoShowMinutes != 0 && !finite(d.NoShowMinutes, 1, 240):
		return bad(f+".no_show_minutes", "must be in [1, 240]")
	}
	return nil
}

// retrySuffix marks the id of a request asked again the next day.
const retrySuffix = "-again"

// fate is what will happen to a request's booking.
type fate struct {
	cancel     bool
	cancelAt   float64 // share of the time from booking to start
	noShow     bool
	durationBy float64 // actual / planned
}

// streamFate is the base of the per-request fate streams.
const streamFate = 4000

// fateOf draws request id's fate: the same in every variant.
func (s *Scenario) fateOf(id string) fate {
	d := s.Disruptions
	h := fnv.New64a()
	h.Write([]byte(id))
	r := newRand(s.Seed, streamFate^h.Sum64())
	f := fate{durationBy: 1}
	f.cancel = r.Float64() < d.CancelShare
	f.cancelAt = r.Float64()
	f.noShow = r.Float64() < d.NoShowShare
	if cv := d.DurationCV; cv > 0 {
		// Log-normal with mean 1: sigma² = ln(1 + cv²), mu = -sigma²/2.
		s2 := math.Log(1 + cv*cv)
		f.durationBy = math.Exp(-s2/2 + math.Sqrt(s2)*r.NormFloat64())
	}
	return f
}

// addRetries adds, for every normal request of arr, the same request 24
// hours later when that is inside the horizon, marked as its retry; the
// engine asks it only if the first was not served.
func (s *Scenario) addRetries(arr []arrival) []arrival {
	end := s.Start.Add(s.horizon())
	out := slices.Clone(arr)
	for _, a := range arr {
		if a.req.Urgency != doorstep.Normal || !a.req.RequestedAt.Add(24*time.Hour).Before(end) {
			continue
		}
		b := a
		b.retryOf = a.req.ID
		b.req.ID = a.req.ID + retrySuffix
		b.req.RequestedAt = a.req.RequestedAt.Add(24 * time.Hour)
		if w := a.req.Window; w != nil {
			b.req.Window = &doorstep.Window{Start: w.Start.Add(24 * time.Hour), End: w.End.Add(24 * time.Hour)}
		}
		out = append(out, b)
	}
	sortArrivals(out)
	return out
}

// skipRetry reports whether arrival i is a retry whose first request was
// served (or is not known): nobody asks again, and it is not a request.
func (e *engine) skipRetry(i int) bool {
	orig := e.arr[i].retryOf
	if orig == "" {
		return false
	}
	j, ok := e.reqIdx[orig]
	if ok && e.out[j].worker < 0 {
		e.out[j].carried = int32(i + 1)
		return false
	}
	e.out[i] = outcome{worker: -1, inactive: true}
	return true
}

// planFate schedules the disruptions of request i, just booked (or moved)
// at clock reading now: its cancellation and what happens when it starts.
func (e *engine) planFate(i int, now time.Time) {
	d := e.s.Disruptions
	if d == nil {
		return
	}
	o := &e.out[i]
	f := e.s.fateOf(e.arr[i].req.ID)
	if f.cancel && e.arr[i].req.Urgency == doorstep.Normal && !o.cancelPlanned {
		o.cancelPlanned = true
		at := now.Add(time.Duration(f.cancelAt * float64(o.slot.Start.Sub(now)))).Truncate(time.Second)
		heap.Push(&e.moves, move{at: at, kind: moveCancel, w: o.worker, req: int32(i)})
	}
	if f.noShow || f.durationBy != 1 {
		heap.Push(&e.moves, move{at: o.slot.Start, kind: moveStart, w: o.worker, req: int32(i)})
	}
}

// current reports whether event m still concerns request m.req as booked:
// on the same worker, not cancelled.
func (e *engine) current(m move) bool {
	o := &e.out[m.req]
	return o.worker == m.w && !o.cancelled
}

// cancelBooking frees the slot of a booking its customer cancels before it
// starts.
func (e *engine) cancelBooking(m move) {
	o := &e.out[m.req]
	if !e.current(m) || !o.slot.Start.After(m.at) {
		return
	}
	id := e.arr[m.req].req.ID
	c := &e.cands[m.w]
	c.Timeline = c.Timeline.Without(id)
	c.Bookings = slices.DeleteFunc(slices.Clone(c.Bookings), func(b *doorstep.Booking) bool { return b.ID == id })
	c.Version++
	o.cancelled = true
}

// startJob applies a job's fate as it starts: a no-show ends it soon after
// the arrival; a job that takes longer delays the worker's later jobs.
func (e *engine) startJob(m move) {
	o := &e.out[m.req]
	if !e.current(m) || !o.slot.Start.Equal(m.at) || o.started {
		return
	}
	o.started = true
	d := e.s.Disruptions
	f := e.s.fateOf(e.arr[m.req].req.ID)
	var end time.Time
	switch {
	case f.noShow:
		wait := time.Duration(cmp.Or(d.NoShowMinutes, 15) * float64(time.Minute))
		end = latestOf(o.slot.Arrival.Add(wait), o.slot.Start)
		o.noShow = true
	default:
		planned := o.slot.End.Sub(o.slot.Start)
		end = o.slot.Start.Add(time.Duration(float64(planned) * f.durationBy).Round(time.Minute))
	}
	if !end.After(o.slot.Start) {
		end = o.slot.Start.Add(time.Minute)
	}
	if end.Equal(o.slot.End) {
		return
	}
	// Nobody knows before it happens: a job that ends early (or a door
	// nobody opens) is known when it ends, one that runs long when it
	// should have ended. Until then the plan stands.
	o.revealEnd, o.revealAt = end, earliest(end, o.slot.End)
	heap.Push(&e.moves, move{at: o.revealAt, kind: moveReveal, w: m.w, req: m.req})
}

// revealJobEnd applies a started job's actual end when it becomes known:
// the worker is free early, or its later jobs are re-planned as the server
// re-plans them when the worker reports the overrun (replanOverrun), and
// those left on the worker are delayed.
func (e *engine) revealJobEnd(m move) {
	o := &e.out[m.req]
	if !e.current(m) || !o.revealAt.Equal(m.at) {
		return
	}
	o.overran = o.revealEnd.After(o.slot.End)
	slot := o.slot
	slot.End = o.revealEnd
	var plan []matcher.Relocation
	if o.overran {
		plan = e.replanOverrun(int(m.w), int(m.req), o.revealEnd, m.at)
	}
	e.retime(int(m.req), int(m.w), slot)
	if o.overran {
		e.relocate(int(m.w), plan)
		e.delayAfter(int(m.w), int(m.req))
	}
}

// replanOverrun plans, at now, what request i's job on worker w, ending at
// end rather than as planned, displaces, with the server's code path
// (dispatch's rework: matcher.Overran, then matcher.PlanDisplaced on the
// worker with what it keeps and the qualified workers of its region around
// each displaced booking, searched as a booking's candidates are).
func (e *engine) replanOverrun(w, i int, end, now time.Time) []matcher.Relocation {
	c := &e.cands[w]
	var late *doorstep.Booking
	for _, b := range c.Bookings {
		if b.ID == e.arr[i].req.ID {
			nb := *b
			nb.End = end
			late = &nb
		}
	}
	if late == nil {
		return nil
	}
	kept, ds := e.m.Overran(c.Worker, c.Bookings, late, now)
	if len(ds) == 0 {
		return nil
	}
	own := *c
	own.Timeline = kept
	pool := []matcher.Candidate{own}
	e.relIdx = append(e.relIdx[:0], w)
	for _, d := range ds {
		if !d.Booking.Arrival.After(now) {
			continue
		}
		req, _ := matcher.DisplacedJob(d.Booking, now)
		e.idx = e.near(e.idx[:0], req, now, e.qualified(req))
		for _, k := range e.idx {
			if !slices.Contains(e.relIdx, k) && e.cands[k].Region == c.Region {
				e.relIdx = append(e.relIdx, k)
				pool = append(pool, e.cands[k])
			}
		}
	}
	return e.m.PlanDisplaced(ds, pool, now)
}

// relocate applies plan, made by replanOverrun for worker w: each booking
// moved (to another worker, or later on w) leaves w's day and takes its
// new slot; one nobody could take stays, and delayAfter then runs it late
// (the server marks it at risk and the worker still goes).
func (e *engine) relocate(w int, plan []matcher.Relocation) {
	for _, r := range plan {
		if r.To == nil || r.Unchanged() {
			continue
		}
		to := -1
		for _, k := range e.relIdx {
			if e.cands[k].Worker.ID == r.To.WorkerID {
				to = k
			}
		}
		j, ok := e.byID[r.Booking.ID]
		if to < 0 || !ok {
			panic("sim: a re-plan names a booking or worker it was not given")
		}
		from := &e.cands[w]
		from.Timeline = from.Timeline.Without(r.Booking.ID)
		from.Bookings = slices.DeleteFunc(slices.Clone(from.Bookings), func(b *doorstep.Booking) bool { return b.ID == r.Booking.ID })
		from.Version++
		moved := *r.To
		t := &e.cands[to]
		t.Timeline = t.Timeline.Insert(schedule.StopOf(&moved))
		t.Bookings = append(t.Bookings, &moved)
		t.Version++
		o := &e.out[j]
		if to == w {
			o.delayed = true
		} else {
			o.replanned = true
		}
		o.worker, o.slot = int32(to), r.Option.Slot
		heap.Push(&e.moves, move{at: moved.End, kind: moveJob, w: int32(to), req: j, loc: moved.Location})
		e.planStartOnly(int(j))
	}
}

// delayAfter moves worker w's jobs after request i's later where the
// worker can no longer reach them in time: each leaves when the previous
// ends, and starts on arrival (or at its planned start when the delay fits
// in the wait). Breaks and shift ends give way: a delayed day runs over.
func (e *engine) delayAfter(w, i int) {
	tl := e.cands[w].Timeline
	k := slices.IndexFunc(tl, func(s schedule.Stop) bool { return s.BookingID == e.arr[i].req.ID })
	if k < 0 {
		return
	}
	e.disturbed[w] = true
	prev := tl[k]
	for _, st := range slices.Clone(tl[k+1:]) {
		arrive := prev.End.Add(e.travel.Travel(prev.Location, st.Location, prev.End))
		if !arrive.After(st.Arrival) {
			return
		}
		j, ok := e.byID[st.BookingID]
		if !ok {
			return
		}
		o := &e.out[j]
		slot := o.slot
		slot.Arrival = arrive
		slot.Start = latestOf(arrive, st.Start)
		slot.End = slot.Start.Add(st.End.Sub(st.Start))
		e.retime(int(j), w, slot)
		if slot.Start.Equal(st.Start) {
			return // the delay fits in the wait before it
		}
		o.delayed = true
		prev = schedule.Stop{End: slot.End, Location: st.Location}
		// Its own fate applies when it starts, at the new time.
		e.planStartOnly(int(j))
	}
}

// planStartOnly schedules the start event of request i at its current
// start (after a delay).
func (e *engine) planStartOnly(i int) {
	f := e.s.fateOf(e.arr[i].req.ID)
	if f.noShow || f.durationBy != 1 {
		o := &e.out[i]
		heap.Push(&e.moves, move{at: o.slot.Start, kind: moveStart, w: o.worker, req: int32(i)})
	}
}

// retime gives request i, booked on worker w, a new slot: its stop, its
// booking, its outcome and the move to its place at the new end.
func (e *engine) retime(i, w int, slot schedule.Slot) {
	id := e.arr[i].req.ID
	c := &e.cands[w]
	for k := range c.Timeline {
		if c.Timeline[k].BookingID == id {
			c.Timeline[k].Arrival, c.Timeline[k].Start, c.Timeline[k].End = slot.Arrival, slot.Start, slot.End
		}
	}
	for k, b := range c.Bookings {
		if b.ID == id {
			nb := *b
			nb.Arrival, nb.Start, nb.End = slot.Arrival, slot.Start, slot.End
			c.Bookings[k] = &nb
		}
	}
	c.Version++
	e.out[i].slot = slot
	heap.Push(&e.moves, move{at: slot.End, kind: moveJob, w: int32(w), req: int32(i), loc: e.arr[i].req.Location})
}

func latestOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
