package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
)

// MaxBatch bounds the requests of one batch assignment.
const MaxBatch = 2000

// ReasonConflict marks a batch request whose reservation lost a race
// against another booking when the batch was committed.
const ReasonConflict = "conflict"

// Placement is a request placed by a batch, booked when the batch commits.
type Placement struct {
	RequestID string
	WorkerID  string
	Start     time.Time
	End       time.Time
	Arrival   time.Time
	Cost      float64
	// Booking is the confirmed booking when the batch was committed.
	Booking *doorstep.Booking
	// Moves lists the bookings moved to make room, when the request was
	// booked after the assignment by the booking path (bookLeft).
	Moves []Rescue
	// Earlier is set when an earlier call with the batch's Idempotency-Key
	// booked the request and ended before it answered (AssignOnce): the
	// placement is its booking as it stands now, without Cost or Moves.
	Earlier bool
}

// Unplaced is a request a batch could not place, and why.
type Unplaced struct {
	RequestID string
	Reason    string
}

// BatchOutcome is the answer to Assign.
type BatchOutcome struct {
	Placements []Placement
	Unplaced   []Unplaced
	Objective  float64
	Solve      time.Duration
	Rounds     int
	// Optimal, ServedBound and UrgentBound are the plan's
	// (matcher.BatchResult): whether it is proven optimal, and upper
	// bounds on the requests and urgent requests any plan could serve.
	Optimal                  bool
	ServedBound, UrgentBound int
}

// Assign places many requests at once, optimally (matcher.Assign: urgent
// requests served first, then as many as possible, then at least cost, a
// worker taking several in sequence where that serves more), with each
// request's candidates found as a booking's search finds them
// (matcher.BatchItems). With commit, every placement is booked through the same atomic
// reservation as Book — one step per worker, so a worker whose timeline
// changed meanwhile loses only its own placements — and then every
// request still unplaced is booked as Book books it (bookLeft), which
// may move unstarted bookings to make room: a committed batch serves
// every request a booking would. A request neither could place is
// reported with the reason a booking would answer. Without commit it is a plan and nothing is
// written; it moves no booking. AssignOnce commits a batch at most once
// per Idempotency-Key.
//
// Request ids must be present and unique; errors name the offending
// request as requests[i].field.
func (s *Service) Assign(ctx context.Context, reqs []doorstep.Request, commit bool, owner string) (*BatchOutcome, error) {
	if err := s.checkBatch(reqs); err != nil {
		return nil, err
	}
	return s.assign(ctx, reqs, commit, owner, nil)
}

// checkBatch checks a batch's size and request ids and prepares each
// request (Prepare); errors name the request as requests[i].field.
func (s *Service) checkBatch(reqs []doorstep.Request) error {
	if len(reqs) == 0 {
		return doorstep.Errorf(doorstep.EINVALID, "requests", "at least one request is required")
	}
	if len(reqs) > MaxBatch {
		return doorstep.Errorf(doorstep.ETOOLARGE, "requests", "at most %d requests a batch, got %d", MaxBatch, len(reqs))
	}
	seen := make(map[string]bool, len(reqs))
	for i := range reqs {
		r := &reqs[i]
		if r.ID == "" {
			return doorstep.Errorf(doorstep.EINVALID, fmt.Sprintf("requests[%d].id", i), "every request of a batch needs an id")
		}
		if seen[r.ID] {
			return doorstep.Errorf(doorstep.EINVALID, fmt.Sprintf("requests[%d].id", i), "id %q appears twice", r.ID)
		}
		seen[r.ID] = true
		if err := s.Prepare(r); err != nil {
			return prefixField(err, fmt.Sprintf("requests[%d].", i))
		}
	}
	return nil
}

