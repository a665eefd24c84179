package schedule_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

const grid = 5 * time.Minute // every random time and duration is a multiple

// gridTravel is 1.5 minutes a km rounded to the grid, so that every time
// EarliestSlot computes lies on the grid and a brute-force search over the
// grid is exact.
var gridTravel = fakeTravel{Minutes: 1.5, Round: grid}

func randomPlace(r *rand.Rand) doorstep.Location { return pt(r.Float64()*30, r.Float64()*30) }

func randomSpan(r *rand.Rand, lo, hi time.Duration) time.Duration {
	n := int((hi - lo) / grid)
	return lo + time.Duration(r.IntN(n+1))*grid
}

// randomWorker works one to three days from day1, 6 to 10 hours a day
// with up to two breaks (sometimes back to back), sometimes under caps,
// sometimes with a position reported before its first shift.
func randomWorker(r *rand.Rand) *doorstep.Worker {
	w := &doorstep.Worker{ID: "w", Home: randomPlace(r)}
	for d := range 1 + r.IntN(3) {
		start := day1.AddDate(0, 0, d).Add(randomSpan(r, 6*time.Hour, 10*time.Hour))
		sh := doorstep.Shift{Start: start, End: start.Add(randomSpan(r, 6*time.Hour, 10*time.Hour))}
		next := sh.Start.Add(randomSpan(r, time.Hour, 3*time.Hour))
		for range r.IntN(3) {
			b := doorstep.FixedBreak(next, next.Add(randomSpan(r, 15*time.Minute, time.Hour)))
			if b.Latest.After(sh.End) {
				break
			}
			sh.Breaks = append(sh.Breaks, b)
			next = b.Latest
			if r.IntN(2) == 0 {
				next = next.Add(randomSpan(r, 0, 3*time.Hour))
			}
		}
		addFlexibleBreaks(r, &sh)
		w.Shifts = append(w.Shifts, sh)
	}
	if r.IntN(3) == 0 {
		w.MaxJobsPerDay = 2 + r.IntN(5)
	}
	if r.IntN(3) == 0 {
		w.MaxWorkMinutesPerDay = 120 + 5*r.IntN(73)
	}
	if r.IntN(3) == 0 {
		w.Location, w.LocatedAt = new(randomPlace(r)), day1
	}
	return w
}

// addFlexibleBreaks gives half the shifts one or two flexible breaks of 15
// to 60 minutes, each floating over half an hour to three hours, their
// ranges apart (they may overlap the fixed breaks), listed in order.
func addFlexibleBreaks(r *rand.Rand, sh *doorstep.Shift) {
	if r.IntN(2) == 0 {
		return
	}
	from := sh.Start.Add(randomSpan(r, 0, 3*time.Hour))
	for range 1 + r.IntN(2) {
		to := from.Add(randomSpan(r, 30*time.Minute, 3*time.Hour))
		if to.After(sh.End) {
			break
		}
		b := doorstep.FlexibleBreak(from, to, min(randomSpan(r, 15*time.Minute, time.Hour), to.Sub(from)-grid))
		try := *sh
		try.Breaks = append(slices.Clone(sh.Breaks), b)
		slices.SortStableFunc(try.Breaks, func(x, y doorstep.Break) int { return x.Earliest.Compare(y.Earliest) })
		if try.ValidateBreaks("") == nil {
			*sh = try
		}
		from = to.Add(randomSpan(r, 0, 2*time.Hour))
	}
}

// withoutFlexibleBreaks is w with its fixed breaks only.
func withoutFlexibleBreaks(w *doorstep.Worker) *doorstep.Worker {
	out := *w
	out.Shifts = slices.Clone(w.Shifts)
	for i := range out.Shifts {
		out.Shifts[i].Breaks = slices.DeleteFunc(slices.Clone(out.Shifts[i].Breaks), func(b doorstep.Break) bool { return !b.Fixed() })
	}
	return &out
}

