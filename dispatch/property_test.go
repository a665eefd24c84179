package dispatch_test

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

var (
	propOps  = flag.Int("dispatch.ops", 0, "operations of TestPropertyRandomOperations; 0 means 3000, 1000 under the race detector, 300 with -short")
	propSeed = flag.Uint64("dispatch.seed", 1, "seed of TestPropertyRandomOperations")
)

// The property test's city: workers within 7 km of base serving three
// services, and electricians alone in four outlying districts (see
// pressure), where urgent electrical requests need rescues.
var (
	propServices = []string{"cleaning", "laundry", "pet_care", "electrical"}
	propStart    = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
)

// propWorld is the test's model of what must be in Redis.
type propWorld struct {
	t   *testing.T
	r   *rand.Rand
	e   *env
	ws  []*doorstep.Worker
	ref []store.WorkerRef
	// want holds, per booking id, the expected status, worker, start and
	// end (the rest as last answered).
	want map[string]*doorstep.Booking
	// excluded holds the excluded workers of each booking's request.
	excluded map[string][]string
	ids      []string // every booking id ever answered, in order
	// batches counts the batches committed under a key (their keys).
	batches int
	// series ids ever answered.
	series []string
	// counts of what happened, by kind.
	counts map[string]int
	op     int
	last   string // a description of the last operation, for failures
	// placed are the bookings the last operation placed (created or
	// moved): the planner's own work, held to schedule.Verify itself.
	placed []string
	// orig holds each worker's first profile (a change may restore it);
	// retired the workers retired; overran the bookings whose job ran
	// past its planned end (change).
	orig    map[string]*doorstep.Worker
	retired map[string]bool
	overran map[string]bool
}

// TestPropertyRandomOperations applies thousands of random operations —
// bookings (urgent and normal, appointments days ahead, rescues of both
// among them, moving one booking or two: a chain or two off one worker),
// slot offers each booked right after (it must succeed), cancellations,
// reschedules, position reports, recurring series, batch commits, and
// changes of the world (absences, skills removed, caps lowered, profiles
// restored, retirements, jobs overrunning) — to one Service on a real
// redis-server under a clock that only moves forward, and after each
// checks the state in Redis: every worker's timeline, without the bookings
// marked at risk, passes schedule.Verify (no overlap with travel, inside
// shifts, outside breaks, daily caps), every confirmed booking keeps its
// service level, every booking a rescue or a re-plan moved keeps its
// promise and its customer's exclusions, nothing is lost or duplicated,
// and nothing appears that was not answered.
func TestPropertyRandomOperations(t *testing.T) {
	testPropertyRandomOperations(t, false)
}

// TestPropertyRandomOperationsMirrored is the same with the store
// following its change feeds (store.Store.FollowChanges), as serve runs
// it: every search lists its workers and reads their versions from the
// store's mirror, and every invariant must hold the same.
func TestPropertyRandomOperationsMirrored(t *testing.T) {
	testPropertyRandomOperations(t, true)
}

func testPropertyRandomOperations(t *testing.T, mirrored bool) {
	ops := *propOps
	switch {
	case ops > 0:
	case testing.Short():
		ops = 300
	case raceEnabled:
		// Some 20-40 ms an operation under -race on a busy two-core box,
		// against 4-8 ms without.
		ops = 1000
	default:
		ops = 3000
	}
	w := newPropWorld(t, *propSeed)
	if mirrored {
		storetest.Follow(t, w.e.st, 50*time.Millisecond)
	}
	for w.op = 1; w.op <= ops; w.op++ {
		w.placed = w.placed[:0]
		w.step()
		w.checkPlaced()
		// Bookings that started more than MaxDuration ago are over and
		// can no longer change; the full checks see them.
		now := w.e.clk.Now()
		w.checkWindow(now.Add(-doorstep.MaxDuration-time.Hour), now.Add(doorstep.NormalStart+time.Hour))
		if w.op%250 == 0 {
			w.checkAll()
		}
		if t.Failed() {
			t.Fatalf("seed %d: invariant broken after operation %d: %s", *propSeed, w.op, w.last)
		}
	}
	w.checkAll()
	t.Logf("seed %d, %d operations, simulated %v: %v", *propSeed, ops, w.e.clk.Now().Sub(propStart).Round(time.Minute), w.counts)
	// The test must be able to fail if a rule never fires.
	least := map[string]int{"rescue": max(1, ops/300), "book": ops / 10, "cancel": 1, "reschedule": 1,
		"series": 1, "assign": 1, "locate": 1, "cap": 1, "world changed": max(1, ops/100),
		"rescue of a normal request": 1, "rescue of a urgent request": 1, "rescue moving 2": 1,
		"appointment ahead": max(1, ops/100), "slot booked": max(1, ops/200),
		"worker checks with a trip before a break": 1}
	if ops >= 1000 {
		least["replan moved"], least["replan at risk"], least["overrun"] = 1, 1, 1
		least["assign: a request left, booked by moving bookings"] = 1
	}
	for k, n := range least {
		if w.counts[k] < n {
			t.Errorf("%q happened %d times, want at least %d: the test no longer exercises it", k, w.counts[k], n)
		}
	}
}