// assign is Assign on a checked batch. With claims (committed batches
// only), each request is booked under its own idempotency claim
// (AssignOnce): every placement is then its own step, its worker's
// version pinned as the step before it left it, since one step carries
// one claim.
func (s *Service) assign(ctx context.Context, reqs []doorstep.Request, commit bool, owner string, claims map[string]*store.Claim) (*BatchOutcome, error) {
	now := s.cfg.Now()
	if commit {
		// Urgent demand is learned from what is asked to be booked, as Book
		// counts it; a plan, like a quote, is not counted.
		for i := range reqs {
			s.recordUrgent(ctx, &reqs[i], now)
		}
	}
	p, items, err := s.batchCandidates(ctx, reqs, now, owner)
	if err != nil {
		return nil, err
	}
	workers := p.cands
	t0 := time.Now()
	res, err := s.m.Assign(items, workers, now, matcher.BatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("assign batch: %w", err)
	}
	s.cfg.Observer.Matched("batch", len(workers), time.Since(t0))
	s.cfg.Observer.Solved(res.Solve)
	out := &BatchOutcome{Objective: res.Objective, Solve: res.Solve, Rounds: res.Rounds,
		Optimal: res.Optimal, ServedBound: res.ServedBound, UrgentBound: res.UrgentBound}
	for _, u := range res.Unassigned {
		out.Unplaced = append(out.Unplaced, Unplaced{RequestID: reqs[u.Item].ID, Reason: u.Reason})
	}
	byWorker := map[int][]matcher.Assignment{}
	for _, a := range res.Assignments {
		byWorker[a.Worker] = append(byWorker[a.Worker], a)
	}
	order := make([]int, 0, len(byWorker))
	for w := range byWorker {
		order = append(order, w)
	}
	slices.Sort(order)
	fault := false // the store failed: nothing more is tried
	for _, w := range order {
		as := byWorker[w]
		wk := workers[w].Worker
		var bookings []*doorstep.Booking
		if commit {
			region := p.region(wk.ID)
			var cl []*store.Claim // each booking's claim, when claimed
			for _, a := range as {
				bookings = append(bookings, s.newBooking(items[a.Item].Request, &a.Option, region, owner, now))
				if claims != nil {
					cl = append(cl, claims[reqs[a.Item].ID])
				}
			}
			made, err := s.applyPlacements(ctx, region, wk.ID, workers[w].Version, bookings, cl)
			// The first made are booked whatever err says; the rest are not.
			left := as[made:]
			as, bookings = as[:made], bookings[:made]
			var reason string
			switch {
			case errors.Is(err, store.ErrConflict):
				s.cfg.Observer.Conflict()
				reason = ReasonConflict
			case err != nil:
				// Bookings of earlier workers are made and must be reported,
				// or a retry of the whole batch would book them twice: this
				// worker's requests left (and any later ones) come back as
				// unplaced with the error's code, and the answer stands.
				fault, reason = true, doorstep.ErrorCode(err)
			}
			for _, a := range left {
				out.Unplaced = append(out.Unplaced, Unplaced{RequestID: reqs[a.Item].ID, Reason: reason})
				out.Objective -= a.Option.Cost
			}
		}
		for k, a := range as {
			p := Placement{RequestID: reqs[a.Item].ID, WorkerID: wk.ID, Start: a.Option.Slot.Start,
				End: a.Option.Slot.End, Arrival: a.Option.Slot.Arrival, Cost: a.Option.Cost}
			if commit {
				p.Booking = bookings[k]
				s.booked(ctx, owner, items[a.Item].Request, bookings[k], a.Option.Slot.Overtime)
			}
			out.Placements = append(out.Placements, p)
		}
	}
	if commit && !fault {
		s.bookLeft(ctx, reqs, out, owner, claims)
	}
	slices.SortFunc(out.Placements, func(a, b Placement) int { return strings.Compare(a.RequestID, b.RequestID) })
	slices.SortFunc(out.Unplaced, func(a, b Unplaced) int { return strings.Compare(a.RequestID, b.RequestID) })
	return out, nil
}

// bookLeft books each request of a committed batch that out leaves
// unplaced, one at a time as Book does (without counting its urgent
// demand again): urgent requests first, then in the batch's order. The
// booking path reads the workers afresh, so a request whose reservation
// lost a race is tried again, and it may move unstarted bookings inside
// their promises to make room (matcher.PlanRescue), which the assignment
// does not. A request it cannot serve either is reported with the reason
// a booking's 422 would give now ("conflict" when its reservations lost
// every race); the first fault (the store failing) ends the pass: that
// request is reported with the error's code, and those not tried yet with
// the assignment's reason.
func (s *Service) bookLeft(ctx context.Context, reqs []doorstep.Request, out *BatchOutcome, owner string, claims map[string]*store.Claim) {
	index := make(map[string]int, len(reqs))
	for i := range reqs {
		index[reqs[i].ID] = i
	}
	left := slices.Clone(out.Unplaced)
	slices.SortFunc(left, func(a, b Unplaced) int {
		if c := doorstep.CompareUrgency(reqs[index[a.RequestID]].Urgency, reqs[index[b.RequestID]].Urgency); c != 0 {
			return c
		}
		return index[a.RequestID] - index[b.RequestID]
	})
	out.Unplaced = out.Unplaced[:0]
	fault := false
	for _, u := range left {
		if fault {
			out.Unplaced = append(out.Unplaced, u)
			continue
		}
		req := &reqs[index[u.RequestID]]
		bctx := ctx
		if c := claims[req.ID]; c != nil {
			bctx = store.WithClaim(ctx, c)
		}
		bk, err := s.book(bctx, req, owner, false)
		if err != nil {
			var de *doorstep.Error
			switch code := doorstep.ErrorCode(err); code {
			case doorstep.EUNSERVABLE:
				if errors.As(err, &de) && de.Reason != "" {
					u.Reason = de.Reason // what a booking would answer now
				}
			case doorstep.ECONFLICT:
				u.Reason = ReasonConflict
			default:
				fault, u.Reason = true, code
			}
			out.Unplaced = append(out.Unplaced, u)
			continue
		}
		b := bk.Booking
		out.Placements = append(out.Placements, Placement{RequestID: req.ID, WorkerID: b.WorkerID, Start: b.Start,
			End: b.End, Arrival: b.Arrival, Cost: bk.Cost, Booking: b, Moves: bk.Moves})
		out.Objective += bk.Cost
	}
}

