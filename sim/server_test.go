package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// serverCityScenario is a small, busy city: 8 technicians and 5 cleaners
// on overlapping shifts within 2 km of the centre, so that every worker is
// always within every request's reach (the search of both sides then
// returns all of them, whatever the positions each side holds), replaying
// trace.csv with windows for some normal requests.
const serverCityScenario = `{
  "name": "server-city", "seed": 3, "start": "2025-06-02T07:00:00Z", "horizon_hours": 12,
  "matching": {"candidates": 24},
  "roster": {
    "shifts": [{"name": "early", "start": "07:00", "end": "13:00"}, {"name": "late", "start": "11:00", "end": "19:00"}],
    "groups": [
      {"name": "techs", "count": 8, "skills": ["plumbing", "electrical"], "shifts": ["early", "late"],
       "homes": [{"center": {"lat": 40.70, "lng": -74.0}, "radius_km": 2}], "rating": [3, 5]},
      {"name": "cleaners", "count": 5, "skills": ["cleaning"], "shifts": ["early", "late"],
       "homes": [{"center": {"lat": 40.70, "lng": -74.0}, "radius_km": 2}], "rating": [3, 5]}]
  },
  "demand": {
    "replay": {"path": "trace.csv", "rules": [
      {"where": {"kind": "plumbing", "urgency": "urgent"}, "service": "plumbing", "urgency": "urgent"},
      {"where": {"kind": "plumbing", "urgency": "normal"}, "service": "plumbing", "urgency": "normal"},
      {"where": {"kind": "electrical", "urgency": "urgent"}, "service": "electrical", "urgency": "urgent"},
      {"where": {"kind": "electrical", "urgency": "normal"}, "service": "electrical", "urgency": "normal"},
      {"where": {"kind": "cleaning"}, "service": "cleaning", "urgency": "normal"}]},
    "windows": {"share": 0.6, "start_after_hours": [0, 3], "length_hours": [2, 4]}
  }
}`

// serverCityTrace is n requests at whole minutes over 11 hours, within
// 1.5 km of the centre, drawn from seed.
func serverCityTrace(n int, seed uint64) string {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	b.WriteString("created,latitude,longitude,urgency,kind\n")
	mins := make([]int, n)
	for i := range mins {
		mins[i] = rng.IntN(11 * 60)
	}
	slices.Sort(mins)
	for _, m := range mins {
		kind := []string{"plumbing", "electrical", "cleaning"}[rng.IntN(3)]
		urgency := "normal"
		if kind != "cleaning" && rng.Float64() < 0.5 {
			urgency = "urgent"
		}
		t := time.Date(2025, 6, 2, 7, 0, 0, 0, time.UTC).Add(time.Duration(m) * time.Minute)
		fmt.Fprintf(&b, "%s,%.5f,%.5f,%s,%s\n", t.Format(time.RFC3339), 40.70+(rng.Float64()-0.5)*0.027, -74.0+(rng.Float64()-0.5)*0.035, urgency, kind)
	}
	return b.String()
}

// decision is what became of a request, on either side.
type decision struct {
	Worker              string
	Arrival, Start, End time.Time
	Reason              string // unserved
	Rescued             bool
	Moves               int // bookings the rescue moved
}

// TestDefaultPolicyIsTheServer runs the same requests through the
// simulator's default policy and through dispatch.Book on a real
// redis-server, at the same clock readings, and gets the same decisions:
// the same worker and slot for each request (after any rescue moved it),
// the same rescues (urgent and normal, each moving as many bookings), the
// same reason for each unserved one.
func TestDefaultPolicyIsTheServer(t *testing.T) {
	twoMoves := 0
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			s := MustParse(t, serverCityScenario)
			e := runEngine(t, s, Options{Open: memTrace(serverCityTrace(160, seed))}, 0)

			sim := make([]decision, len(e.arr))
			for i, o := range e.out {
				if o.worker < 0 {
					sim[i] = decision{Reason: o.reason}
					continue
				}
				sim[i] = decision{Worker: e.workers[o.worker].ID, Arrival: o.slot.Arrival.UTC(), Start: o.slot.Start.UTC(), End: o.slot.End.UTC(), Rescued: o.rescued, Moves: o.moves}
			}
			srv := serverDecisions(t, e)
			rescues, unserved, byClass := 0, map[string]int{}, map[string]int{}
			for i := range sim {
				if sim[i] != srv[i] {
					r := &e.arr[i].req
					t.Errorf("request %d (%s %s at %s): simulator %+v, server %+v", i, r.Urgency, r.Service, r.RequestedAt.Format("15:04"), sim[i], srv[i])
				}
				if sim[i].Rescued {
					rescues++
					byClass[fmt.Sprintf("%s, %d moved", e.arr[i].req.Urgency, sim[i].Moves)]++
				}
				if sim[i].Reason != "" {
					unserved[sim[i].Reason]++
				}
			}
			t.Logf("%d requests: %d rescues %v, unserved %v", len(sim), rescues, byClass, unserved)
			normal := 0
			for k, n := range byClass {
				if strings.HasPrefix(k, string(doorstep.Normal)) {
					normal += n
				}
				if strings.HasSuffix(k, "2 moved") {
					twoMoves += n
				}
			}
			if rescues == 0 || normal == 0 || unserved["shift_end"] == 0 {
				t.Errorf("fixture: %d rescues (%d of normal requests), %d shift_end; want some of each to compare", rescues, normal, unserved["shift_end"])
			}
		})
	}
	if twoMoves == 0 {
		t.Errorf("fixture: no rescue moved two bookings; want one to compare")
	}
}

// serverDecisions books e's requests in order through dispatch on a real
// redis-server holding e's workers, with e's matcher, and reads where each
// booking stands at the end.
func serverDecisions(t *testing.T, e *engine) []decision {
	t.Helper()
	rs := storetest.RunRedis(t)
	st, err := store.Open(t.Context(), store.Config{URL: rs.URL()})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	now := e.s.Start
	svc, err := dispatch.New(dispatch.Config{Store: st, Matcher: e.m, Now: func() time.Time { return now },
		NormalReachKm: e.s.Matching.NormalReachKm, WantCandidates: e.s.Matching.Candidates})
	if err != nil {
		t.Fatalf("dispatch.New: %v", err)
	}
	for _, w := range e.workers {
		if _, _, err := svc.PutWorker(t.Context(), w); err != nil {
			t.Fatalf("PutWorker(%s): %v", w.ID, err)
		}
	}
	out := make([]decision, len(e.arr))
	ids := make([]string, len(e.arr))
	for i := range e.arr {
		req := e.arr[i].req
		now = req.RequestedAt
		b, err := svc.Book(t.Context(), req, "")
		if err != nil {
			var de *doorstep.Error
			if !errors.As(err, &de) || de.Code != doorstep.EUNSERVABLE {
				t.Fatalf("request %d: Book: %v", i, err)
			}
			out[i] = decision{Reason: de.Reason}
			continue
		}
		ids[i] = b.Booking.ID
		out[i].Rescued, out[i].Moves = b.Rescue != nil, len(b.Moves)
	}
	for i, id := range ids {
		if id == "" {
			continue
		}
		b, err := st.GetBooking(t.Context(), id)
		if err != nil {
			t.Fatalf("GetBooking(%s): %v", id, err)
		}
		out[i] = decision{Worker: b.WorkerID, Arrival: b.Arrival.UTC(), Start: b.Start.UTC(), End: b.End.UTC(), Rescued: out[i].Rescued, Moves: out[i].Moves}
	}
	return out
}
