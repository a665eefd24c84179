package store

import (
	"context"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// testReplan: the store's part of re-planning a retired worker's bookings.
// LoadWorker reads a retired worker with its version and bookings; Apply
// may mark a booking at risk where it is on a worker without a profile
// (it reserves nothing new) but never move one onto it; the at-risk index
// follows every rewrite; the audit event of a move names the booking's own
// reason.
func testReplan(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	a, b := newWorker("a", nycA), newWorker("b", nycB)
	mustPutWorker(t, s, a)
	mustPutWorker(t, s, b)
	b1 := newBooking(a, t0.Add(time.Hour), time.Hour, nycC)
	b2 := newBooking(a, t0.Add(3*time.Hour), time.Hour, nycC)
	mustBook(t, s, b1)
	mustBook(t, s, b2)
	region := regionOf(a)

	if err := s.DeleteWorker(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	st, err := s.LoadWorker(ctx, "a", t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("LoadWorker(retired): %v", err)
	}
	if st.Worker != nil || st.Region != region || st.Version == 0 || len(st.Bookings) != 2 {
		t.Fatalf("LoadWorker(retired) = %+v", st)
	}
	if _, err := s.LoadWorker(ctx, "nobody", t0, t0.Add(time.Hour)); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("LoadWorker(unknown): %v, want not found", err)
	}
	live, err := s.LoadWorker(ctx, "b", t0, t0.Add(time.Hour))
	if err != nil || live.Worker == nil || live.Worker.ID != "b" || live.Version != mustVersion(t, s, "b") {
		t.Fatalf("LoadWorker(b) = %+v, %v", live, err)
	}

	// b1 marked at risk where it is, b2 moved to b: one step.
	now := t0.Add(-2 * time.Hour)
	mark := *b1
	mark.Touch(now, doorstep.ChangeAtRisk)
	mark.AtRisk = &doorstep.AtRisk{Reason: "retired", Since: now}
	move := *b2
	move.Touch(now, doorstep.ChangeReplan)
	move.WorkerID = "b"
	err = s.Apply(ctx, Change{Region: region, Expect: map[string]int64{"a": st.Version, "b": live.Version},
		Update: []*doorstep.Booking{&mark, &move}, Reason: doorstep.ChangeReplan})
	if err != nil {
		t.Fatalf("Apply(mark and move): %v", err)
	}
	list, err := s.AtRiskBookings(ctx, now, 10)
	if err != nil || len(list) != 1 || list[0].ID != b1.ID || list[0].AtRisk == nil || list[0].AtRisk.Reason != "retired" {
		t.Fatalf("AtRiskBookings = %v, %v; want %s", list, err, b1.ID)
	}
	if list, err := s.AtRiskBookings(ctx, b1.End.Add(time.Minute), 10); err != nil || len(list) != 0 {
		t.Errorf("AtRiskBookings after it is over = %v, %v; want none", list, err)
	}
	if _, err := s.AtRiskBookings(ctx, now, 0); doorstep.ErrorCode(err) != doorstep.EINVALID {
		t.Errorf("AtRiskBookings(limit 0): %v, want invalid", err)
	}
	events, err := s.ReadAudit(ctx, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, e := range events {
		reasons[e.BookingID] = e.Action + " " + e.Reason
	}
	if reasons[b1.ID] != "move at_risk" || reasons[b2.ID] != "move replan" {
		t.Errorf("audit %v, want b1 move at_risk and b2 move replan", reasons)
	}

	// Moving a booking onto the retired worker, or to another time on it,
	// is refused: it would reserve time of a worker not in dispatch.
	st, _ = s.LoadWorker(ctx, "a", t0, t0.Add(24*time.Hour))
	back := move
	back.Touch(now, doorstep.ChangeReplan)
	back.WorkerID = "a"
	err = s.Apply(ctx, Change{Region: region, Expect: map[string]int64{"a": st.Version, "b": mustVersion(t, s, "b")}, Update: []*doorstep.Booking{&back}})
	if doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("move onto a retired worker: %v, want not found", err)
	}
	later := mark
	later.Touch(now, doorstep.ChangeAtRisk)
	later.Start, later.End = later.Start.Add(time.Hour), later.End.Add(time.Hour)
	later.AtRisk = mark.AtRisk
	err = s.Apply(ctx, Change{Region: region, Expect: map[string]int64{"a": st.Version}, Update: []*doorstep.Booking{&later}})
	if doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("another time on a retired worker: %v, want not found", err)
	}

	// b1 rescheduled to b (its mark cleared by Touch): out of the index.
	resc := mark
	resc.Touch(now, doorstep.ChangeReschedule)
	resc.WorkerID = "b"
	if resc.AtRisk != nil {
		t.Fatal("Touch kept the mark")
	}
	err = s.Apply(ctx, Change{Region: region, Expect: map[string]int64{"a": st.Version, "b": mustVersion(t, s, "b")}, Update: []*doorstep.Booking{&resc}})
	if err != nil {
		t.Fatalf("Apply(reschedule): %v", err)
	}
	if list, err := s.AtRiskBookings(ctx, now, 10); err != nil || len(list) != 0 {
		t.Errorf("AtRiskBookings after the reschedule = %v, %v; want none", list, err)
	}
	// A booking cancelled while at risk leaves the index too.
	again := resc
	again.Touch(now, doorstep.ChangeAtRisk)
	again.AtRisk = &doorstep.AtRisk{Reason: "shift", Since: now}
	if err := s.Apply(ctx, Change{Region: region, Expect: map[string]int64{"b": mustVersion(t, s, "b")}, Update: []*doorstep.Booking{&again}}); err != nil {
		t.Fatalf("Apply(mark on b): %v", err)
	}
	if list, _ := s.AtRiskBookings(ctx, now, 10); len(list) != 1 {
		t.Fatalf("AtRiskBookings = %v, want b1", list)
	}
	if _, err := s.CancelBooking(ctx, b1.ID, now); err != nil {
		t.Fatal(err)
	}
	if list, err := s.AtRiskBookings(ctx, now, 10); err != nil || len(list) != 0 {
		t.Errorf("AtRiskBookings after the cancel = %v, %v; want none", list, err)
	}
	if got, _ := s.GetBooking(ctx, b1.ID); got.AtRisk != nil {
		t.Errorf("cancelled booking still at risk: %+v", got.AtRisk)
	}
}
