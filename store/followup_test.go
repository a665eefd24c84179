package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

// TestFollowUpsRedis and TestFollowUpsEmbedded: follow-ups, feedback and
// the retention on every Redis the store runs on.
func TestFollowUpsRedis(t *testing.T) {
	t.Parallel()
	runFollowUps(t, openRedis)
}

func TestFollowUpsEmbedded(t *testing.T) {
	t.Parallel()
	runFollowUps(t, openEmbeddedHarness)
}

func runFollowUps(t *testing.T, open openFunc) {
	for _, tt := range []struct {
		name string
		run  func(*testing.T, openFunc)
	}{
		{"OpenOnce", testFollowUpOpenOnce},
		{"Feedback", testFeedback},
		{"PagedAndCounted", testFollowUpsPagedAndCounted},
		{"ReduceExpired", testReduceExpired},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open) })
	}
}

// followUpOf is the follow-up of b completed at its end.
func followUpOf(b *doorstep.Booking) *doorstep.FollowUp {
	return &doorstep.FollowUp{BookingID: b.ID, WorkerID: b.WorkerID, Service: b.Service, Owner: b.Owner,
		CompletedAt: b.End, Due: b.End.Add(doorstep.FollowUpWindow)}
}

func mustOpen(tb testing.TB, s *Store, f *doorstep.FollowUp) {
	tb.Helper()
	if _, _, err := s.OpenFollowUp(context.Background(), f); err != nil {
		tb.Fatalf("OpenFollowUp(%s): %v", f.BookingID, err)
	}
}

// testFollowUpOpenOnce: opening a follow-up twice, or from many clients
// at once, makes one, indexed once, due as the first opening said.
func testFollowUpOpenOnce(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w-1", nycA)
	mustPutWorker(t, s, w)
	b := newBooking(w, t0, time.Hour, nycB)
	mustBook(t, s, b)

	var created atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			f := followUpOf(b)
			f.CompletedAt = f.CompletedAt.Add(time.Duration(i) * time.Minute) // a later report of the same completion
			f.Due = f.CompletedAt.Add(doorstep.FollowUpWindow)
			_, c, err := s.OpenFollowUp(ctx, f)
			if err != nil {
				t.Errorf("OpenFollowUp: %v", err)
			}
			if c {
				created.Add(1)
			}
		})
	}
	wg.Wait()
	if n := created.Load(); n != 1 {
		t.Errorf("%d openings created a follow-up, want 1", n)
	}
	got, c, err := s.OpenFollowUp(ctx, followUpOf(b))
	if err != nil || c {
		t.Fatalf("OpenFollowUp again = created %v, %v; want the existing one", c, err)
	}
	stored, err := s.GetFollowUp(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stored, got); diff != "" {
		t.Errorf("OpenFollowUp again answered another follow-up than stored (-stored +got):\n%s", diff)
	}
	if n, err := s.rdb.ZCard(ctx, openFollowUpsKey(regionOf(w))).Result(); err != nil || n != 1 {
		t.Errorf("open index holds %d members (%v), want 1", n, err)
	}
	page, err := s.OpenFollowUps(ctx, FollowUpQuery{Limit: 10})
	if err != nil || len(page.FollowUps) != 1 || !page.FollowUps[0].Due.Equal(stored.Due) {
		t.Errorf("OpenFollowUps = %+v, %v; want the one follow-up due %s", page, err, stored.Due)
	}
}

