package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
)

// Reschedule moves normal booking id to a new window. The reschedule is a
// new promise made now: an appointment in that window, which must end
// within the booking horizon (Config.Horizon) from now. The
// same worker keeps the booking when it can serve the new window
// (continuity); otherwise the best other worker of the booking's region
// takes it. It is atomic: the old slot is released only in the step that
// reserves the new one, so a failed reschedule leaves the booking as it was.
func (s *Service) Reschedule(ctx context.Context, id, owner string, window doorstep.Window) (*doorstep.Booking, error) {
	for range s.cfg.MaxAttempts {
		b, err := s.Booking(ctx, id, owner)
		if err != nil {
			return nil, err
		}
		now := s.cfg.Now()
		switch {
		case b.Status != doorstep.StatusConfirmed:
			return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s is %s", id, b.Status)
		case b.Urgency != doorstep.Normal:
			return nil, doorstep.Errorf(doorstep.EINVALID, "window", "urgent bookings take no window and cannot be rescheduled; cancel and book again")
		case !now.Before(b.Arrival):
			return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s is under way and can no longer be rescheduled", id)
		case b.UnderWay():
			// Its worker reported progress (set off, say): moving the job
			// now would strand them.
			return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s is under way (its worker reported %s) and can no longer be rescheduled", id, b.State())
		}
		req := b.Request()
		req.RequestedAt = now
		req.Window = &window
		if err := s.cfg.Catalogue.Resolve(req); err != nil {
			return nil, err
		}
		if err := req.ValidateWithin(now, s.cfg.Horizon); err != nil {
			return nil, err
		}
		moved, err := s.reschedule(ctx, b, req, now)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotConfirmed) {
			s.cfg.Observer.Conflict()
			continue
		}
		return moved, err
	}
	return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s kept changing; retry", id)
}

func (s *Service) reschedule(ctx context.Context, b *doorstep.Booking, req *doorstep.Request, now time.Time) (*doorstep.Booking, error) {
	region, err := store.RegionOfBooking(b.ID)
	if err != nil {
		return nil, err
	}
	p, err := s.candidates(ctx, req, now)
	if err != nil {
		return nil, err
	}
	// The booking's own worker may have wandered out of the search: read it.
	ownVersion := int64(-1)
	if i := p.index(b.WorkerID); i >= 0 {
		ownVersion = p.cands[i].Version
	} else {
		from, to := horizon(now, schedule.JobFor(req, now))
		own, err := s.st.LoadCandidates(ctx, []store.WorkerRef{{ID: b.WorkerID, Region: region}}, from, to)
		if err != nil {
			return nil, fmt.Errorf("load worker %s: %w", b.WorkerID, err)
		}
		for _, c := range own {
			p.add(c)
			ownVersion = c.Version
		}
		if ownVersion < 0 {
			// Retired (its booking is at risk): the booking moves to
			// another worker, pinning the retired worker's version. A
			// worker whose home moved to another region cannot be pinned
			// in the booking's region: the move would not be atomic.
			ws, err := s.st.LoadWorker(ctx, b.WorkerID, now, now)
			if err != nil {
				return nil, fmt.Errorf("load worker %s: %w", b.WorkerID, err)
			}
			if ws.Region != region {
				return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "worker %s of booking %s moved to another region; cancel the booking and book again", b.WorkerID, b.ID)
			}
			ownVersion = ws.Version
		}
	}
	// Keep only workers whose keys share the booking's slot: the move must
	// be one atomic step. Free the booking's own slot in its worker's day.
	var cands []matcher.Candidate
	for _, c := range p.cands {
		if c.Region != region {
			continue
		}
		if c.Worker.ID == b.WorkerID {
			c.Timeline = c.Timeline.Without(b.ID)
		}
		cands = append(cands, c)
	}
	job := schedule.JobFor(req, now)
	hist := matcher.History{LastWorker: b.WorkerID}
	var pick *matcher.Option
	for i := range cands {
		if cands[i].Worker.ID == b.WorkerID {
			if o, reason := s.m.Evaluate(req, job, &cands[i], hist); reason == "" {
				pick = &o
			}
		}
	}
	if pick == nil {
		res := s.m.Match(req, cands, now, hist)
		if len(res.Options) == 0 {
			return nil, s.unservable(req, pool{cands: cands}, nil, now, hist)
		}
		pick = &res.Options[0]
	}
	moved := *b
	moved.Touch(now, doorstep.ChangeReschedule)
	moved.WorkerID, moved.Start, moved.End, moved.Arrival = pick.WorkerID, pick.Slot.Start, pick.Slot.End, pick.Slot.Arrival
	moved.Window, moved.RequestedAt, moved.Deadline = req.Window, req.RequestedAt, req.Deadline()
	expect := map[string]int64{pick.WorkerID: pick.Version}
	if pick.WorkerID != b.WorkerID {
		expect[b.WorkerID] = ownVersion
	}
	if err := s.st.Apply(ctx, store.Change{Region: region, Expect: expect, Update: []*doorstep.Booking{&moved}}); err != nil {
		return nil, fmt.Errorf("reschedule booking %s: %w", b.ID, err)
	}
	return &moved, nil
}