// applyPlacements books one worker's placements of a batch, the worker
// pinned at version: in one step without claims, else one step a
// booking under its claim (claims[i] for bookings[i]), each pinning the
// version the step before left. It returns how many of bookings (a
// prefix) are made, and the error that stopped the rest.
func (s *Service) applyPlacements(ctx context.Context, region, workerID string, version int64, bookings []*doorstep.Booking, claims []*store.Claim) (int, error) {
	if claims == nil {
		if err := s.st.Apply(ctx, store.Change{Region: region, Expect: map[string]int64{workerID: version}, Create: bookings}); err != nil {
			return 0, err
		}
		return len(bookings), nil
	}
	for i, b := range bookings {
		cctx := ctx
		if c := claims[i]; c != nil {
			cctx = store.WithClaim(ctx, c)
		}
		if err := s.st.Apply(cctx, store.Change{Region: region, Expect: map[string]int64{workerID: version + int64(i)}, Create: []*doorstep.Booking{b}}); err != nil {
			return i, err
		}
	}
	return len(bookings), nil
}

// batchCandidates reads every worker within reach of any request in one
// pass and gives each request its nearest workers who could serve it
// (matcher.BatchItems, matcher.CouldServe, by where the planner starts
// them) and its
// customer's history under owner, as Book reads it: the batch's costs
// honour continuity as a single booking's do.
func (s *Service) batchCandidates(ctx context.Context, reqs []doorstep.Request, now time.Time, owner string) (pool, []matcher.BatchItem, error) {
	travel := s.m.Config().Travel
	searches := make([]matcher.Search, len(reqs))
	cellSet := map[geo.Cell]bool{}
	var cells []geo.Cell
	var from, to time.Time
	for i := range reqs {
		searches[i] = matcher.SearchFor(&reqs[i], now, travel, s.cfg.NormalReachKm)
		for _, ring := range geo.Rings(searches[i].Center, searches[i].MaxRings) {
			for _, c := range ring {
				if !cellSet[c] {
					cellSet[c] = true
					cells = append(cells, c)
				}
			}
		}
		f, t := horizon(now, schedule.JobFor(&reqs[i], now))
		if i == 0 || f.Before(from) {
			from = f
		}
		if i == 0 || t.After(to) {
			to = t
		}
	}
	refs, err := s.st.WorkerIDsInCells(ctx, cells)
	if err != nil {
		return pool{}, nil, fmt.Errorf("find workers near batch: %w", err)
	}
	loaded, err := s.st.LoadCandidates(ctx, refs, from, to)
	if err != nil {
		return pool{}, nil, fmt.Errorf("load batch candidates: %w", err)
	}
	p := newPool()
	ix := matcher.NewIndex()
	for _, c := range loaded {
		if p.add(c) {
			ix.Put(len(p.cands)-1, c.Worker.PositionAt(now))
		}
	}
	rs := make([]*doorstep.Request, len(reqs))
	hist := make([]matcher.History, len(reqs))
	byCustomer := map[string]matcher.History{}
	for i := range reqs {
		rs[i] = &reqs[i]
		id := reqs[i].CustomerID
		h, ok := byCustomer[id]
		if !ok {
			if h, err = s.history(ctx, owner, id); err != nil {
				return pool{}, nil, err
			}
			byCustomer[id] = h
		}
		hist[i] = h
	}
	return p, s.m.BatchItems(rs, hist, p.cands, ix, now, s.cfg.NormalReachKm, s.cfg.WantCandidates), nil
}

// prefixField prefixes the field of an *doorstep.Error (for errors about
// one request of a batch).
func prefixField(err error, prefix string) error {
	var e *doorstep.Error
	if errors.As(err, &e) {
		c := *e
		c.Field = prefix + c.Field
		return &c
	}
	return err
}
