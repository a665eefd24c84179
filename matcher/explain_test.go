package matcher_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
)

func TestExplain(t *testing.T) {
	now := clock(10, 0)
	offShift := func(id string, skills ...string) *doorstep.Worker {
		w := newWorker(id, skills...)
		w.Shifts = []doorstep.Shift{{Start: clock(14, 0), End: clock(20, 0)}}
		return w
	}
	farHome := func(id string, n float64) *doorstep.Worker {
		w := newWorker(id, "cleaning")
		w.Home = at(n, 0)
		return w
	}
	tests := []struct {
		name     string
		cands    []matcher.Candidate
		reason   string
		rejected map[string]int
		each     []matcher.Rejection
		earliest time.Time // zero: none
	}{
		{
			name:   "no candidates",
			reason: matcher.ReasonNoCandidates, rejected: map[string]int{},
		},
		{
			// Two unqualified workers outnumber the qualified one off
			// shift: the reason is still shift, what really stopped the
			// only worker who could have served.
			name:     "a qualified worker off shift is shift, not skills",
			cands:    []matcher.Candidate{cand(newWorker("plumber", "plumbing")), cand(offShift("cleaner", "cleaning")), cand(newWorker("roofer", "roofing"))},
			reason:   matcher.ReasonShift,
			rejected: map[string]int{matcher.ReasonSkills: 2, matcher.ReasonShift: 1},
			each: []matcher.Rejection{{WorkerID: "plumber", Reason: matcher.ReasonSkills}, {WorkerID: "cleaner", Reason: matcher.ReasonShift},
				{WorkerID: "roofer", Reason: matcher.ReasonSkills}},
			earliest: clock(14, 0),
		},
		{
			name:     "a job that cannot end before the shift does is shift_end, not busy",
			cands:    []matcher.Candidate{cand(withShift(newWorker("short", "cleaning"), clock(8, 0), clock(11, 0))), cand(offShift("later", "cleaning"))},
			reason:   matcher.ReasonShiftEnd,
			rejected: map[string]int{matcher.ReasonShiftEnd: 1, matcher.ReasonShift: 1},
			each:     []matcher.Rejection{{WorkerID: "short", Reason: matcher.ReasonShiftEnd}, {WorkerID: "later", Reason: matcher.ReasonShift}},
			earliest: clock(14, 0),
		},
		{
			name:     "too far within the hour: deadline, with the earliest arrival",
			cands:    []matcher.Candidate{cand(farHome("far", 70)), cand(newWorker("busy", "cleaning"), booking("b", clock(9, 0), clock(13, 0), base))},
			reason:   matcher.ReasonDeadline,
			rejected: map[string]int{matcher.ReasonDeadline: 1, matcher.ReasonBusy: 1},
			each:     []matcher.Rejection{{WorkerID: "far", Reason: matcher.ReasonDeadline}, {WorkerID: "busy", Reason: matcher.ReasonBusy}},
			earliest: clock(11, 10),
		},
		{
			name:     "only unqualified workers: skills, and no earliest arrival",
			cands:    []matcher.Candidate{cand(newWorker("plumber", "plumbing"))},
			reason:   matcher.ReasonSkills,
			rejected: map[string]int{matcher.ReasonSkills: 1},
			each:     []matcher.Rejection{{WorkerID: "plumber", Reason: matcher.ReasonSkills}},
		},
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := urgentAt(t, "cleaning", base, now)
			got := m.Explain(req, tt.cands, now, matcher.History{})
			want := matcher.Explanation{Deadline: clock(11, 0), Reason: tt.reason, Rejected: tt.rejected, Candidates: tt.each, EarliestArrival: tt.earliest}
			if !tt.earliest.IsZero() {
				want.EarliestWorker = got.EarliestWorker
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Explain mismatch (-want +got):\n%s", diff)
			}
			var qualified []matcher.Candidate
			for _, c := range tt.cands {
				if c.Worker.Qualifies(req) {
					qualified = append(qualified, c)
				}
			}
			// A narrow search's candidates, qualified, answer alike
			// added in parts, in any order, each with its place.
			b := m.NewBeyond(req, now)
			for i := len(qualified) - 1; i >= 0; i-- {
				b.Add(&qualified[i], i)
			}
			at, who := b.Earliest()
			if !at.Equal(got.EarliestArrival) || who != got.EarliestWorker {
				t.Errorf("Beyond: %s by %q, want %s by %q", at, who, got.EarliestArrival, got.EarliestWorker)
			}
		})
	}
}

func TestMainReason(t *testing.T) {
	tests := []struct {
		rej  map[string]int
		want string
	}{
		{nil, matcher.ReasonBusy},
		{map[string]int{matcher.ReasonSkills: 5, matcher.ReasonShift: 1}, matcher.ReasonShift},
		{map[string]int{matcher.ReasonSkills: 1, matcher.ReasonCertificates: 1}, matcher.ReasonCertificates},
		{map[string]int{matcher.ReasonBusy: 3, matcher.ReasonShiftEnd: 1}, matcher.ReasonShiftEnd},
		{map[string]int{matcher.ReasonShiftEnd: 3, matcher.ReasonDeadline: 1}, matcher.ReasonDeadline},
		{map[string]int{matcher.ReasonCap: 3, matcher.ReasonBusy: 1, matcher.ReasonExcluded: 9}, matcher.ReasonBusy},
	}
	for _, tt := range tests {
		if got := matcher.MainReason(tt.rej); got != tt.want {
			t.Errorf("MainReason(%v) = %q, want %q", tt.rej, got, tt.want)
		}
	}
}

// withShift gives w the one shift from..to.
func withShift(w *doorstep.Worker, from, to time.Time) *doorstep.Worker {
	w.Shifts = []doorstep.Shift{{Start: from, End: to}}
	return w
}