func newPropWorld(t *testing.T, seed uint64) *propWorld {
	w := &propWorld{t: t, r: rand.New(rand.NewPCG(seed, 0x5eed)), want: map[string]*doorstep.Booking{},
		excluded: map[string][]string{}, counts: map[string]int{},
		orig: map[string]*doorstep.Worker{}, retired: map[string]bool{}, overran: map[string]bool{}}
	// Normal requests need look no further than 15 km, and a handful of
	// qualified candidates is enough to stop widening.
	w.e = newEnv(t, propStart, func(c *dispatch.Config) { c.NormalReachKm, c.WantCandidates = 15, 6 })
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 16 {
		zone := time.UTC
		if i%2 == 1 {
			zone = berlin
		}
		var skills []string
		home := w.place(7)
		switch {
		case i < len(propDistricts):
			// An electrician alone in its district, more than an hour from
			// the other districts: an urgent electrical request there has
			// no one else to turn to.
			skills, home = []string{"electrical"}, propDistricts[i]
		case i == len(propDistricts):
			// An electrician in town, who can take over a district's
			// normal jobs (though not reach its urgent ones in time).
			skills = []string{"electrical", "cleaning"}
		default:
			for _, s := range propServices[:3] {
				if w.r.IntN(3) > 0 {
					skills = append(skills, s)
				}
			}
			if len(skills) == 0 {
				skills = []string{"laundry"}
			}
		}
		wk := worker(fmt.Sprintf("w%02d", i), home, propShifts(zone, w.r), skills...)
		wk.Rating = 3.5 + float64(w.r.IntN(4))/2
		if i > len(propDistricts) {
			wk.MaxJobsPerDay = 3 + w.r.IntN(4)
			if w.r.IntN(2) == 0 {
				wk.MaxWorkMinutesPerDay = 240 + 30*w.r.IntN(8)
			}
		}
		w.e.put(t, wk)
		w.ws = append(w.ws, wk)
		w.orig[wk.ID] = wk
		w.ref = append(w.ref, store.WorkerRef{ID: wk.ID, Region: geo.RegionOf(wk.Home).String()})
	}
	return w
}

// propDistricts lie 15 km from base, 21 km and more from one another: too
// far to cross within the urgent hour (whose reach is about 17.6 km).
var propDistricts = []doorstep.Location{
	offset(base, 15, 0), offset(base, 0, 15), offset(base, -15, 0), offset(base, 0, -15),
}

// propShifts: 8 days of two shifts, 07:00-12:00 with a quarter-hour break
// and 13:00-21:00 with a half-hour break, in zone, sometimes shifted by an
// hour; a working day spans 14 hours, more than any booking lasts. Half
// the workers may run urgent jobs 30 or 60 minutes past 21:00 (urgent
// overtime).
func propShifts(zone *time.Location, r *rand.Rand) []doorstep.Shift {
	var out []doorstep.Shift
	shiftBy := time.Duration(r.IntN(3)-1) * time.Hour
	overtime := []int{0, 0, 30, 60}[r.IntN(4)]
	for d := range 8 {
		day := time.Date(2026, 11, 23+d, 0, 0, 0, 0, zone).Add(shiftBy)
		h := func(hh, mm int) time.Time {
			return day.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
		}
		late := shift(h(13, 0), h(21, 0), h(16, 0), h(16, 30))
		late.UrgentOvertimeMinutes = overtime
		out = append(out, shift(h(7, 0), h(12, 0), h(9, 30), h(9, 45)), late)
	}
	return out
}

// place returns a random point within km of base.
func (w *propWorld) place(km float64) doorstep.Location {
	d := km * math.Sqrt(w.r.Float64())
	a := 2 * math.Pi * w.r.Float64()
	return offset(base, d*math.Sin(a), d*math.Cos(a))
}

// step advances the clock and applies one random operation.
func (w *propWorld) step() {
	adv := time.Duration(w.r.IntN(4)) * time.Minute
	if w.r.IntN(300) == 0 {
		adv += time.Duration(1+w.r.IntN(4)) * time.Hour // a quiet spell
	}
	w.e.clk.Advance(adv)
	if w.r.IntN(3) == 0 && w.lateCall() {
		return
	}
	switch n := w.r.IntN(100); {
	case n < 22:
		w.bookNormal()
	case n < 34:
		w.bookUrgent()
	case n < 48:
		w.cancel()
	case n < 58:
		w.reschedule()
	case n < 80:
		w.locate()
	case n < 84:
		w.change()
	case n < 88:
		w.bookSeries()
	case n < 89:
		w.cancelSeries()
	case n < 93:
		w.assign()
	case n < 96:
		w.offerAndBook()
	default:
		w.pressure()
	}
}

// service returns a random service but electrical, which only pressure
// asks for.
func (w *propWorld) service() string {
	return propServices[w.r.IntN(3)]
}

func (w *propWorld) duration() time.Duration {
	return time.Duration(2+w.r.IntN(9)) * 15 * time.Minute
}

// normalReq returns a random normal request made now: no window, or a
// window of 1-6 hours starting within the next 20 hours, or (an
// appointment booked ahead) 1-4 days later.
func (w *propWorld) normalReq() doorstep.Request {
	now := w.e.clk.Now()
	r := doorstep.Request{Service: w.service(), Location: w.place(7), Urgency: doorstep.Normal, Duration: w.duration()}
	switch w.r.IntN(6) {
	case 0, 1, 2:
	case 3:
		start := now.Add(time.Duration(1+w.r.IntN(4))*24*time.Hour + time.Duration(w.r.IntN(12*60))*time.Minute)
		r.Window = &doorstep.Window{Start: start, End: start.Add(time.Duration(60+w.r.IntN(5*60)) * time.Minute)}
	default:
		start := now.Add(time.Duration(w.r.IntN(20*60)) * time.Minute)
		end := start.Add(time.Duration(60+w.r.IntN(5*60)) * time.Minute)
		end = minTime(end, now.Add(doorstep.NormalStart))
		r.Window = &doorstep.Window{Start: start, End: end}
	}
	w.wishes(&r)
	return r
}

