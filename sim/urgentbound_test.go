package sim

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
)

// TestUrgentBound is a diagnostic, not a check of behaviour: it runs when
// DOORSTEP_BOUND_SCENARIO names a scenario file (DOORSTEP_BOUND_SEEDS a
// range "a-b" of seeds, DOORSTEP_BOUND_VARIANT a variant index) and, for
// every urgent request the variant left unserved, asks the planner
// whether any qualified worker could have served it in time:
//
//	door      placed at the door when the call came, its day empty (a
//	          shift under way starts there; one not begun starts at home
//	          at its start): no dispatch, positioning included, does
//	          better than this
//	where     from where it was when the call came, the stops it had
//	          set out for kept, its later stops taken out
//	home      from home, its day empty (what missCause asks)
//	urgent    from where it was, its later normal stops taken out (the
//	          urgent ones kept)
//
// Each miss is counted under the first question that says yes in the
// order urgent, where, home, door, or "none". It prints one line a miss
// (hour, region, skill, the engine's cause), the totals a seed with the
// share of urgent calls on time and its two ceilings — without
// positioning (every miss but door and none won) and at the door (every
// miss but none won) — and the means of the three over the seeds.
// bench/RESULTS.md, "Issue 11: the last points", quotes it.
func TestUrgentBound(t *testing.T) {
	data, open := diagScenario(t, "DOORSTEP_BOUND_SCENARIO")
	lo, hi := uint64(1), uint64(10)
	if v := os.Getenv("DOORSTEP_BOUND_SEEDS"); v != "" {
		if _, err := fmt.Sscanf(v, "%d-%d", &lo, &hi); err != nil {
			t.Fatal(err)
		}
	}
	vi, _ := strconv.Atoi(os.Getenv("DOORSTEP_BOUND_VARIANT"))
	var sum [3]float64 // on time, the two ceilings, summed over seeds
	for seed := lo; seed <= hi; seed++ {
		s := MustParse(t, string(data))
		s.Seed = seed
		e := runEngine(t, s, Options{Open: open}, vi)
		planner := &schedule.Planner{Travel: e.travel}
		zone := s.Start.Location()
		count := map[string]int{}
		urgent, missed := 0, 0
		for i := range e.arr {
			req := &e.arr[i].req
			if req.Urgency != doorstep.Urgent || e.out[i].inactive {
				continue
			}
			urgent++
			if e.out[i].worker >= 0 {
				continue
			}
			missed++
			now := req.RequestedAt
			job := schedule.JobFor(req, now)
			class := "none"
			rank := map[string]int{"none": 0, "door": 1, "home": 2, "where": 3, "urgent": 4}
			for w, wk := range e.workers {
				if !wk.Qualifies(req) {
					continue
				}
				// A stop whose trip had begun when the call came is kept
				// in every question but home and door.
				var past, urgentKept schedule.Timeline
				for _, st := range e.cands[w].Timeline {
					j := e.byID[st.BookingID]
					switch {
					case !st.Arrival.Add(-e.out[j].slot.Travel).After(now):
						past = past.Insert(st)
						urgentKept = urgentKept.Insert(st)
					case e.arr[j].req.Urgency == doorstep.Urgent:
						urgentKept = urgentKept.Insert(st)
					}
				}
				try := func(name string, ww *doorstep.Worker, tl schedule.Timeline) {
					if rank[name] <= rank[class] {
						return
					}
					if _, err := planner.EarliestSlot(ww, tl, job); err == nil {
						class = name
					}
				}
				try("urgent", wk, urgentKept)
				try("where", wk, past)
				try("home", wk, nil)
				door := *wk
				loc := req.Location
				door.Location, door.LocatedAt = &loc, now
				try("door", &door, nil)
			}
			count[class]++
			// slack: the longest trip any qualified worker on shift could
			// have made to it and still kept the promise (door and none).
			slack := time.Duration(-1)
			for _, wk := range e.workers {
				if !wk.Qualifies(req) {
					continue
				}
				for si := range wk.Shifts {
					sh := &wk.Shifts[si]
					if now.Before(sh.Start) || !now.Before(sh.End) {
						continue
					}
					slack = max(slack, min(req.Deadline().Sub(now), sh.End.Add(-req.Duration).Sub(now)))
				}
			}
			fmt.Printf("miss seed=%d %s %s %v region=%s cause=%s reason=%s slack=%.0fmin -> %s\n", seed,
				now.In(zone).Format("15:04"), req.ID, req.Skills, s.regionOf(req.Location), e.out[i].cause, e.out[i].reason, slack.Minutes(), class)
		}
		share := func(n int) float64 { return 100 * float64(n) / float64(urgent) }
		onTime, noPos, atDoor := share(urgent-missed), share(urgent-count["none"]-count["door"]), share(urgent-count["none"])
		fmt.Printf("seed=%d urgent=%d missed=%d urgent-kept=%d where=%d home=%d door=%d none=%d on-time=%.2f%% ceiling-without-positioning=%.2f%% ceiling-at-door=%.2f%%\n",
			seed, urgent, missed, count["urgent"], count["where"], count["home"], count["door"], count["none"], onTime, noPos, atDoor)
		sum[0] += onTime
		sum[1] += noPos
		sum[2] += atDoor
	}
	n := float64(hi - lo + 1)
	fmt.Printf("seeds=%d-%d mean on-time=%.2f%% ceiling-without-positioning=%.2f%% ceiling-at-door=%.2f%%\n",
		lo, hi, sum[0]/n, sum[1]/n, sum[2]/n)
}

// diagScenario reads the scenario file a diagnostic's environment variable
// names (skipping the test when it is unset) and returns it with the
// opener of files named relative to it (a replayed trace).
func diagScenario(t *testing.T, env string) ([]byte, func(string) (io.ReadCloser, error)) {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		t.Skip("a diagnostic: set " + env + " to run it")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, func(name string) (io.ReadCloser, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(filepath.Dir(path), name)
		}
		return os.Open(name)
	}
}
