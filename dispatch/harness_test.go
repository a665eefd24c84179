package dispatch_test

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// base is where the fixtures live (central Berlin).
var base = doorstep.Location{Lat: 52.52, Lng: 13.405}

// at returns hh:mm UTC on Monday 2026-11-23, the fixtures' working day.
func at(hh, mm int) time.Time { return time.Date(2026, 11, 23, hh, mm, 0, 0, time.UTC) }

// offset returns the point northKm north and eastKm east of l.
func offset(l doorstep.Location, northKm, eastKm float64) doorstep.Location {
	const kmPerDegree = 2 * math.Pi * geo.EarthRadiusKm / 360
	dLat := northKm / kmPerDegree
	dLng := eastKm / (kmPerDegree * math.Cos(l.Lat*math.Pi/180))
	return doorstep.Location{Lat: l.Lat + dLat, Lng: l.Lng + dLng}
}

// travel is the travel time the default matcher uses.
func travel(a, b doorstep.Location, depart time.Time) time.Duration {
	return geo.Linear{}.Travel(a, b, depart)
}

func mins(n int) time.Duration { return time.Duration(n) * time.Minute }

// clock is a settable clock for dispatch.Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// observer counts what the service reports and may run a hook when a batch
// has been matched (before it is committed).
type observer struct {
	booked, unservable, conflicts, rescued atomic.Int64
	onBatch                                atomic.Pointer[func()]
	mu                                     sync.Mutex
	replanned                              map[string][2]int // moved, at risk by cause
	// rescueMoves counts the bookings rescues moved.
	rescueMoves atomic.Int64
	// rolledPlaced and rolledMissed count the roll-forward's occurrences.
	rolledPlaced, rolledMissed atomic.Int64
	// rescueShed counts the requests turned away for a rescue's turn;
	// searched the rescue plans searched for, by whether one was found,
	// and held the longest turn one held.
	rescueShed atomic.Int64
	searched   [2]atomic.Int64
	held       atomic.Int64
	// overtimeJobs and overtimeMinutes count the bookings run into a
	// shift's urgent overtime, and their minutes over.
	overtimeJobs, overtimeMinutes atomic.Int64
}

func (o *observer) RescueShed() { o.rescueShed.Add(1) }
func (o *observer) Overtime(d time.Duration) {
	o.overtimeJobs.Add(1)
	o.overtimeMinutes.Add(int64(d / time.Minute))
}
func (o *observer) RescueSearched(_ doorstep.Urgency, found bool, held time.Duration) {
	i := 0
	if found {
		i = 1
	}
	o.searched[i].Add(1)
	for d := int64(held); ; {
		old := o.held.Load()
		if d <= old || o.held.CompareAndSwap(old, d) {
			break
		}
	}
}

func (o *observer) Matched(class doorstep.Urgency, _ int, _ time.Duration) {
	if class == "batch" {
		if f := o.onBatch.Swap(nil); f != nil {
			(*f)()
		}
	}
}
func (o *observer) Booked(doorstep.Urgency, string)     { o.booked.Add(1) }
func (o *observer) Unservable(doorstep.Urgency, string) { o.unservable.Add(1) }
func (o *observer) Conflict()                           { o.conflicts.Add(1) }
func (o *observer) Replanned(cause string, moved, atRisk int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.replanned == nil {
		o.replanned = map[string][2]int{}
	}
	c := o.replanned[cause]
	o.replanned[cause] = [2]int{c[0] + moved, c[1] + atRisk}
}
func (o *observer) Rescued(_ doorstep.Urgency, moves int) {
	o.rescued.Add(1)
	o.rescueMoves.Add(int64(moves))
}
func (o *observer) Solved(time.Duration) {}
func (o *observer) Rolled(placed, missed int) {
	o.rolledPlaced.Add(int64(placed))
	o.rolledMissed.Add(int64(missed))
}

