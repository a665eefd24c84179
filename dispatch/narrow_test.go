package dispatch

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// TestNarrowPoolMatchesTheWholePool: ranking the narrow pool (only the
// qualified, not excluded workers a search read, the others counted)
// answers exactly what ranking the whole pool does — the same options,
// and the same counts of workers considered, feasible and rejected by
// rule — for urgent and normal requests, windows, exclusions and
// preferences, in a city of mixed skills, certificates and shifts with
// bookings in it; and the narrow search stops at the same step (it
// considered the same workers).
// searchService is a service on a store of its own on a private
// redis-server, its clock stopped at now.
func searchService(t *testing.T, now time.Time) (*store.Store, *Service) {
	t.Helper()
	_, st, svc := searchServer(t, now)
	return st, svc
}

// searchServer is searchService with its redis-server.
func searchServer(t *testing.T, now time.Time) (*storetest.Server, *store.Store, *Service) {
	t.Helper()
	rs := storetest.RunRedis(t)
	st, err := store.Open(t.Context(), store.Config{URL: rs.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := New(Config{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return rs, st, svc
}

// randomPoint returns a draw of rng of a random place in a square of
// side km around the search tests' city centre.
func randomPoint(rng *rand.Rand) func(km float64) doorstep.Location {
	centre := doorstep.Location{Lat: 40.73, Lng: -73.99}
	return func(km float64) doorstep.Location {
		return doorstep.Location{Lat: centre.Lat + (rng.Float64()-0.5)*km/111.2, Lng: centre.Lng + (rng.Float64()-0.5)*km/84.3}
	}
}

func TestNarrowPoolMatchesTheWholePool(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	st, svc := searchService(t, now)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(7, 7))
	services := doorstep.DefaultCatalogue().Names()
	point := randomPoint(rng)
	var ids []string
	for i := range 600 {
		w := &doorstep.Worker{ID: fmt.Sprintf("w%03d", i), Home: point(20), Rating: 3 + 2*rng.Float64()}
		if rng.IntN(5) > 0 { // a fifth off shift
			start := now.Add(time.Duration(rng.IntN(4)-2) * time.Hour)
			w.Shifts = []doorstep.Shift{{Start: start, End: start.Add(10 * time.Hour)}}
		}
		for range 1 + rng.IntN(3) {
			s := doorstep.DefaultCatalogue()[services[rng.IntN(len(services))]]
			if !doorstep.HasAll(w.Skills, []string{s.Skill}) {
				w.Skills = append(w.Skills, s.Skill)
			}
			if rng.IntN(2) == 0 {
				w.Certificates = append(w.Certificates, s.Certificates...)
			}
		}
		if rng.IntN(4) == 0 {
			loc := point(20)
			w.Location, w.LocatedAt = &loc, now.Add(-10*time.Minute)
		}
		if _, err := st.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID)
	}
	request := func() doorstep.Request {
		req := doorstep.Request{Service: services[rng.IntN(len(services))], Location: point(16), Urgency: doorstep.Normal}
		switch rng.IntN(3) {
		case 0:
			req.Urgency = doorstep.Urgent
		case 1:
			start := now.Add(time.Duration(1+rng.IntN(8)) * time.Hour)
			req.Window = &doorstep.Window{Start: start, End: start.Add(2 * time.Hour)}
		}
		for range rng.IntN(3) * 15 {
			req.ExcludedWorkers = append(req.ExcludedWorkers, ids[rng.IntN(len(ids))])
		}
		if rng.IntN(3) == 0 {
			req.PreferredWorkers = []string{ids[rng.IntN(len(ids))]}
		}
		return req
	}
	for range 900 { // bookings in the workers' days
		if _, err := svc.Book(ctx, request(), ""); err != nil && doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
			t.Fatal(err)
		}
	}
	hist := matcher.History{LastWorker: ids[3]}
	unservable, explained, planned := 0, 0, 0
	for i := range 200 {
		req := request()
		if err := svc.Prepare(&req); err != nil {
			t.Fatal(err)
		}
		if i%8 == 0 { // a certificate nobody holds: unservable, nothing to move
			req.Certificates = append(req.Certificates, "forklift")
		}
		whole, err := svc.candidates(ctx, &req, now)
		if err != nil {
			t.Fatal(err)
		}
		want := svc.m.Match(&req, whole.cands, now, hist)
		narrow, err := svc.qualifiedCandidates(ctx, &req, now, hist)
		if err != nil {
			t.Fatal(err)
		}
		// The pool's match goes on from what the search evaluated: it
		// answers what a match of the pool in one go does.
		once := svc.m.Match(&req, narrow.cands, now, hist)
		got := narrow.match()
		if diff := cmp.Diff(once, got); diff != "" {
			t.Fatalf("request %d (%s): the search's tally answers differently from one match of its pool (-once +tally):\n%s", i, req.Urgency, diff)
		}
		narrow.considered(&got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("request %d (%s, %s, %d excluded): narrow pool answers differently (-whole +narrow):\n%s", i, req.Urgency, req.Service, len(req.ExcludedWorkers), diff)
		}
		// Unservable with no booking to move among the workers who can
		// take it: no rescue plan on the whole pool either, and the
		// narrow pool explains it as the whole one does.
		if len(want.Options) == 0 {
			unservable++
			// The sorted pool a rescue plan is made on is the whole pool,
			// in its order; matched and explained, it answers as the
			// whole pool does, and the plan on it is the whole pool's.
			sorted, err := svc.rescuePool(ctx, &req, now, hist)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(workerIDs(whole.cands), workerIDs(sorted.cands)); diff != "" {
				t.Fatalf("request %d: the sorted pool holds other workers than the whole one (-whole +sorted):\n%s", i, diff)
			}
			// The narrow pool holds them all, in order, but those it
			// dropped (shiftsRead.drop).
			dropped := 0
			for _, n := range narrow.narrow.Dropped {
				dropped += n
			}
			if q := sorted.matched(); len(q) != len(narrow.cands)+dropped || !isSubsequence(workerIDs(narrow.cands), workerIDs(q)) {
				t.Fatalf("request %d: the sorted pool matches %v, the narrow pool holds %v and dropped %d", i, workerIDs(q), workerIDs(narrow.cands), dropped)
			}
			res := sorted.match()
			sorted.considered(&res)
			if diff := cmp.Diff(want, res); diff != "" {
				t.Fatalf("request %d: the sorted pool answers differently (-whole +sorted):\n%s", i, diff)
			}
			wp, sp := svc.m.PlanRescue(&req, whole.cands, now, hist), svc.m.PlanRescue(&req, sorted.cands, now, hist)
			if diff := cmp.Diff(wp, sp); diff != "" {
				t.Fatalf("request %d: the rescue plans differ (-whole +sorted):\n%s", i, diff)
			}
			if wp != nil {
				planned++
			}
			// Explained from the whole pool, from the sorted or the
			// narrow one, or from their match's counts (as Book and
			// Quote do): the same answer.
			w := svc.unservable(&req, whole, nil, now, hist)
			for _, e := range []struct {
				name string
				p    pool
				res  *matcher.Result
			}{{"sorted", sorted, nil}, {"sorted, counts of its match", sorted, &res}, {"narrow", narrow, nil}, {"narrow, counts of its match", narrow, &got}} {
				if diff := cmp.Diff(w, svc.unservable(&req, e.p, e.res, now, hist)); diff != "" {
					t.Fatalf("request %d: the %s pool explains it differently (-whole +%s):\n%s", i, e.name, e.name, diff)
				}
			}
			if !svc.m.Rescuable(&req, narrow.cands, now) {
				if rp := svc.m.PlanRescue(&req, whole.cands, now, hist); rp != nil {
					t.Fatalf("request %d: not rescuable on the narrow pool, a rescue plan on the whole one", i)
				}
				explained++
			}
		}
		if ref := referenceSearch(t, svc, &req, now, true); len(whole.cands) != len(ref) {
			t.Fatalf("request %d (%s): the search read %d workers, the reference search %d", i, req.Urgency, len(whole.cands), len(ref))
		}
		// Stopping an urgent step at the ring the best option settles
		// (matcher.SettleRings) finds the best option that reading the
		// whole doubled step finds.
		full := svc.m.Match(&req, referenceSearch(t, svc, &req, now, false), now, matcher.History{})
		short := svc.m.Match(&req, whole.cands, now, matcher.History{})
		if len(full.Options) != len(short.Options) && (len(full.Options) == 0 || len(short.Options) == 0) {
			t.Fatalf("request %d (%s): %d options reading whole steps, %d stopping where settled", i, req.Urgency, len(full.Options), len(short.Options))
		}
		if len(full.Options) > 0 && (full.Options[0].WorkerID != short.Options[0].WorkerID || full.Options[0].Cost != short.Options[0].Cost) {
			t.Fatalf("request %d (%s): best option %s (%v) reading whole steps, %s (%v) stopping where settled", i, req.Urgency,
				full.Options[0].WorkerID, full.Options[0].Cost, short.Options[0].WorkerID, short.Options[0].Cost)
		}
		if len(narrow.cands) == len(whole.cands) && want.Rejected[matcher.ReasonSkills] > 0 {
			t.Fatalf("request %d: the narrow pool holds every worker (%d)", i, len(narrow.cands))
		}
	}
	if explained == 0 {
		t.Errorf("none of %d unservable requests was explained on the narrow pool", unservable)
	}
	if planned == 0 {
		t.Errorf("none of %d unservable requests had a rescue plan: the sorted pool's plans were not compared", unservable)
	}
	t.Logf("%d unservable, %d explained on the narrow pool, %d with a rescue plan", unservable, explained, planned)
}

// workerIDs lists the workers of cands in order.
func workerIDs(cands []matcher.Candidate) []string {
	out := make([]string, len(cands))
	for i := range cands {
		out[i] = cands[i].Worker.ID
	}
	return out
}

// referenceSearch is the candidate search as plainly as it can be written
// (every worker read kept, the best cost of the whole pool at each step):
// the workers it reads. settle: a step ends at the ring the best option
// found settles (matcher.SettleRings), as the service's search does; else
// every step reads its whole doubled rings (matcher.Search.Steps).
func referenceSearch(t *testing.T, svc *Service, req *doorstep.Request, now time.Time, settle bool) []matcher.Candidate {
	t.Helper()
	from, to := horizon(now, schedule.JobFor(req, now))
	search := matcher.SearchFor(req, now, svc.m.Config().Travel, svc.cfg.NormalReachKm)
	var cands []matcher.Candidate
	seen := map[string]bool{}
	could, need := 0, 0
	for step, ok := search.First(), true; ok; step, ok = search.Next(step, need) {
		refs, err := svc.st.WorkerIDsInCells(t.Context(), search.StepCells(step))
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := svc.st.LoadCandidates(t.Context(), refs, from, to)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range loaded {
			if seen[c.Worker.ID] {
				continue
			}
			seen[c.Worker.ID] = true
			cands = append(cands, matcher.Candidate{Worker: c.Worker, Timeline: schedule.TimelineOf(c.Bookings), Version: c.Version, Region: c.Region, Bookings: c.Bookings})
			if matcher.CouldServe(c.Worker, req, now) && geo.DistanceKm(c.Worker.PositionAt(now), req.Location) <= search.ReachKm {
				could++
			}
		}
		if could < svc.cfg.WantCandidates {
			continue
		}
		best := svc.m.BestCost(req, cands, now)
		if svc.m.Settled(req, search, step[1], best) {
			break
		}
		if settle {
			need = svc.m.SettleRings(req, search, best)
		}
	}
	return cands
}

// A search that knows the customer has no last worker need not widen for
// a continuity bonus nobody can earn: it reads fewer workers and finds
// the best option the search that allows for the bonus finds. Knowing the
// last worker, it finds the best option with the bonus.
func TestSearchKnowsTheHistory(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	st, svc := searchService(t, now)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(11, 11))
	point := randomPoint(rng)
	var ids []string
	for i := range 800 {
		w := &doorstep.Worker{ID: fmt.Sprintf("w%03d", i), Home: point(24), Rating: 3 + 2*rng.Float64(), Skills: []string{"cleaning"},
			Shifts: []doorstep.Shift{{Start: now.Add(-time.Hour), End: now.Add(9 * time.Hour)}}}
		if _, err := st.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID)
	}
	fewer := 0
	for i := range 60 {
		req := doorstep.Request{Service: "cleaning", Location: point(12), Urgency: doorstep.Urgent, CustomerID: fmt.Sprintf("c%d", i)}
		if err := svc.Prepare(&req); err != nil {
			t.Fatal(err)
		}
		unknown, err := svc.candidates(ctx, &req, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, hist := range []matcher.History{{}, {LastWorker: ids[rng.IntN(len(ids))]}} {
			known, err := svc.qualifiedCandidates(ctx, &req, now, hist)
			if err != nil {
				t.Fatal(err)
			}
			got, want := known.match(), svc.m.Match(&req, unknown.cands, now, hist)
			if len(want.Options) == 0 || len(got.Options) == 0 {
				t.Fatalf("request %d: %d options knowing the history %+v, %d allowing for any", i, len(got.Options), hist, len(want.Options))
			}
			if g, w := got.Options[0], want.Options[0]; g.WorkerID != w.WorkerID || g.Cost != w.Cost {
				t.Fatalf("request %d, history %+v: best option %s (%v) knowing it, %s (%v) allowing for any", i, hist, g.WorkerID, g.Cost, w.WorkerID, w.Cost)
			}
			// What the search read: its candidates and the workers it
			// left out as outranked (store.Narrow.Outrank).
			read := len(known.cands) + known.narrow.Outranked
			if hist.LastWorker != "" {
				if read != len(unknown.cands) {
					t.Fatalf("request %d: knowing a last worker, the search read %d workers, allowing for one %d", i, read, len(unknown.cands))
				}
				continue
			}
			if read > len(unknown.cands) {
				t.Fatalf("request %d: knowing there is no last worker, the search read %d workers, allowing for one %d", i, read, len(unknown.cands))
			}
			if read < len(unknown.cands) {
				fewer++
			}
		}
	}
	if fewer == 0 {
		t.Error("knowing there is no last worker never read fewer workers")
	}
	t.Logf("%d of 60 searches read fewer workers knowing there is no last worker", fewer)
}

