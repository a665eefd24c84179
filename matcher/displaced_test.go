package matcher_test

import (
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/google/go-cmp/cmp"
)

// placed returns a confirmed normal cleaning booking of worker w, from..to
// at loc, requested at 07:00 (so promised to start by 07:00 the next day).
func placed(id, w string, from, to time.Time, loc doorstep.Location) *doorstep.Booking {
	req := clock(7, 0)
	return &doorstep.Booking{ID: id, WorkerID: w, Service: "cleaning", Skills: []string{"cleaning"}, Urgency: doorstep.Normal,
		RequestedAt: req, Deadline: req.Add(doorstep.NormalStart), Start: from, End: to, Arrival: from, Location: loc,
		Status: doorstep.StatusConfirmed, Version: 1}
}

// reasons maps each displaced booking's id to its reason.
func reasons(ds []matcher.Displacement) map[string]string {
	out := map[string]string{}
	for _, d := range ds {
		out[d.Booking.ID] = d.Reason
	}
	return out
}

func stopIDs(tl schedule.Timeline) []string {
	out := []string{}
	for _, s := range tl {
		out = append(out, s.BookingID)
	}
	return out
}

// TestFit: a worker's day of three jobs — 09:00-10:00 at base, 13:00-14:00
// ten minutes east, 17:00-18:00 at base — after each kind of change.
func TestFit(t *testing.T) {
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	day := func() []*doorstep.Booking {
		return []*doorstep.Booking{
			placed("b1", "a", clock(9, 0), clock(10, 0), base),
			placed("b2", "a", clock(13, 0), clock(14, 0), at(0, 10)),
			placed("b3", "a", clock(17, 0), clock(18, 0), base),
		}
	}
	gas := day()
	gas[1].Certificates = []string{"gas"}
	tests := []struct {
		name     string
		edit     func(w *doorstep.Worker) *doorstep.Worker
		bookings []*doorstep.Booking
		now      time.Time
		want     map[string]string
		kept     []string
	}{
		{"unchanged", nil, day(), clock(8, 0), map[string]string{}, []string{"b1", "b2", "b3"}},
		{"shift cut to 15:00", func(w *doorstep.Worker) *doorstep.Worker {
			w.Shifts = []doorstep.Shift{{Start: clock(8, 0), End: clock(15, 0)}}
			return w
		}, day(), clock(8, 0), map[string]string{"b3": matcher.DisplacedShift}, []string{"b1", "b2"}},
		{"a break across a job", func(w *doorstep.Worker) *doorstep.Worker {
			w.Shifts[0].Breaks = []doorstep.Break{doorstep.FixedBreak(clock(13, 30), clock(13, 45))}
			return w
		}, day(), clock(8, 0), map[string]string{"b2": matcher.DisplacedShift}, []string{"b1", "b3"}},
		{"skill removed", func(w *doorstep.Worker) *doorstep.Worker {
			w.Skills = []string{"gardening"}
			return w
		}, day(), clock(8, 0), map[string]string{"b1": matcher.DisplacedSkills, "b2": matcher.DisplacedSkills, "b3": matcher.DisplacedSkills}, []string{}},
		{"certificate removed", nil, gas, clock(8, 0), map[string]string{"b2": matcher.DisplacedCertificates}, []string{"b1", "b3"}},
		{"cap lowered to two jobs", func(w *doorstep.Worker) *doorstep.Worker {
			w.MaxJobsPerDay = 2
			return w
		}, day(), clock(8, 0), map[string]string{"b3": matcher.DisplacedCap}, []string{"b1", "b2"}},
		{"minutes capped at 90", func(w *doorstep.Worker) *doorstep.Worker {
			w.MaxWorkMinutesPerDay = 90
			return w
		}, day(), clock(8, 0), map[string]string{"b2": matcher.DisplacedCap, "b3": matcher.DisplacedCap}, []string{"b1"}},
		{"retired: what is over stays", func(*doorstep.Worker) *doorstep.Worker { return nil }, day(), clock(11, 0),
			map[string]string{"b2": matcher.DisplacedRetired, "b3": matcher.DisplacedRetired}, []string{}},
		{"a job over is never displaced", func(w *doorstep.Worker) *doorstep.Worker {
			w.Shifts = []doorstep.Shift{{Start: clock(12, 0), End: clock(20, 0)}}
			return w
		}, day(), clock(11, 0), map[string]string{}, []string{"b2", "b3"}},
		{"a job over counts towards the cap", func(w *doorstep.Worker) *doorstep.Worker {
			w.MaxJobsPerDay = 1
			return w
		}, day(), clock(11, 0), map[string]string{"b2": matcher.DisplacedCap, "b3": matcher.DisplacedCap}, []string{"b1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorker("a", "cleaning")
			if tt.edit != nil {
				w = tt.edit(w)
			}
			kept, ds := m.Fit(w, tt.bookings, "", tt.now)
			if diff := cmp.Diff(reasons(ds), tt.want); diff != "" {
				t.Errorf("displaced (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(stopIDs(kept), tt.kept); diff != "" {
				t.Errorf("kept (-got +want):\n%s", diff)
			}
		})
	}
}

// TestOverran: job b1 (09:00-10:00 at base) runs until 10:45. b2
// (10:30-11:30, ten minutes east) is displaced by it; b3 (11:40-12:00 at
// base) and b4 (16:00-17:00) come after it in the chain. Placed on their own
// worker, b2 starts at 10:45 + 10 min = 10:55 and ends 11:55; b3 at 11:55 +
// 10 min = 12:05 (never before 11:40, its start); b4 keeps 16:00.
func TestOverran(t *testing.T) {
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	a, b := newWorker("a", "cleaning"), newWorker("b", "cleaning")
	bs := []*doorstep.Booking{
		placed("b1", "a", clock(9, 0), clock(10, 0), base),
		placed("b2", "a", clock(10, 30), clock(11, 30), at(0, 10)),
		placed("b3", "a", clock(11, 40), clock(12, 0), base),
		placed("b4", "a", clock(16, 0), clock(17, 0), base),
	}
	now := clock(9, 30)
	late := *bs[0]
	late.End = clock(10, 45)
	kept, ds := m.Overran(a, bs, &late, now)
	want := map[string]string{"b2": matcher.DisplacedOverrun, "b3": matcher.DisplacedOverrun, "b4": matcher.DisplacedOverrun}
	if diff := cmp.Diff(reasons(ds), want); diff != "" {
		t.Fatalf("displaced (-got +want):\n%s", diff)
	}
	if got := stopIDs(kept); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("kept %v, want [b1]", got)
	}
	// b, idle all day, could take b2 at its start: an overrun shifts the
	// chain on its own worker first.
	plan := m.PlanDisplaced(ds, []matcher.Candidate{{Worker: a, Timeline: kept}, cand(b)}, now)
	type move struct {
		ID, To     string
		Start, End time.Time
		Unchanged  bool
	}
	var got []move
	for _, r := range plan {
		if r.To == nil {
			t.Fatalf("%s: at risk, want placed", r.Booking.ID)
		}
		got = append(got, move{r.Booking.ID, r.To.WorkerID, r.To.Start, r.To.End, r.Unchanged()})
	}
	wantMoves := []move{
		{"b2", "a", clock(10, 55), clock(11, 55), false},
		{"b3", "a", clock(12, 5), clock(12, 25), false},
		{"b4", "a", clock(16, 0), clock(17, 0), true},
	}
	if diff := cmp.Diff(got, wantMoves); diff != "" {
		t.Errorf("plan (-got +want):\n%s", diff)
	}
	// Without the overrun, a shift cut sends b2 to b at its start.
	ds[0].Reason = matcher.DisplacedShift
	plan = m.PlanDisplaced(ds[:1], []matcher.Candidate{{Worker: a, Timeline: kept}, cand(b)}, now)
	if to := plan[0].To; to == nil || to.WorkerID != "b" || !to.Start.Equal(clock(10, 30)) {
		t.Errorf("shift cut: b2 to %+v, want b at 10:30", to)
	}
}