// env is one dispatch.Service on its own redis-server, with a settable clock.
type env struct {
	svc *dispatch.Service
	st  *store.Store
	clk *clock
	obs *observer
	// workers are the profiles put through the env, by id.
	workers map[string]*doorstep.Worker
}

// newEnv starts redis-server, the store and a Service whose clock reads
// start; cfg (may be nil) adjusts the Config before dispatch.New.
func newEnv(tb testing.TB, start time.Time, cfg func(*dispatch.Config)) *env {
	tb.Helper()
	rs := storetest.RunRedis(tb)
	return openEnv(tb, rs.URL(), start, cfg)
}

// redisPool shares one redis-server among the cases of a table test, each
// case in a database of its own: a server takes a tenth of a second to
// start and stop.
type redisPool struct {
	rs   *storetest.Server
	next atomic.Int32
}

const poolDatabases = 64

func newPool(tb testing.TB) *redisPool {
	tb.Helper()
	return &redisPool{rs: storetest.RunRedis(tb, "--databases", fmt.Sprint(poolDatabases))}
}

// newEnv is newEnv on the next unused database of the pool's server.
func (p *redisPool) newEnv(tb testing.TB, start time.Time, cfg func(*dispatch.Config)) *env {
	tb.Helper()
	db := p.next.Add(1)
	if db >= poolDatabases {
		tb.Fatalf("redisPool: more than %d cases", poolDatabases-1)
	}
	return openEnv(tb, fmt.Sprintf("redis://%s/%d", p.rs.Addr, db), start, cfg)
}

func openEnv(tb testing.TB, url string, start time.Time, cfg func(*dispatch.Config)) *env {
	tb.Helper()
	st, err := store.Open(tb.Context(), store.Config{URL: url})
	if err != nil {
		tb.Fatalf("store.Open: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	e := &env{st: st, clk: &clock{t: start}, obs: &observer{}, workers: map[string]*doorstep.Worker{}}
	// Every rescue plan is let in: the tests race requests to check
	// decisions, not load shedding (TestRescueWaitsForItsTurn bounds it).
	c := dispatch.Config{Store: st, Now: e.clk.Now, Observer: e.obs, MaxRescues: -1}
	if cfg != nil {
		cfg(&c)
	}
	e.svc, err = dispatch.New(c)
	if err != nil {
		tb.Fatalf("dispatch.New: %v", err)
	}
	return e
}

// put stores workers through the service.
func (e *env) put(tb testing.TB, ws ...*doorstep.Worker) {
	tb.Helper()
	for _, w := range ws {
		if _, _, err := e.svc.PutWorker(tb.Context(), w); err != nil {
			tb.Fatalf("PutWorker(%s): %v", w.ID, err)
		}
		e.workers[w.ID] = w
	}
}

// worker returns a worker at home with the given shifts, rating 5 and the
// skills (cleaning when none).
func worker(id string, home doorstep.Location, shifts []doorstep.Shift, skills ...string) *doorstep.Worker {
	if len(skills) == 0 {
		skills = []string{"cleaning"}
	}
	return &doorstep.Worker{ID: id, Skills: skills, Home: home, Shifts: shifts, Rating: 5}
}

// shift returns a shift with breaks given as start, end pairs.
func shift(start, end time.Time, breaks ...time.Time) doorstep.Shift {
	s := doorstep.Shift{Start: start, End: end}
	for i := 0; i+1 < len(breaks); i += 2 {
		s.Breaks = append(s.Breaks, doorstep.FixedBreak(breaks[i], breaks[i+1]))
	}
	return s
}

// dayShift is 08:00-18:00 UTC on the fixtures' day.
func dayShift() []doorstep.Shift { return []doorstep.Shift{shift(at(8, 0), at(18, 0))} }

// normal returns a normal cleaning request at loc lasting d, with window
// [from, to] when from is not zero.
func normal(loc doorstep.Location, d time.Duration, from, to time.Time) doorstep.Request {
	r := doorstep.Request{Service: "cleaning", Location: loc, Urgency: doorstep.Normal, Duration: d}
	if !from.IsZero() {
		r.Window = &doorstep.Window{Start: from, End: to}
	}
	return r
}

// urgent returns an urgent request for service at loc lasting d.
func urgent(service string, loc doorstep.Location, d time.Duration) doorstep.Request {
	return doorstep.Request{Service: service, Location: loc, Urgency: doorstep.Urgent, Duration: d}
}

// tenant owns the bookings of env.book and the history env.quote reads.
const tenant = "key-tenant-a"

// book books req for tenant and fails the test on an error.
func (e *env) book(tb testing.TB, req doorstep.Request) *dispatch.Booked {
	tb.Helper()
	b, err := e.svc.Book(tb.Context(), req, tenant)
	if err != nil {
		tb.Fatalf("Book: %v", err)
	}
	return b
}

// wantUnservable checks that err is an EUNSERVABLE *doorstep.Error whose
// Rejected counts hold reason (when not empty).
func wantUnservable(tb testing.TB, err error, reason string) *doorstep.Error {
	tb.Helper()
	var e *doorstep.Error
	if !errors.As(err, &e) || e.Code != doorstep.EUNSERVABLE {
		tb.Fatalf("got error %v, want code %s", err, doorstep.EUNSERVABLE)
	}
	if reason != "" && e.Rejected[reason] == 0 {
		tb.Fatalf("got Rejected %v, want a %q rejection (%s)", e.Rejected, reason, e.Message)
	}
	return e
}

// get reads booking id from Redis.
func (e *env) get(tb testing.TB, id string) *doorstep.Booking {
	tb.Helper()
	b, err := e.st.GetBooking(tb.Context(), id)
	if err != nil {
		tb.Fatalf("GetBooking(%s): %v", id, err)
	}
	return b
}

// timeline reads worker id's confirmed bookings from Redis over a wide range.
func (e *env) timeline(tb testing.TB, id string) []*doorstep.Booking {
	tb.Helper()
	from := e.clk.Now().Add(-5 * 24 * time.Hour)
	bs, err := e.st.WorkerBookings(tb.Context(), id, from, from.Add(30*24*time.Hour))
	if err != nil {
		tb.Fatalf("WorkerBookings(%s): %v", id, err)
	}
	return bs
}

// ids returns the ids of bs.
func ids(bs []*doorstep.Booking) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.ID
	}
	return out
}

