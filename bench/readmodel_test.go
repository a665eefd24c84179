package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// BenchmarkQuoteReadModel is POST /v1/match without HTTP on a real Redis,
// with the store's read model of the workers off (every candidate read
// from Redis: the server before issue 17), on, and on with the store
// following its change feeds (mirror=true: the position index and the
// versions in memory, as serve runs by default; customer=true: requests
// with a customer id, whose last worker the quote reads), on the same city in the
// same run, so that their ratios hold on a loaded machine. The city is
// seeded once per size; every case quotes the same request sequence.
//
//	go test -run '^$' -bench 'QuoteReadModel' -benchtime=2000x -count=3 ./bench/
func BenchmarkQuoteReadModel(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			st := openRedisStore(b)
			seedCity(b, st, n, 1)
			svc, err := dispatch.New(dispatch.Config{Store: st, Now: func() time.Time { return benchNow }})
			if err != nil {
				b.Fatal(err)
			}
			for _, on := range []bool{false, true} {
				b.Run(fmt.Sprintf("readmodel=%v", on), func(b *testing.B) {
					st.SetReadModel(on)
					quoteLoop(b, svc)
				})
			}
			b.Run("readmodel=true/mirror=true", func(b *testing.B) {
				storetest.Follow(b, st, time.Second)
				quoteLoop(b, svc)
				if st.MirrorStats().Steps == 0 {
					b.Fatal("no search step was served by the mirror")
				}
			})
			// Requests with a customer id, as booking systems send them:
			// the customer's last worker is read before the search.
			b.Run("readmodel=true/mirror=true/customer=true", func(b *testing.B) {
				storetest.Follow(b, st, time.Second)
				quoteLoopAs(b, svc, "bench", 1000)
			})
		})
	}
}