// randomJob is an urgent (one in three) or normal request, sometimes with a
// window, seen at a random moment around one of the worker's shifts.
func randomJob(r *rand.Rand, w *doorstep.Worker) (schedule.Job, doorstep.Urgency) {
	sh := w.Shifts[r.IntN(len(w.Shifts))]
	now := sh.Start.Add(-2 * time.Hour).Add(randomSpan(r, 0, sh.End.Sub(sh.Start)+time.Hour))
	req := doorstep.Request{Location: randomPlace(r), Duration: randomSpan(r, 15*time.Minute, 2*time.Hour), Urgency: doorstep.Normal}
	if r.IntN(3) == 0 {
		req.Urgency = doorstep.Urgent
		req.RequestedAt = now.Add(-randomSpan(r, 0, 50*time.Minute))
	} else {
		req.RequestedAt = now.Add(-randomSpan(r, 0, 2*time.Hour))
		if r.IntN(2) == 0 {
			start := req.RequestedAt.Add(randomSpan(r, 0, 20*time.Hour))
			req.Window = &doorstep.Window{Start: start, End: start.Add(randomSpan(r, 30*time.Minute, 4*time.Hour))}
		}
	}
	return schedule.JobFor(&req, now), req.Urgency
}

// checkSlot holds a returned slot to the job's bounds and the shifts.
func checkSlot(w *doorstep.Worker, job schedule.Job, s schedule.Slot) error {
	switch {
	case !s.End.Equal(s.Start.Add(job.Duration)):
		return errors.New("end is not start + duration")
	case s.Arrival.After(s.Start):
		return errors.New("arrival after start")
	case s.Arrival.Add(-s.Travel).Before(job.NotBefore):
		return errors.New("departs before NotBefore")
	case s.Start.Before(job.EarliestStart):
		return errors.New("start before EarliestStart")
	case s.Start.After(job.LatestStart):
		return errors.New("start after LatestStart")
	case !job.LatestArrival.IsZero() && s.Arrival.After(job.LatestArrival):
		return errors.New("arrival after LatestArrival")
	}
	for _, sh := range w.Shifts {
		if !s.Start.Before(sh.Start) && !s.End.After(sh.End) {
			if s.ShiftMinutes != int(sh.End.Sub(sh.Start).Minutes()) {
				return errors.New("ShiftMinutes is not the shift's length")
			}
			return nil
		}
	}
	return errors.New("outside every shift")
}

// TestEarliestSlotKeepsTimelinesValid builds random timelines by booking
// random jobs one after another where EarliestSlot says: every slot keeps
// to its job's bounds and every timeline passes Verify.
func TestEarliestSlotKeepsTimelinesValid(t *testing.T) {
	models := []struct {
		name   string
		travel geo.TravelModel
	}{
		{"linear", geo.Linear{}},
		{"fake", gridTravel},
	}
	workers, jobs := 300, 40
	if testing.Short() {
		workers = 50
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(41, 42))
			p := schedule.Planner{Travel: m.travel}
			booked, byBreaks, reasons := 0, 0, map[error]int{}
			capped := map[error]int{} // refusals a cap alone caused, by reason given
			for range workers {
				w := randomWorker(r)
				uncapped := *w
				uncapped.MaxJobsPerDay, uncapped.MaxWorkMinutesPerDay = 0, 0
				unbroken := withoutFlexibleBreaks(w)
				var tl schedule.Timeline
				for j := range jobs {
					job, _ := randomJob(r, w)
					slot, err := p.EarliestSlot(w, tl, job)
					if other, err2 := p.EarliestSlot(unbroken, tl, job); err2 == nil && (err != nil || other.Start != slot.Start) {
						byBreaks++ // a flexible break moved or refused the job
					}
					if err != nil {
						reasons[err]++
						if _, err2 := p.EarliestSlot(&uncapped, tl, job); err2 == nil {
							capped[err]++
						}
						continue
					}
					if err := checkSlot(w, job, slot); err != nil {
						t.Fatalf("worker %+v, timeline %+v, job %+v: slot %+v: %v", w, tl, job, slot, err)
					}
					next := tl.Insert(schedule.Stop{BookingID: string(rune('a' + j)), Arrival: slot.Arrival, Start: slot.Start, End: slot.End, Location: job.Location})
					if err := schedule.Verify(w, next, m.travel); err != nil {
						t.Fatalf("worker %+v, timeline %+v, job %+v: slot %+v breaks the timeline: %v", w, tl, job, slot, err)
					}
					tl = next
					booked++
				}
			}
			// The generator must exercise every outcome, or the property
			// says little.
			t.Logf("booked %d of %d; reasons %v; refused for a cap alone: %v; moved or refused by a flexible break: %d",
				booked, workers*jobs, reasons, capped, byBreaks)
			if booked < workers*jobs/10 || len(reasons) < 3 || len(capped) == 0 || byBreaks < workers/10 {
				t.Errorf("booked %d, reasons %v, capped %v, by breaks %d: the generator misses cases", booked, reasons, capped, byBreaks)
			}
		})
	}
}