// offerAndBook asks for the slots of a random windowless request over two
// days starting within the next four, and books one of the windows
// offered right away: with nothing changed in between, it must be booked
// inside that window, by a plain option (an offer plans no rescue).
func (w *propWorld) offerAndBook() {
	now := w.e.clk.Now()
	req := doorstep.Request{Service: w.service(), Location: w.place(7), Urgency: doorstep.Normal, Duration: w.duration()}
	w.wishes(&req)
	from := now.Add(time.Duration(w.r.IntN(4*24)) * time.Hour).Truncate(time.Hour)
	q := dispatch.SlotQuery{Request: req, From: from, To: from.Add(48 * time.Hour), Minutes: 60 * (1 + w.r.IntN(3)), Limit: 5}
	w.last = fmt.Sprintf("slots %+v", q)
	offers, err := w.e.svc.Slots(w.t.Context(), q, "")
	if err != nil {
		w.t.Fatalf("Slots: %v", err)
	}
	if len(offers) == 0 {
		w.counts["slots: none offered"]++
		return
	}
	for i := 1; i < len(offers); i++ {
		if offers[i].Option.Cost < offers[i-1].Option.Cost {
			w.t.Errorf("offers not ranked by cost: %+v", offers)
		}
	}
	o := offers[w.r.IntN(len(offers))]
	req.Window = &o.Window
	w.last = fmt.Sprintf("book offered window %v..%v of %+v", o.Window.Start, o.Window.End, q)
	b := w.book(req)
	switch {
	case b == nil:
		w.t.Errorf("the offered window %v..%v could not be booked right after", o.Window.Start, o.Window.End)
	case len(b.Moves) > 0:
		w.t.Errorf("the offered window %v..%v was booked by moving %+v", o.Window.Start, o.Window.End, b.Moves)
	case !o.Window.Contains(b.Booking.Start):
		w.t.Errorf("booked %v outside the offered window %v..%v", b.Booking, o.Window.Start, o.Window.End)
	default:
		w.counts["slot booked"]++
	}
}

// wishes adds a customer id, and sometimes preferred and excluded workers.
func (w *propWorld) wishes(r *doorstep.Request) {
	if w.r.IntN(2) == 0 {
		r.CustomerID = fmt.Sprintf("c%02d", w.r.IntN(30))
	}
	if w.r.IntN(8) == 0 {
		r.PreferredWorkers = []string{w.ws[w.r.IntN(len(w.ws))].ID}
	}
	if w.r.IntN(8) == 0 {
		r.ExcludedWorkers = []string{w.ws[w.r.IntN(len(w.ws))].ID}
	}
}

func (w *propWorld) bookNormal() {
	req := w.normalReq()
	w.last = fmt.Sprintf("book normal %+v", req)
	w.book(req)
}

// bookUrgent quotes, then books an urgent request: the booking does what
// the quote said, rescue included (nothing else changes in between).
// lateCall asks, when a worker whose shift allows urgent overtime has
// less than 45 minutes of its shift left, for an urgent job near its home
// in one of its trades that would end half-way through the overtime: on
// that worker it fits only in the overtime. It reports whether there was
// such a worker.
func (w *propWorld) lateCall() bool {
	now := w.e.clk.Now()
	for _, wk := range w.ws {
		if w.retired[wk.ID] {
			continue
		}
		for _, sh := range wk.Shifts {
			if sh.UrgentOvertimeMinutes == 0 || now.Before(sh.End.Add(-45*time.Minute)) || !now.Before(sh.End) {
				continue
			}
			service := wk.Skills[w.r.IntN(len(wk.Skills))]
			if !slices.Contains(propServices, service) {
				return false
			}
			// Over the shift's end by half the overtime after a trip of a
			// few minutes: it fits only in the overtime.
			d := (sh.End.Sub(now) + time.Duration(sh.UrgentOvertimeMinutes/2)*time.Minute).Round(5 * time.Minute)
			req := doorstep.Request{Service: service, Location: offset(wk.Home, w.r.Float64()-0.5, w.r.Float64()-0.5),
				Urgency: doorstep.Urgent, Duration: d}
			w.last = fmt.Sprintf("late urgent call near %s: %+v", wk.ID, req)
			w.counts["late urgent call"]++
			w.book(req)
			return true
		}
	}
	return false
}

func (w *propWorld) bookUrgent() {
	req := doorstep.Request{Service: w.service(), Location: w.place(7), Urgency: doorstep.Urgent,
		Duration: time.Duration(2+w.r.IntN(5)) * 15 * time.Minute}
	w.wishes(&req)
	w.last = fmt.Sprintf("book urgent %+v", req)
	if w.r.IntN(3) > 0 {
		w.book(req)
		return
	}
	q, qerr := w.e.svc.Quote(w.t.Context(), req, "")
	if qerr != nil && doorstep.ErrorCode(qerr) != doorstep.EUNSERVABLE {
		w.t.Fatalf("Quote: %v", qerr)
	}
	b := w.book(req)
	switch {
	case qerr != nil && b != nil:
		w.t.Errorf("the quote found nobody within the hour, but Book served it: %v (rescue %+v)", b.Booking, b.Rescue)
	case qerr == nil && b == nil:
		w.t.Errorf("the quote found a worker within the hour, but Book refused")
	case qerr == nil && (q.Rescue == nil) != (b.Rescue == nil):
		w.t.Errorf("the quote's rescue %+v, but Book's %+v", q.Rescue, b.Rescue)
	case qerr == nil && !slices.EqualFunc(q.Moves, b.Moves, func(a, b dispatch.Rescue) bool { return sameRescue(&a, &b) }):
		w.t.Errorf("the quote planned moves %+v, but Book made %+v", q.Moves, b.Moves)
	}
}

