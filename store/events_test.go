package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// untilClosed calls f until done is closed, or f fails (reported).
func untilClosed(t *testing.T, done <-chan struct{}, f func() error) {
	for {
		select {
		case <-done:
			return
		default:
		}
		if err := f(); err != nil {
			t.Error(err)
			return
		}
	}
}

// relayAll relays every region's outbox until it is empty.
func relayAll(tb testing.TB, s *Store) {
	tb.Helper()
	ctx := context.Background()
	regions, err := s.Regions(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range regions {
		for {
			_, more, err := s.RelayOutbox(ctx, r, 3, EventRetention{})
			if err != nil {
				tb.Fatalf("RelayOutbox(%s): %v", r, err)
			}
			if !more {
				break
			}
		}
	}
}

// eventLines reads tenant's events as "type booking reason", checking
// their seq numbers run 1..n without gaps.
func eventLines(tb testing.TB, s *Store, tenant string) []string {
	tb.Helper()
	evs, err := s.ReadEvents(context.Background(), tenant, "", 1000)
	if err != nil {
		tb.Fatalf("ReadEvents(%s): %v", tenant, err)
	}
	var out []string
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			tb.Errorf("tenant %s event %d has seq %d", tenant, i, e.Seq)
		}
		out = append(out, e.Type+" "+e.BookingID+" "+e.Reason)
	}
	return out
}