// testFeedback: a feedback closes the open follow-up and counts towards
// its worker's tally once; repeating it changes nothing, another is
// refused, and a booking without a follow-up (not completed) refuses it.
func testFeedback(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w-1", nycA)
	mustPutWorker(t, s, w)
	done, pending := newBooking(w, t0, time.Hour, nycB), newBooking(w, t0.Add(2*time.Hour), time.Hour, nycB)
	mustBook(t, s, done)
	mustBook(t, s, pending)
	mustOpen(t, s, followUpOf(done))
	now := done.End.Add(time.Hour)

	_, _, err := s.RecordFeedback(ctx, pending.ID, doorstep.Feedback{Rating: 5}, now)
	if !errors.Is(err, ErrNoFollowUp) || doorstep.ErrorCode(err) != doorstep.ECONFLICT {
		t.Errorf("feedback on a booking not completed: %v, want ErrNoFollowUp (conflict)", err)
	}
	fb := doorstep.Feedback{Rating: 3, Tags: []string{"late", "tidy"}}
	f, replay, err := s.RecordFeedback(ctx, done.ID, fb, now)
	if err != nil || replay {
		t.Fatalf("RecordFeedback = replay %v, %v", replay, err)
	}
	want := followUpOf(done)
	want.Status, want.ClosedAt, want.Feedback = doorstep.FollowUpClosed, now, &fb
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("closed follow-up (-want +got):\n%s", diff)
	}
	if stored, err := s.GetFollowUp(ctx, done.ID); err != nil || !cmp.Equal(stored, want) {
		t.Errorf("stored follow-up %+v, %v; want %+v", stored, err, want)
	}
	if _, replay, err := s.RecordFeedback(ctx, done.ID, fb, now.Add(time.Minute)); err != nil || !replay {
		t.Errorf("the same feedback again = replay %v, %v; want a replay", replay, err)
	}
	if _, _, err := s.RecordFeedback(ctx, done.ID, doorstep.Feedback{Rating: 5, Tags: []string{}}, now); !errors.Is(err, ErrFeedbackGiven) {
		t.Errorf("another feedback: %v, want ErrFeedbackGiven", err)
	}
	tally, err := s.WorkerFeedback(ctx, w.ID)
	if err != nil || tally != (FeedbackTally{N: 1, Sum: 3}) {
		t.Errorf("WorkerFeedback = %+v, %v; want one rating of 3", tally, err)
	}
	if page, err := s.OpenFollowUps(ctx, FollowUpQuery{Limit: 10}); err != nil || len(page.FollowUps) != 0 {
		t.Errorf("open follow-ups after the feedback: %+v, %v; want none", page.FollowUps, err)
	}

	// The rating lands in the profile and bumps the worker's version.
	v := mustVersion(t, s, w.ID)
	if err := s.RateWorker(ctx, w.ID, func(t FeedbackTally) float64 { return float64(t.Sum) / float64(t.N) }); err != nil {
		t.Fatal(err)
	}
	got, v2, err := s.GetWorker(ctx, w.ID)
	if err != nil || got.Rating != 3 || v2 <= v {
		t.Errorf("after RateWorker: rating %v, version %d (was %d), %v; want 3 and a new version", got.Rating, v2, v, err)
	}
}

