package store

import (
	"context"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// testRedisDown stops Redis under a working store: every call must fail
// promptly with EUNAVAILABLE (so that the API answers 503), not hang.
func testRedisDown(t *testing.T, open openFunc) {
	// noHang is far above what the timeouts allow (about a second with a
	// refused connection); it only proves that nothing hangs.
	const noHang = 5 * time.Second
	ctx := context.Background()
	h := open(t)
	if h.addr == "" {
		t.Skip("needs one Redis address (a cluster has several; its failover is TestClusterFailover)")
	}
	// A store with the default timeouts and retries, on the same Redis.
	s, err := Open(ctx, Config{URL: "redis://" + h.addr})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	w := newWorker("w1", nycA)
	v := mustPutWorker(t, s, w)
	b := newBooking(w, t0, time.Hour, nycB)
	mustBook(t, s, b)
	h.down()

	region := regionOfLoc(nycA)
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"GetWorker", func() error { _, _, err := s.GetWorker(ctx, "w1"); return err }},
		{"PutWorker", func() error { _, err := s.PutWorker(ctx, w); return err }},
		{"SetLocation", func() error { return s.SetLocation(ctx, "w1", nycC, time.Time{}) }},
		{"DeleteWorker", func() error { return s.DeleteWorker(ctx, "w1") }},
		{"WorkerIDsInCells", func() error { _, err := s.WorkerIDsInCells(ctx, []geo.Cell{geo.IndexCell(nycA)}); return err }},
		{"LoadCandidates", func() error {
			_, err := s.LoadCandidates(ctx, []WorkerRef{{ID: "w1", Region: region}}, t0, t0.Add(time.Hour))
			return err
		}},
		{"WorkerBookings", func() error { _, err := s.WorkerBookings(ctx, "w1", t0, t0.Add(time.Hour)); return err }},
		{"GetBooking", func() error { _, err := s.GetBooking(ctx, b.ID); return err }},
		{"CancelBooking", func() error { _, err := s.CancelBooking(ctx, b.ID, t0); return err }},
		{"Apply", func() error {
			return s.Apply(ctx, Change{Region: region, Expect: map[string]int64{"w1": v}, Create: []*doorstep.Booking{newBooking(w, t0.Add(2*time.Hour), time.Hour, nycB)}})
		}},
		{"BeginIdempotent", func() error {
			_, _, err := s.BeginIdempotent(ctx, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
			return err
		}},
		{"FinishIdempotent", func() error {
			return s.FinishIdempotent(ctx, &Claim{scope: "key-1", key: "k"}, IdemAnswer{Status: 200})
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			err := c.call()
			took := time.Since(start)
			wantCode(t, c.name, err, doorstep.EUNAVAILABLE)
			if took > noHang {
				t.Errorf("%s took %v with Redis down", c.name, took)
			}
			t.Logf("%s failed in %v: %v", c.name, took.Round(time.Millisecond), err)
		})
	}
}
