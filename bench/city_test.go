package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store"
)

// A synthetic city: a 30 km square around lower Manhattan.
const (
	cityLat, cityLng = 40.73, -73.99
	citySideKm       = 30.0
)

var benchNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func cityPoint(rng *rand.Rand) doorstep.Location {
	const kmPerDegLat = 111.2
	kmPerDegLng := kmPerDegLat * 0.758 // cos(40.73°)
	return doorstep.Location{
		Lat: cityLat + (rng.Float64()-0.5)*citySideKm/kmPerDegLat,
		Lng: cityLng + (rng.Float64()-0.5)*citySideKm/kmPerDegLng,
	}
}

// cityWorker is worker i of a city: one to three skills, the certificate of
// any care skill, a 12-hour shift around benchNow.
func cityWorker(rng *rand.Rand, i int, services []string) *doorstep.Worker {
	w := &doorstep.Worker{
		ID:     fmt.Sprintf("w%06d", i),
		Home:   cityPoint(rng),
		Rating: 3.5 + rng.Float64()*1.5,
		Shifts: []doorstep.Shift{{Start: benchNow.Add(-time.Hour), End: benchNow.Add(11 * time.Hour)}},
	}
	for range 1 + rng.IntN(3) {
		s := services[rng.IntN(len(services))]
		if !doorstep.HasAll(w.Skills, []string{s}) {
			w.Skills = append(w.Skills, s)
		}
		if s == "childcare" || s == "elder_care" {
			w.Certificates = append(w.Certificates, s)
		}
	}
	return w
}

func cityRequest(rng *rand.Rand, services []string) doorstep.Request {
	r := doorstep.Request{Service: services[rng.IntN(len(services))], Location: cityPoint(rng), Urgency: doorstep.Normal}
	if rng.IntN(3) == 0 {
		r.Urgency = doorstep.Urgent
	}
	return r
}

// seedCity stores n workers through the store's own API, in parallel.
func seedCity(tb testing.TB, st *store.Store, n int, seed uint64) {
	tb.Helper()
	seedCityEdited(tb, st, n, seed, nil)
}

// seedCityEdited is seedCity with edit, when not nil, changing each
// worker before it is stored.
func seedCityEdited(tb testing.TB, st *store.Store, n int, seed uint64, edit func(*doorstep.Worker)) {
	tb.Helper()
	services := doorstep.DefaultCatalogue().Names()
	rng := rand.New(rand.NewPCG(seed, 1))
	workers := make([]*doorstep.Worker, n)
	for i := range workers {
		workers[i] = cityWorker(rng, i, services)
		if edit != nil {
			edit(workers[i])
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				if _, err := st.PutWorker(context.Background(), workers[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatalf("seed city: %v", err)
	}
}