// A request whose window no shift of a qualified worker holds is answered
// from what the search learnt of the shifts as it read them
// (shiftsRead): the match's verdicts, and the earliest arrival beyond the
// deadline of the workers read while nobody could serve it, the others
// looked at after. The answer is the whole pool's, with the earliest
// worker read before anybody could serve it and after.
func TestShiftsReadExplainAsTheWholePool(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	at := doorstep.Location{Lat: 40.73, Lng: -73.99}
	day := func(h int) time.Time { return now.Truncate(24 * time.Hour).Add(time.Duration(h) * time.Hour) }
	// Every worker at one place (one cell, read in id order); the window
	// is 11-13 h for a two-hour job.
	worker := func(id string, shifts ...doorstep.Shift) *doorstep.Worker {
		return &doorstep.Worker{ID: id, Home: at, Rating: 4, Skills: []string{"cleaning"}, Shifts: shifts}
	}
	late := worker("b-late", doorstep.Shift{Start: day(8), End: day(12)}, doorstep.Shift{Start: day(32), End: day(40)}) // shift_end; tomorrow 08:00
	early := worker("c-early", doorstep.Shift{Start: day(30), End: day(38)})                                            // shift; tomorrow 06:00
	// On a shift that holds the window, but its day's cap is reached: it
	// could serve as far as the search can tell, and cannot.
	capped := worker("a-capped", doorstep.Shift{Start: day(8), End: day(20)})
	capped.MaxWorkMinutesPerDay = 60
	for _, tt := range []struct {
		name    string
		workers []*doorstep.Worker
	}{
		{"nobody could serve", []*doorstep.Worker{late, early}},
		{"one could, read first", []*doorstep.Worker{capped, late, early}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, svc := searchService(t, now)
			ctx := t.Context()
			for _, w := range tt.workers {
				if _, err := st.PutWorker(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			req := doorstep.Request{Service: "cleaning", Location: at, Urgency: doorstep.Normal,
				Window: &doorstep.Window{Start: day(11), End: day(13)}}
			if err := svc.Prepare(&req); err != nil {
				t.Fatal(err)
			}
			whole, err := svc.candidates(ctx, &req, now)
			if err != nil {
				t.Fatal(err)
			}
			want := svc.unservable(&req, whole, nil, now, matcher.History{})
			_, err = svc.Quote(ctx, req, "")
			if diff := cmp.Diff(want, err); diff != "" {
				t.Fatalf("the quote explains it differently from the whole pool (-whole +quote):\n%s", diff)
			}
			var e *doorstep.Error
			if !errors.As(err, &e) || !strings.Contains(e.Message, "(c-early)") || e.Rejected[matcher.ReasonShift] != 1 || e.Rejected[matcher.ReasonShiftEnd] != 1 {
				t.Fatalf("got %v: want c-early the earliest, one shift and one shift_end", err)
			}
		})
	}
}

// isSubsequence reports whether a is b with some elements left out.
func isSubsequence(a, b []string) bool {
	for _, x := range b {
		if len(a) > 0 && a[0] == x {
			a = a[1:]
		}
	}
	return len(a) == 0
}

// narrowAsWhole holds the narrow pool's match of request i (req, for a
// customer with history hist) to the whole pool's, counts included, and
// returns both pools, the match, and how many workers the narrow search
// decided from the mirror's lists by the rule whose counter list reads.
func narrowAsWhole(t *testing.T, st *store.Store, svc *Service, i int, req *doorstep.Request, now time.Time, hist matcher.History,
	list func(store.MirrorStats) int64) (whole, narrow pool, got matcher.Result, listed int64) {
	t.Helper()
	ctx := t.Context()
	whole, err := svc.candidates(ctx, req, now)
	if err != nil {
		t.Fatal(err)
	}
	want := svc.m.Match(req, whole.cands, now, hist)
	before := list(st.MirrorStats())
	narrow, err = svc.qualifiedCandidates(ctx, req, now, hist)
	if err != nil {
		t.Fatal(err)
	}
	listed = list(st.MirrorStats()) - before
	got = narrow.match()
	narrow.considered(&got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("request %d: the narrow pool answers differently (-whole +narrow):\n%s", i, diff)
	}
	return whole, narrow, got, listed
}

// TestDroppedWorkersChangeNoAnswer: in a city like the load's (a shift
// today and one tomorrow), a window no shift holds today is unservable,
// and its earliest arrival is tomorrow near the job; the plumbers work
// today only, so a long plumbing job in the evening has no earliest
// arrival at all. The narrow pool
// drops the qualified workers who can neither serve nor arrive earlier
// (shiftsRead.drop) without making them candidates. Its answers — the
// match, the counts, the explanation and its earliest worker, through
// Quote as well — must be the whole pool's, reading Redis and reading the
// mirror; and workers must be dropped at all (else this proves nothing).
func TestDroppedWorkersChangeNoAnswer(t *testing.T) {
	for _, mirrored := range []bool{false, true} {
		t.Run(fmt.Sprintf("mirrored=%v", mirrored), func(t *testing.T) {
			now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
			st, svc := searchService(t, now)
			ctx := t.Context()
			rng := rand.New(rand.NewPCG(9, 9))
			point := randomPoint(rng)
			skills := []string{"moving", "cleaning", "plumbing"}
			for i := range 500 {
				w := &doorstep.Worker{ID: fmt.Sprintf("w%03d", i), Home: point(20), Rating: 3 + 2*rng.Float64(),
					Skills: []string{skills[rng.IntN(len(skills))]},
					Shifts: []doorstep.Shift{{Start: now.Add(-time.Hour), End: now.Add(11 * time.Hour)}, {Start: now.Add(23 * time.Hour), End: now.Add(35 * time.Hour)}}}
				if w.Skills[0] == "plumbing" {
					w.Shifts = w.Shifts[:1]
				}
				if rng.IntN(4) == 0 {
					loc := point(20)
					w.Location, w.LocatedAt = &loc, now.Add(-10*time.Minute)
				}
				if _, err := st.PutWorker(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			if mirrored {
				storetest.Follow(t, st, 50*time.Millisecond)
			}
			// Days with bookings today and tomorrow morning: some stops
			// end near a job early in tomorrow's shift.
			for range 300 {
				req := doorstep.Request{Service: skills[rng.IntN(len(skills))], Location: point(16), Urgency: doorstep.Normal}
				if rng.IntN(2) == 0 {
					start := now.Add(time.Duration(23+rng.IntN(3)) * time.Hour)
					req.Window = &doorstep.Window{Start: start, End: start.Add(time.Hour)}
				}
				if _, err := svc.Book(ctx, req, ""); err != nil && doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
					t.Fatal(err)
				}
			}
			dropped, unservable, noneAtAll := 0, 0, 0
			var listed int64
			for i := range 60 {
				// A move (four hours) in a window from 8 or 9 hours on:
				// today's shift ends at 11.
				start := now.Add(time.Duration(8+rng.IntN(2)) * time.Hour)
				req := doorstep.Request{Service: "moving", Location: point(16), Urgency: doorstep.Normal,
					Window: &doorstep.Window{Start: start, End: start.Add(2 * time.Hour)}}
				switch i % 4 {
				case 0: // one the city can serve
					req.Service, req.Window = "cleaning", nil
				case 1: // five hours of plumbing
					req.Service, req.Duration = "plumbing", 5*time.Hour
				}
				if err := svc.Prepare(&req); err != nil {
					t.Fatal(err)
				}
				whole, narrow, got, fromLists := narrowAsWhole(t, st, svc, i, &req, now, matcher.History{},
					func(m store.MirrorStats) int64 { return m.ListDropped })
				listed += fromLists
				for _, n := range narrow.narrow.Dropped {
					dropped += n
				}
				if len(got.Options) > 0 {
					continue
				}
				unservable++
				w := svc.unservable(&req, whole, nil, now, matcher.History{})
				if diff := cmp.Diff(w, svc.unservable(&req, narrow, &got, now, matcher.History{})); diff != "" {
					t.Fatalf("request %d: the narrow pool explains it differently (-whole +narrow):\n%s", i, diff)
				}
				_, err := svc.Quote(ctx, req, "")
				if diff := cmp.Diff(w, err); diff != "" {
					t.Fatalf("request %d: the quote explains it differently (-whole +quote):\n%s", i, diff)
				}
				var e *doorstep.Error
				if !errors.As(err, &e) || e.EarliestArrival.IsZero() != (req.Service == "plumbing") {
					t.Fatalf("request %d (%s): %v: want an earliest arrival tomorrow for a move, none for plumbing", i, req.Service, err)
				}
				if req.Service == "plumbing" {
					noneAtAll++
				}
			}
			// Mirrored, most are dropped from the lists, without reading
			// them (store.Narrow.DropShifts, and Drop on the stamps).
			t.Logf("%d unservable of 60 (%d with no earliest arrival); %d workers dropped, %d from the lists", unservable, noneAtAll, dropped, listed)
			if unservable < 30 || noneAtAll < 10 || dropped < 1000 || mirrored && listed < int64(dropped)/2 {
				t.Errorf("%d unservable, %d dropped (%d from the lists): the test does not exercise the drop", unservable, dropped, listed)
			}
		})
	}
}

// TestOutrankedWorkersChangeNoAnswer: a narrow pool leaves out, before it
// reads them, the workers too far off to make an urgent request's options
// (store.Narrow.Outrank, from matcher.Tally.Outranks), and answers as the
// whole pool does, counts included: on a dense city with bookings,
// reported positions, preferred workers and customers' last workers, read
// from Redis and from the mirror's lists. It fails if the pool leaves out
// a worker the match would evaluate, or counts one otherwise; and it must
// leave workers out at all, most of them from the lists when mirrored.
func TestOutrankedWorkersChangeNoAnswer(t *testing.T) {
	for _, mirrored := range []bool{false, true} {
		t.Run(fmt.Sprintf("mirrored=%v", mirrored), func(t *testing.T) {
			now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
			st, svc := searchService(t, now)
			ctx := t.Context()
			rng := rand.New(rand.NewPCG(11, 11))
			point := randomPoint(rng)
			skills := []string{"cleaning", "plumbing"}
			var ids []string
			for i := range 800 {
				w := &doorstep.Worker{ID: fmt.Sprintf("w%03d", i), Home: point(24), Rating: 3 + 2*rng.Float64(),
					Skills: []string{skills[rng.IntN(len(skills))]},
					Shifts: []doorstep.Shift{{Start: now.Add(-time.Duration(rng.IntN(3)) * time.Hour), End: now.Add(time.Duration(2+rng.IntN(9)) * time.Hour)}}}
				if rng.IntN(5) == 0 { // off shift: rejected by its shifts, not outranked
					w.Shifts[0].Start = now.Add(3 * time.Hour)
				}
				if rng.IntN(3) == 0 {
					loc := point(24)
					w.Location, w.LocatedAt = &loc, now.Add(-10*time.Minute)
				}
				if _, err := st.PutWorker(ctx, w); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, w.ID)
			}
			if mirrored {
				storetest.Follow(t, st, 50*time.Millisecond)
			}
			for range 200 { // some days with stops, before and after the requests below
				req := doorstep.Request{Service: skills[rng.IntN(len(skills))], Location: point(20), Urgency: doorstep.Normal}
				if _, err := svc.Book(ctx, req, ""); err != nil && doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
					t.Fatal(err)
				}
			}
			outranked, left := 0, 0
			var listed int64
			for i := range 80 {
				req := doorstep.Request{Service: skills[rng.IntN(len(skills))], Location: point(16), Urgency: doorstep.Urgent}
				if i%4 == 1 {
					req.PreferredWorkers = []string{ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]}
				}
				if err := svc.Prepare(&req); err != nil {
					t.Fatal(err)
				}
				var hist matcher.History
				if i%3 == 2 {
					hist.LastWorker = ids[rng.IntN(len(ids))]
				}
				_, narrow, got, fromLists := narrowAsWhole(t, st, svc, i, &req, now, hist,
					func(m store.MirrorStats) int64 { return m.ListOutranked })
				listed += fromLists
				outranked += got.Outranked
				left += narrow.narrow.Outranked
			}
			t.Logf("%d workers outranked, %d of them left out unread, %d from the lists", outranked, left, listed)
			if left < outranked/4 || mirrored && listed < int64(left)/2 {
				t.Errorf("%d outranked, %d left out (%d from the lists): the test does not exercise the rule", outranked, left, listed)
			}
		})
	}
}