// TestEarliestSlotIsEarliest checks EarliestSlot against a brute-force
// search: every start on the grid is tried, and a start is feasible when the
// timeline with the job passes Verify, the job's bounds hold and the worker,
// leaving the previous place (or home) when free and not before NotBefore,
// arrives by then without crossing a fixed break (the trip is over before
// one, else it leaves when the break is over). EarliestSlot must find the earliest such start, or none
// when there is none.
func TestEarliestSlotIsEarliest(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	p := schedule.Planner{Travel: gridTravel}
	workers, jobs := 150, 40
	if testing.Short() {
		workers = 30
	}
	found := 0
	for range workers {
		w := randomWorker(r)
		w.Location = nil // the oracle departs from stops and home only
		var tl schedule.Timeline
		for range jobs {
			job, _ := randomJob(r, w)
			got, err := p.EarliestSlot(w, tl, job)
			want, ok := bruteForce(w, tl, job, gridTravel)
			switch {
			case err != nil && ok:
				t.Fatalf("worker %+v, timeline %+v, job %+v: EarliestSlot: %v, but %v..%v (arrival %v) is feasible",
					w, tl, job, err, want.Start, want.End, want.Arrival)
			case err == nil && !ok:
				t.Fatalf("worker %+v, timeline %+v, job %+v: EarliestSlot: %+v, but brute force finds nothing", w, tl, job, got)
			case err == nil && (!got.Start.Equal(want.Start) || !got.Arrival.Equal(want.Arrival)):
				t.Fatalf("worker %+v, timeline %+v, job %+v: EarliestSlot: start %v arrival %v, brute force: start %v arrival %v",
					w, tl, job, got.Start, got.Arrival, want.Start, want.Arrival)
			}
			if err == nil {
				tl = tl.Insert(schedule.Stop{BookingID: "x", Arrival: got.Arrival, Start: got.Start, End: got.End, Location: job.Location})
				found++
			}
		}
	}
	t.Logf("found %d of %d", found, workers*jobs)
	if found < workers {
		t.Errorf("only %d slots found: the generator misses cases", found)
	}
}

// bruteForce is the simple model EarliestSlot is held to.
func bruteForce(w *doorstep.Worker, tl schedule.Timeline, job schedule.Job, travel geo.TravelModel) (schedule.Stop, bool) {
	for s := latestOf(job.EarliestStart, job.NotBefore); !s.After(job.LatestStart); s = s.Add(grid) {
		end := s.Add(job.Duration)
		var sh *doorstep.Shift
		for i := range w.Shifts {
			if !s.Before(w.Shifts[i].Start) && !end.After(w.Shifts[i].End) {
				sh = &w.Shifts[i]
			}
		}
		if sh == nil {
			continue
		}
		if schedule.Verify(w, tl.Insert(stop("new", s, end, job.Location)), travel) != nil {
			continue
		}
		place, depart := w.Home, sh.Start
		for _, st := range tl {
			if !st.Start.Before(sh.Start) && st.Start.Before(s) {
				place, depart = st.Location, st.End
			}
		}
		// No trip crosses a fixed break: it is over before the next one
		// starts, or it leaves when that one is over.
		depart = latestOf(depart, job.NotBefore)
		arrival := depart.Add(travel.Travel(place, job.Location, depart))
		for _, b := range sh.Breaks {
			if b.Fixed() && b.Latest.After(depart) && arrival.After(b.Earliest) {
				depart = b.Latest
				arrival = depart.Add(travel.Travel(place, job.Location, depart))
			}
		}
		if arrival.After(s) || (!job.LatestArrival.IsZero() && arrival.After(job.LatestArrival)) {
			continue
		}
		if arrival.Before(s) {
			arrival = s // a worker who would wait leaves later
		}
		return schedule.Stop{Arrival: arrival, Start: s, End: end, Location: job.Location}, true
	}
	return schedule.Stop{}, false
}

func latestOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
