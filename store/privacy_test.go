package store

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/google/go-cmp/cmp"
)

func TestPrivacyRedis(t *testing.T) {
	t.Parallel()
	runPrivacy(t, openRedis)
}

func TestPrivacyEmbedded(t *testing.T) {
	t.Parallel()
	runPrivacy(t, openEmbeddedHarness)
}

// runPrivacy is what RedactFinished and EraseCustomer must do on every
// Redis the store runs on.
func runPrivacy(t *testing.T, open openFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, open openFunc)
	}{
		{"RedactFinished", testRedactFinished},
		{"RedactSkipsUnreadable", testRedactSkipsUnreadable},
		{"RedactLostRace", testRedactLostRace},
		{"EraseCustomer", testEraseCustomer},
		{"EraseLegacyIdemAnswer", testEraseLegacyIdemAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open) })
	}
}

// Households of the privacy tests: exact places with every decimal a
// geocoder gives, all in the New York region, none the centre of its cell.
var (
	homeA = doorstep.Location{Lat: 40.71283417, Lng: -74.00601239}
	homeB = doorstep.Location{Lat: 40.72194533, Lng: -73.99782611}
	homeC = doorstep.Location{Lat: 40.70318251, Lng: -74.01128947}
	homeD = doorstep.Location{Lat: 40.73061297, Lng: -73.98524406}
	homeE = doorstep.Location{Lat: 40.69468813, Lng: -73.99036551}
	homeF = doorstep.Location{Lat: 40.74407239, Lng: -74.00317482}
)

// wantPlaces checks that the exact places gone are nowhere in s's Redis
// and that the places kept are still there (which shows the search works).
func wantPlaces(tb testing.TB, s *Store, gone, kept map[string]doorstep.Location) {
	tb.Helper()
	dump := storetest.Dump(tb, s.rdb)
	for name, l := range gone {
		for _, n := range storetest.CoordNeedles(l) {
			if keys := storetest.FindIn(dump, n); len(keys) > 0 {
				tb.Errorf("the exact place of %s (%s) is still stored, in %v", name, n, keys)
			}
		}
	}
	for name, l := range kept {
		if keys := storetest.FindIn(dump, strconv.FormatFloat(l.Lat, 'f', -1, 64)); len(keys) == 0 {
			tb.Errorf("the exact place of %s is gone, but the booking still needs it", name)
		}
	}
}

// wantReduced checks that booking id holds its cell and the cell's centre
// instead of the exact place.
func wantReduced(tb testing.TB, s *Store, id string, exact doorstep.Location) *doorstep.Booking {
	tb.Helper()
	b, err := s.GetBooking(context.Background(), id)
	if err != nil {
		tb.Fatalf("GetBooking(%s): %v", id, err)
	}
	c := geo.CellOf(exact, doorstep.PrivacyResolution)
	if b.Cell != c.String() || b.Location != c.Center() {
		tb.Errorf("booking %s: cell %q at %v, want %s at its centre %v", id, b.Cell, b.Location, c, c.Center())
	}
	return b
}

// mustGetBooking reads booking id.
func mustGetBooking(tb testing.TB, s *Store, id string) *doorstep.Booking {
	tb.Helper()
	b, err := s.GetBooking(context.Background(), id)
	if err != nil {
		tb.Fatalf("GetBooking(%s): %v", id, err)
	}
	return b
}

