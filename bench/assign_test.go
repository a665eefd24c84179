package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
)

// BenchmarkAssignRedis is POST /v1/assign without HTTP: a batch of 20 city
// requests (a third urgent) in a real Redis, as a plan and committed, over
// 10,000 workers with empty days and over 1,000 workers whose days
// already hold 4,000 bookings asked for (a busy city). A committed batch
// books its placements (one write a worker) and then books each request
// the assignment left as a booking would, room-making included
// (dispatch.Service.Assign); the difference between a plan and a commit is
// those writes and that pass. The clock stands still, so a committed run
// fills the city further as it goes: run it with a fixed -benchtime (200x
// books up to 4,000 more). It reports how many requests a batch placed,
// left unplaced, and booked by moving bookings. commit=key commits each
// batch under an Idempotency-Key of its own (dispatch.Service.AssignOnce):
// the difference from commit=true is the claims, the batch's and one a
// request, and a write a placement rather than a worker.
func BenchmarkAssignRedis(b *testing.B) {
	const size = 20
	for _, c := range []struct {
		workers, booked int
		commit          string
	}{{10000, 0, "false"}, {10000, 0, "true"}, {10000, 0, "key"}, {1000, 4000, "false"}, {1000, 4000, "true"}, {1000, 4000, "key"}} {
		b.Run(fmt.Sprintf("workers=%d/booked=%d/batch=%d/commit=%s", c.workers, c.booked, size, c.commit), func(b *testing.B) {
			commit, keyed := c.commit != "false", c.commit == "key"
			encode := func(p *dispatch.Placement) dispatch.Answer {
				return dispatch.Answer{Status: 200, Body: []byte(p.Booking.ID)}
			}
			st := openRedisStore(b)
			seedCity(b, st, c.workers, 1)
			svc, err := dispatch.New(dispatch.Config{Store: st, Now: func() time.Time { return benchNow }})
			if err != nil {
				b.Fatal(err)
			}
			services := doorstep.DefaultCatalogue().Names()
			rng := rand.New(rand.NewPCG(4, 4))
			ctx := context.Background()
			// A busy city: its days already hold c.booked bookings (those
			// that fit), so that batches leave requests to book by moving
			// others.
			for range c.booked {
				if _, err := svc.Book(ctx, cityRequest(rng, services), ""); err != nil && doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
					b.Fatal(err)
				}
			}
			var samples []time.Duration
			placed, left, moved, batches := 0, 0, 0, 0
			b.ReportAllocs()
			for b.Loop() {
				reqs := make([]doorstep.Request, size)
				for i := range reqs {
					reqs[i] = cityRequest(rng, services)
					reqs[i].ID = fmt.Sprintf("r%d", i)
				}
				t0 := time.Now()
				var out *dispatch.BatchOutcome
				var err error
				if keyed {
					var once *dispatch.BatchOnce
					once, err = svc.AssignOnce(ctx, reqs, dispatch.BatchKey{Scope: "bench", Key: fmt.Sprintf("batch-%d", batches), Fingerprint: "fp"}, encode)
					if err == nil {
						out = once.Outcome
					}
				} else {
					out, err = svc.Assign(ctx, reqs, commit, "")
				}
				samples = append(samples, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				batches++
				placed += len(out.Placements)
				left += len(out.Unplaced)
				for _, p := range out.Placements {
					if len(p.Moves) > 0 {
						moved++
					}
				}
			}
			reportLatency(b, samples)
			b.ReportMetric(float64(placed)/float64(batches), "placed/batch")
			b.ReportMetric(float64(left)/float64(batches), "left/batch")
			b.ReportMetric(float64(moved)/float64(batches), "made-room/batch")
		})
	}
}
