package dispatch_test

import (
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/google/go-cmp/cmp"
)

// report is a progress report of status at t (and, for a delay, the
// expected end).
func report(status string, t, expectedEnd time.Time) dispatch.Report {
	return dispatch.Report{ProgressAt: doorstep.ProgressAt{Status: status, At: t, ExpectedEnd: expectedEnd}}
}

// TestProgressOverrun: a's 09:00-10:00 job at base runs until 10:30, by a
// start reported late (09:30) or by a delay reported once started
// (expected end 10:30). a's next job (10:00, window 10:00-10:10, at base)
// can no longer start in its window on a: it goes to b (3 km east, free,
// arriving at 10:00), or is at risk (overrun) when a is alone. a's 16:00
// job stays.
func TestProgressOverrun(t *testing.T) {
	for _, how := range []string{"started late", "delayed"} {
		for _, withB := range []bool{true, false} {
			t.Run(how+map[bool]string{true: "/another worker", false: "/alone"}[withB], func(t *testing.T) {
				e := newEnv(t, at(8, 0), nil)
				e.put(t, worker("a", base, dayShift()))
				j1 := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(9, 0))
				j2 := e.fixture(t, "a", normal(base, mins(60), at(10, 0), at(10, 10)), at(10, 0))
				j3 := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(16, 0))
				if withB {
					e.put(t, worker("b", homeB, dayShift()))
				}
				var got *doorstep.Booking
				var rp *dispatch.Replanned
				var err error
				switch how {
				case "started late":
					e.clk.Set(at(9, 30))
					got, rp, err = e.svc.Progress(t.Context(), j1.ID, report("started", at(9, 30), time.Time{}))
				case "delayed":
					e.clk.Set(at(9, 0))
					if _, _, err := e.svc.Progress(t.Context(), j1.ID, report("started", at(9, 0), time.Time{})); err != nil {
						t.Fatal(err)
					}
					e.clk.Set(at(9, 45))
					got, rp, err = e.svc.Progress(t.Context(), j1.ID, report("delayed", at(9, 45), at(10, 30)))
				}
				if err != nil {
					t.Fatal(err)
				}
				if !got.End.Equal(at(10, 30)) || got.State() != "started" {
					t.Errorf("reported job ends %s in state %s", got.End.Format("15:04"), got.State())
				}
				if b := e.get(t, j1.ID); !b.End.Equal(at(10, 30)) || b.Progress == nil || b.Progress.State != "started" {
					t.Errorf("stored job ends %s, progress %+v", b.End.Format("15:04"), b.Progress)
				}
				want := dispatch.Replanned{Moved: 1}
				if withB {
					e.wantBooking(t, j2.ID, "b", at(10, 0), "", 2)
				} else {
					e.wantBooking(t, j2.ID, "a", at(10, 0), matcher.DisplacedOverrun, 2)
					want = dispatch.Replanned{AtRisk: 1}
				}
				e.wantBooking(t, j3.ID, "a", at(16, 0), "", 1)
				if diff := cmp.Diff(rp, &want); diff != "" {
					t.Errorf("replanned (-got +want):\n%s", diff)
				}
				if got := e.obs.counted(dispatch.CauseOverrun); got != [2]int{want.Moved, want.AtRisk} {
					t.Errorf("observed %v, want %v", got, want)
				}
				e.verifyReplanned(t)
			})
		}
	}
}

// TestProgressFreesTime: a's 09:00-11:00 job at base ends early, by a
// completion at 09:40 or a no-show at 09:10. An urgent request at base
// made just after could not be served by a (busy until 11:00, past its
// 1-hour promise; the job under way cannot move): it now is, by a at
// once, and a is placed at the job.
func TestProgressFreesTime(t *testing.T) {
	for _, status := range []string{doorstep.ProgressCompleted, doorstep.ProgressNoShow} {
		t.Run(status, func(t *testing.T) {
			e := newEnv(t, at(8, 0), nil)
			e.put(t, worker("a", base, dayShift()))
			j1 := e.fixture(t, "a", normal(base, mins(120), time.Time{}, time.Time{}), at(9, 0))
			end := at(9, 10)
			e.clk.Set(at(9, 0))
			if _, _, err := e.svc.Progress(t.Context(), j1.ID, report("arrived", at(9, 0), time.Time{})); err != nil {
				t.Fatal(err)
			}
			if status == doorstep.ProgressCompleted {
				end = at(9, 40)
				if _, _, err := e.svc.Progress(t.Context(), j1.ID, report("started", at(9, 0), time.Time{})); err != nil {
					t.Fatal(err)
				}
			}
			e.clk.Set(end)
			_, err := e.svc.Book(t.Context(), urgent("cleaning", base, mins(60)), tenant)
			wantUnservable(t, err, "")

			got, rp, err := e.svc.Progress(t.Context(), j1.ID, report(status, end, time.Time{}))
			if err != nil {
				t.Fatal(err)
			}
			if !got.End.Equal(end) || got.State() != status || !got.Terminal() || rp.Moved+rp.AtRisk != 0 {
				t.Errorf("job ends %s in state %s (replanned %+v)", got.End.Format("15:04"), got.State(), rp)
			}
			w, _, err := e.st.GetWorker(t.Context(), "a")
			if err != nil {
				t.Fatal(err)
			}
			if w.Location == nil || *w.Location != base || !w.LocatedAt.Equal(end) {
				t.Errorf("worker at %v since %s, want the job's place since %s", w.Location, w.LocatedAt, end)
			}
			e.clk.Set(end.Add(mins(5)))
			bk := e.book(t, urgent("cleaning", base, mins(60)))
			if b := bk.Booking; b.WorkerID != "a" || !b.Arrival.Equal(end.Add(mins(5))) {
				t.Errorf("urgent booking on %s arriving %s, want a at %s", b.WorkerID, b.Arrival.Format("15:04"), end.Add(mins(5)).Format("15:04"))
			}
			// Terminal: nothing more may be reported, and the job cannot be cancelled.
			if _, _, err := e.svc.Progress(t.Context(), j1.ID, report("delayed", e.clk.Now(), at(12, 0))); doorstep.ErrorCode(err) != doorstep.ECONFLICT {
				t.Errorf("a report after %s: %v, want a conflict", status, err)
			}
			// A retry of the last report changes nothing.
			again, _, err := e.svc.Progress(t.Context(), j1.ID, report(status, end, time.Time{}))
			if err != nil || again.Version != got.Version {
				t.Errorf("retried report: version %d, %v; want version %d unchanged", again.Version, err, got.Version)
			}
			e.verifyReplanned(t)
		})
	}
}