func testRedactFinished(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w-1", nycA)
	mustPutWorker(t, s, w)
	cutoff := t0.Add(2 * time.Hour)
	done := newBooking(w, t0, time.Hour, homeA)                          // 08:00-09:00: over
	edge := newBooking(w, t0.Add(70*time.Minute), 50*time.Minute, homeB) // ends at the cutoff: still running
	running := newBooking(w, t0.Add(2*time.Hour+10*time.Minute), time.Hour, homeC)
	cancelled := newBooking(w, t0.Add(6*time.Hour), time.Hour, homeD)
	future := newBooking(w, t0.Add(8*time.Hour), time.Hour, homeE)
	for _, b := range []*doorstep.Booking{done, edge, running, cancelled, future} {
		mustBook(t, s, b)
	}
	if _, err := s.CancelBooking(ctx, cancelled.ID, t0); err != nil {
		t.Fatalf("CancelBooking: %v", err)
	}

	n, err := s.RedactFinished(ctx, cutoff)
	if err != nil || n != 2 {
		t.Fatalf("RedactFinished = %d, %v; want 2 (the finished and the cancelled booking)", n, err)
	}
	got := wantReduced(t, s, done.ID, homeA)
	want := *done
	want.Location, want.Cell = got.Location, got.Cell
	if diff := cmp.Diff(got, &want); diff != "" {
		t.Errorf("redaction changed more than the place (-got +want):\n%s", diff)
	}
	wantReduced(t, s, cancelled.ID, homeD)
	for _, b := range []*doorstep.Booking{edge, running, future} {
		if diff := cmp.Diff(mustGetBooking(t, s, b.ID), b); diff != "" {
			t.Errorf("booking %s, still needed, changed (-got +want):\n%s", b.ID, diff)
		}
	}
	// The finished booking stays on the worker's timeline: redaction frees
	// nothing.
	tl, err := s.WorkerBookings(ctx, w.ID, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("WorkerBookings: %v", err)
	}
	if diff := cmp.Diff(bookingIDs(tl), []string{done.ID, edge.ID, running.ID, future.ID}); diff != "" {
		t.Errorf("timeline after redaction (-got +want):\n%s", diff)
	}
	wantPlaces(t, s,
		map[string]doorstep.Location{"the finished booking": homeA, "the cancelled booking": homeD},
		map[string]doorstep.Location{"the booking ending at the cutoff": homeB, "the running booking": homeC, "the future booking": homeE})

	// Again: nothing left to reduce; later, the rest goes too.
	if n, err := s.RedactFinished(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("RedactFinished again = %d, %v; want 0", n, err)
	}
	if n, err := s.RedactFinished(ctx, t0.Add(24*time.Hour)); err != nil || n != 3 {
		t.Errorf("RedactFinished at the end of the day = %d, %v; want 3", n, err)
	}
	wantPlaces(t, s, map[string]doorstep.Location{"A": homeA, "B": homeB, "C": homeC, "D": homeD, "E": homeE}, nil)
}

// testRedactSkipsUnreadable: a corrupt booking record is left for an
// operator to see, and the others are still reduced.
func testRedactSkipsUnreadable(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w-1", nycA)
	mustPutWorker(t, s, w)
	region := regionOf(w)
	bad := bookingKey(region, NewBookingID(region))
	if err := s.rdb.Set(ctx, bad, "{not json", 0).Err(); err != nil {
		t.Fatal(err)
	}
	done := newBooking(w, t0, time.Hour, homeA)
	mustBook(t, s, done)
	if n, err := s.RedactFinished(ctx, t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("RedactFinished = %d, %v; want 1", n, err)
	}
	wantReduced(t, s, done.ID, homeA)
	if v, _ := s.rdb.Get(ctx, bad).Result(); v != "{not json" {
		t.Errorf("the corrupt record became %q", v)
	}
}

// testRedactLostRace: a booking that changed since it was read is not
// overwritten with the stale copy.
func testRedactLostRace(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w-1", nycA)
	mustPutWorker(t, s, w)
	b := newBooking(w, t0, time.Hour, homeA)
	mustBook(t, s, b)
	region, _ := RegionOfBooking(b.ID)
	key := bookingKey(region, b.ID)
	stale := *b
	reduce(&stale)
	ok, err := s.rewrite(ctx, key, `{"id":"an older value"}`, &stale)
	if err != nil || ok {
		t.Fatalf("rewrite over a changed value = %v, %v; want false, nil", ok, err)
	}
	if diff := cmp.Diff(mustGetBooking(t, s, b.ID), b); diff != "" {
		t.Errorf("booking changed (-got +want):\n%s", diff)
	}
}

