package sim

import (
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
)

// standbyEvery is how often the standby plan is made.
const standbyEvery = 10 * time.Minute

// relocation is an idle worker's drive to its standby place.
type relocation struct {
	from, to doorstep.Location
	at       doorstep.Location // where it is, as last reported
	t0       time.Time         // when it set off
	travel   time.Duration
	end      time.Time // its shift's end
}

// recentCall is an urgent call the plan has seen.
type recentCall struct {
	at   time.Time
	call matcher.StandbyCall
}

// standbyState is the engine's standby positioning.
type standbyState struct {
	on     bool
	next   time.Time
	reloc  []*relocation // by worker: its drive under way, or nil
	recent []recentCall
	km     float64
	moves  int
	cfg    matcher.StandbyConfig // the defaults
}

// standbyInit turns standby positioning on when the policy asks for it.
func (e *engine) standbyInit() {
	e.sb.on = e.policy.Standby
	if e.sb.on {
		e.sb.reloc = make([]*relocation, len(e.workers))
	}
}

// standbySeen records urgent request i as a place urgent calls come from.
func (e *engine) standbySeen(i int) {
	req := &e.arr[i].req
	if !e.sb.on || req.Urgency != doorstep.Urgent {
		return
	}
	// As the server keeps it (store.RecordUrgent): the centre of the
	// place's privacy cell.
	at := geo.PrivacyCell(req.Location).Center()
	e.sb.recent = append(e.sb.recent, recentCall{at: req.RequestedAt, call: matcher.StandbyCall{
		At: at, Skills: req.Skills, Certificates: req.Certificates}})
}

// standby moves the relocating workers to where they are at now, then,
// every standbyEvery, plans where the idle ones should wait.
func (e *engine) standby(now time.Time) {
	if !e.sb.on {
		return
	}
	for w, r := range e.sb.reloc { // in worker order: the index stays deterministic
		if r == nil {
			continue
		}
		if e.bookedSince(w, r.t0, r.end) {
			// A job came: the worker leaves from where it was when booked.
			e.sb.km += geo.DistanceKm(r.from, r.at)
			e.sb.reloc[w] = nil
			continue
		}
		if !now.Before(r.end) {
			e.sb.km += geo.DistanceKm(r.from, r.at)
			e.sb.reloc[w] = nil
			continue
		}
		f := 1.0
		if r.travel > 0 {
			f = min(1, float64(now.Sub(r.t0))/float64(r.travel))
		}
		r.at = doorstep.Location{Lat: r.from.Lat + f*(r.to.Lat-r.from.Lat), Lng: r.from.Lng + f*(r.to.Lng-r.from.Lng)}
		e.locate(w, r.at, now)
		if f >= 1 {
			e.sb.km += geo.DistanceKm(r.from, r.to)
			e.sb.reloc[w] = nil
		}
	}
	if now.Before(e.sb.next) {
		return
	}
	e.sb.next = now.Add(standbyEvery)
	// The plan the server would answer for the whole city (the matcher's
	// decision) from the urgent calls of the window.
	cut := 0
	for cut < len(e.sb.recent) && e.sb.recent[cut].at.Before(now.Add(-matcher.StandbyWindow)) {
		cut++
	}
	e.sb.recent = e.sb.recent[cut:]
	if len(e.sb.recent) == 0 {
		return
	}
	calls := make([]matcher.StandbyCall, len(e.sb.recent))
	for k := range e.sb.recent {
		calls[k] = e.sb.recent[k].call
	}
	d := e.m.Standby(now, e.standbyArea(), e.cands, calls, matcher.StandbyWindow, e.sb.cfg)
	for _, mv := range d.Moves {
		w := d.Of[mv.Worker]
		if r := e.sb.reloc[w]; r != nil {
			e.sb.km += geo.DistanceKm(r.from, r.at)
		}
		from := d.Workers[mv.Worker].At
		e.sb.reloc[w] = &relocation{from: from, to: mv.To, at: from, t0: now,
			travel: e.travel.Travel(from, mv.To, now), end: e.workers[w].ShiftAt(now).End}
		e.sb.moves++
	}
}

// locate records that worker w is at loc at now, as its location report
// would: the planner and the index start it from there.
func (e *engine) locate(w int, loc doorstep.Location, now time.Time) {
	wk := e.workers[w]
	l := loc
	wk.Location, wk.LocatedAt = &l, now
	e.pos[w] = loc
	e.ix.Put(w, loc)
}

// bookedSince reports whether w has a stop that ends after t0 and starts
// before end (its shift's end): a job booked while it drove to standby.
func (e *engine) bookedSince(w int, t0, end time.Time) bool {
	for _, st := range e.cands[w].Timeline {
		if st.End.After(t0) && st.Start.Before(end) {
			return true
		}
	}
	return false
}

// standbyArea is the whole city: every worker, and the urgent profile of
// the scenario's area (the simulator's profile has no regions; a replayed
// trace without an area uses the first worker's home).
func (e *engine) standbyArea() matcher.StandbyArea {
	if e.s.Area != nil {
		return matcher.StandbyArea{Center: e.s.Area.Center}
	}
	if len(e.workers) > 0 {
		return matcher.StandbyArea{Center: e.workers[0].Home}
	}
	return matcher.StandbyArea{}
}
