package load

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// Which late windows' jobs fit the workers' shifts is the same in every
// run, whatever second of its minute the import happened to start at,
// and whatever the clock did while the workers were being made: the
// whole-city 422s they make are the slowest answers, and a run must send
// as many of them as any other run of the seed.
func TestLateWindowsFitAlikeWhateverTheImportsSecond(t *testing.T) {
	cat := doorstep.DefaultCatalogue()
	minute := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	fits := func(importAt time.Time) []bool {
		clock := importAt
		c := &City{Center: doorstep.Location{Lat: 48.85, Lng: 2.35}, SideKm: 10, Workers: 2,
			Services: cat.Names(), Now: func() time.Time { return clock }}
		rng := rand.New(rand.NewPCG(1, 1))
		first := c.Worker(rng, 0)
		clock = clock.Add(40 * time.Second) // the import goes on into the next minute
		if second := c.Worker(rng, 1); !second.Shifts[0].End.Equal(first.Shifts[0].End) {
			t.Errorf("import at %v: shifts end at %v and %v", importAt, first.Shifts[0].End, second.Shifts[0].End)
		}
		end := first.Shifts[0].End
		clock = importAt.Add(30 * time.Second) // the requests, half a minute after the import began
		reqs := rand.New(rand.NewPCG(7, 7))
		var out []bool
		for range 3000 {
			body, class := c.request(reqs)
			if class != ClassWindow {
				continue
			}
			start := body["window"].(doorstep.Window).Start
			out = append(out, !start.Add(cat[body["service"].(string)].DefaultDuration).After(end))
		}
		return out
	}
	early, late := fits(minute.Add(time.Second)), fits(minute.Add(59*time.Second))
	var differ, fit int
	for i := range early {
		if early[i] != late[i] {
			differ++
		}
		if early[i] {
			fit++
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d window requests fit the shift when the import began at :01 and not at :59, or the other way", differ, len(early))
	}
	if fit == 0 || fit == len(early) {
		t.Fatalf("%d of %d window requests fit: the test needs some that do not", fit, len(early))
	}
}