// TestImportWarmsTheReadModel: an import on a store that follows its
// feeds reads the workers it wrote into the read model
// (store.Store.WarmWorkers, over WarmRange), and says how many; the first
// quotes after it then read no worker's profile or timeline from Redis,
// an urgent one, a normal one and one with a window alike. On a store
// that does not follow its feeds, none is warmed.
func TestImportWarmsTheReadModel(t *testing.T) {
	for _, mirrored := range []bool{false, true} {
		t.Run(fmt.Sprintf("mirrored=%v", mirrored), func(t *testing.T) {
			now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
			rs, st, svc := searchServer(t, now)
			if mirrored {
				storetest.Follow(t, st, 50*time.Millisecond)
			}
			rng := rand.New(rand.NewPCG(12, 12))
			point := randomPoint(rng)
			var ws []*doorstep.Worker
			for i := range 30 {
				skill := "cleaning"
				if i%3 == 0 {
					skill = "plumbing"
				}
				ws = append(ws, &doorstep.Worker{ID: fmt.Sprintf("w%02d", i), Home: point(10), Skills: []string{skill},
					Shifts: []doorstep.Shift{{Start: now.Add(-time.Hour), End: now.Add(8 * time.Hour)}, {Start: now.Add(23 * time.Hour), End: now.Add(32 * time.Hour)}}})
			}
			done, problems, err := svc.ImportWorkers(t.Context(), ws)
			if err != nil || len(problems) > 0 {
				t.Fatalf("ImportWorkers = %+v, %v", problems, err)
			}
			if !mirrored {
				if done.Created != len(ws) || done.Warmed != 0 {
					t.Errorf("imported %+v; want %d created and none warmed", done, len(ws))
				}
				return
			}
			if done.Created != len(ws) || done.Warmed != len(ws) {
				t.Errorf("imported %+v; want %d created and warmed", done, len(ws))
			}
			rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
			t.Cleanup(func() { rdb.Close() })
			if err := rdb.ConfigResetStat(t.Context()).Err(); err != nil {
				t.Fatal(err)
			}
			at := now.Add(3 * time.Hour)
			for _, req := range []doorstep.Request{
				{Service: "plumbing", Urgency: doorstep.Urgent, Location: point(5)},
				{Service: "cleaning", Urgency: doorstep.Normal, Location: point(5)},
				{Service: "cleaning", Urgency: doorstep.Normal, Location: point(5), Window: &doorstep.Window{Start: at, End: at.Add(2 * time.Hour)}},
			} {
				if _, err := svc.Quote(t.Context(), req, ""); err != nil {
					t.Fatalf("quote %s %s: %v", req.Service, req.Urgency, err)
				}
			}
			if reads := storetest.CommandCalls(t, rdb, "get") + storetest.CommandCalls(t, rdb, "zrangebyscore"); reads != 0 {
				t.Errorf("the first quotes after the import made %d profile or timeline reads, want none", reads)
			}
		})
	}
}