// TestPlanDisplaced: worker a's shift is cut to 08:00-15:00, displacing b3
// (17:00-18:00 at base, told 17:00 or inside a window); b lives at base.
func TestPlanDisplaced(t *testing.T) {
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	cut := newWorker("a", "cleaning")
	cut.Shifts = []doorstep.Shift{{Start: clock(8, 0), End: clock(15, 0)}}
	own := matcher.Candidate{Worker: cut, Timeline: schedule.TimelineOf([]*doorstep.Booking{
		placed("b1", "a", clock(9, 0), clock(10, 0), base), placed("b2", "a", clock(13, 0), clock(14, 0), at(0, 10))})}
	b3 := func(edit func(*doorstep.Booking)) *doorstep.Booking {
		b := placed("b3", "a", clock(17, 0), clock(18, 0), base)
		if edit != nil {
			edit(b)
		}
		return b
	}
	busy := func(from, to time.Time) matcher.Candidate {
		return cand(newWorker("b", "cleaning"), placed("x", "b", from, to, base))
	}
	tests := []struct {
		name  string
		b     *doorstep.Booking
		cands []matcher.Candidate
		now   time.Time
		to    string // worker, "" when at risk
		start time.Time
	}{
		{"to the other worker at its start", b3(nil), []matcher.Candidate{own, cand(newWorker("b", "cleaning"))}, clock(8, 0), "b", clock(17, 0)},
		{"later, never earlier than told", b3(nil), []matcher.Candidate{own, busy(clock(16, 30), clock(17, 30))}, clock(8, 0), "b", clock(17, 30)},
		{"earlier inside its window", b3(func(b *doorstep.Booking) {
			b.Window = &doorstep.Window{Start: clock(15, 0), End: clock(19, 0)}
		}), []matcher.Candidate{own, busy(clock(16, 45), clock(18, 0))}, clock(8, 0), "b", clock(15, 0)},
		{"never past its promise", b3(func(b *doorstep.Booking) {
			b.Window = &doorstep.Window{Start: clock(16, 0), End: clock(17, 0)}
		}), []matcher.Candidate{own, busy(clock(16, 0), clock(17, 30))}, clock(8, 0), "", time.Time{}},
		{"nobody else", b3(nil), []matcher.Candidate{own}, clock(8, 0), "", time.Time{}},
		{"an excluded worker is never used", b3(func(b *doorstep.Booking) { b.ExcludedWorkers = []string{"b"} }),
			[]matcher.Candidate{own, cand(newWorker("b", "cleaning"))}, clock(8, 0), "", time.Time{}},
		{"an unqualified worker is never used", b3(nil), []matcher.Candidate{own, cand(newWorker("b", "gardening"))}, clock(8, 0), "", time.Time{}},
		{"under way: stays, at risk", b3(nil), []matcher.Candidate{own, cand(newWorker("b", "cleaning"))}, clock(17, 10), "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := m.PlanDisplaced([]matcher.Displacement{{Booking: tt.b, Reason: matcher.DisplacedShift}}, tt.cands, tt.now)
			if len(plan) != 1 {
				t.Fatalf("%d relocations, want 1", len(plan))
			}
			r := plan[0]
			if r.Reason != matcher.DisplacedShift || r.Booking != tt.b {
				t.Errorf("relocation of %v (%s), want b3 (shift)", r.Booking, r.Reason)
			}
			if tt.to == "" {
				if r.To != nil {
					t.Errorf("moved to %s at %s, want at risk", r.To.WorkerID, r.To.Start)
				}
				return
			}
			if r.To == nil {
				t.Fatalf("at risk, want moved to %s at %s", tt.to, tt.start)
			}
			want := *tt.b
			want.Touch(tt.now, doorstep.ChangeReplan)
			want.WorkerID, want.Start, want.End, want.Arrival = tt.to, tt.start, tt.start.Add(time.Hour), tt.start
			if diff := cmp.Diff(r.To, &want); diff != "" {
				t.Errorf("moved (-got +want):\n%s", diff)
			}
		})
	}
}

