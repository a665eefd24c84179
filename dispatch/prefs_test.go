package dispatch_test

import (
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/matcher"
)

// quote quotes req and returns the options by worker id.
func (e *env) quote(t *testing.T, req doorstep.Request) (*dispatch.Quote, map[string]matcher.Option) {
	t.Helper()
	q, err := e.svc.Quote(t.Context(), req, tenant)
	if err != nil {
		t.Fatalf("Quote: %v", err)
	}
	by := map[string]matcher.Option{}
	for _, o := range q.Options {
		by[o.WorkerID] = o
	}
	return q, by
}

// TestPreferences: preferred workers are a soft bonus shown in the
// breakdown, excluded workers a hard rule.
func TestPreferences(t *testing.T) {
	// a is at the customer's door, b a kilometre away: a wins unless the
	// customer's wishes say otherwise.
	near := offset(base, 1, 0)
	req := func(preferred, excluded []string) doorstep.Request {
		r := normal(base, mins(60), at(9, 0), at(12, 0))
		r.PreferredWorkers, r.ExcludedWorkers = preferred, excluded
		return r
	}
	w := matcher.DefaultWeights
	tests := []struct {
		name          string
		workers       []string
		req           doorstep.Request
		want          string // "" when unservable
		wantPreferred float64
		wantExcluded  int
	}{
		{name: "no wishes: the nearest", workers: []string{"a", "b"}, req: req(nil, nil), want: "a"},
		{name: "preferred worker wins a near tie", workers: []string{"a", "b"}, req: req([]string{"b"}, nil), want: "b", wantPreferred: -w.Preferred},
		{name: "excluded worker is never chosen", workers: []string{"a", "b"}, req: req(nil, []string{"a"}), want: "b", wantExcluded: 1},
		{name: "excluded over preferred", workers: []string{"a", "b"}, req: req([]string{"a"}, []string{"a"}), want: "b", wantExcluded: 1},
		{name: "the only worker excluded", workers: []string{"a"}, req: req(nil, []string{"a"}), wantExcluded: 1},
	}
	pool := newPool(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := pool.newEnv(t, at(8, 0), nil)
			homes := map[string]doorstep.Location{"a": base, "b": near}
			for _, id := range tt.workers {
				e.put(t, worker(id, homes[id], dayShift()))
			}
			if tt.want == "" {
				_, err := e.svc.Book(t.Context(), tt.req, "")
				if e := wantUnservable(t, err, "excluded"); e.Rejected["excluded"] != tt.wantExcluded {
					t.Errorf("got Rejected %v, want %d excluded", e.Rejected, tt.wantExcluded)
				}
				return
			}
			q, by := e.quote(t, tt.req)
			if q.Options[0].WorkerID != tt.want {
				t.Errorf("quote ranks %s first, want %s", q.Options[0].WorkerID, tt.want)
			}
			if got := by[tt.want].Breakdown.Map()[matcher.TermPreferred]; got != tt.wantPreferred {
				t.Errorf("breakdown preferred %v, want %v", got, tt.wantPreferred)
			}
			if got := q.Rejected[matcher.ReasonExcluded]; got != tt.wantExcluded {
				t.Errorf("rejected as excluded %d, want %d", got, tt.wantExcluded)
			}
			for _, ex := range tt.req.ExcludedWorkers {
				if _, ok := by[ex]; ok {
					t.Errorf("excluded worker %s quoted", ex)
				}
			}
			if got := e.book(t, tt.req).Booking.WorkerID; got != tt.want {
				t.Errorf("booked %s, want %s", got, tt.want)
			}
		})
	}
}

// continuityEnv is two day-shift workers, a nearer than b, and customer c1
// whose first booking (at 9:00, preferring b) went to b: b is c1's last
// worker.
func continuityEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, dayShift()), worker("b", offset(base, 1, 0), dayShift()))
	first := normal(base, mins(60), at(9, 0), at(10, 0))
	first.CustomerID, first.PreferredWorkers = "c1", []string{"b"}
	if got := e.book(t, first).Booking.WorkerID; got != "b" {
		t.Fatalf("fixture booked %s, want b", got)
	}
	return e
}

// TestContinuity: a customer's next booking prefers the worker who served
// it last, and the breakdown says so.
func TestContinuity(t *testing.T) {
	e := continuityEnv(t)
	next := normal(base, mins(60), at(13, 0), at(16, 0))
	next.CustomerID = "c1"
	q, by := e.quote(t, next)
	if q.Options[0].WorkerID != "b" {
		t.Errorf("quote ranks %s first, want b (continuity)", q.Options[0].WorkerID)
	}
	if got, want := by["b"].Breakdown.Map()[matcher.TermContinuity], -matcher.DefaultWeights.Continuity; got != want {
		t.Errorf("b's continuity term %v, want %v", got, want)
	}
	if got := by["a"].Breakdown.Continuity; got != 0 {
		t.Errorf("a's continuity term %v, want 0", got)
	}
	if got := e.book(t, next).Booking.WorkerID; got != "b" {
		t.Errorf("booked %s, want b", got)
	}
	// Another customer has no history: the nearest.
	other := next
	other.CustomerID = "c2"
	if got := e.book(t, other).Booking.WorkerID; got != "a" {
		t.Errorf("another customer booked %s, want a", got)
	}
	e.verifyAll(t)
}

// TestFairness: of two otherwise equal workers the less booked wins; the
// fairness weight of the matcher's configuration decides by how much.
func TestFairness(t *testing.T) {
	noFairness := matcher.DefaultWeights
	noFairness.Fairness = 0
	heavy := matcher.DefaultWeights
	heavy.Fairness = 200
	tests := []struct {
		name         string
		weights      matcher.Weights // zero: the defaults
		want         string
		wantFairness float64 // a's term
	}{
		// a has 60 of its 600 shift minutes booked: 20 x 60/600 = 2.
		{name: "default weight: the less booked wins", want: "b", wantFairness: 2},
		{name: "no fairness: a tie, broken by id", weights: noFairness, want: "a", wantFairness: 0},
		{name: "heavy fairness", weights: heavy, want: "b", wantFairness: 20},
	}
	pool := newPool(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := matcher.New(matcher.Config{Weights: tt.weights})
			if err != nil {
				t.Fatalf("matcher.New: %v", err)
			}
			e := pool.newEnv(t, at(8, 0), func(c *dispatch.Config) { c.Matcher = m })
			e.put(t, worker("a", base, dayShift()), worker("b", base, dayShift()))
			busy := normal(base, mins(60), at(15, 0), at(16, 0))
			busy.PreferredWorkers = []string{"a"}
			if got := e.book(t, busy).Booking.WorkerID; got != "a" {
				t.Fatalf("fixture booked %s, want a", got)
			}
			req := normal(base, mins(60), at(10, 0), at(11, 0))
			_, by := e.quote(t, req)
			if got := by["a"].Breakdown.Map()[matcher.TermFairness]; got != tt.wantFairness {
				t.Errorf("a's fairness term %v, want %v", got, tt.wantFairness)
			}
			if got := by["b"].Breakdown.Fairness; got != 0 {
				t.Errorf("b's fairness term %v, want 0", got)
			}
			if got := e.book(t, req).Booking.WorkerID; got != tt.want {
				t.Errorf("booked %s, want %s", got, tt.want)
			}
		})
	}
}