// customerFixture is what the store holds of one customer of one tenant:
// bookings, a series, the last worker, an idempotency record naming the
// customer.
type customerFixture struct {
	tenant, id              string
	past, running, upcoming *doorstep.Booking
	series                  *Series
	idemKey                 string
	idemBody                []byte
}

// mustCustomer books, for tenant's customer id, a finished booking, a
// running one and an upcoming one (w1), remembers w1 as the customer's last
// worker, records the upcoming one as a series of one and as the answer of
// an Idempotency-Key, at the places given.
func mustCustomer(tb testing.TB, s *Store, tenant, id string, w1, w2 *doorstep.Worker, hour int, places [3]doorstep.Location) *customerFixture {
	tb.Helper()
	ctx := context.Background()
	c := &customerFixture{tenant: tenant, id: id, idemKey: "idem-" + id}
	c.past = newBooking(w1, t0.Add(time.Duration(hour)*20*time.Minute), 15*time.Minute, places[0])
	c.running = newBooking(w2, t0.Add(time.Duration(hour)*20*time.Minute+80*time.Minute), 20*time.Minute, places[1])
	c.upcoming = newBooking(w1, t0.Add(time.Duration(4+hour)*time.Hour), time.Hour, places[2])
	c.series = &Series{ID: NewSeriesID(regionOf(w1)), Owner: tenant, CustomerID: id, BookingIDs: []string{c.upcoming.ID}, CreatedAt: t0}
	c.upcoming.SeriesID = c.series.ID
	if err := s.PutSeries(ctx, c.series); err != nil {
		tb.Fatalf("PutSeries: %v", err)
	}
	for _, b := range []*doorstep.Booking{c.past, c.running, c.upcoming} {
		b.CustomerID, b.Owner = id, tenant
		mustBook(tb, s, b)
	}
	if err := s.SetLastWorker(ctx, tenant, id, w1.ID); err != nil {
		tb.Fatalf("SetLastWorker: %v", err)
	}
	// The answer is the caller's encoding, which the store never reads: not
	// JSON here, so that only IdemAnswer.Bookings can tie it to the customer.
	c.idemBody = []byte("an answer for " + id + " naming " + c.upcoming.ID)
	rec, fresh, err := s.BeginIdempotent(ctx, tenant, c.idemKey, "fp", IdemOptions{TTL: time.Hour})
	if err != nil || !fresh {
		tb.Fatalf("BeginIdempotent = %v, %v", fresh, err)
	}
	if err := s.FinishIdempotent(ctx, rec.Claim, IdemAnswer{Status: 201, Body: c.idemBody, Bookings: []string{c.upcoming.ID}}); err != nil {
		tb.Fatalf("FinishIdempotent: %v", err)
	}
	return c
}

