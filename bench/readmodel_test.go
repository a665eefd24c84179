package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/dispatch"
)

// BenchmarkQuoteReadModel is POST /v1/match without HTTP on a real Redis,
// with the store's read model of the workers off (every candidate read
// from Redis: the server before issue 17) and on, on the same city in the
// same run, so that their ratio holds on a loaded machine. The city is
// seeded once per size; both cases quote the same request sequence.
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
		})
	}
}