// book books req and records the outcome; it returns nil when refused.
func (w *propWorld) book(req doorstep.Request) *dispatch.Booked {
	now := w.e.clk.Now()
	b, err := w.e.svc.Book(w.t.Context(), req, "")
	if err != nil {
		w.refused(err)
		return nil
	}
	w.counts["book"]++
	if req.Window != nil && req.Window.End.After(now.Add(doorstep.NormalStart)) {
		w.counts["appointment ahead"]++
	}
	w.created(b.Booking, req, now)
	if b.Booking.Urgency == doorstep.Urgent && b.Booking.Arrival.After(now.Add(time.Hour)) {
		w.t.Errorf("urgent arrival %v more than an hour after %v", b.Booking.Arrival, now)
	}
	if len(b.Moves) > 0 {
		w.counts["rescue"]++
		w.counts[fmt.Sprintf("rescue of a %s request", req.Urgency)]++
		w.counts[fmt.Sprintf("rescue moving %d", len(b.Moves))]++
		if b.Rescue == nil || !sameRescue(b.Rescue, &b.Moves[0]) {
			w.t.Errorf("the answer's rescue %+v is not its first move %+v", b.Rescue, b.Moves[0])
		}
	} else if b.Rescue != nil {
		w.t.Errorf("a rescue %+v without moves", b.Rescue)
	}
	w.moved(b.Moves, req.Urgency, now)
	return b
}

// moved checks the moves of one rescue for a request of class urgency,
// applies them to the model and checks each moved booking in Redis.
func (w *propWorld) moved(moves []dispatch.Rescue, urgency doorstep.Urgency, now time.Time) {
	for _, id := range w.applyMoves(moves, urgency, now) {
		w.touched(id)
	}
}

// applyMoves checks the moves of one rescue for a request of class
// urgency and applies them to the model, returning the ids moved. Every
// move is checked against the model as it stood before the plan: a
// chain's second booking is still on its own worker there.
func (w *propWorld) applyMoves(moves []dispatch.Rescue, urgency doorstep.Urgency, now time.Time) []string {
	var ids []string
	seen := map[string]bool{}
	for i := range moves {
		w.checkMove(&moves[i], urgency, now, seen)
	}
	for i := range moves {
		r := &moves[i]
		moved := w.want[r.MovedBookingID]
		if moved == nil {
			continue
		}
		d := moved.End.Sub(moved.Start)
		moved.WorkerID, moved.Start, moved.End = r.ToWorker, r.NewStart, r.NewStart.Add(d)
		// The answer does not say when the worker now arrives.
		if got, err := w.e.st.GetBooking(w.t.Context(), moved.ID); err == nil {
			moved.Arrival = got.Arrival
		}
		w.placed = append(w.placed, moved.ID)
		ids = append(ids, moved.ID)
	}
	return ids
}

// checkMove checks one move of a rescue for a request of class urgency
// against the booking as known: a confirmed booking not yet started —
// normal, or urgent for an urgent request — on the worker and at the
// start the move names, moved once, kept inside its promise (a normal
// one: an appointment's window, or its very start without one, within 24
// hours of its request; an urgent one: reached within the hour of its
// request; not in the past) onto a worker with the skill whom its
// customer did not exclude.
func (w *propWorld) checkMove(r *dispatch.Rescue, urgency doorstep.Urgency, now time.Time, seen map[string]bool) {
	moved := w.want[r.MovedBookingID]
	switch {
	case moved == nil:
		w.t.Fatalf("rescue moved an unknown booking %s", r.MovedBookingID)
	case seen[moved.ID]:
		w.t.Errorf("rescue moved booking %s twice", moved.ID)
	case moved.Status != doorstep.StatusConfirmed || moved.WorkerID != r.FromWorker || !moved.Start.Equal(r.OldStart):
		w.t.Errorf("rescue %+v does not match the booking as known: %v (%s)", r, moved, moved.Status)
	case !moved.Arrival.After(now):
		w.t.Errorf("rescue moved booking %v, whose worker arrived at %v, before now %v", moved, moved.Arrival, now)
	case moved.Urgency == doorstep.Urgent && urgency != doorstep.Urgent:
		w.t.Errorf("rescue of a %s request moved an urgent booking", urgency)
	case moved.Urgency == doorstep.Urgent && r.NewStart.After(moved.RequestedAt.Add(doorstep.UrgentArrival)):
		w.t.Errorf("rescue moved urgent booking %v past its hour: %v", moved, r.NewStart)
	case moved.Urgency == doorstep.Normal && moved.Window == nil && !r.NewStart.Equal(r.OldStart):
		w.t.Errorf("rescue moved a booking without a window from %v to %v", r.OldStart, r.NewStart)
	case moved.Window != nil && !moved.Window.Contains(r.NewStart):
		w.t.Errorf("rescue moved a booking outside its window: %v", r.NewStart)
	case moved.Window == nil && r.NewStart.After(moved.RequestedAt.Add(doorstep.NormalStart)):
		w.t.Errorf("rescue moved booking %v past 24 hours after its request: %v", moved, r.NewStart)
	case r.NewStart.Before(now):
		w.t.Errorf("rescue moved a booking into the past: %v", r.NewStart)
	}
	if moved == nil {
		return
	}
	seen[moved.ID] = true
	if r.ToWorker != r.FromWorker {
		w.counts["rescue to another worker"]++
	}
	if moved.Urgency == doorstep.Urgent {
		w.counts["rescue moving an urgent booking"]++
	}
	if !slices.Contains(w.worker(r.ToWorker).Skills, moved.Service) {
		w.t.Errorf("rescue moved %v to %s, who lacks the skill", moved, r.ToWorker)
	}
	w.checkExcluded(moved.ID, r.ToWorker)
}

