package matcher_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
)

// TestWidenFindsWorkersWhoCouldServe: the search of the simulator
// (Index.Widen counting CouldServe, as the server reads Redis) keeps
// every qualified worker it reads but counts only those who could serve,
// so 26 off-shift plumbers next door do not hide 4 on-shift plumbers
// 3-4 km away and the urgent request is matched.
func TestWidenFindsWorkersWhoCouldServe(t *testing.T) {
	now := clock(9, 0)
	req := &doorstep.Request{Service: "plumbing", Skills: []string{"plumbing"}, Location: base,
		Urgency: doorstep.Urgent, Duration: time.Hour, RequestedAt: now}
	var workers []*doorstep.Worker
	for i := range 26 {
		w := newWorker(fmt.Sprintf("near-%02d", i), "plumbing")
		w.Home, w.Shifts = at(float64(i)/10, 0), nil
		workers = append(workers, w)
	}
	for i, loc := range []doorstep.Location{at(30, 0), at(0, 40), at(-33, 0), at(0, -45)} { // 3-4 km
		w := newWorker(fmt.Sprintf("far-%d", i), "plumbing")
		w.Home = loc
		workers = append(workers, w)
	}
	ix := matcher.NewIndex()
	for i, w := range workers {
		ix.Put(i, w.Home)
	}
	search := matcher.SearchFor(req, now, geo.Linear{}, 0)
	qualified := func(i int) bool { return doorstep.HasAll(workers[i].Skills, req.Skills) }
	could := func(i int) bool { return matcher.CouldServe(workers[i], req, now) }
	enough := func(found []int, _ int) bool {
		n := 0
		for _, i := range found {
			if could(i) {
				n++
			}
		}
		return n >= matcher.DefaultWant
	}
	found := ix.Widen(nil, search, qualified, enough)
	var cands []matcher.Candidate
	for _, i := range found {
		cands = append(cands, matcher.Candidate{Worker: workers[i]})
	}
	m, err := matcher.New(matcher.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res := m.Match(req, cands, now, matcher.History{})
	if got, want := len(res.Options), 4; got != want {
		t.Errorf("got %d options (rejected %v) from %d candidates, want %d", got, res.Rejected, len(found), want)
	}
	if got := res.Rejected[matcher.ReasonShift]; got != 26 {
		t.Errorf("rejected for shift: %d, want the 26 neighbours (kept to explain a refusal)", got)
	}
}
