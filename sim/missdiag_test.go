package sim

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
)

// TestUrgentMissCauses is a diagnostic, not a check of behaviour: it runs
// when DOORSTEP_MISS_SCENARIO names a scenario file (DOORSTEP_MISS_SEED a
// seed, DOORSTEP_MISS_VARIANT a variant index, both default 0 = the
// scenario's) and prints, for every urgent request left unserved, whether
// any qualified worker could have reached it in time with an empty day
// (from home or the shift under way's position), and whether one could
// have with only its urgent jobs kept (its normal jobs taken out). The
// last line counts the misses by cause:
//
//	nobody          no qualified worker could, even with an empty day
//	normal-blocked  some worker could have, but for its normal jobs
//	urgent-blocked  some worker could have, but for its urgent jobs
//
// bench/RESULTS.md, "Urgent capacity protection that works", quotes it.
func TestUrgentMissCauses(t *testing.T) {
	data, open := diagScenario(t, "DOORSTEP_MISS_SCENARIO")
	s := MustParse(t, string(data))
	if v := os.Getenv("DOORSTEP_MISS_SEED"); v != "" {
		var err error
		if s.Seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	vi, _ := strconv.Atoi(os.Getenv("DOORSTEP_MISS_VARIANT"))
	e := runEngine(t, s, Options{Open: open}, vi)
	planner := &schedule.Planner{Travel: e.travel}
	zone := s.Start.Location()
	causes := map[string]int{}
	urgent := 0
	for i := range e.arr {
		req := &e.arr[i].req
		if req.Urgency != doorstep.Urgent {
			continue
		}
		urgent++
		if e.out[i].worker >= 0 {
			continue
		}
		job := schedule.JobFor(req, req.RequestedAt)
		empty, withoutNormal := 0, 0
		for w, wk := range e.workers {
			if !wk.Qualifies(req) {
				continue
			}
			if _, err := planner.EarliestSlot(wk, nil, job); err != nil {
				continue
			}
			empty++
			var urgentOnly schedule.Timeline
			for _, st := range e.cands[w].Timeline {
				if e.arr[e.byID[st.BookingID]].req.Urgency == doorstep.Urgent {
					urgentOnly = urgentOnly.Insert(st)
				}
			}
			if _, err := planner.EarliestSlot(wk, urgentOnly, job); err == nil {
				withoutNormal++
			}
		}
		cause := "nobody"
		switch {
		case withoutNormal > 0:
			cause = "normal-blocked"
		case empty > 0:
			cause = "urgent-blocked"
		}
		causes[cause]++
		fmt.Printf("miss %s %s %v reason=%s could-empty=%d could-without-normal=%d -> %s\n",
			req.RequestedAt.In(zone).Format("15:04"), req.ID, req.Skills, e.out[i].reason, empty, withoutNormal, cause)
	}
	fmt.Printf("seed=%d urgent=%d nobody=%d normal-blocked=%d urgent-blocked=%d\n",
		s.Seed, urgent, causes["nobody"], causes["normal-blocked"], causes["urgent-blocked"])
}