// created records a new booking and checks it against its request.
func (w *propWorld) created(b *doorstep.Booking, req doorstep.Request, now time.Time) {
	w.record(b, req, now)
	w.touched(b.ID)
}

// record is created but for the check against Redis, which a batch makes
// once all its bookings and moves are known (a move may take a booking
// the same batch made).
func (w *propWorld) record(b *doorstep.Booking, req doorstep.Request, now time.Time) {
	switch {
	case w.want[b.ID] != nil:
		w.t.Fatalf("booking id %s answered twice", b.ID)
	case b.Status != doorstep.StatusConfirmed:
		w.t.Errorf("new booking %v is %s", b, b.Status)
	case b.Arrival.Before(now):
		w.t.Errorf("new booking %v: arrival %v before now %v", b, b.Arrival, now)
	case req.Duration != 0 && b.End.Sub(b.Start) != req.Duration:
		w.t.Errorf("new booking %v lasts %v, want %v", b, b.End.Sub(b.Start), req.Duration)
	case slices.Contains(req.ExcludedWorkers, b.WorkerID):
		w.t.Errorf("new booking %v on an excluded worker", b)
	}
	wk := w.worker(b.WorkerID)
	if !slices.Contains(wk.Skills, b.Service) {
		w.t.Errorf("booking %v on a worker without the skill %s", b, b.Service)
	}
	for _, sh := range wk.Shifts {
		if !b.Start.Before(sh.Start) && !b.Start.After(sh.End) && b.End.After(sh.End) {
			if b.Urgency != doorstep.Urgent || b.End.After(sh.EndFor(true)) {
				w.t.Errorf("new booking %v runs past its shift's end %v (urgent overtime %d min)", b, sh.End, sh.UrgentOvertimeMinutes)
			}
			w.counts["urgent booked into overtime"]++
		}
	}
	c := *b
	w.want[b.ID] = &c
	w.excluded[b.ID] = req.ExcludedWorkers
	w.ids = append(w.ids, b.ID)
	w.placed = append(w.placed, b.ID)
}

// checkExcluded fails a booking moved onto a worker its customer
// excluded: the booking records its request's excluded workers, and a
// move rebuilds the request with them (TestMoveHonoursExcludedWorkers).
func (w *propWorld) checkExcluded(id, to string) {
	if slices.Contains(w.excluded[id], to) {
		w.t.Errorf("booking %s moved onto %s, whom its customer excluded", id, to)
	}
}

// refused checks a refusal: only EUNSERVABLE is expected of a lone client.
func (w *propWorld) refused(err error) {
	if doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
		w.t.Fatalf("%s: %v", w.last, err)
	}

	w.counts["unservable"]++
	var e *doorstep.Error
	if asError(err, &e) && e.Rejected["cap"] > 0 {
		w.counts["cap"]++
	}
}

func (w *propWorld) worker(id string) *doorstep.Worker {
	for _, wk := range w.ws {
		if wk.ID == id {
			return wk
		}
	}
	w.t.Fatalf("unknown worker %q", id)
	return nil
}

// pick returns a random booking ever answered, or nil.
func (w *propWorld) pick() *doorstep.Booking {
	if len(w.ids) == 0 {
		return nil
	}
	// Mostly recent ones: old ones are mostly over.
	i := len(w.ids) - 1 - min(len(w.ids)-1, int(math.Abs(w.r.NormFloat64()*40)))
	return w.want[w.ids[i]]
}

func (w *propWorld) cancel() {
	b := w.pick()
	if b == nil {
		return
	}
	now := w.e.clk.Now()
	w.last = fmt.Sprintf("cancel %v (%s)", b, b.Status)
	got, err := w.e.svc.Cancel(w.t.Context(), b.ID, "")
	switch {
	case b.Status == doorstep.StatusCancelled:
		if err != nil || got.Status != doorstep.StatusCancelled {
			w.t.Errorf("cancel of a cancelled booking: %v, %v", got, err)
		}
	case !now.Before(b.Start):
		if doorstep.ErrorCode(err) != doorstep.ECONFLICT {
			w.t.Errorf("cancel of a started booking: got %v, want %s", err, doorstep.ECONFLICT)
		}
	case err != nil:
		w.t.Fatalf("Cancel: %v", err)
	default:
		w.counts["cancel"]++
		b.Status = doorstep.StatusCancelled
	}
	w.touched(b.ID)
}