// testEvents: every booking change writes its events to its region's
// outbox in Apply's own step, and nowhere else until the relay copies
// them, in order, to the stream of the booking's owner; a relay that runs
// again over what it copied (its cursor lost) doubles nothing; events off
// write nothing.
func testEvents(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	a, p := newWorker("a", nycA), newWorker("p", philly)
	mustPutWorker(t, s, a)
	mustPutWorker(t, s, p)
	b1 := newBooking(a, t0.Add(time.Hour), time.Hour, nycC)
	b2 := newBooking(a, t0.Add(3*time.Hour), time.Hour, nycC)
	b2.Owner = "key-2"
	b3 := newBooking(p, t0.Add(time.Hour), time.Hour, philly)
	for _, b := range []*doorstep.Booking{b1, b2, b3} {
		mustBook(t, s, b)
	}
	if got := eventLines(t, s, "key-1"); len(got) != 0 {
		t.Fatalf("events before any relay: %v", got)
	}
	now := t0.Add(-time.Hour)
	moved, mark := *b1, *b2
	moved.Touch(now, doorstep.ChangeReschedule)
	moved.Start, moved.End = moved.Start.Add(30*time.Minute), moved.End.Add(30*time.Minute)
	mark.Touch(now, doorstep.ChangeAtRisk)
	mark.AtRisk = &doorstep.AtRisk{Reason: "shift", Since: now}
	err := s.Apply(ctx, Change{Region: regionOf(a), Expect: map[string]int64{"a": mustVersion(t, s, "a")},
		Update: []*doorstep.Booking{&moved, &mark}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CancelBooking(ctx, b3.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishEvent(ctx, ProgressEvent(&moved, "en_route", now, json.RawMessage(`{"status":"en_route"}`))); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishEvent(ctx, Event{BookingID: "nope", Type: EventProgress}); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("PublishEvent(unknown booking): %v, want not found", err)
	}
	relayAll(t, s)

	one := eventLines(t, s, "key-1")
	// Within a region, the order of the changes; across regions, any.
	var nyc []string
	for _, l := range one {
		if l != "booking.created "+b3.ID+" " && l != "booking.cancelled "+b3.ID+" cancel" {
			nyc = append(nyc, l)
		}
	}
	want := []string{"booking.created " + b1.ID + " ", "booking.moved " + b1.ID + " reschedule", "booking.progress " + b1.ID + " en_route"}
	if !slices.Equal(nyc, want) || len(one) != 5 {
		t.Errorf("key-1 events = %q, want %q and b3's created and cancelled", one, want)
	}
	if i, j := slices.Index(one, "booking.created "+b3.ID+" "), slices.Index(one, "booking.cancelled "+b3.ID+" cancel"); i < 0 || j < i {
		t.Errorf("key-1 events = %q: b3 created then cancelled", one)
	}
	two := eventLines(t, s, "key-2")
	if want := []string{"booking.created " + b2.ID + " ", "booking.at_risk " + b2.ID + " shift"}; !slices.Equal(two, want) {
		t.Errorf("key-2 events = %q, want %q", two, want)
	}
	evs, _ := s.ReadEvents(ctx, "key-1", "", 10)
	i := slices.IndexFunc(evs, func(e Event) bool { return e.BookingID == b1.ID })
	var sum BookingSummary
	if err := json.Unmarshal(evs[i].Data, &sum); err != nil || sum.ID != b1.ID || sum.WorkerID != "a" || sum.Version != 1 {
		t.Errorf("created event data = %s (%v)", evs[i].Data, err)
	}
	// Reading after an id gives what follows it.
	rest, err := s.ReadEvents(ctx, "key-1", evs[1].ID, 10)
	if err != nil || len(rest) != 3 || rest[0].ID != evs[2].ID {
		t.Errorf("ReadEvents(after %s) = %v, %v", evs[1].ID, rest, err)
	}
	if _, err := s.ReadEvents(ctx, "key-1", "x", 10); doorstep.ErrorCode(err) != doorstep.EINVALID {
		t.Errorf("ReadEvents(after x): %v, want invalid", err)
	}

	// A relay that lost its cursor (it died before saving it) copies
	// again what the outbox still holds: nothing is doubled.
	regions, _ := s.Regions(ctx)
	for _, r := range regions {
		if err := s.rdb.Del(ctx, outboxCursorKey(r)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	relayAll(t, s)
	if again := eventLines(t, s, "key-1"); !slices.Equal(again, one) {
		t.Errorf("key-1 events after a second relay = %q, want %q", again, one)
	}

	// Events off: a change writes none.
	s.SetEvents(false)
	b4 := newBooking(a, t0.Add(6*time.Hour), time.Hour, nycC)
	mustBook(t, s, b4)
	s.SetEvents(true)
	relayAll(t, s)
	if got := eventLines(t, s, "key-1"); len(got) != len(one) {
		t.Errorf("events off wrote %q", got[len(one):])
	}

	// Retention: MaxAge drops what is older.
	n, err := s.TrimEvents(ctx, EventRetention{MaxAge: time.Hour}, time.Now().Add(2*time.Hour))
	if err != nil || n != 7 {
		t.Errorf("TrimEvents = %d, %v; want 7", n, err)
	}
	if got := eventLines(t, s, "key-2"); len(got) != 0 {
		t.Errorf("key-2 after trimming: %q", got)
	}
}

// testWebhookRecords: webhooks are created at their tenant's newest event,
// listed per tenant or all, count what is pending, and record outcomes
// only under their lease.
func testWebhookRecords(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	a := newWorker("a", nycA)
	mustPutWorker(t, s, a)
	mustBook(t, s, newBooking(a, t0.Add(time.Hour), time.Hour, nycC))
	relayAll(t, s)
	w1 := &Webhook{ID: NewWebhookID(), Tenant: "key-1", URL: "https://example.com/h", Secret: "s1", CreatedAt: t0}
	w2 := &Webhook{ID: NewWebhookID(), Tenant: "key-2", URL: "https://example.com/g", Secret: "s2", CreatedAt: t0}
	for _, w := range []*Webhook{w1, w2} {
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if w1.Seq != 1 || w1.Cursor == "" {
		t.Errorf("a new webhook starts at the newest event: %+v", w1)
	}
	b := newBooking(a, t0.Add(3*time.Hour), time.Hour, nycC)
	mustBook(t, s, b)
	relayAll(t, s)
	got, err := s.GetWebhook(ctx, w1.ID)
	if err != nil || got.Pending != 1 || got.Secret != "s1" || got.URL != w1.URL {
		t.Fatalf("GetWebhook = %+v, %v; want 1 pending", got, err)
	}
	if list, err := s.ListWebhooks(ctx, "key-2"); err != nil || len(list) != 1 || list[0].ID != w2.ID {
		t.Errorf("ListWebhooks(key-2) = %v, %v", list, err)
	}
	if list, err := s.ListWebhooks(ctx, ""); err != nil || len(list) != 2 {
		t.Errorf("ListWebhooks(all) = %v, %v", list, err)
	}
	evs, _ := s.ReadEvents(ctx, "key-1", got.Cursor, 1)
	if ok, err := s.WebhookDelivered(ctx, got, "me", evs[0], 0, t0); ok || err != nil {
		t.Errorf("WebhookDelivered without the lease = %v, %v", ok, err)
	}
	if ok, _ := s.Lease(ctx, WebhookLease("key-1", w1.ID), "me", time.Minute); !ok {
		t.Fatal("lease not taken")
	}
	if ok, _ := s.Lease(ctx, WebhookLease("key-1", w1.ID), "you", time.Minute); ok {
		t.Error("a held lease was taken by another")
	}
	if ok, err := s.WebhookFailed(ctx, got, "me", 503, "HTTP 503", t0, t0.Add(time.Second)); !ok || err != nil {
		t.Errorf("WebhookFailed = %v, %v", ok, err)
	}
	if ok, err := s.WebhookDelivered(ctx, got, "me", evs[0], 0, t0); !ok || err != nil {
		t.Errorf("WebhookDelivered = %v, %v", ok, err)
	}
	got, _ = s.GetWebhook(ctx, w1.ID)
	if got.Pending != 0 || got.Delivered != 1 || got.Failures != 0 || got.FailedTotal != 1 || got.LastStatus != 503 || got.Cursor != evs[0].ID {
		t.Errorf("after a failure and a success: %+v", got)
	}
	if err := s.DeleteWebhook(ctx, w1.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.WebhookDelivered(ctx, got, "me", evs[0], 0, t0); ok {
		t.Error("a deleted webhook recorded a delivery")
	}
	if _, err := s.GetWebhook(ctx, w1.ID); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("GetWebhook(deleted): %v", err)
	}
}

// TestEventsRelayRace: two relays of one region at once (a lease that
// expired under a slow holder), while events are written, copy every
// event once, in order.
func TestEventsRelayRace(t *testing.T) {
	t.Parallel()
	h := openRedis(t)
	second, err := Open(t.Context(), testConfig("redis://"+h.addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	testRelayRace(t, h.s, second)
}

// TestEventsCluster: the outbox, the relay and the webhook records run on
// a Redis Cluster of three masters, where no script may span two slots.
func TestEventsCluster(t *testing.T) {
	t.Parallel()
	servers := storetest.RunCluster(t, 3)
	cfg := testConfig(storetest.ClusterURL(servers))
	cfg.Cluster = true
	open := func(t *testing.T) *harness {
		s, err := Open(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return &harness{s: s}
	}
	t.Run("Events", func(t *testing.T) { testEvents(t, open) })
	// A fresh cluster would be slow: the same one, other tenants.
	first, second := open(t).s, open(t).s
	testRelayRace(t, first, second)
}

func testRelayRace(t *testing.T, first, second *Store) {
	ctx := context.Background()
	a := newWorker("race", nycB)
	mustPutWorker(t, first, a)
	b := newBooking(a, t0.Add(time.Hour), time.Hour, nycC)
	b.Owner = "racer"
	mustBook(t, first, b)
	region := regionOf(a)
	const n = 300
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range n {
			ev := BookingEvent(b, EventProgress, strconv.Itoa(i), t0)
			if err := first.PublishEvent(ctx, ev); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for _, s := range []*Store{first, second} {
		wg.Go(func() {
			untilClosed(t, done, func() error {
				_, _, err := s.RelayOutbox(ctx, region, 7, EventRetention{})
				return err
			})
		})
	}
	wg.Wait()
	if _, _, err := first.RelayOutbox(ctx, region, 1000, EventRetention{}); err != nil {
		t.Fatal(err)
	}
	lines := eventLines(t, first, "racer")
	want := []string{"booking.created " + b.ID + " "}
	for i := range n {
		want = append(want, fmt.Sprintf("booking.progress %s %d", b.ID, i))
	}
	if !slices.Equal(lines, want) {
		t.Errorf("racer's events: %d, want %d in order (first difference at %d)", len(lines), len(want), firstDiff(lines, want))
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestChangeEvents: the type and reason of each booking's event in a
// Change.
func TestChangeEvents(t *testing.T) {
	at := t0
	touched := func(reason string, edit func(*doorstep.Booking)) *doorstep.Booking {
		b := newBooking(newWorker("a", nycA), t0, time.Hour, nycC)
		b.Touch(at, reason)
		if edit != nil {
			edit(b)
		}
		return b
	}
	risk := func(b *doorstep.Booking) { b.AtRisk = &doorstep.AtRisk{Reason: "overrun", Since: at} }
	tests := []struct {
		name   string
		b      *doorstep.Booking
		reason string // the Change's
		want   string
	}{
		{"reschedule", touched(doorstep.ChangeReschedule, nil), "", "booking.moved reschedule"},
		{"rescue", touched(doorstep.ChangeRescue, nil), doorstep.ChangeRescue, "booking.moved rescue"},
		{"replan", touched(doorstep.ChangeReplan, nil), doorstep.ChangeReplan, "booking.moved replan"},
		{"overrun", touched(doorstep.ChangeOverrun, nil), doorstep.ChangeReplan, "booking.moved overrun"},
		{"overrun of a booking at risk", touched(doorstep.ChangeOverrun, risk), doorstep.ChangeReplan, "booking.moved overrun"},
		{"marked at risk", touched(doorstep.ChangeAtRisk, risk), doorstep.ChangeReplan, "booking.at_risk overrun"},
		{"cancel", touched(doorstep.ChangeCancel, func(b *doorstep.Booking) { b.Status = doorstep.StatusCancelled }), "", "booking.cancelled cancel"},
		{"no last change", newBooking(newWorker("a", nycA), t0, time.Hour, nycC), "", "booking.moved reschedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := changeEvents(&Change{Update: []*doorstep.Booking{tt.b}, Reason: tt.reason}, at)
			if got := evs[0].Type + " " + evs[0].Reason; len(evs) != 1 || got != tt.want || evs[0].Tenant != "key-1" {
				t.Errorf("event %q (tenant %q), want %q", got, evs[0].Tenant, tt.want)
			}
		})
	}
}

// RelayOutbox says when it copied a full batch and the outbox may hold
// more, so that a relay stops after a short one instead of reading the
// outbox again only to find it empty.
func TestRelayOutboxSaysWhenItMayHoldMore(t *testing.T) {
	t.Parallel()
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	region := regionOf(newWorker("a", nycA))
	id := NewBookingID(region)
	publish := func(n int) {
		for range n {
			if err := s.PublishEvent(ctx, Event{Tenant: "key-1", BookingID: id, Type: EventProgress, Data: json.RawMessage(`{}`)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	relay := func(wantMore bool, wantTenants int) {
		t.Helper()
		ts, more, err := s.RelayOutbox(ctx, region, 3, EventRetention{})
		if err != nil || more != wantMore || len(ts) != wantTenants {
			t.Fatalf("RelayOutbox: tenants %v, more %v, %v; want %d tenants, more %v", ts, more, err, wantTenants, wantMore)
		}
	}
	publish(5)
	relay(true, 1)  // 3 of 5
	relay(false, 1) // the last 2: the outbox is empty
	publish(3)
	relay(true, 1) // a full batch: there may be more
	relay(false, 0)
	if got := len(eventLines(t, s, "key-1")); got != 8 {
		t.Errorf("the tenant's stream holds %d events, want 8", got)
	}
}

// TestRelayOutboxOneScriptATenant: a relay pass copies each tenant's
// events of the batch with one script call, in outbox order and each
// once, however the tenants' events interleave; a pass over events
// already copied (its cursor lost) copies none again.
func TestRelayOutboxOneScriptATenant(t *testing.T) {
	t.Parallel()
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	region := regionOf(newWorker("a", nycA))
	id := NewBookingID(region)
	want := map[string][]string{}
	for i, tenant := range []string{"key-1", "key-2", "key-1", "key-1", "key-2", "key-1"} {
		reason := fmt.Sprintf("r%d", i)
		if err := s.PublishEvent(ctx, Event{Tenant: tenant, BookingID: id, Type: EventProgress, Reason: reason, Data: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		want[tenant] = append(want[tenant], EventProgress+" "+id+" "+reason)
	}
	var evals atomic.Int64
	s.rdb.AddHook(countEvals{&evals})
	if _, _, err := s.RelayOutbox(ctx, region, 100, EventRetention{}); err != nil {
		t.Fatal(err)
	}
	if got := evals.Load(); got != 2 {
		t.Errorf("a pass over two tenants' events made %d script calls, want 2", got)
	}
	// The cursor lost: the same events again, copied none.
	if err := s.rdb.Del(ctx, outboxCursorKey(region)).Err(); err != nil {
		t.Fatal(err)
	}
	for tenant := range want {
		if err := s.PublishEvent(ctx, Event{Tenant: tenant, BookingID: id, Type: EventProgress, Reason: "last", Data: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
		want[tenant] = append(want[tenant], EventProgress+" "+id+" last")
	}
	if _, _, err := s.RelayOutbox(ctx, region, 100, EventRetention{}); err != nil {
		t.Fatal(err)
	}
	for tenant, w := range want {
		if got := eventLines(t, s, tenant); !slices.Equal(got, w) {
			t.Errorf("tenant %s's stream %q, want %q", tenant, got, w)
		}
	}
}

// countEvals counts the script calls (EVAL, EVALSHA) a client sends,
// alone or pipelined.
type countEvals struct{ n *atomic.Int64 }

func (countEvals) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countEvals) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(cmd)
		return next(ctx, cmd)
	}
}

func (h countEvals) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.count(cmd)
		}
		return next(ctx, cmds)
	}
}

func (h countEvals) count(cmd redis.Cmder) {
	if n := cmd.Name(); n == "eval" || n == "evalsha" {
		h.n.Add(1)
	}
}