func testEraseCustomer(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w1, w2 := newWorker("w-1", nycA), newWorker("w-2", nycB)
	mustPutWorker(t, s, w1)
	mustPutWorker(t, s, w2)
	// key-1's cust-1 is erased; key-1's cust-10 (whose id starts with
	// cust-1's), key-1's cust-2 and key-2's cust-1 (another household that
	// another booking system gave the same id) keep everything.
	gone := mustCustomer(t, s, "key-1", "cust-1", w1, w2, 0, [3]doorstep.Location{homeA, homeB, homeC})
	prefix := mustCustomer(t, s, "key-1", "cust-10", w1, w2, 1, [3]doorstep.Location{homeD, homeE, homeF})
	other := mustCustomer(t, s, "key-1", "cust-2", w2, w1, 2, [3]doorstep.Location{offsetLoc(homeA), offsetLoc(homeB), offsetLoc(homeC)})
	twin := mustCustomer(t, s, "key-2", "cust-1", w2, w1, 3, [3]doorstep.Location{offsetLoc(homeD), offsetLoc(homeE), offsetLoc(homeF)})
	now := t0.Add(90 * time.Minute) // cust-1: past is over, running has started

	if _, err := s.EraseCustomer(ctx, "key-1", "", now); doorstep.ErrorCode(err) != doorstep.EINVALID {
		t.Errorf("EraseCustomer(\"\") = %v, want EINVALID", err)
	}
	er, err := s.EraseCustomer(ctx, "key-1", gone.id, now)
	if err != nil || er.Bookings != 3 || len(er.Cancelled) != 1 {
		t.Fatalf("EraseCustomer = %+v, %v; want 3 bookings, 1 cancelled", er, err)
	}

	// Every booking of the customer lost the customer id and the exact place;
	// the upcoming one is cancelled and off the timeline, the others stay.
	for _, tc := range []struct {
		b      *doorstep.Booking
		place  doorstep.Location
		status string
	}{
		{gone.past, homeA, doorstep.StatusConfirmed},
		{gone.running, homeB, doorstep.StatusConfirmed},
		{gone.upcoming, homeC, doorstep.StatusCancelled},
	} {
		got := wantReduced(t, s, tc.b.ID, tc.place)
		want := *tc.b
		want.CustomerID, want.Status, want.Location, want.Cell = "", tc.status, got.Location, got.Cell
		if tc.status == doorstep.StatusCancelled {
			// A cancel is a change of the booking; the erasure is not.
			want.Touch(now, doorstep.ChangeCancel)
		}
		if diff := cmp.Diff(got, &want); diff != "" {
			t.Errorf("erased booking (-got +want):\n%s", diff)
		}
	}
	tl, err := s.WorkerBookings(ctx, w1.ID, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(bookingIDs(tl), gone.upcoming.ID) || !slices.Contains(bookingIDs(tl), gone.past.ID) {
		t.Errorf("w-1's timeline %v: want the past booking kept and the upcoming one freed", bookingIDs(tl))
	}
	if last, err := s.LastWorker(ctx, gone.tenant, gone.id); err != nil || last != "" {
		t.Errorf("LastWorker(%s) = %q, %v; want forgotten", gone.id, last, err)
	}
	if _, err := s.GetSeries(ctx, gone.series.ID); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("GetSeries(erased) = %v, want ENOTFOUND", err)
	}
	if rec, fresh, err := s.BeginIdempotent(ctx, gone.tenant, gone.idemKey, "fp", IdemOptions{TTL: time.Hour}); err != nil || !fresh {
		t.Errorf("the idempotency answer naming %s survived: %+v, fresh %v, %v", gone.id, rec, fresh, err)
	} else if err := s.AbortIdempotent(ctx, rec.Claim); err != nil {
		t.Fatal(err)
	}

	// The others are untouched.
	wantKept(t, s, prefix, other, twin)
	dump := storetest.Dump(t, s.rdb)
	if keys := storetest.FindIn(dump, `"`+prefix.id+`"`); len(keys) == 0 {
		t.Errorf("customer id %s is gone too", prefix.id)
	}
	wantPlaces(t, s, map[string]doorstep.Location{"A": homeA, "B": homeB, "C": homeC},
		map[string]doorstep.Location{"D": homeD, "E": homeE, "F": homeF, "twin's": offsetLoc(homeF)})

	if er, err := s.EraseCustomer(ctx, "key-1", gone.id, now); err != nil || er.Bookings != 0 || len(er.Cancelled) != 0 {
		t.Errorf("EraseCustomer again = %+v, %v; want nothing", er, err)
	}

	// The operator's erasure (AllTenants) erases the id in every tenant.
	if er, err := s.EraseCustomer(ctx, AllTenants, gone.id, now); err != nil || er.Bookings != 3 {
		t.Errorf("EraseCustomer(AllTenants) = %+v, %v; want key-2's 3 bookings", er, err)
	}
	wantKept(t, s, prefix, other)
	if keys := storetest.FindIn(storetest.Dump(t, s.rdb), `"`+gone.id+`"`); len(keys) > 0 {
		t.Errorf("customer id %s still stored in %v", gone.id, keys)
	}
	if last, err := s.LastWorker(ctx, twin.tenant, twin.id); err != nil || last != "" {
		t.Errorf("LastWorker(%s's %s) = %q, %v; want forgotten", twin.tenant, twin.id, last, err)
	}
}