// verifyAll checks every worker of the env against schedule.Verify and
// every confirmed booking against its service level (checkLevel).
func (e *env) verifyAll(tb testing.TB) {
	tb.Helper()
	for id, w := range e.workers {
		bs := e.timeline(tb, id)
		if err := schedule.Verify(w, schedule.TimelineOf(bs), geo.Linear{}); err != nil {
			tb.Errorf("worker %s: %v", id, err)
		}
		for _, b := range bs {
			if err := checkLevel(b); err != nil {
				tb.Errorf("worker %s: %v", id, err)
			}
			if err := checkBreaks(w, b); err != nil {
				tb.Errorf("worker %s: %v", id, err)
			}
		}
	}
}

// checkLevel reports a confirmed booking that breaks its service level:
// urgent arrival after requested_at + 1 h; normal start after
// requested_at + 24 h or outside its window; arrival after start.
func checkLevel(b *doorstep.Booking) error {
	switch {
	case b.Arrival.After(b.Start):
		return fmt.Errorf("%v: arrival %v after start", b, b.Arrival)
	case !b.End.After(b.Start):
		return fmt.Errorf("%v: end not after start", b)
	case b.Urgency == doorstep.Urgent && b.Arrival.After(b.RequestedAt.Add(doorstep.UrgentArrival)):
		return fmt.Errorf("%v: urgent arrival %v more than 1 h after the request at %v", b, b.Arrival, b.RequestedAt)
	case b.Urgency == doorstep.Urgent && !b.Deadline.Equal(b.RequestedAt.Add(doorstep.UrgentArrival)):
		return fmt.Errorf("%v: deadline %v does not match its request at %v", b, b.Deadline, b.RequestedAt)
	case b.Urgency == doorstep.Normal && b.Window == nil && b.Start.After(b.RequestedAt.Add(doorstep.NormalStart)):
		return fmt.Errorf("%v: normal start more than 24 h after the request at %v", b, b.RequestedAt)
	case b.Urgency == doorstep.Normal && b.Window == nil && !b.Deadline.Equal(b.RequestedAt.Add(doorstep.NormalStart)):
		return fmt.Errorf("%v: deadline %v does not match its request at %v", b, b.Deadline, b.RequestedAt)
	// An appointment: its window is its promise.
	case b.Urgency == doorstep.Normal && b.Window != nil && !b.Window.Contains(b.Start):
		return fmt.Errorf("%v: start outside its window %v..%v", b, b.Window.Start, b.Window.End)
	case b.Urgency == doorstep.Normal && b.Window != nil && !b.Deadline.Equal(b.Window.End):
		return fmt.Errorf("%v: deadline %v is not its window's end %v", b, b.Deadline, b.Window.End)
	}
	return nil
}