func (w *propWorld) reschedule() {
	b := w.pick()
	if b == nil {
		return
	}
	now := w.e.clk.Now()
	start := now.Add(time.Duration(w.r.IntN(20*60)) * time.Minute)
	win := doorstep.Window{Start: start, End: minTime(start.Add(time.Duration(30+w.r.IntN(4*60))*time.Minute), now.Add(doorstep.NormalStart))}
	if w.r.IntN(4) == 0 { // to another day: an appointment ahead
		win.Start = start.Add(time.Duration(1+w.r.IntN(3)) * 24 * time.Hour)
		win.End = win.Start.Add(time.Duration(60+w.r.IntN(4*60)) * time.Minute)
	}
	w.last = fmt.Sprintf("reschedule %v (%s) to %v..%v", b, b.Status, win.Start, win.End)
	got, err := w.e.svc.Reschedule(w.t.Context(), b.ID, "", win)
	ok := b.Status == doorstep.StatusConfirmed && b.Urgency == doorstep.Normal && now.Before(b.Arrival)
	switch {
	case err != nil && ok && doorstep.ErrorCode(err) != doorstep.EUNSERVABLE:
		w.t.Fatalf("Reschedule: %v", err)
	case err != nil:
		w.counts["reschedule refused"]++
	case !ok:
		w.t.Errorf("reschedule of a booking that is %s, %s, arriving %v succeeded", b.Status, b.Urgency, b.Arrival)
	default:
		w.counts["reschedule"]++
		if got.ID != b.ID || !win.Contains(got.Start) || got.Arrival.Before(now) || got.End.Sub(got.Start) != b.End.Sub(b.Start) {
			w.t.Errorf("rescheduled to %v (arrival %v), want %s inside %v..%v lasting %v", got, got.Arrival, b.ID, win.Start, win.End, b.End.Sub(b.Start))
		}
		if got.WorkerID != b.WorkerID {
			w.counts["reschedule to another worker"]++
			w.checkExcluded(b.ID, got.WorkerID)
		}
		c := *got
		w.want[b.ID] = &c
		w.placed = append(w.placed, b.ID)
	}
	w.touched(b.ID)
}

// locate reports a worker's position. A worker who finished a job in the
// shift under way is reported at that job's place (schedule.Verify checks
// the travel between jobs from the earlier job's place); any other is
// reported anywhere in the city.
func (w *propWorld) locate() {
	i := w.r.IntN(len(w.ws))
	wk := w.ws[i]
	if w.retired[wk.ID] {
		return
	}
	now := w.e.clk.Now()
	loc := w.place(7)
	if i < len(propDistricts) {
		loc = offset(wk.Home, w.r.Float64()*2-1, w.r.Float64()*2-1) // stays in its district
	}
	var cur *doorstep.Shift
	for i := range wk.Shifts {
		if sh := &wk.Shifts[i]; !now.Before(sh.Start) && now.Before(sh.End) {
			cur = sh
		}
	}
	if cur != nil {
		var lastEnd time.Time
		for _, b := range w.want {
			if b.WorkerID == wk.ID && b.Status == doorstep.StatusConfirmed && b.End.Before(now) &&
				!b.Start.Before(cur.Start) && b.End.After(lastEnd) {
				loc, lastEnd = b.Location, b.End
			}
		}
	}
	w.last = fmt.Sprintf("locate %s at %v", wk.ID, loc)
	if err := w.e.svc.Locate(w.t.Context(), wk.ID, loc, time.Time{}); err != nil {
		w.t.Fatalf("Locate: %v", err)
	}
	w.counts["locate"]++
}

func (w *propWorld) bookSeries() {
	req := w.normalReq()
	if req.Window == nil || w.r.IntN(2) == 0 {
		now := w.e.clk.Now()
		start := now.Add(time.Duration(w.r.IntN(18*60)) * time.Minute)
		req.Window = &doorstep.Window{Start: start, End: minTime(start.Add(3*time.Hour), now.Add(doorstep.NormalStart))}
	}
	rec := dispatch.Recurrence{IntervalDays: 7, Count: 2}
	if w.r.IntN(3) == 0 {
		rec = dispatch.Recurrence{IntervalDays: 1 + w.r.IntN(2), Count: 2 + w.r.IntN(3)}
	}
	w.last = fmt.Sprintf("book series %+v %+v", req, rec)
	now := w.e.clk.Now()
	out, err := w.e.svc.BookSeries(w.t.Context(), req, rec, "")
	if err != nil {
		w.refused(err)
		return
	}
	w.counts["series"]++
	if len(out.Bookings)+len(out.Missed) != rec.Count {
		w.t.Errorf("series: %d bookings and %d missed, want %d in all", len(out.Bookings), len(out.Missed), rec.Count)
	}
	for _, m := range out.Missed {
		if m.Reason == "" {
			w.t.Errorf("series: occurrence %d missed without a reason", m.Occurrence)
		}
	}
	for _, b := range out.Bookings {
		if b.SeriesID != out.SeriesID {
			w.t.Errorf("series booking %v in series %q, want %q", b, b.SeriesID, out.SeriesID)
		}
		r := req
		r.Duration = b.End.Sub(b.Start)
		w.created(b, r, now)
	}
	w.series = append(w.series, out.SeriesID)
}

func (w *propWorld) cancelSeries() {
	if len(w.series) == 0 {
		return
	}
	id := w.series[w.r.IntN(len(w.series))]
	now := w.e.clk.Now()
	w.last = "cancel series " + id
	out, err := w.e.svc.CancelSeries(w.t.Context(), id, "")
	if err != nil {
		w.t.Fatalf("CancelSeries: %v", err)
	}
	for _, b := range out.Cancelled {
		k := w.want[b.ID]
		if k == nil || k.Status != doorstep.StatusConfirmed || !now.Before(k.Start) {
			w.t.Errorf("series cancel cancelled %v, known as %v", b, k)
			continue
		}
		k.Status = doorstep.StatusCancelled
		w.touched(b.ID)
		w.counts["cancel"]++
	}
	for _, b := range out.Kept {
		if k := w.want[b.ID]; k == nil || (k.Status == doorstep.StatusConfirmed && now.Before(k.Start)) {
			w.t.Errorf("series cancel kept %v, known as %v", b, k)
		}
	}
}

