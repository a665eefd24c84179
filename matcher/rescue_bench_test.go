package matcher_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// BenchmarkPlanRescue times PlanRescue where it runs: on requests no
// candidate can serve. The city is the benchmark city with every worker's
// day full: six bookings of 60-90 minutes, one in each two-hour block, the
// daily cap of six reached, each a normal booking of one of the worker's
// skills with a window from two hours before to three after its start. Each
// request's candidates are the matcher.DefaultWant nearest qualified
// workers (and, at 10,000 workers, in pool=10km, every worker within 10 km
// of it, of any trade, as a busy server's whole pool holds them); only
// requests Match cannot serve are timed. It reports the
// median and 99th percentile latency, wall-clock and CPU time of the
// benchmark's thread (which a busy shared machine does not inflate), and
// the share of requests planned. Nothing can be planned here (every day
// is at its cap): the search spends its whole budget, the worst case.
func BenchmarkPlanRescue(b *testing.B) {
	m, err := matcher.New(matcher.Config{})
	if err != nil {
		b.Fatal(err)
	}
	travel := m.Config().Travel
	cat := doorstep.DefaultCatalogue()
	for _, n := range []int{1000, 10000} {
		city := newBenchCity(n, uint64(n))
		day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		for i := range city.cands {
			c := &city.cands[i]
			c.Timeline, c.Bookings = c.Timeline[:0], nil
			for blk := range 6 {
				start := day.Add(time.Duration(8+2*blk)*time.Hour + 10*time.Minute)
				bk := &doorstep.Booking{ID: fmt.Sprintf("%s-%d", c.Worker.ID, blk), WorkerID: c.Worker.ID,
					Service: c.Worker.Skills[blk%len(c.Worker.Skills)], Urgency: doorstep.Normal, Status: doorstep.StatusConfirmed,
					RequestedAt: start.Add(-6 * time.Hour), Start: start, Arrival: start, End: start.Add(time.Duration(60+15*(blk%3)) * time.Minute),
					Location: nearPoint(rng, c.Worker.Home, 2), Window: &doorstep.Window{Start: start.Add(-2 * time.Hour), End: start.Add(3 * time.Hour)}, Version: 1}
				r := bk.Request()
				if err := cat.Resolve(r); err != nil {
					b.Fatal(err)
				}
				bk.Skills, bk.Certificates = r.Skills, r.Certificates
				c.Bookings = append(c.Bookings, bk)
			}
			c.Timeline = schedule.TimelineOf(c.Bookings)
			c.Region = "r"
		}
		var todo []unservable
		var idx []int
		for _, br := range city.reqs[:512] {
			req := br.req
			keep := func(i int) bool { return city.cands[i].Worker.Qualifies(req) }
			idx = city.ix.Near(idx[:0], matcher.SearchFor(req, br.now, travel, 0), matcher.DefaultWant, keep)
			var cs []matcher.Candidate
			for _, i := range idx {
				cs = append(cs, city.cands[i])
			}
			if len(m.Match(req, cs, br.now, matcher.History{}).Options) == 0 {
				todo = append(todo, unservable{br, cs})
			}
		}
		if len(todo) == 0 {
			b.Fatal("fixture: every request is servable")
		}
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) { benchPlans(b, m, todo) })
		if n < 10000 {
			continue
		}
		// The pool a busy server plans over: every worker read around the
		// request, of any trade (a moved booking may go to any worker who
		// has its skills), here every worker within 10 km.
		wide := make([]unservable, len(todo))
		for k, u := range todo {
			wide[k].br = u.br
			for _, c := range city.cands {
				if geo.DistanceKm(c.Worker.Home, u.br.req.Location) <= 10 {
					wide[k].cands = append(wide[k].cands, c)
				}
			}
		}
		b.Run(fmt.Sprintf("workers=%d,pool=10km", n), func(b *testing.B) { benchPlans(b, m, wide) })
	}
}

// unservable is a request of the benchmark city nobody in cands can serve.
type unservable struct {
	br    benchRequest
	cands []matcher.Candidate
}

// benchPlans times PlanRescue on todo, round robin (see BenchmarkPlanRescue).
func benchPlans(b *testing.B, m *matcher.Matcher, todo []unservable) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	var wall, cpu []time.Duration
	planned, i := 0, 0
	for b.Loop() {
		u := todo[i%len(todo)]
		i++
		c0, cpuOK := threadCPU()
		t0 := time.Now()
		rp := m.PlanRescue(u.br.req, u.cands, u.br.now, matcher.History{})
		wall = append(wall, time.Since(t0))
		if c1, ok := threadCPU(); ok && cpuOK {
			cpu = append(cpu, c1-c0)
		}
		if rp != nil {
			planned++
		}
	}
	for _, x := range []struct {
		samples []time.Duration
		unit    string
	}{{wall, "-ns"}, {cpu, "-cpu-ns"}} {
		if len(x.samples) == 0 {
			continue
		}
		slices.Sort(x.samples)
		b.ReportMetric(float64(x.samples[len(x.samples)/2]), "p50"+x.unit)
		b.ReportMetric(float64(x.samples[int(0.99*float64(len(x.samples)-1))]), "p99"+x.unit)
	}
	b.ReportMetric(float64(planned)/float64(i), "planned")
}