// TestPlanDisplacedUrgentFirst: worker b works 10:00-11:00 only and can
// take one of two displaced jobs told 10:00: the urgent one (due by
// 10:30) goes first, whatever the order given; the normal one is at risk.
func TestPlanDisplacedUrgentFirst(t *testing.T) {
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	b := newWorker("b", "cleaning")
	b.Shifts = []doorstep.Shift{{Start: clock(10, 0), End: clock(11, 0)}}
	n := placed("n", "a", clock(10, 0), clock(11, 0), base)
	u := placed("u", "a", clock(10, 0), clock(11, 0), base)
	u.Urgency, u.RequestedAt, u.Deadline = doorstep.Urgent, clock(9, 30), clock(10, 30)
	plan := m.PlanDisplaced([]matcher.Displacement{{Booking: n, Reason: matcher.DisplacedRetired}, {Booking: u, Reason: matcher.DisplacedRetired}},
		[]matcher.Candidate{cand(b)}, clock(9, 40))
	if len(plan) != 2 || plan[0].Booking != u || plan[1].Booking != n {
		t.Fatalf("plan order %v, want u then n", plan)
	}
	if to := plan[0].To; to == nil || to.WorkerID != "b" || !to.Arrival.Equal(clock(10, 0)) {
		t.Errorf("urgent: to %+v, want b arriving 10:00", to)
	}
	if plan[1].To != nil {
		t.Errorf("normal: moved to %+v, want at risk", plan[1].To)
	}
}

