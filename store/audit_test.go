package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
)

func TestAuditRedis(t *testing.T) {
	t.Parallel()
	runAudit(t, openRedis)
}

func TestAuditEmbedded(t *testing.T) {
	t.Parallel()
	runAudit(t, openEmbeddedHarness)
}

func runAudit(t *testing.T, open openFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, open openFunc)
	}{
		{"Pages", testAuditPages},
		{"Refusals", testAuditRefusals},
		{"Retention", testAuditRetention},
		{"Changes", testAuditChanges},
		{"MergedPages", testAuditMergedPages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open) })
	}
}

// auditEvent is the i-th event of the tests.
func auditEvent(i int) AuditEvent {
	return AuditEvent{
		At:        t0.Add(time.Duration(i)*time.Second + 123456789*time.Nanosecond),
		KeyID:     "key-0123456789ab",
		Role:      "booking",
		Action:    []string{"create", "cancel", "reschedule", "move"}[i%4],
		BookingID: fmt.Sprintf("b-%d", i),
		Result:    []string{"ok", "unservable"}[i%2],
		RequestID: fmt.Sprintf("req-%d", i),
	}
}

// testAuditPages appends events and reads them back, newest first, page
// by page with before and limit.
func testAuditPages(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	if got, err := s.ReadAudit(ctx, "", 10); err != nil || len(got) != 0 {
		t.Fatalf("ReadAudit(empty) = %v, %v; want none", got, err)
	}
	const n = 25
	for i := range n {
		if err := s.AppendAudit(ctx, auditEvent(i), 0); err != nil {
			t.Fatalf("AppendAudit(%d): %v", i, err)
		}
	}
	var got []AuditEvent
	before := ""
	for page := 0; ; page++ {
		events, err := s.ReadAudit(ctx, before, 10)
		if err != nil {
			t.Fatalf("ReadAudit(page %d): %v", page, err)
		}
		if want := min(10, n-len(got)); len(events) != want {
			t.Fatalf("page %d has %d events, want %d", page, len(events), want)
		}
		if len(events) == 0 {
			break
		}
		got = append(got, events...)
		before = events[len(events)-1].ID
	}
	var want []AuditEvent
	for i := n - 1; i >= 0; i-- {
		want = append(want, auditEvent(i))
	}
	if diff := cmp.Diff(got, want, cmpopts.IgnoreFields(AuditEvent{}, "ID")); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	for i := 1; i < len(got); i++ {
		if got[i].ID == "" || got[i].ID == got[i-1].ID {
			t.Errorf("event %d has id %q after %q", i, got[i].ID, got[i-1].ID)
		}
	}

	// An event holds exactly the documented fields, none of them personal.
	msgs, err := s.rdb.XRange(ctx, auditKey, "-", "+").Result()
	if err != nil || len(msgs) != n {
		t.Fatalf("XRANGE = %d entries, %v", len(msgs), err)
	}
	var fields []string
	for k := range msgs[0].Values {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	if diff := cmp.Diff(fields, []string{"action", "at", "booking_id", "key_id", "request_id", "result", "role"}); diff != "" {
		t.Errorf("stored fields (-got +want):\n%s", diff)
	}
}

func testAuditRefusals(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	if err := s.AppendAudit(ctx, auditEvent(0), 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		before string
		limit  int
		field  string
	}{
		{"", 0, "limit"},
		{"", -1, "limit"},
		{"", 1001, "limit"},
		{"nonsense", 10, "before"},
		{"12", 10, "before"},
		{"-1", 10, "before"},
		{"1-", 10, "before"},
		{"1-2-3", 10, "before"},
		{"+", 10, "before"},
	}
	for _, tt := range tests {
		_, err := s.ReadAudit(ctx, tt.before, tt.limit)
		wantCode(t, fmt.Sprintf("ReadAudit(%q, %d)", tt.before, tt.limit), err, doorstep.EINVALID)
		if e := asAppError(err); e == nil || e.Field != tt.field {
			t.Errorf("ReadAudit(%q, %d) = %v, want field %q", tt.before, tt.limit, err, tt.field)
		}
	}
	// An id older than every entry is a valid, empty page.
	if got, err := s.ReadAudit(ctx, "0-1", 10); err != nil || len(got) != 0 {
		t.Errorf("ReadAudit(0-1) = %v, %v; want none", got, err)
	}
	if got, err := s.ReadAudit(ctx, "", 1000); err != nil || len(got) != 1 {
		t.Errorf("ReadAudit(limit 1000) = %v, %v; want the one event", got, err)
	}
}

// testAuditRetention: the stream stays near its bound however many events
// are appended. Redis trims whole macro nodes (100 entries by default), so
// it may hold up to a node more than the bound, never less.
func testAuditRetention(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	const retention, appended, node = 50, 1000, 100
	for i := range appended {
		if err := s.AppendAudit(ctx, auditEvent(i), retention); err != nil {
			t.Fatalf("AppendAudit(%d): %v", i, err)
		}
	}
	n, err := s.rdb.XLen(ctx, auditKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("XLEN = %d after %d events with retention %d", n, appended, retention)
	if n < retention || n > retention+node {
		t.Errorf("XLEN = %d after %d events with retention %d; want in [%d, %d]", n, appended, retention, retention, retention+node)
	}
	// The newest survive.
	got, err := s.ReadAudit(ctx, "", 1)
	if err != nil || len(got) != 1 || got[0].BookingID != auditEvent(appended-1).BookingID {
		t.Errorf("newest event = %v, %v; want %s", got, err, auditEvent(appended-1).BookingID)
	}
}

// testAuditChanges: Apply writes the events of its change, with who acts
// (WithAudit): a create per created booking, and per updated one a cancel,
// a reschedule, or a move with the change's reason.
func testAuditChanges(t *testing.T, open openFunc) {
	s := open(t).s
	who := AuditEvent{At: t0, KeyID: "key-0123456789ab", Role: "booking", RequestID: "req-1"}
	ctx := WithAudit(context.Background(), who, 0)
	w1, w2 := newWorker("w1", nycA), newWorker("w2", nycB)
	mustPutWorker(t, s, w1)
	mustPutWorker(t, s, w2)
	region := regionOf(w1)
	b := newBooking(w1, t0, time.Hour, nycA)
	apply := func(ch Change) {
		t.Helper()
		ch.Region = region
		ch.Expect = map[string]int64{"w1": mustVersion(t, s, "w1"), "w2": mustVersion(t, s, "w2")}
		if err := s.Apply(ctx, ch); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	apply(Change{Create: []*doorstep.Booking{b}})
	later := *b
	later.Touch(t0, doorstep.ChangeReschedule)
	later.Start, later.End = t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	apply(Change{Update: []*doorstep.Booking{&later}})
	urgent := newBooking(w1, t0, time.Hour, nycA)
	moved := later
	moved.Touch(t0, doorstep.ChangeRescue)
	moved.WorkerID = "w2"
	apply(Change{Create: []*doorstep.Booking{urgent}, Update: []*doorstep.Booking{&moved}, Reason: doorstep.ChangeRescue})
	gone := moved
	gone.Touch(t0, doorstep.ChangeCancel)
	gone.Status = doorstep.StatusCancelled
	apply(Change{Update: []*doorstep.Booking{&gone}})

	got, err := s.ReadAudit(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(got)
	event := func(action, id, reason string) AuditEvent {
		e := who
		e.Action, e.BookingID, e.Result, e.Reason = action, id, "ok", reason
		return e
	}
	want := []AuditEvent{event("create", b.ID, ""), event("reschedule", b.ID, ""), event("create", urgent.ID, ""),
		event("move", b.ID, doorstep.ChangeRescue), event("cancel", b.ID, "")}
	if diff := cmp.Diff(got, want, cmpopts.IgnoreFields(AuditEvent{}, "ID")); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
}

// testAuditMergedPages: the global stream and the regions' streams read as
// one log, newest first, whose pages neither skip nor repeat an event when
// entry ids are equal across streams.
func testAuditMergedPages(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	streams := []string{auditKey, regionAuditKey(regionOfLoc(nycA)), regionAuditKey(regionOfLoc(philly))}
	var all []string // booking ids, oldest first
	for ms := 1; ms <= 3; ms++ {
		for seq := range 2 {
			for i, key := range streams {
				if (ms+seq+i)%4 == 0 {
					continue // not every stream has every id
				}
				id := fmt.Sprintf("b-%d-%d-%d", ms, seq, i)
				err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: fmt.Sprintf("%d-%d", ms, seq), Values: []string{"action", "create", "booking_id", id}}).Err()
				if err != nil {
					t.Fatalf("XADD: %v", err)
				}
				all = append(all, id)
			}
		}
	}
	slices.Reverse(all)
	for _, limit := range []int{1, 2, 3, 1000} {
		var got []string
		before := ""
		for range len(all) + 1 {
			events, err := s.ReadAudit(ctx, before, limit)
			if err != nil {
				t.Fatalf("ReadAudit(%q, %d): %v", before, limit, err)
			}
			if len(events) == 0 {
				break
			}
			for _, e := range events {
				got = append(got, e.BookingID)
			}
			before = events[len(events)-1].ID
		}
		if diff := cmp.Diff(got, all); diff != "" {
			t.Errorf("pages of %d (-got +want):\n%s", limit, diff)
		}
	}
}

// asAppError returns the *doorstep.Error in err's chain, or nil.
func asAppError(err error) *doorstep.Error {
	var e *doorstep.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
