package sim

import (
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
)

// standbyEvery is how often the standby plan is made.
const standbyEvery = 10 * time.Minute

// standbyWindow is how far back the urgent calls the plan positions for
// reach.
const standbyWindow = 24 * time.Hour

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
	perH   map[string][24]float64 // urgent calls expected by skill and hour (all workers)
	km     float64
	moves  int
	cfg    matcher.StandbyConfig // the defaults
}

// standbyInit turns standby positioning on when the policy asks for it,
// with the urgent calls expected by skill and hour of day: the urgent
// profile's rate per worker on duty times the workers on duty.
func (e *engine) standbyInit() {
	e.sb.on = e.policy.Standby
	if !e.sb.on {
		return
	}
	e.sb.reloc = make([]*relocation, len(e.workers))
	e.sb.perH = map[string][24]float64{}
	if p := e.m.UrgentProfile(); p != nil {
		staff := e.s.onDuty(e.workers)
		for sk, r := range p.Rate {
			var x [24]float64
			for h := range r {
				x[h] = r[h] * staff[sk][h]
			}
			e.sb.perH[sk] = x
		}
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
	// The calls of the window, each weighted by the urgent calls of its
	// skill expected in the coming hour over those of the window.
	cut := 0
	for cut < len(e.sb.recent) && e.sb.recent[cut].at.Before(now.Add(-standbyWindow)) {
		cut++
	}
	e.sb.recent = e.sb.recent[cut:]
	if len(e.sb.recent) == 0 {
		return
	}
	h := now.In(e.s.Start.Location()).Hour()
	perHour := make(map[string]float64, len(e.sb.perH))
	for sk, r := range e.sb.perH {
		perHour[sk] = r[h]
	}
	calls := make([]matcher.StandbyCall, len(e.sb.recent))
	for k := range e.sb.recent {
		calls[k] = e.sb.recent[k].call
	}
	calls = matcher.WeighStandbyCalls(calls, perHour)
	var ws []matcher.StandbyWorker
	var busy []matcher.StandbyCover
	var idx []int
	for w, wk := range e.workers {
		if b, ok := matcher.StandbyBusy(&e.cands[w], now, e.urgentSkill); ok {
			busy = append(busy, b)
			continue
		}
		if at, ok := matcher.StandbyReady(&e.cands[w], now, e.urgentSkill); ok {
			ws = append(ws, matcher.StandbyWorker{Worker: wk, At: at})
			idx = append(idx, w)
		}
	}
	for _, mv := range matcher.PlanStandby(e.travel, now, ws, busy, calls, e.sb.cfg) {
		w := idx[mv.Worker]
		if r := e.sb.reloc[w]; r != nil {
			e.sb.km += geo.DistanceKm(r.from, r.at)
		}
		from := ws[mv.Worker].At
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

// urgentSkill reports whether urgent calls are expected for skill.
func (e *engine) urgentSkill(skill string) bool {
	return e.sb.perH[skill] != ([24]float64{})
}
