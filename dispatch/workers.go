package dispatch

import (
	"context"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// PutWorker validates and stores w, creating or replacing it; created
// reports which. Its skills must be needed by services of the catalogue.
func (s *Service) PutWorker(ctx context.Context, w *doorstep.Worker) (created bool, err error) {
	if err := w.Validate(); err != nil {
		return false, err
	}
	if err := s.cfg.Catalogue.CheckWorkerSkills(w); err != nil {
		return false, err
	}
	return s.st.PutWorker(ctx, w)
}

// Worker returns worker id.
func (s *Service) Worker(ctx context.Context, id string) (*doorstep.Worker, error) {
	w, _, err := s.st.GetWorker(ctx, id)
	return w, err
}

// RetireWorker removes worker id from dispatch; its bookings stay readable.
func (s *Service) RetireWorker(ctx context.Context, id string) error {
	return s.st.DeleteWorker(ctx, id)
}

// Locate records worker id's position at time at (zero: now).
func (s *Service) Locate(ctx context.Context, id string, loc doorstep.Location, at time.Time) error {
	if err := loc.Validate("location"); err != nil {
		return err
	}
	now := s.cfg.Now()
	if at.IsZero() {
		at = now
	} else if at.After(now.Add(time.Minute)) {
		return doorstep.Errorf(doorstep.EINVALID, "at", "a position cannot be reported from the future")
	}
	return s.st.SetLocation(ctx, id, loc, at)
}

// WorkerBookings returns worker id's confirmed bookings starting in
// [from, to), by start.
func (s *Service) WorkerBookings(ctx context.Context, id string, from, to time.Time) ([]*doorstep.Booking, error) {
	if !to.After(from) {
		return nil, doorstep.Errorf(doorstep.EINVALID, "to", "to must be after from")
	}
	if to.Sub(from) > 31*24*time.Hour {
		return nil, doorstep.Errorf(doorstep.EINVALID, "to", "at most 31 days at a time")
	}
	if _, _, err := s.st.GetWorker(ctx, id); err != nil {
		return nil, err
	}
	return s.st.WorkerBookings(ctx, id, from, to)
}