func (w *propWorld) assign() {
	var reqs []doorstep.Request
	for i := range 2 + w.r.IntN(3) {
		r := w.normalReq()
		if w.r.IntN(3) == 0 {
			r.Urgency, r.Window = doorstep.Urgent, nil
		}
		r.ID = fmt.Sprintf("r%d", i)
		reqs = append(reqs, r)
	}
	w.last = fmt.Sprintf("assign %+v", reqs)
	now := w.e.clk.Now()
	if w.r.IntN(2) == 0 {
		w.assignOnce(reqs, now)
		return
	}
	out, err := w.e.svc.Assign(w.t.Context(), reqs, true, "")
	if err != nil {
		w.t.Fatalf("Assign: %v", err)
	}
	w.counts["assign"]++
	w.assigned(reqs, out, now)
}

// assignOnce commits reqs under an Idempotency-Key of their own, then
// retries at once: the retry replays every placement and books none of
// them again (what it books anew, a request the first call left, is
// checked as any batch's).
func (w *propWorld) assignOnce(reqs []doorstep.Request, now time.Time) {
	w.batches++
	k := dispatch.BatchKey{Key: fmt.Sprintf("batch-%d", w.batches), Fingerprint: "fp"}
	encode := func(p *dispatch.Placement) dispatch.Answer {
		return dispatch.Answer{Status: 200, Body: []byte(p.Booking.ID)}
	}
	once, err := w.e.svc.AssignOnce(w.t.Context(), slices.Clone(reqs), k, encode)
	if err != nil || once.Kind != dispatch.OnceFresh || once.Unrecorded != nil {
		w.t.Fatalf("AssignOnce: %+v, %v", once, err)
	}
	w.counts["assign under a key"]++
	w.assigned(reqs, once.Outcome, now)
	again, err := w.e.svc.AssignOnce(w.t.Context(), slices.Clone(reqs), k, encode)
	if err != nil || again.Unrecorded != nil {
		w.t.Fatalf("AssignOnce, retried: %+v, %v", again, err)
	}
	var replayed, want []string
	for _, a := range again.Earlier {
		replayed = append(replayed, string(a.Body))
	}
	for _, p := range once.Outcome.Placements {
		want = append(want, p.Booking.ID)
	}
	slices.Sort(replayed)
	slices.Sort(want)
	if !slices.Equal(replayed, want) {
		w.t.Errorf("a retry replayed %v, want the first call's bookings %v", replayed, want)
	}
	for _, p := range again.Outcome.Placements {
		if p.Earlier {
			w.t.Errorf("a retry recovered %s, which the first call answered", p.RequestID)
		}
	}
	if len(again.Outcome.Placements) > 0 {
		w.counts["assign under a key: a retry booked what the first call left"]++
		w.assigned(reqs, again.Outcome, now)
	}
}

// assigned checks and records what a committed batch of reqs booked.
func (w *propWorld) assigned(reqs []doorstep.Request, out *dispatch.BatchOutcome, now time.Time) {
	index := map[string]int{}
	for i := range reqs {
		index[reqs[i].ID] = i
	}
	var rescued []dispatch.Placement
	for _, p := range out.Placements {
		if p.Booking == nil {
			w.t.Fatalf("committed placement %s without a booking", p.RequestID)
		}
		w.record(p.Booking, reqs[index[p.RequestID]], now)
		if len(p.Moves) > 0 {
			rescued = append(rescued, p)
		}
	}
	// The requests the assignment left were booked after its placements,
	// urgent ones first, then in the batch's order; so were their moves,
	// which may move a booking the batch itself made.
	slices.SortFunc(rescued, func(a, b dispatch.Placement) int {
		if c := doorstep.CompareUrgency(reqs[index[a.RequestID]].Urgency, reqs[index[b.RequestID]].Urgency); c != 0 {
			return c
		}
		return index[a.RequestID] - index[b.RequestID]
	})
	// A booking may be moved by several of them: Redis holds where the
	// last one left it, so each is checked once all are applied.
	var movedIDs []string
	for _, p := range rescued {
		w.counts["assign: a request left, booked by moving bookings"]++
		movedIDs = append(movedIDs, w.applyMoves(p.Moves, reqs[index[p.RequestID]].Urgency, now)...)
	}
	for _, id := range movedIDs {
		w.touched(id)
	}
	for _, p := range out.Placements {
		w.touched(p.Booking.ID)
	}
	for _, u := range out.Unplaced {
		if u.Reason == dispatch.ReasonConflict {
			w.t.Errorf("a lone client's batch lost %s to a conflict", u.RequestID)
		}
	}
}

// pressure books a few electrical jobs in a district, starting soon in
// wide windows, then asks for an urgent electrician there: the district's
// electrician is busy, nobody else can arrive within the hour, and only a
// rescue (moving one of those jobs later, or to the electrician in town)
// serves it.
func (w *propWorld) pressure() {
	now := w.e.clk.Now()
	if h := now.Hour(); h < 7 || h > 18 {
		w.bookUrgent() // nobody works: no pressure to make
		return
	}
	d := propDistricts[w.r.IntN(len(propDistricts))]
	near := func() doorstep.Location { return offset(d, w.r.Float64()*2-1, w.r.Float64()*2-1) }
	req := doorstep.Request{Service: "electrical", Location: near(), Urgency: doorstep.Normal,
		Duration: time.Duration(3+w.r.IntN(6)) * 15 * time.Minute}
	if w.r.IntN(5) > 0 {
		start := now.Add(time.Duration(w.r.IntN(30)) * time.Minute)
		req.Window = &doorstep.Window{Start: start, End: start.Add(time.Duration(3+w.r.IntN(6)) * time.Hour)}
	}
	w.last = fmt.Sprintf("pressure: book %+v", req)
	w.book(req)
	req = doorstep.Request{Service: "electrical", Location: near(), Urgency: doorstep.Urgent, Duration: time.Duration(2+w.r.IntN(2)) * 15 * time.Minute}
	w.last = fmt.Sprintf("pressure: urgent %+v", req)
	w.book(req)
}

