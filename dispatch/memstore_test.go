package dispatch_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store"
)

// memStore is dispatch.Store in memory: enough of the store's contract
// (versions pinned by Apply, bookings by worker) to run the use cases
// without Redis. beforeApply, when set, may refuse a change (a race lost).
type memStore struct {
	mu          sync.Mutex
	workers     map[string]*doorstep.Worker
	versions    map[string]int64
	bookings    map[string]*doorstep.Booking
	beforeApply func(store.Change) error
}

var _ dispatch.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{workers: map[string]*doorstep.Worker{}, versions: map[string]int64{}, bookings: map[string]*doorstep.Booking{}}
}

func (m *memStore) WorkerIDsInCells(_ context.Context, cells []geo.Cell) ([]store.WorkerRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var refs []store.WorkerRef
	for id, w := range m.workers {
		if slices.Contains(cells, geo.IndexCell(w.Position())) {
			refs = append(refs, store.WorkerRef{ID: id, Region: geo.RegionOf(w.Home).String()})
		}
	}
	slices.SortFunc(refs, func(a, b store.WorkerRef) int { return strings.Compare(a.ID, b.ID) })
	return refs, nil
}

func (m *memStore) LoadCandidates(_ context.Context, refs []store.WorkerRef, from, to time.Time) ([]store.Candidate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Candidate
	for _, r := range refs {
		w, ok := m.workers[r.ID]
		if !ok {
			continue
		}
		c := store.Candidate{Worker: w, Version: m.versions[r.ID]}
		for _, b := range m.bookings {
			if b.WorkerID == r.ID && b.Status == doorstep.StatusConfirmed && b.End.After(from) && b.Start.Before(to) {
				cp := *b
				c.Bookings = append(c.Bookings, &cp)
			}
		}
		slices.SortFunc(c.Bookings, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
		out = append(out, c)
	}
	return out, nil
}

func (m *memStore) LoadCells(ctx context.Context, seen *store.Seen, cells []geo.Cell, from, to time.Time, keep store.Keep) ([]store.Candidate, error) {
	refs, err := m.WorkerIDsInCells(ctx, cells)
	if err != nil {
		return nil, err
	}
	loaded, err := m.LoadCandidates(ctx, refs, from, to)
	var out []store.Candidate
	for _, c := range loaded {
		if seen.First(c.Worker.ID) && (keep == nil || keep.Keeps(c.Worker)) {
			out = append(out, c)
		}
	}
	return out, err
}

func (m *memStore) Apply(_ context.Context, ch store.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.beforeApply != nil {
		if err := m.beforeApply(ch); err != nil {
			return err
		}
	}
	for id, v := range ch.Expect {
		if m.versions[id] != v {
			return store.ErrConflict
		}
	}
	for _, b := range ch.Update {
		if old, ok := m.bookings[b.ID]; !ok || old.Status != doorstep.StatusConfirmed {
			return store.ErrNotConfirmed
		}
	}
	touched := map[string]bool{}
	for _, b := range ch.Create {
		cp := *b
		m.bookings[b.ID] = &cp
		touched[b.WorkerID] = true
	}
	for _, b := range ch.Update {
		touched[m.bookings[b.ID].WorkerID] = true
		cp := *b
		m.bookings[b.ID] = &cp
		touched[b.WorkerID] = true
	}
	for id := range touched {
		m.versions[id]++
	}
	return nil
}

func (m *memStore) GetBooking(_ context.Context, id string) (*doorstep.Booking, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.bookings[id]
	if !ok {
		return nil, doorstep.Errorf(doorstep.ENOTFOUND, "", "booking %s not found", id)
	}
	cp := *b
	return &cp, nil
}

func (m *memStore) CancelBooking(context.Context, string, time.Time) (*doorstep.Booking, error) {
	return nil, errors.ErrUnsupported
}
func (m *memStore) PutSeries(context.Context, *store.Series) error { return errors.ErrUnsupported }
func (m *memStore) GetSeries(context.Context, string) (*store.Series, error) {
	return nil, errors.ErrUnsupported
}
func (m *memStore) UpdateSeries(context.Context, *store.Series) error { return errors.ErrUnsupported }
func (m *memStore) ScheduleSeries(context.Context, string, time.Time) error {
	return errors.ErrUnsupported
}
func (m *memStore) UnscheduleSeries(context.Context, string) error { return errors.ErrUnsupported }
func (m *memStore) DueSeries(context.Context, time.Time, int) ([]string, error) {
	return nil, errors.ErrUnsupported
}
func (m *memStore) LastWorkerFresh(ctx context.Context, _, _, _ string) (context.Context, string, error) {
	return ctx, "", nil
}
func (m *memStore) SetLastWorker(context.Context, string, string, string) error { return nil }

func (m *memStore) GetWorker(_ context.Context, id string) (*doorstep.Worker, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.workers[id]
	if !ok {
		return nil, 0, doorstep.Errorf(doorstep.ENOTFOUND, "", "worker %s not found", id)
	}
	return w, m.versions[id], nil
}

func (m *memStore) PutWorker(_ context.Context, w *doorstep.Worker) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, existed := m.workers[w.ID]
	m.workers[w.ID] = w
	m.versions[w.ID]++
	return !existed, nil
}