// TestProgressLate: a is on its way to an urgent job requested at 09:00
// (arrival planned 09:30, promised by 10:00) and reports it will arrive at
// 10:15: the job stays with a (a is on its way) and is at risk, reason
// late. A later report that it is on time is not needed for the mark to
// stay; a field key of another worker may not report it.
func TestProgressLate(t *testing.T) {
	e := newEnv(t, at(9, 0), nil)
	e.put(t, worker("a", base, dayShift()), worker("b", homeB, dayShift()))
	req := urgent("cleaning", offset(base, 0, 1), mins(30))
	j := e.fixture(t, "a", req, at(9, 30))
	e.clk.Set(at(9, 5))
	rep := report("en_route", at(9, 5), time.Time{})
	rep.Worker = "b"
	if _, _, err := e.svc.Progress(t.Context(), j.ID, rep); doorstep.ErrorCode(err) != doorstep.EFORBIDDEN {
		t.Fatalf("another worker's report: %v, want forbidden", err)
	}
	rep.Worker = "a"
	if _, _, err := e.svc.Progress(t.Context(), j.ID, rep); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(at(9, 10))
	late := dispatch.Report{ProgressAt: doorstep.ProgressAt{Status: "delayed", At: at(9, 10), ExpectedArrival: at(10, 15)}}
	got, rp, err := e.svc.Progress(t.Context(), j.ID, late)
	if err != nil {
		t.Fatal(err)
	}
	if got.WorkerID != "a" || !got.Arrival.Equal(at(10, 15)) || !got.Start.Equal(at(10, 15)) || !got.End.Equal(at(10, 45)) {
		t.Errorf("delayed job on %s %s-%s arriving %s", got.WorkerID, got.Start.Format("15:04"), got.End.Format("15:04"), got.Arrival.Format("15:04"))
	}
	if got.AtRisk == nil || got.AtRisk.Reason != matcher.DisplacedLate || rp.AtRisk != 1 {
		t.Errorf("at risk %+v, replanned %+v; want late", got.AtRisk, rp)
	}
	if b := e.get(t, j.ID); b.AtRisk == nil || b.State() != "en_route" {
		t.Errorf("stored: at risk %+v, state %s", b.AtRisk, b.State())
	}
}

// TestProgressRace: two reporters of the same job at once (arrived and
// started, both allowed from confirmed) never lose a report: each report
// answered with success is in the booking's history, and the version
// counts them.
func TestProgressRace(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, dayShift()))
	for round := range 8 {
		j := e.fixture(t, "a", normal(base, mins(30), time.Time{}, time.Time{}), at(9, 0).Add(time.Duration(round)*time.Hour))
		e.clk.Set(j.Start)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for _, status := range []string{"arrived", "started"} {
			wg.Go(func() {
				_, _, err := e.svc.Progress(t.Context(), j.ID, report(status, j.Start, time.Time{}))
				switch doorstep.ErrorCode(err) {
				case "":
					mu.Lock()
					ok++
					mu.Unlock()
				case doorstep.ECONFLICT:
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		b := e.get(t, j.ID)
		if b.Progress == nil || len(b.Progress.History) != ok || b.Version != int64(1+ok) {
			t.Errorf("round %d: %d reports succeeded, history %+v, version %d", round, ok, b.Progress, b.Version)
		}
	}
}

// TestProgressPinsRescue: an urgent plumbing call at 08:30 only a can
// serve (a's 09:00 cleaning job is in its way) is served by moving that job
// to b at 09:00 — unless a reported it is on its way to it: a booking
// under way is never moved by a rescue, and the call is unservable.
func TestProgressPinsRescue(t *testing.T) {
	for _, reported := range []bool{false, true} {
		t.Run(map[bool]string{false: "not reported", true: "en route"}[reported], func(t *testing.T) {
			e := newEnv(t, at(8, 0), nil)
			e.put(t, worker("a", base, dayShift(), "cleaning", "plumbing"))
			job := e.fixture(t, "a", normal(base, mins(60), time.Time{}, time.Time{}), at(9, 0))
			e.put(t, worker("b", homeB, dayShift()))
			e.clk.Set(at(8, 30))
			if reported {
				if _, _, err := e.svc.Progress(t.Context(), job.ID, report("en_route", at(8, 30), time.Time{})); err != nil {
					t.Fatal(err)
				}
			}
			bk, err := e.svc.Book(t.Context(), urgent("plumbing", base, mins(60)), tenant)
			if reported {
				wantUnservable(t, err, "")
				e.wantBooking(t, job.ID, "a", at(9, 0), "", 2)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if bk.Booking.WorkerID != "a" || len(bk.Moves) != 1 {
				t.Errorf("urgent on %s with %d moves, want a with one", bk.Booking.WorkerID, len(bk.Moves))
			}
			e.wantBooking(t, job.ID, "b", at(9, 0), "", 2)
		})
	}
}
