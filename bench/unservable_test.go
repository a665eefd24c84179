package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// BenchmarkQuoteUnservable is POST /v1/match without HTTP, on a real Redis
// with the mirror on (as serve runs), for the request the load bench's
// p99 is made of: one nobody can serve because no worker's shift can hold
// its window (a move, 3 h, in a window from 9 to 11 h ahead, when every
// shift of the day ends 11 h ahead). The answer is a 422 whose
// explanation counts every worker of the trade in reach by the rule it
// fails, so the search reads the whole city. With tomorrow=true every
// worker also has the same shift tomorrow, as the load bench's city does,
// and the explanation's earliest arrival past the deadline is found among
// them.
//
//	go test -run '^$' -bench 'QuoteUnservable' -benchtime=200x -count=3 ./bench/
func BenchmarkQuoteUnservable(b *testing.B) {
	for _, c := range []struct {
		n        int
		tomorrow bool
	}{{10000, false}, {10000, true}, {100000, false}, {100000, true}} {
		b.Run(fmt.Sprintf("workers=%d/tomorrow=%v", c.n, c.tomorrow), func(b *testing.B) {
			st := openRedisStore(b)
			var edit func(*doorstep.Worker)
			if c.tomorrow {
				edit = func(w *doorstep.Worker) {
					w.Shifts = append(w.Shifts, doorstep.Shift{Start: w.Shifts[0].Start.Add(24 * time.Hour), End: w.Shifts[0].End.Add(24 * time.Hour)})
				}
			}
			seedCityEdited(b, st, c.n, 1, edit)
			svc, err := dispatch.New(dispatch.Config{Store: st, Now: func() time.Time { return benchNow }})
			if err != nil {
				b.Fatal(err)
			}
			storetest.Follow(b, st, time.Second)
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(4, 4))
			start := benchNow.Add(9 * time.Hour)
			// Steady state: the first quote reads every worker of the trade
			// into the read model.
			quote := func() error {
				req := doorstep.Request{Service: "moving", Urgency: doorstep.Normal, Location: cityPoint(rng),
					Window: &doorstep.Window{Start: start, End: start.Add(2 * time.Hour)}}
				_, err := svc.Quote(ctx, req, "")
				if doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
					return fmt.Errorf("quote: %v, want %s", err, doorstep.EUNSERVABLE)
				}
				return nil
			}
			if err := quote(); err != nil {
				b.Fatal(err)
			}
			var samples []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				err := quote()
				samples = append(samples, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
			}
			reportLatency(b, samples)
		})
	}
}
