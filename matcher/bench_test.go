package matcher_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// The benchmark city: a 30 x 30 km square centred on Manhattan.
const (
	cityLat, cityLng = 40.73, -73.99
	citySideKm       = 30.0
	// benchWant is how many qualified candidates a search asks the index for.
	benchWant = 64
)

// serviceMix weighs the twelve services, for workers' skills and for demand.
var serviceMix = []struct {
	name   string
	weight int
}{
	{"cleaning", 20}, {"deep_cleaning", 8}, {"laundry", 8}, {"cooking", 6},
	{"appliance_repair", 6}, {"plumbing", 8}, {"electrical", 8}, {"childcare", 10},
	{"elder_care", 8}, {"pet_care", 8}, {"gardening", 5}, {"moving", 5},
}

func pickService(r *rand.Rand) string {
	total := 0
	for _, s := range serviceMix {
		total += s.weight
	}
	x := r.IntN(total)
	for _, s := range serviceMix {
		if x < s.weight {
			return s.name
		}
		x -= s.weight
	}
	panic("unreachable")
}

// cityPoint returns a uniform random point of the benchmark city.
func cityPoint(r *rand.Rand) doorstep.Location {
	const kmPerDeg = 111.32
	return doorstep.Location{
		Lat: cityLat + (r.Float64()-0.5)*citySideKm/kmPerDeg,
		Lng: cityLng + (r.Float64()-0.5)*citySideKm/(kmPerDeg*math.Cos(cityLat*math.Pi/180)),
	}
}

// nearPoint returns a point within about km of p.
func nearPoint(r *rand.Rand, p doorstep.Location, km float64) doorstep.Location {
	const kmPerDeg = 111.32
	return doorstep.Location{
		Lat: p.Lat + (r.Float64()*2-1)*km/kmPerDeg,
		Lng: p.Lng + (r.Float64()*2-1)*km/(kmPerDeg*math.Cos(p.Lat*math.Pi/180)),
	}
}

type benchRequest struct {
	req *doorstep.Request
	now time.Time
}

// benchCity is a roster with its timelines and index, and a pool of requests.
type benchCity struct {
	cands []matcher.Candidate // by worker index
	ix    *matcher.Index
	reqs  []benchRequest
}

// newBenchCity builds n workers spread uniformly over the city, each with one
// to three skills drawn from the service mix (carers mostly certified), one
// 08:00-20:00 shift and 0-4 bookings near home in distinct two-hour blocks.
func newBenchCity(n int, seed uint64) *benchCity {
	r := rand.New(rand.NewPCG(seed, 1))
	day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	shift := []doorstep.Shift{{Start: day.Add(8 * time.Hour), End: day.Add(20 * time.Hour)}}
	city := &benchCity{cands: make([]matcher.Candidate, n), ix: matcher.NewIndex()}
	for i := range n {
		w := &doorstep.Worker{ID: fmt.Sprintf("w%06d", i), Home: cityPoint(r), Shifts: shift,
			Rating: 3.5 + float64(r.IntN(16))/10, MaxJobsPerDay: 6}
		for range 1 + r.IntN(3) {
			s := pickService(r)
			if !slices.Contains(w.Skills, s) {
				w.Skills = append(w.Skills, s)
			}
			if (s == "childcare" || s == "elder_care") && r.IntN(5) > 0 && !slices.Contains(w.Certificates, s) {
				w.Certificates = append(w.Certificates, s)
			}
		}
		blocks := r.Perm(6)[:r.IntN(5)] // of 08, 10, ..., 18
		slices.Sort(blocks)
		var tl schedule.Timeline
		for k, b := range blocks {
			start := day.Add(time.Duration(8+2*b) * time.Hour)
			tl = append(tl, schedule.Stop{BookingID: fmt.Sprintf("%s-%d", w.ID, k), Arrival: start, Start: start,
				End: start.Add(time.Duration(60+15*r.IntN(3)) * time.Minute), Location: nearPoint(r, w.Home, 2)})
		}
		city.cands[i] = matcher.Candidate{Worker: w, Timeline: tl, Version: int64(len(tl))}
		city.ix.Put(i, w.Position())
	}
	cat := doorstep.DefaultCatalogue()
	city.reqs = make([]benchRequest, 4096)
	for i := range city.reqs {
		now := day.Add(8*time.Hour + time.Duration(r.IntN(9*60))*time.Minute)
		req := &doorstep.Request{Service: pickService(r), Location: cityPoint(r), Urgency: doorstep.Normal, RequestedAt: now}
		switch x := r.IntN(10); {
		case x < 3:
			req.Urgency = doorstep.Urgent
		case x < 6:
			start := now.Add(time.Duration(1+r.IntN(8)) * time.Hour)
			req.Window = &doorstep.Window{Start: start, End: start.Add(2 * time.Hour)}
		}
		if err := cat.Resolve(req); err != nil {
			panic(err)
		}
		city.reqs[i] = benchRequest{req: req, now: now}
	}
	return city
}