// touched checks one booking in Redis against the model at once (the
// window check below sees only the bookings near now).
func (w *propWorld) touched(id string) {
	got, err := w.e.st.GetBooking(w.t.Context(), id)
	if err != nil {
		w.t.Fatalf("GetBooking(%s): %v", id, err)
	}
	w.same(got, w.want[id])
}

func (w *propWorld) same(got, want *doorstep.Booking) {
	if got.Status != want.Status || got.WorkerID != want.WorkerID || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) {
		w.t.Errorf("booking %s in Redis: %s on %s %v..%v; want %s on %s %v..%v", got.ID,
			got.Status, got.WorkerID, got.Start, got.End, want.Status, want.WorkerID, want.Start, want.End)
	}
}

// checkWindow reads every worker's confirmed bookings that start in
// [from, to] and checks them.
func (w *propWorld) checkWindow(from, to time.Time) {
	var active []store.WorkerRef
	for _, r := range w.ref {
		if !w.retired[r.ID] {
			active = append(active, r)
		}
	}
	cands, err := w.e.st.LoadCandidates(w.t.Context(), active, from, to)
	if err != nil {
		w.t.Fatalf("LoadCandidates: %v", err)
	}
	if len(cands) != len(active) {
		w.t.Fatalf("loaded %d workers, want %d", len(cands), len(active))
	}
	// A retired worker keeps only bookings over or at risk.
	for id := range w.retired {
		bs, err := w.e.st.WorkerBookings(w.t.Context(), id, from, to)
		if err != nil {
			w.t.Fatalf("WorkerBookings(%s): %v", id, err)
		}
		for _, b := range bs {
			if b.AtRisk == nil && b.End.After(w.e.clk.Now()) {
				w.t.Errorf("retired worker %s keeps %v, not at risk", id, b)
			}
		}
		cands = append(cands, store.Candidate{Worker: w.worker(id), Bookings: bs})
	}
	seen := map[string]string{}
	for _, c := range cands {
		wk := w.worker(c.Worker.ID)
		beforeBreak, err := w.verifyFit(wk, c.Bookings)
		if err != nil {
			w.t.Errorf("worker %s: %v", wk.ID, err)
		} else if beforeBreak {
			w.counts["worker checks with a trip before a break"]++
		}
		for _, b := range c.Bookings {
			if other, dup := seen[b.ID]; dup {
				w.t.Errorf("booking %s in the timelines of %s and %s", b.ID, other, wk.ID)
			}
			seen[b.ID] = wk.ID
			want := w.want[b.ID]
			switch {
			case want == nil:
				w.t.Errorf("booking %v in %s's timeline was never answered", b, wk.ID)
				continue
			case b.WorkerID != wk.ID:
				w.t.Errorf("booking %v in the timeline of %s", b, wk.ID)
			}
			w.same(b, want)
			if err := checkLevel(b); err != nil {
				w.t.Error(err)
			}
			if b.AtRisk != nil || w.overran[b.ID] || w.retired[wk.ID] {
				continue // kept whatever it breaks, or nobody's any more
			}
			if err := checkBreaks(wk, b); err != nil {
				w.t.Error(err)
			}
		}
	}
	// Nothing lost: every booking known confirmed in the range is there.
	for id, b := range w.want {
		if b.Status == doorstep.StatusConfirmed && !b.Start.Before(from) && !b.Start.After(to) && seen[id] == "" {
			w.t.Errorf("confirmed booking %v is in no timeline", b)
		}
	}
}

// checkPlaced holds every booking the operation placed, with its
// neighbours, to schedule.Verify.
func (w *propWorld) checkPlaced() {
	for _, id := range w.placed {
		b := w.want[id]
		bs, err := w.e.st.WorkerBookings(w.t.Context(), b.WorkerID, b.Start.Add(-26*time.Hour), b.Start.Add(26*time.Hour))
		if err != nil {
			w.t.Fatalf("WorkerBookings: %v", err)
		}
		bs = slices.DeleteFunc(bs, func(x *doorstep.Booking) bool { return x.ID != id && (x.AtRisk != nil || w.overran[x.ID]) })
		if err := verifyPlaced(w.worker(b.WorkerID), schedule.TimelineOf(bs), id); err != nil {
			w.t.Errorf("placed %v: %v", b, err)
		}
	}
}

// checkAll checks every booking ever answered and every timeline whole.
func (w *propWorld) checkAll() {
	w.checkWindow(propStart.Add(-24*time.Hour), propStart.Add(30*24*time.Hour))
	for _, id := range w.ids {
		w.touched(id)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sameRescue compares rescues, times by instant.
func sameRescue(a, b *dispatch.Rescue) bool {
	return a.MovedBookingID == b.MovedBookingID && a.FromWorker == b.FromWorker && a.ToWorker == b.ToWorker &&
		a.OldStart.Equal(b.OldStart) && a.NewStart.Equal(b.NewStart)
}