// testFollowUpsPagedAndCounted: open follow-ups of two regions listed by
// due time in pages, filtered by due_before, and the overdue ones counted.
func testFollowUpsPagedAndCounted(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	ny, pa := newWorker("w-ny", nycA), newWorker("w-pa", philly)
	mustPutWorker(t, s, ny)
	mustPutWorker(t, s, pa)
	var want []string // booking ids by due time
	for i := range 5 {
		w, at := ny, nycB
		if i%2 == 1 {
			w, at = pa, philly
		}
		b := newBooking(w, t0.Add(time.Duration(i)*time.Hour), 30*time.Minute, at)
		mustBook(t, s, b)
		mustOpen(t, s, followUpOf(b))
		want = append(want, b.ID)
	}
	var got []string
	q := FollowUpQuery{Limit: 2}
	for pages := 0; ; pages++ {
		page, err := s.OpenFollowUps(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.FollowUps {
			got = append(got, f.BookingID)
		}
		if page.Next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		q.After = page.Next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged follow-ups (-want +got):\n%s", diff)
	}
	// Due at t0+i h+30 min+24 h: before t0+26h are the first two (the
	// second is due at 25:30); one due exactly at the bound is not before it.
	bound := t0.Add(24*time.Hour + 90*time.Minute)
	page, err := s.OpenFollowUps(ctx, FollowUpQuery{Limit: 10, DueBefore: bound})
	if err != nil || len(page.FollowUps) != 1 || page.FollowUps[0].BookingID != want[0] {
		t.Errorf("due before %s: %+v, %v; want only %s", bound, page.FollowUps, err, want[0])
	}
	for _, tt := range []struct {
		now  time.Time
		want int64
	}{{t0, 0}, {bound, 1}, {bound.Add(time.Millisecond), 2}, {t0.Add(48 * time.Hour), 5}} {
		if n, err := s.OverdueFollowUps(ctx, tt.now); err != nil || n != tt.want {
			t.Errorf("OverdueFollowUps(%s) = %d, %v; want %d", tt.now, n, err, tt.want)
		}
	}
	if _, err := s.OpenFollowUps(ctx, FollowUpQuery{Limit: 10, After: "nope"}); doorstep.ErrorCode(err) != doorstep.EINVALID {
		t.Errorf("a bad cursor: %v, want invalid", err)
	}
}

// testReduceExpired: past the retention, bookings lose their customer,
// preferences and exact place, and follow-ups go with their feedback;
// records inside the retention stay whole; the tally stays.
func testReduceExpired(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w-1", nycA)
	mustPutWorker(t, s, w)
	old, recent := newBooking(w, t0, time.Hour, homeA), newBooking(w, t0.Add(3*time.Hour), time.Hour, homeB)
	for _, b := range []*doorstep.Booking{old, recent} {
		b.CustomerID, b.PreferredWorkers, b.ExcludedWorkers = "cust-7", []string{"w-1"}, []string{"w-9"}
		mustBook(t, s, b)
		mustOpen(t, s, followUpOf(b))
	}
	if _, _, err := s.RecordFeedback(ctx, old.ID, doorstep.Feedback{Rating: 4, Tags: []string{"punctual"}}, old.End.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const retention = 30 * 24 * time.Hour
	now := recent.End.Add(retention - time.Hour) // old ended past the retention, recent did not
	cutoff := now.Add(-retention)
	got, err := s.ReduceExpired(ctx, cutoff)
	if err != nil || got != (Reduced{Bookings: 1, FollowUps: 1}) {
		t.Fatalf("ReduceExpired = %+v, %v; want one booking and one follow-up", got, err)
	}
	b := wantReduced(t, s, old.ID, homeA)
	if b.CustomerID != "" || b.PreferredWorkers != nil || b.ExcludedWorkers != nil || b.Version != old.Version {
		t.Errorf("reduced booking %+v: want no customer nor preferences, and its version", b)
	}
	if _, err := s.GetFollowUp(ctx, old.ID); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("follow-up past the retention: %v, want it gone", err)
	}
	if diff := cmp.Diff(recent, mustGetBooking(t, s, recent.ID)); diff != "" {
		t.Errorf("booking inside the retention changed (-want +got):\n%s", diff)
	}
	if _, err := s.GetFollowUp(ctx, recent.ID); err != nil {
		t.Errorf("follow-up inside the retention: %v", err)
	}
	wantPlaces(t, s, map[string]doorstep.Location{"the old booking": homeA}, map[string]doorstep.Location{"the recent booking": homeB})
	if tally, err := s.WorkerFeedback(ctx, w.ID); err != nil || tally != (FeedbackTally{N: 1, Sum: 4}) {
		t.Errorf("tally after the retention: %+v, %v; want it kept", tally, err)
	}
	if got, err := s.ReduceExpired(ctx, cutoff); err != nil || got != (Reduced{}) {
		t.Errorf("ReduceExpired again = %+v, %v; want nothing", got, err)
	}

	// A day later the recent records go too, the open follow-up with its
	// place in the open index (no longer counted overdue).
	got, err = s.ReduceExpired(ctx, cutoff.Add(48*time.Hour))
	if err != nil || got != (Reduced{Bookings: 1, FollowUps: 1}) {
		t.Fatalf("ReduceExpired later = %+v, %v; want the rest", got, err)
	}
	if n, err := s.OverdueFollowUps(ctx, now.Add(48*time.Hour)); err != nil || n != 0 {
		t.Errorf("overdue after the retention: %d, %v; want 0", n, err)
	}
}
