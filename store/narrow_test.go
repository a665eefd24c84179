package store

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/doorstep-dev/doorstep"
)

// A Narrow keeps on the entries' bit sets what it keeps on the workers'
// lists, and counts what it turns away alike: with names past the 64th
// (checked on the lists), with a name no worker read has, and with
// workers read after the request's names were resolved.
func TestNarrowBitsAsLists(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, names := range []int{8, 90} { // 90: past the 64 bits
		t.Run(fmt.Sprintf("names=%d", names), func(t *testing.T) {
			var tr traits
			name := func(prefix string) string { return fmt.Sprintf("%s%d", prefix, rng.IntN(names)) }
			entry := func(i int) *readEntry {
				w := &doorstep.Worker{ID: fmt.Sprintf("w%d", i)}
				for range 1 + rng.IntN(4) {
					w.Skills = append(w.Skills, name("s"))
				}
				for range rng.IntN(3) {
					w.Certificates = append(w.Certificates, name("c"))
				}
				e := &readEntry{w: w}
				tr.of(e)
				return e
			}
			var entries []*readEntry
			for i := range 300 {
				entries = append(entries, entry(i))
			}
			bits := 0
			for range 200 {
				req := &doorstep.Request{Skills: []string{name("s")}}
				if rng.IntN(2) == 0 {
					req.Skills = append(req.Skills, name("s"))
				}
				if rng.IntN(2) == 0 {
					req.Certificates = []string{name("c")}
				}
				if rng.IntN(10) == 0 {
					req.Skills = append(req.Skills, "unheard-of")
				}
				if rng.IntN(3) == 0 {
					req.ExcludedWorkers = []string{entries[rng.IntN(len(entries))].w.ID}
				}
				fast, lists := NewNarrow(req), NewNarrow(req)
				// Some workers are read after the request's names are
				// resolved.
				more := []*readEntry{entry(1000), entry(1001)}
				for _, e := range append(entries, more...) {
					if got, want := fast.keepsEntry(e, &tr), lists.Keeps(e.w); got != want {
						t.Fatalf("worker %s (skills %v, certificates %v), request %v %v excluding %v: kept %v on bits, %v on lists",
							e.w.ID, e.w.Skills, e.w.Certificates, req.Skills, req.Certificates, req.ExcludedWorkers, got, want)
					}
				}
				if fast.Turned != lists.Turned {
					t.Fatalf("turned away %+v on bits, %+v on lists", fast.Turned, lists.Turned)
				}
				if fast.ok {
					bits++
				}
			}
			if names == 8 && bits == 0 {
				t.Error("no request was checked on bits")
			}
		})
	}
}
