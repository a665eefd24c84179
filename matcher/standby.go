package matcher

import (
	"math"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Standby positioning: where idle workers should wait so that the next
// urgent call finds one close. It is the p-median of the dispatch
// literature (the expected travel from the nearest idle qualified worker to
// the next urgent call, over the places urgent calls are expected) improved
// one worker at a time by vertex substitution (Teitz and Bart), as
// ambulance relocation models do: a worker is sent to a new place only
// when the expected minutes it saves the next calls outweigh the distance
// it drives to get there.

// StandbyWindow is how far back the urgent calls a standby plan positions
// workers for reach: the server's recent urgent requests
// (dispatch.Service.Standby) and the simulator's calls of the run so far.
const StandbyWindow = 24 * time.Hour

// StandbyArea is the area a standby plan is made for: the workers within
// RadiusKm of Center (every candidate given when RadiusKm is 0, as the
// simulator's whole city), with the urgent profile of Center's region.
type StandbyArea struct {
	Center   doorstep.Location
	RadiusKm float64
}

func (a StandbyArea) holds(loc doorstep.Location) bool {
	return a.RadiusKm <= 0 || geo.DistanceKm(loc, a.Center) <= a.RadiusKm
}

// StandbyDecision is a standby plan and what it weighed.
type StandbyDecision struct {
	// Workers are the idle workers it may move (StandbyReady, standing in
	// the area), Of[i] the index of Workers[i] among the candidates.
	Workers []StandbyWorker
	Of      []int
	// Busy are the workers booked later in their shift who cover calls
	// once free (StandbyBusy).
	Busy []StandbyCover
	// Calls are the recent urgent calls with a weight (WeighStandbyCalls),
	// Expected the urgent calls expected in the hour by skill
	// (StandbyPerHour).
	Calls    []StandbyCall
	Expected map[string]float64
	// Moves send Workers[Move.Worker] to a standby place (PlanStandby).
	Moves []StandbyMove
}

// Standby is the standby decision at now for the area, from the
// candidates (workers with their timelines) and the urgent calls recent
// (unweighted: the window's calls, Weight ignored) — the one the server
// answers (GET /v1/standby) and the simulator's standby option follows.
//
// The urgent calls of a skill expected in the hour are the urgent
// profile's rate at now's hour per worker on duty times the candidates
// with the skill on shift at now and standing in the area (where the
// planner would start them, Worker.PositionAt), else, without a profile,
// the window's calls spread over it (StandbyPerHour). A skill is urgent
// when calls of it are expected in the hour: only workers with an urgent
// skill are moved or counted as covering. The calls are weighted by
// their skill's expected calls (WeighStandbyCalls); the idle workers of
// an urgent skill standing in the area may be moved (StandbyReady), the
// ones booked later in their shift cover from their last stop once free
// (StandbyBusy), and PlanStandby makes the moves with m's travel model.
func (m *Matcher) Standby(now time.Time, area StandbyArea, cands []Candidate, recent []StandbyCall, window time.Duration, cfg StandbyConfig) StandbyDecision {
	onDuty := map[string]int{}
	for i := range cands {
		w := cands[i].Worker
		if w.ShiftAt(now) != nil && area.holds(w.PositionAt(now)) {
			for _, sk := range w.Skills {
				onDuty[sk]++
			}
		}
	}
	calls := append([]StandbyCall(nil), recent...) // WeighStandbyCalls writes them
	perHour := StandbyPerHour(m.UrgentProfile(), area.Center, now, onDuty, calls, window)
	d := StandbyDecision{Calls: WeighStandbyCalls(calls, perHour), Expected: perHour}
	urgent := func(skill string) bool { return perHour[skill] > 0 }
	for i := range cands {
		c := &cands[i]
		if at, ok := StandbyReady(c, now, urgent); ok {
			if area.holds(at) {
				d.Workers = append(d.Workers, StandbyWorker{Worker: c.Worker, At: at})
				d.Of = append(d.Of, i)
			}
		} else if b, ok := StandbyBusy(c, now, urgent); ok {
			d.Busy = append(d.Busy, b)
		}
	}
	d.Moves = PlanStandby(m.cfg.Travel, now, d.Workers, d.Busy, d.Calls, cfg)
	return d
}

// StandbyWorker is a worker the standby plan may send ahead: on shift, with
// nothing booked for the rest of it, standing at At.
type StandbyWorker struct {
	Worker *doorstep.Worker
	At     doorstep.Location
}

// StandbyCover is a worker busy now who will answer calls from At once
// free at Free: it covers calls in the plan, it is not moved.
type StandbyCover struct {
	Worker *doorstep.Worker
	At     doorstep.Location
	Free   time.Time
}

// StandbyCall is a place where an urgent call is expected: a recent urgent
// call's place and what it asked for, weighted by the urgent calls it
// stands for in the coming hour.
type StandbyCall struct {
	At           doorstep.Location
	Skills       []string
	Certificates []string
	Weight       float64
}

// StandbyMove sends ws[Worker] to To, Km away, which saves the calls
// expected Gain minutes of travel (weighted by the calls).
type StandbyMove struct {
	Worker int
	To     doorstep.Location
	Km     float64
	Gain   float64
}

// StandbyConfig bounds a standby plan.
type StandbyConfig struct {
	// MaxKm is the farthest a worker is sent; 0 means DefaultStandbyMaxKm.
	MaxKm float64
	// MinGainPerKm is the least the expected call-minutes saved must be
	// per km driven for a move to be worth it; 0 means
	// DefaultStandbyMinGainPerKm.
	MinGainPerKm float64
}

const (
	// DefaultStandbyMaxKm keeps a move within about twenty minutes' drive.
	DefaultStandbyMaxKm = 6.0
	// DefaultStandbyMinGainPerKm: a move must save the calls expected at
	// least this many minutes of travel (weighted by the calls) per km
	// driven.
	DefaultStandbyMinGainPerKm = 2.0
)

func (c StandbyConfig) maxKm() float64 {
	if c.MaxKm > 0 {
		return c.MaxKm
	}
	return DefaultStandbyMaxKm
}

func (c StandbyConfig) minGainPerKm() float64 {
	if c.MinGainPerKm > 0 {
		return c.MinGainPerKm
	}
	return DefaultStandbyMinGainPerKm
}

// standbyCap is the travel beyond which a call counts as not reached: the
// urgent arrival promise. Capping keeps a far call from pulling workers.
var standbyCap = doorstep.UrgentArrival.Minutes()

// PlanStandby returns the moves that bring the idle workers ws closer to
// the urgent calls expected, at now (calls of one small H3 cell asking the
// same merged into one place): each worker in turn goes to the place of
// an expected call within cfg.MaxKm that most lowers the expected
// travel of the calls (each call served by the nearest qualified worker of
// ws, at most the urgent promise) when that saves at least
// cfg.MinGainPerKm minutes per km driven; a move counts for the workers
// after it. It is deterministic and makes no move without a call it
// serves better.
func PlanStandby(travel geo.TravelModel, now time.Time, ws []StandbyWorker, busy []StandbyCover, calls []StandbyCall, cfg StandbyConfig) []StandbyMove {
	if len(ws) == 0 || len(calls) == 0 {
		return nil
	}
	calls = mergeCalls(calls)
	at := make([]doorstep.Location, len(ws))
	can := make([][]bool, len(ws)) // can[w][c]: worker w qualifies for call c
	for w := range ws {
		at[w] = ws[w].At
		can[w] = make([]bool, len(calls))
		for c := range calls {
			can[w][c] = qualifies(ws[w].Worker, &calls[c])
		}
	}
	minutes := func(a, b doorstep.Location) float64 {
		return math.Min(travel.Travel(a, b, now).Minutes(), standbyCap)
	}
	// t[w][c]: minutes from worker w's place to call c, capped.
	t := make([][]float64, len(ws))
	for w := range ws {
		t[w] = make([]float64, len(calls))
		for c := range calls {
			t[w][c] = minutes(at[w], calls[c].At)
		}
	}
	// between[k][c]: minutes from call k's place to call c's, capped.
	between := make([][]float64, len(calls))
	for k := range calls {
		between[k] = make([]float64, len(calls))
		for c := range calls {
			between[k][c] = minutes(calls[k].At, calls[c].At)
		}
	}
	// fixed[c]: the best the busy workers do for c, from their last stop
	// once free.
	fixed := make([]float64, len(calls))
	for c := range calls {
		fixed[c] = standbyCap
		for _, b := range busy {
			if !qualifies(b.Worker, &calls[c]) {
				continue
			}
			wait := max(b.Free.Sub(now), 0).Minutes()
			if wait >= fixed[c] {
				continue
			}
			fixed[c] = min(fixed[c], wait+minutes(b.At, calls[c].At))
		}
	}
	others := make([]float64, len(calls))
	var moves []StandbyMove
	for w := range ws {
		// others[c]: the best any other worker does for c.
		any := false
		for c := range calls {
			others[c] = fixed[c]
			if !can[w][c] {
				continue
			}
			any = true
			for v := range ws {
				if v != w && can[v][c] && t[v][c] < others[c] {
					others[c] = t[v][c]
				}
			}
		}
		if !any {
			continue
		}
		cost := func(tc func(c int) float64) float64 {
			sum := 0.0
			for c := range calls {
				if can[w][c] {
					sum += calls[c].Weight * math.Min(others[c], tc(c))
				}
			}
			return sum
		}
		cur := cost(func(c int) float64 { return t[w][c] })
		best, bestGain, bestKm := -1, 0.0, 0.0
		for k := range calls {
			if !can[w][k] {
				continue
			}
			km := geo.DistanceKm(at[w], calls[k].At)
			if km > cfg.maxKm() || km < geo.SamePlaceKm {
				continue
			}
			gain := cur - cost(func(c int) float64 { return between[k][c] })
			if gain >= cfg.minGainPerKm()*km && gain > bestGain {
				best, bestGain, bestKm = k, gain, km
			}
		}
		if best < 0 {
			continue
		}
		at[w] = calls[best].At
		copy(t[w], between[best])
		moves = append(moves, StandbyMove{Worker: w, To: at[w], Km: bestKm, Gain: bestGain})
	}
	return moves
}

// standbyCellResolution is the H3 resolution whose cells (about 0.7 km²)
// merge the calls of a plan: calls of one cell asking the same are one
// place, at the first of them, with their weights summed. It bounds the
// plan's work by the area, not by the calls (a busy city's day holds
// thousands), at a precision well under the minutes a plan weighs.
const standbyCellResolution = 8

// mergeCalls merges the calls of one cell that ask for the same skills
// and certificates, in the order of their first call.
func mergeCalls(calls []StandbyCall) []StandbyCall {
	type key struct {
		cell geo.Cell
		what string
	}
	index := make(map[key]int, len(calls))
	out := make([]StandbyCall, 0, len(calls))
	for _, c := range calls {
		k := key{geo.CellOf(c.At, standbyCellResolution), strings.Join(c.Skills, ",") + "|" + strings.Join(c.Certificates, ",")}
		if i, ok := index[k]; ok {
			out[i].Weight += c.Weight
			continue
		}
		index[k] = len(out)
		out = append(out, c)
	}
	return out
}

func qualifies(w *doorstep.Worker, c *StandbyCall) bool {
	return doorstep.HasAll(w.Skills, c.Skills) && doorstep.HasAll(w.Certificates, c.Certificates)
}

// StandbyReady reports whether the worker of c may be sent to a standby
// place at now, and where it stands then (the place the planner would
// start its next trip from): on a shift with at least StandbyMinLeft of
// it left and no break still to come, with nothing booked after now, and
// with one of the skills urgent(skill) names.
func StandbyReady(c *Candidate, now time.Time, urgent func(skill string) bool) (doorstep.Location, bool) {
	w := c.Worker
	sh := w.ShiftAt(now)
	if sh == nil || sh.End.Sub(now) < StandbyMinLeft {
		return doorstep.Location{}, false
	}
	for _, b := range sh.Breaks {
		if b.Latest.After(now) {
			return doorstep.Location{}, false
		}
	}
	if !hasUrgentSkill(w, urgent) {
		return doorstep.Location{}, false
	}
	place := w.StartPlace(sh, now)
	for i := range c.Timeline {
		st := &c.Timeline[i]
		if !inShift(st, sh) {
			continue // another shift's
		}
		if st.End.After(now) {
			return doorstep.Location{}, false // booked ahead, or on a job
		}
		if st.Held {
			continue
		}
		place = st.Location
		if w.Location != nil && w.LocatedAt.After(st.End) {
			place = *w.Location
		}
	}
	return place, true
}

// StandbyMinLeft is the least of its shift a worker must have left to be
// sent to a standby place: the drive there and an urgent call after it.
const StandbyMinLeft = 45 * time.Minute

// WeighStandbyCalls sets the weight of each of calls, the urgent calls
// seen recently, to the urgent calls of its first skill expected in the
// coming hour (perHour) shared among the calls of that skill: the calls
// stand for where the next hour's calls will come from. It returns the
// calls with a positive weight.
func WeighStandbyCalls(calls []StandbyCall, perHour map[string]float64) []StandbyCall {
	count := map[string]int{}
	for _, c := range calls {
		if len(c.Skills) > 0 {
			count[c.Skills[0]]++
		}
	}
	out := calls[:0]
	for _, c := range calls {
		if len(c.Skills) == 0 {
			continue
		}
		c.Weight = perHour[c.Skills[0]] / float64(count[c.Skills[0]])
		if c.Weight > 0 {
			out = append(out, c)
		}
	}
	return out
}

// StandbyBusy reports whether the worker of c, on a shift at now but with
// work booked in it after now, still covers urgent calls in a standby
// plan, and from where and when: from its last stop of the shift once that
// ends, when at least StandbyMinLeft of the shift is left then.
func StandbyBusy(c *Candidate, now time.Time, urgent func(skill string) bool) (StandbyCover, bool) {
	w := c.Worker
	sh := w.ShiftAt(now)
	if sh == nil || !hasUrgentSkill(w, urgent) {
		return StandbyCover{}, false
	}
	var last *schedule.Stop
	for i := range c.Timeline {
		st := &c.Timeline[i]
		if st.Held || !st.End.After(now) || !inShift(st, sh) {
			continue
		}
		if last == nil || st.End.After(last.End) {
			last = st
		}
	}
	if last == nil || sh.End.Sub(last.End) < StandbyMinLeft {
		return StandbyCover{}, false
	}
	return StandbyCover{Worker: w, At: last.Location, Free: last.End}, true
}

// inShift reports whether stop st falls in shift sh.
func inShift(st *schedule.Stop, sh *doorstep.Shift) bool {
	return st.End.After(sh.Start) && st.Start.Before(sh.End)
}

func hasUrgentSkill(w *doorstep.Worker, urgent func(string) bool) bool {
	for _, sk := range w.Skills {
		if urgent(sk) {
			return true
		}
	}
	return false
}

// StandbyPerHour returns the urgent calls of each skill expected in the
// hour of now around at: from the urgent profile p when there is one (its
// rate per worker on duty times onDuty, the workers with the skill on
// shift now in the plan's area), else the calls of the window spread
// evenly over it (calls counted by their first skill).
func StandbyPerHour(p *UrgentProfile, at doorstep.Location, now time.Time, onDuty map[string]int, calls []StandbyCall, window time.Duration) map[string]float64 {
	out := map[string]float64{}
	if p != nil {
		h := now.In(p.zone()).Hour()
		for sk, r := range p.rates(at) {
			if v := r[h] * float64(onDuty[sk]); v > 0 {
				out[sk] = v
			}
		}
		return out
	}
	if window <= 0 {
		return out
	}
	for _, c := range calls {
		if len(c.Skills) > 0 {
			out[c.Skills[0]] += 1 / window.Hours()
		}
	}
	return out
}