// BenchmarkMatch times one match: for a random request, the candidates from
// the index (widening until benchWant qualified workers are found) and the
// ranking of them. "scan" ranks every worker of the city instead, without
// the index. It reports the median and 99th percentile latency.
func BenchmarkMatch(b *testing.B) {
	m, err := matcher.New(matcher.Config{})
	if err != nil {
		b.Fatal(err)
	}
	travel := m.Config().Travel
	// protected prices normal jobs under an urgent profile of every skill
	// (0.1 calls an hour per worker on duty, at every hour): a normal
	// match then also tries each later hour of the promise per candidate.
	var flat [24]float64
	for h := range flat {
		flat[h] = 0.1
	}
	profile := &matcher.UrgentProfile{Rate: map[string][24]float64{}}
	for _, s := range serviceMix {
		profile.Rate[s.name] = flat
	}
	protected, err := matcher.New(matcher.Config{Urgent: profile})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1000, 10000, 100000} {
		city := newBenchCity(n, uint64(n))
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			var (
				idx   []int
				cands []matcher.Candidate
				req   *doorstep.Request
			)
			keep := func(i int) bool {
				w := city.cands[i].Worker
				return doorstep.HasAll(w.Skills, req.Skills) && doorstep.HasAll(w.Certificates, req.Certificates)
			}
			runMatch(b, city, m, func(br benchRequest) ([]matcher.Candidate, matcher.Result) {
				req = br.req
				s := matcher.SearchFor(req, br.now, travel, 0)
				idx = city.ix.Near(idx[:0], s, benchWant, keep)
				cands = cands[:0]
				for _, i := range idx {
					cands = append(cands, city.cands[i])
				}
				return cands, m.Match(req, cands, br.now, matcher.History{})
			})
		})
		if n == 10000 {
			b.Run(fmt.Sprintf("workers=%d/protected", n), func(b *testing.B) {
				var (
					idx   []int
					cands []matcher.Candidate
					req   *doorstep.Request
				)
				keep := func(i int) bool {
					w := city.cands[i].Worker
					return doorstep.HasAll(w.Skills, req.Skills) && doorstep.HasAll(w.Certificates, req.Certificates)
				}
				runMatch(b, city, protected, func(br benchRequest) ([]matcher.Candidate, matcher.Result) {
					req = br.req
					idx = city.ix.Near(idx[:0], matcher.SearchFor(req, br.now, travel, 0), benchWant, keep)
					cands = cands[:0]
					for _, i := range idx {
						cands = append(cands, city.cands[i])
					}
					return cands, protected.Match(req, cands, br.now, matcher.History{})
				})
			})
		}
		if n > 10000 {
			continue // a scan of 100,000 workers takes too long at -benchtime=2000x
		}
		b.Run(fmt.Sprintf("workers=%d/scan", n), func(b *testing.B) {
			runMatch(b, city, m, func(br benchRequest) ([]matcher.Candidate, matcher.Result) {
				return city.cands, m.Match(br.req, city.cands, br.now, matcher.History{})
			})
		})
	}
}

// runMatch runs one match per iteration and reports the median and 99th
// percentile of its latency, both wall-clock (p50-ns, p99-ns) and, where the
// platform has it, the CPU time of the benchmark's thread (p50-cpu-ns,
// p99-cpu-ns), which a busy shared machine does not inflate; and the
// candidates, feasible options and share of requests served per match.
func runMatch(b *testing.B, city *benchCity, m *matcher.Matcher, match func(benchRequest) ([]matcher.Candidate, matcher.Result)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	wall := make([]time.Duration, 0, 1<<14)
	cpu := make([]time.Duration, 0, 1<<14)
	var cands, feasible, served int
	i := 0
	for b.Loop() {
		br := city.reqs[i%len(city.reqs)]
		i++
		c0, cpuOK := threadCPU()
		t0 := time.Now()
		cs, res := match(br)
		wall = append(wall, time.Since(t0))
		if c1, ok := threadCPU(); ok && cpuOK {
			cpu = append(cpu, c1-c0)
		}
		cands += len(cs)
		feasible += res.Feasible
		if len(res.Options) > 0 {
			served++
		}
	}
	report := func(samples []time.Duration, unit string) {
		if len(samples) == 0 {
			return
		}
		slices.Sort(samples)
		for _, p := range []struct {
			q    float64
			name string
		}{{0.50, "p50"}, {0.99, "p99"}} {
			b.ReportMetric(float64(samples[int(p.q*float64(len(samples)-1))]), p.name+unit)
		}
	}
	report(wall, "-ns")
	report(cpu, "-cpu-ns")
	b.ReportMetric(float64(cands)/float64(i), "cands/op")
	b.ReportMetric(float64(feasible)/float64(i), "feasible/op")
	b.ReportMetric(float64(served)/float64(i), "served")
}
