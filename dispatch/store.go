package dispatch

import (
	"context"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store"
)

// Store is the state as dispatch sees it: the reads the use cases make and
// the one atomic step (Apply) that writes bookings. *store.Store implements
// it on Redis; the decisions themselves are pure (matcher), so a test or a
// what-if can run the use cases on any implementation.
type Store interface {
	// WorkerIDsInCells and LoadCandidates read the workers around a
	// request; LoadCells reads the workers of a step of a search, each
	// worker once, keeping those keep accepts.
	WorkerIDsInCells(ctx context.Context, cells []geo.Cell) ([]store.WorkerRef, error)
	LoadCandidates(ctx context.Context, refs []store.WorkerRef, from, to time.Time) ([]store.Candidate, error)
	LoadCells(ctx context.Context, seen *store.Seen, cells []geo.Cell, from, to time.Time, keep store.Keep) ([]store.Candidate, error)
	// Apply creates and moves bookings atomically, pinning worker versions.
	Apply(ctx context.Context, ch store.Change) error

	GetBooking(ctx context.Context, id string) (*doorstep.Booking, error)
	CancelBooking(ctx context.Context, id string, now time.Time) (*doorstep.Booking, error)
	PutSeries(ctx context.Context, sr *store.Series) error
	GetSeries(ctx context.Context, id string) (*store.Series, error)
	// UpdateSeries rewrites a series read by GetSeries unless it changed
	// since (ErrConflict); ScheduleSeries, UnscheduleSeries and DueSeries
	// keep the roll-forward's queue of series (RollForward).
	UpdateSeries(ctx context.Context, sr *store.Series) error
	ScheduleSeries(ctx context.Context, id string, due time.Time) error
	UnscheduleSeries(ctx context.Context, id string) error
	DueSeries(ctx context.Context, now time.Time, limit int) ([]string, error)

	// LastWorkerFresh reads a customer's last worker; with a region
	// (else ""), it may also read that region's change feed in the same
	// round trip, and then returns ctx carrying the read for the
	// request's first search (store.WithSearchRegion).
	LastWorkerFresh(ctx context.Context, tenant, customerID, region string) (context.Context, string, error)
	SetLastWorker(ctx context.Context, tenant, customerID, workerID string) error

	GetWorker(ctx context.Context, id string) (*doorstep.Worker, int64, error)
	PutWorker(ctx context.Context, w *doorstep.Worker) (created bool, err error)
	DeleteWorker(ctx context.Context, id string) error
	SetLocation(ctx context.Context, id string, loc doorstep.Location, at time.Time) error
	WorkerBookings(ctx context.Context, id string, from, to time.Time) ([]*doorstep.Booking, error)
	// ListWorkers pages through the workers in order of id.
	ListWorkers(ctx context.Context, q store.WorkerQuery) (store.WorkerPage, error)
	// LoadWorker reads a worker, retired or not, with its version and
	// bookings, and AtRiskBookings the bookings marked at risk: the
	// re-planning of bookings when the world changes (Replanned).
	LoadWorker(ctx context.Context, id string, from, to time.Time) (*store.WorkerState, error)
	AtRiskBookings(ctx context.Context, since time.Time, limit int) ([]*doorstep.Booking, error)

	// BeginIdempotent, FinishIdempotentBehind and AbortIdempotent run
	// the Idempotency-Key claim protocol (BookOnce); the answer is
	// written behind the request.
	BeginIdempotent(ctx context.Context, scope, key, fingerprint string, opt store.IdemOptions) (*store.IdempotencyRecord, bool, error)
	FinishIdempotentBehind(ctx context.Context, c *store.Claim, a store.IdemAnswer) error
	AbortIdempotent(ctx context.Context, c *store.Claim) error
	// RecordUrgent counts an urgent request and keeps its place;
	// UrgentCounts reads the counts back (the learnt urgent profile,
	// LearnUrgentProfile) and RecentUrgent the places (Standby).
	RecordUrgent(ctx context.Context, region string, call store.UrgentCall) error
	UrgentCounts(ctx context.Context, days int, now time.Time) (store.UrgentCounts, error)
	RecentUrgent(ctx context.Context, region string, since time.Time) ([]store.UrgentCall, error)
	// EraseCustomer erases a tenant's customer (EraseCustomer).
	EraseCustomer(ctx context.Context, tenant, customerID string, now time.Time) (store.Erasure, error)
}

var _ Store = (*store.Store)(nil)