// testEraseLegacyIdemAnswer: an answer recorded without the ids of its
// bookings (before IdemAnswer.Bookings existed) is still erased with its
// customer, found through the bookings made under its claim.
func testEraseLegacyIdemAnswer(t *testing.T, open openFunc) {
	ctx := t.Context()
	s := open(t).s
	w := newWorker("w-1", nycA)
	mustPutWorker(t, s, w)
	rec, _, err := s.BeginIdempotent(ctx, "key-1", "legacy", "fp", IdemOptions{TTL: time.Hour, Region: regionOf(w)})
	if err != nil {
		t.Fatal(err)
	}
	b := newBooking(w, t0.Add(4*time.Hour), time.Hour, homeA)
	b.CustomerID, b.Owner = "cust-1", "key-1"
	ch := Change{Region: regionOf(w), Expect: map[string]int64{w.ID: mustVersion(t, s, w.ID)}, Create: []*doorstep.Booking{b}}
	if err := s.Apply(WithClaim(ctx, rec.Claim), ch); err != nil {
		t.Fatalf("Apply under the claim: %v", err)
	}
	if err := s.FinishIdempotent(ctx, rec.Claim, IdemAnswer{Status: 201, Body: []byte("cust-1's answer")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EraseCustomer(ctx, "key-1", "cust-1", t0); err != nil {
		t.Fatalf("EraseCustomer: %v", err)
	}
	if got, fresh, err := s.BeginIdempotent(ctx, "key-1", "legacy", "fp", IdemOptions{TTL: time.Hour}); err != nil || !fresh {
		t.Errorf("the legacy answer survived the erasure: %+v, fresh %v, %v", got, fresh, err)
	}
}

// wantKept checks that customers cs keep their bookings, last worker,
// series and idempotency answer as mustCustomer made them.
func wantKept(t *testing.T, s *Store, cs ...*customerFixture) {
	t.Helper()
	ctx := t.Context()
	for _, c := range cs {
		for _, b := range []*doorstep.Booking{c.past, c.running, c.upcoming} {
			if diff := cmp.Diff(mustGetBooking(t, s, b.ID), b); diff != "" {
				t.Errorf("%s's booking changed (-got +want):\n%s", c.id, diff)
			}
		}
		if last, err := s.LastWorker(ctx, c.tenant, c.id); err != nil || last == "" {
			t.Errorf("LastWorker(%s's %s) = %q, %v; want kept", c.tenant, c.id, last, err)
		}
		if sr, err := s.GetSeries(ctx, c.series.ID); err != nil || sr.CustomerID != c.id {
			t.Errorf("GetSeries(%s's) = %+v, %v; want kept", c.id, sr, err)
		}
		rec, fresh, err := s.BeginIdempotent(ctx, c.tenant, c.idemKey, "fp", IdemOptions{TTL: time.Hour})
		if err != nil || fresh || string(rec.Body) != string(c.idemBody) {
			t.Errorf("%s's %s's idempotency answer: %+v, fresh %v, %v; want kept", c.tenant, c.id, rec, fresh, err)
		}
	}
}

// offsetLoc is another exact place near l.
func offsetLoc(l doorstep.Location) doorstep.Location {
	return doorstep.Location{Lat: l.Lat + 0.00371113, Lng: l.Lng - 0.00529217}
}