// checkBreaks reports a booking whose arrival-to-end span meets a break of
// its worker: the planner never lets a job run in a break, and a worker
// who reaches a door before a break (its trip may not cross one) waits
// there and is told to arrive as the job starts. (schedule.Verify checks
// the job itself and the travel between stops; this also covers the trip
// to the first job after a break.)
func checkBreaks(w *doorstep.Worker, b *doorstep.Booking) error {
	for _, sh := range w.Shifts {
		for _, br := range sh.Breaks {
			if br.Fixed() && b.Arrival.Before(br.Latest) && br.Earliest.Before(b.End) {
				return fmt.Errorf("%v (arrival %v) meets the break %v..%v", b, b.Arrival, br.Earliest, br.Latest)
			}
		}
	}
	return nil
}

// asError is errors.As for *doorstep.Error.
func asError(err error, target **doorstep.Error) bool { return errors.As(err, target) }

// tripBeforeBreak reports whether the trip from p to s (stops of one shift)
// must be made before a fixed break between them: leaving when the last of
// them is over, the worker would be late. schedule.Verify (and the planner)
// accept such a pair, as the worker keeps it by leaving early and waiting
// at the next door; a cancellation, or a booking moved away, leaves one
// when the stop that made the trip short is gone. The property test counts
// them, to know that it meets them.
func tripBeforeBreak(w *doorstep.Worker, p, s *schedule.Stop) bool {
	sh := shiftOf(w, p)
	if sh == nil || sh != shiftOf(w, s) {
		return false
	}
	depart := p.End
	for _, b := range sh.Breaks {
		if b.Fixed() && !b.Earliest.Before(p.End) && !b.Latest.After(s.Start) {
			depart = b.Latest
		}
	}
	return depart.After(p.End) && depart.Add(geo.Linear{}.Travel(p.Location, s.Location, depart)).After(s.Start)
}

func shiftOf(w *doorstep.Worker, s *schedule.Stop) *doorstep.Shift {
	for i := range w.Shifts {
		if sh := &w.Shifts[i]; !s.Start.Before(sh.Start) && !s.End.After(sh.End) {
			return sh
		}
	}
	return nil
}

// verifyPlaced holds a stop the planner has just placed (created or moved)
// to schedule.Verify itself, with its neighbours in the worker's timeline.
func verifyPlaced(w *doorstep.Worker, tl schedule.Timeline, id string) error {
	for i := range tl {
		if tl[i].BookingID == id {
			return schedule.Verify(w, tl[max(0, i-1):min(len(tl), i+2)], geo.Linear{})
		}
	}
	return fmt.Errorf("placed booking %s is not in the timeline of %s", id, w.ID)
}