// ListWorkers pages through the workers by id as the store does, without
// its budget of workers examined per call.
func (m *memStore) ListWorkers(_ context.Context, q store.WorkerQuery) (store.WorkerPage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := slices.Sorted(maps.Keys(m.workers))
	var page store.WorkerPage
	for _, id := range ids {
		w := m.workers[id]
		if id <= q.After && q.After != "" || q.Region != "" && geo.RegionOf(w.Home).String() != q.Region || q.Skill != "" && !slices.Contains(w.Skills, q.Skill) {
			continue
		}
		if len(page.Workers) == q.Limit {
			page.Next = page.Workers[len(page.Workers)-1].ID
			break
		}
		page.Workers = append(page.Workers, w)
	}
	return page, nil
}

func (m *memStore) DeleteWorker(context.Context, string) error { return errors.ErrUnsupported }
func (m *memStore) SetLocation(context.Context, string, doorstep.Location, time.Time) error {
	return errors.ErrUnsupported
}
func (m *memStore) WorkerBookings(_ context.Context, id string, from, to time.Time) ([]*doorstep.Booking, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*doorstep.Booking
	for _, b := range m.bookings {
		if b.WorkerID == id && b.Status == doorstep.StatusConfirmed && !b.Start.Before(from) && b.Start.Before(to) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
	return out, nil
}
func (m *memStore) LoadWorker(_ context.Context, id string, from, to time.Time) (*store.WorkerState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.workers[id]
	if !ok {
		return nil, doorstep.Errorf(doorstep.ENOTFOUND, "", "worker %s not found", id)
	}
	st := &store.WorkerState{Worker: w, Region: geo.RegionOf(w.Home).String(), Version: m.versions[id]}
	for _, b := range m.bookings {
		if b.WorkerID == id && b.Status == doorstep.StatusConfirmed && !b.Start.Before(from) && !b.Start.After(to) {
			cp := *b
			st.Bookings = append(st.Bookings, &cp)
		}
	}
	slices.SortFunc(st.Bookings, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
	return st, nil
}
func (m *memStore) AtRiskBookings(context.Context, time.Time, int) ([]*doorstep.Booking, error) {
	return nil, errors.ErrUnsupported
}
func (m *memStore) BeginIdempotent(context.Context, string, string, string, store.IdemOptions) (*store.IdempotencyRecord, bool, error) {
	return nil, false, errors.ErrUnsupported
}
func (m *memStore) FinishIdempotentBehind(context.Context, *store.Claim, store.IdemAnswer) error {
	return errors.ErrUnsupported
}
func (m *memStore) AbortIdempotent(context.Context, *store.Claim) error { return errors.ErrUnsupported }
func (m *memStore) EraseCustomer(context.Context, string, string, time.Time) (store.Erasure, error) {
	return store.Erasure{}, errors.ErrUnsupported
}

// memEnv is a Service on a memStore with a settable clock.
func memEnv(tb testing.TB, start time.Time, ws ...*doorstep.Worker) (*dispatch.Service, *memStore, *clock, *observer) {
	tb.Helper()
	st, clk, obs := newMemStore(), &clock{t: start}, &observer{}
	svc, err := dispatch.New(dispatch.Config{Store: st, Now: clk.Now, Observer: obs})
	if err != nil {
		tb.Fatalf("dispatch.New: %v", err)
	}
	for _, w := range ws {
		if _, _, err := svc.PutWorker(tb.Context(), w); err != nil {
			tb.Fatalf("PutWorker(%s): %v", w.ID, err)
		}
	}
	return svc, st, clk, obs
}

// TestBookWithoutRedis runs the booking loop on the in-memory store: a
// reservation that loses its race (forced through the store, as a
// concurrent booking would) goes to the next option; a rescue is applied
// in one step that moves the normal booking.
func TestBookWithoutRedis(t *testing.T) {
	t.Run("a lost race books the next option", func(t *testing.T) {
		svc, st, _, obs := memEnv(t, at(8, 0), worker("a", base, dayShift()), worker("b", offset(base, 1, 0), dayShift()))
		lost := false
		st.beforeApply = func(ch store.Change) error {
			if _, ok := ch.Expect["a"]; ok && !lost {
				lost = true
				return store.ErrConflict
			}
			return nil
		}
		b, err := svc.Book(t.Context(), normal(base, mins(60), at(9, 0), at(10, 0)), "")
		if err != nil {
			t.Fatalf("Book: %v", err)
		}
		if b.Booking.WorkerID != "b" || obs.conflicts.Load() != 1 {
			t.Errorf("booked %s after %d conflicts, want b after 1", b.Booking.WorkerID, obs.conflicts.Load())
		}
	})
	t.Run("a rescue moves the normal booking", func(t *testing.T) {
		north5 := offset(base, 5, 0)
		svc, st, clk, _ := memEnv(t, at(9, 0), worker("u", base, dayShift()))
		orig, err := svc.Book(t.Context(), normal(north5, mins(120), at(9, 10), at(14, 0)), "")
		if err != nil {
			t.Fatalf("Book (normal): %v", err)
		}
		clk.Set(at(9, 5))
		got, err := svc.Book(t.Context(), urgent("cleaning", base, mins(60)), "")
		if err != nil {
			t.Fatalf("Book (urgent): %v", err)
		}
		if got.Rescue == nil || got.Rescue.MovedBookingID != orig.Booking.ID {
			t.Fatalf("rescue %+v, want booking %s moved", got.Rescue, orig.Booking.ID)
		}
		moved, _ := st.GetBooking(t.Context(), orig.Booking.ID)
		if !moved.Start.After(got.Booking.End) || moved.Version != 2 {
			t.Errorf("moved booking starts %v (version %d), want after the urgent job's end %v, version 2", moved.Start, moved.Version, got.Booking.End)
		}
	})
}

// RecordUrgent and UrgentCounts: the memory store learns nothing (no
// urgent profile), which is a valid store: protection stays off.
func (m *memStore) RecordUrgent(context.Context, string, store.UrgentCall) error { return nil }
func (m *memStore) RecentUrgent(context.Context, string, time.Time) ([]store.UrgentCall, error) {
	return nil, nil
}
func (m *memStore) UrgentCounts(context.Context, int, time.Time) (store.UrgentCounts, error) {
	return store.UrgentCounts{Counts: map[string]map[string][24]int{}}, nil
}
