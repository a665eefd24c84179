package store

import (
	"errors"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

func TestBookingVersionRedis(t *testing.T) {
	t.Parallel()
	testBookingVersion(t, openRedis)
}

func TestBookingVersionEmbedded(t *testing.T) {
	t.Parallel()
	testBookingVersion(t, openEmbeddedHarness)
}

// testBookingVersion: a booking is created at version 1, every rewrite
// follows the stored version (an optimistic lock), and a rewrite made from
// a stale read is refused even when its workers' versions are current.
func testBookingVersion(t *testing.T, open openFunc) {
	ctx := t.Context()
	s := open(t).s
	w1, w2 := newWorker("w1", nycA), newWorker("w2", nycA)
	mustPutWorker(t, s, w1)
	mustPutWorker(t, s, w2)
	region := regionOfLoc(nycA)
	b := newBooking(w1, t0.Add(2*time.Hour), time.Hour, nycB)
	mustBook(t, s, b)
	if got := mustGetBooking(t, s, b.ID); got.Version != 1 {
		t.Fatalf("new booking at version %d, want 1", got.Version)
	}

	// Two writers read the booking; the first moves it to w2.
	first, second := mustGetBooking(t, s, b.ID), mustGetBooking(t, s, b.ID)
	first.Touch(t0, doorstep.ChangeRescue)
	first.WorkerID = "w2"
	both := func() map[string]int64 {
		return map[string]int64{"w1": mustVersion(t, s, "w1"), "w2": mustVersion(t, s, "w2")}
	}
	if err := s.Apply(ctx, Change{Region: region, Expect: both(), Update: []*doorstep.Booking{first}}); err != nil {
		t.Fatalf("Apply(first): %v", err)
	}
	want := *first
	if diff := cmp.Diff(mustGetBooking(t, s, b.ID), &want); diff != "" {
		t.Errorf("moved booking (-got +want):\n%s", diff)
	}
	if want.Version != 2 || want.LastChange == nil || want.LastChange.PreviousWorkerID != "w1" {
		t.Errorf("moved booking: version %d, last change %+v; want 2, from w1", want.Version, want.LastChange)
	}

	// The second, from its stale read, moves it two hours later on w1 (the
	// worker it saw): both workers are pinned at their current versions, so
	// only the booking's version can tell.
	second.Touch(t0, doorstep.ChangeReschedule)
	second.Start, second.End = second.Start.Add(2*time.Hour), second.End.Add(2*time.Hour)
	err := s.Apply(ctx, Change{Region: region, Expect: both(), Update: []*doorstep.Booking{second}})
	var se *StaleError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &se) || doorstep.ErrorCode(err) != doorstep.ECONFLICT {
		t.Fatalf("Apply(stale) = %v; want a *StaleError (ErrConflict, ECONFLICT)", err)
	}
	if diff := cmp.Diff(*se, StaleError{BookingID: b.ID, Expected: 1, Actual: 2}); diff != "" {
		t.Errorf("StaleError (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(mustGetBooking(t, s, b.ID), &want); diff != "" {
		t.Errorf("booking after the stale rewrite (-got +want):\n%s", diff)
	}

	// A cancel follows the version too.
	c, err := s.CancelBooking(ctx, b.ID, t0)
	if err != nil {
		t.Fatalf("CancelBooking: %v", err)
	}
	got := mustGetBooking(t, s, b.ID)
	if got.Version != 3 || !got.UpdatedAt.Equal(t0) || got.LastChange == nil || got.LastChange.Reason != doorstep.ChangeCancel {
		t.Errorf("cancelled booking: version %d, updated %v, last change %+v; want 3, at %v, a cancel", got.Version, got.UpdatedAt, got.LastChange, t0)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("CancelBooking's answer is not what is stored (-got +want):\n%s", diff)
	}
}