// TestOverranAcrossShifts: a job that runs into the next shift, or that
// started outside every shift (its shift was cut while it ran), still
// displaces the stops it runs into.
func TestOverranAcrossShifts(t *testing.T) {
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	w := newWorker("a", "cleaning")
	w.Shifts = []doorstep.Shift{{Start: clock(8, 0), End: clock(12, 0)}, {Start: clock(13, 0), End: clock(20, 0),
		Breaks: []doorstep.Break{doorstep.FixedBreak(clock(15, 0), clock(15, 30))}}}
	tests := []struct {
		name      string
		job       [2]time.Time // the overrunning job, as planned
		end       time.Time    // its new end
		next      [2]time.Time
		displaced bool
	}{
		{"into the next shift", [2]time.Time{clock(11, 0), clock(12, 0)}, clock(13, 20), [2]time.Time{clock(13, 0), clock(14, 0)}, true},
		{"into the next shift, room after", [2]time.Time{clock(11, 0), clock(12, 0)}, clock(12, 50), [2]time.Time{clock(13, 0), clock(14, 0)}, false},
		{"started before its shift", [2]time.Time{clock(12, 50), clock(13, 30)}, clock(14, 10), [2]time.Time{clock(14, 0), clock(14, 30)}, true},
		{"through a break", [2]time.Time{clock(14, 0), clock(14, 50)}, clock(15, 20), [2]time.Time{clock(15, 30), clock(16, 0)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := placed("job", "a", tt.job[0], tt.job[1], base)
			next := placed("next", "a", tt.next[0], tt.next[1], base)
			late := *job
			late.End = tt.end
			_, ds := m.Overran(w, []*doorstep.Booking{job, next}, &late, tt.job[0].Add(time.Minute))
			got := reasons(ds)["next"] == matcher.DisplacedOverrun
			if got != tt.displaced || len(ds) > 1 {
				t.Errorf("displaced %v, want next displaced %v", reasons(ds), tt.displaced)
			}
		})
	}
}
