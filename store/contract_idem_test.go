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
	"github.com/google/go-cmp/cmp/cmpopts"
)

// live is the options of a request that holds its key for the whole test.
var live = IdemOptions{TTL: time.Hour, Lease: time.Hour}

// soon is a context whose deadline is too close to wait for a live lease.
func soon(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func testIdempotency(t *testing.T, open openFunc) {
	ctx := soon(t)
	s := open(t).s
	ignore := cmpopts.IgnoreFields(IdempotencyRecord{}, "CreatedAt", "LeaseLeft", "Claim")

	first, fresh, err := s.BeginIdempotent(ctx, "key-1", "k", "fp1", live)
	if err != nil || !fresh || first.Claim == nil || first.LeaseLeft <= 0 {
		t.Fatalf("BeginIdempotent(new) = %+v, %v, %v; want fresh, with a claim and a lease", first, fresh, err)
	}
	var claim *Claim // the claim of the request that holds key-1/k
	steps := []struct {
		name  string
		do    func() error
		scope string
		fp    string
		want  *IdempotencyRecord // nil: fresh
	}{
		{"pending, in its lease", nil, "key-1", "fp1", &IdempotencyRecord{Fingerprint: "fp1", Pending: true}},
		{"another body while pending", nil, "key-1", "fp2", &IdempotencyRecord{Fingerprint: "fp1", Pending: true}},
		{"other scope is another key", nil, "key-2", "fp9", nil},
		{"an aborted request's key is taken over, whatever the body", func() error { return s.AbortIdempotent(ctx, first.Claim) }, "key-1", "fp2", nil},
		{"finished", func() error {
			return s.FinishIdempotent(ctx, claim, IdemAnswer{Status: 201, Body: []byte(`{"id":"b1"}`)})
		}, "key-1", "fp3",
			&IdempotencyRecord{Fingerprint: "fp2", Status: 201, Body: []byte(`{"id":"b1"}`)}},
		{"abort leaves a finished record", func() error { return s.AbortIdempotent(ctx, claim) }, "key-1", "fp3",
			&IdempotencyRecord{Fingerprint: "fp2", Status: 201, Body: []byte(`{"id":"b1"}`)}},
	}
	for _, st := range steps {
		if st.do != nil {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		rec, fresh, err := s.BeginIdempotent(ctx, st.scope, "k", st.fp, live)
		if err != nil {
			t.Fatalf("%s: BeginIdempotent: %v", st.name, err)
		}
		if st.want == nil {
			if !fresh || rec.Claim == nil {
				t.Errorf("%s: BeginIdempotent found %+v, want a fresh key", st.name, rec)
			}
			if st.scope == "key-1" {
				claim = rec.Claim
			}
			continue
		}
		if fresh {
			t.Errorf("%s: BeginIdempotent was fresh, want %+v", st.name, st.want)
		}
		if diff := cmp.Diff(rec, st.want, ignore); diff != "" {
			t.Errorf("%s: record (-got +want):\n%s", st.name, diff)
		}
	}
	if err := s.FinishIdempotent(ctx, first.Claim, IdemAnswer{Status: 200}); !errors.Is(err, ErrClaimLost) && doorstep.ErrorCode(err) != doorstep.ECONFLICT {
		t.Errorf("FinishIdempotent(taken-over claim) = %v, want ECONFLICT", err)
	}
	wantCode(t, "FinishIdempotent(twice)", s.FinishIdempotent(ctx, claim, IdemAnswer{Status: 200}), doorstep.ECONFLICT)
	wantCode(t, "FinishIdempotent(unknown)", s.FinishIdempotent(ctx, &Claim{scope: "key-1", key: "nope"}, IdemAnswer{Status: 200}), doorstep.ENOTFOUND)
	if err := s.AbortIdempotent(ctx, &Claim{scope: "key-1", key: "nope"}); err != nil {
		t.Errorf("AbortIdempotent(unknown): %v", err)
	}
	_, _, err = s.BeginIdempotent(ctx, "key-1", "", "fp", live)
	wantCode(t, "BeginIdempotent(empty key)", err, doorstep.EINVALID)

	// Records expire, on the embedded store too (within a second there).
	if _, fresh, err := s.BeginIdempotent(ctx, "key-1", "short", "fp", IdemOptions{TTL: 50 * time.Millisecond}); err != nil || !fresh {
		t.Fatalf("BeginIdempotent(short) = %v, %v", fresh, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		_, fresh, err := s.BeginIdempotent(ctx, "key-1", "short", "fp2", live)
		if err != nil {
			t.Fatalf("BeginIdempotent(short, again): %v", err)
		}
		if fresh {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the idempotency record outlived its TTL by 5 s")
		}
	}
}

// testIdempotencyResolve: a retry of a request that ran out of its lease
// gets the booking that request made, or, when it made none, gives its
// claim up in every region it meant to book in, so that a late change
// under it is refused, and books under a fresh claim.
func testIdempotencyResolve(t *testing.T, open openFunc) {
	ctx := soon(t)
	s := open(t).s
	w := newWorker("w-1", nycA)
	mustPutWorker(t, s, w)
	far := newWorker("w-far", philly)
	mustPutWorker(t, s, far)
	region := regionOf(w)
	short := IdemOptions{TTL: time.Hour, Lease: time.Millisecond, Region: region}
	book := func(ctx context.Context, w *doorstep.Worker, at time.Time) (*doorstep.Booking, error) {
		b := newBooking(w, at, time.Hour, w.Home)
		r, _ := RegionOfBooking(b.ID)
		return b, s.Apply(ctx, Change{Region: r, Expect: map[string]int64{w.ID: mustVersion(t, s, w.ID)}, Create: []*doorstep.Booking{b}})
	}

	// Booked, then ran out of time before finishing: the retry finds it.
	rec, _, err := s.BeginIdempotent(ctx, "key-1", "booked", "fp", short)
	if err != nil {
		t.Fatal(err)
	}
	b, err := book(WithClaim(ctx, rec.Claim), w, t0)
	if err != nil {
		t.Fatalf("Apply under the claim: %v", err)
	}
	time.Sleep(5 * time.Millisecond)
	got, fresh, err := s.BeginIdempotent(ctx, "key-1", "booked", "fp", short)
	if err != nil || fresh || len(got.Booked) != 1 || got.Booked[0] != b.ID || got.Claim == nil {
		t.Fatalf("retry = %+v, fresh %v, %v; want the booking %s", got, fresh, err, b.ID)
	}
	if err := s.FinishIdempotent(ctx, got.Claim, IdemAnswer{Status: 201, Body: []byte(b.ID)}); err != nil {
		t.Fatalf("FinishIdempotent(recovered): %v", err)
	}
	if got, _, _ := s.BeginIdempotent(ctx, "key-1", "booked", "fp", short); got.Pending || string(got.Body) != b.ID {
		t.Errorf("after the recovery: %+v, want the finished answer", got)
	}

	// Nothing booked yet: the retry burns the claim, then a late change
	// under it fails, in the region it recorded and in any other.
	rec, _, err = s.BeginIdempotent(ctx, "key-1", "late", "fp", short)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	retry, fresh, err := s.BeginIdempotent(ctx, "key-1", "late", "fp", short)
	if err != nil || !fresh {
		t.Fatalf("retry of a request that booked nothing = %+v, fresh %v, %v; want fresh", retry, fresh, err)
	}
	for _, wk := range []*doorstep.Worker{w, far} {
		if _, err := book(WithClaim(ctx, rec.Claim), wk, t0.Add(2*time.Hour)); !errors.Is(err, ErrClaimLost) {
			t.Errorf("late Apply for %s under the given-up claim = %v, want ErrClaimLost", wk.ID, err)
		}
	}
	if _, err := book(WithClaim(ctx, retry.Claim), w, t0.Add(2*time.Hour)); err != nil {
		t.Errorf("Apply under the retry's claim: %v", err)
	}
	bs, err := s.WorkerBookings(ctx, w.ID, t0, t0.Add(24*time.Hour))
	if err != nil || len(bs) != 2 {
		t.Errorf("w-1 has %d bookings (%v), want the recovered one and the retry's", len(bs), err)
	}
	if bs, _ := s.WorkerBookings(ctx, far.ID, t0, t0.Add(24*time.Hour)); len(bs) != 0 {
		t.Errorf("w-far was booked under a given-up claim: %v", bookingIDs(bs))
	}
}

func testIdempotencyConcurrent(t *testing.T, open openFunc) {
	const goroutines, rounds = 50, 5
	ctx := soon(t)
	s := open(t).s
	for round := range rounds {
		key := "k" + string(rune('a'+round))
		start := make(chan struct{})
		var fresh atomic.Int32
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				<-start
				_, f, err := s.BeginIdempotent(ctx, "key-1", key, "fp", live)
				if err != nil {
					t.Errorf("BeginIdempotent: %v", err)
				}
				if f {
					fresh.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if got := fresh.Load(); got != 1 {
			t.Errorf("round %d: %d fresh, want 1", round, got)
		}
	}
}
