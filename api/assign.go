package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
)

type assignBody struct {
	Requests []requestBody `json:"requests"`
	Commit   bool          `json:"commit"`
}

type placementJSON struct {
	RequestID string    `json:"request_id"`
	WorkerID  string    `json:"worker_id"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Arrival   time.Time `json:"arrival"`
	Cost      float64   `json:"cost"`
	BookingID string    `json:"booking_id,omitempty"`
	// Moves are the bookings moved to make room for a request booked after
	// the assignment (dispatch.Placement.Moves).
	Moves []rescueJSON `json:"moves,omitempty"`
	// Replayed is set on a placement an earlier call with the batch's
	// Idempotency-Key made (dispatch.Service.AssignOnce).
	Replayed bool `json:"replayed,omitempty"`
}

type unplacedJSON struct {
	RequestID string `json:"request_id"`
	Reason    string `json:"reason"`
}

type assignJSON struct {
	Assignments []placementJSON `json:"assignments"`
	Unassigned  []unplacedJSON  `json:"unassigned"`
	Objective   float64         `json:"objective"`
	SolveMs     float64         `json:"solve_ms"`
	Rounds      int             `json:"rounds"`
	Optimal     bool            `json:"optimal"`
	ServedBound int             `json:"served_bound"`
	UrgentBound int             `json:"urgent_bound"`
	Committed   bool            `json:"committed"`
}

// handleAssign places a batch of requests optimally; with "commit": true
// it books them, and then books as POST /v1/bookings does each request the
// assignment left (dispatch.Service.Assign). A committed batch with an
// Idempotency-Key books each request at most once: a retry gets the
// placements already made again and books only the others
// (dispatch.Service.AssignOnce). A plan writes nothing, so its key is not
// used.
func (s *Server) handleAssign(w http.ResponseWriter, r *http.Request) {
	key, err := idempotencyKey(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body assignBody
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(body.Requests) == 0 {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "requests", "at least one request is required"))
		return
	}
	reqs := make([]doorstep.Request, len(body.Requests))
	for i := range body.Requests {
		req, err := body.Requests[i].request(indexed("requests", i))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		reqs[i] = req
	}
	viewer := principalFrom(r.Context())
	if body.Commit && key != "" {
		s.assignOnce(w, r, reqs, dispatch.BatchKey{Scope: viewer.KeyID, Key: key, Fingerprint: bodyFingerprint(&body), TTL: s.idemTTL})
		return
	}
	out, err := s.svc.Assign(r.Context(), reqs, body.Commit, viewer.KeyID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, assignOut(out, nil, body.Commit, viewer))
}

// assignOnce answers a committed batch sent with an Idempotency-Key: it
// only translates dispatch.Service.AssignOnce's outcome to HTTP.
func (s *Server) assignOnce(w http.ResponseWriter, r *http.Request, reqs []doorstep.Request, k dispatch.BatchKey) {
	viewer := principalFrom(r.Context())
	once, err := s.svc.AssignOnce(r.Context(), reqs, k, func(p *dispatch.Placement) dispatch.Answer {
		body, _ := json.Marshal(placementOut(p, viewer))
		return dispatch.Answer{Status: http.StatusOK, Body: body}
	})
	if once != nil && once.Unrecorded != nil {
		s.log.WarnContext(r.Context(), "record a batch's idempotent answers or release its keys (a retry will recover them)", "err", once.Unrecorded)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.refuseOnce(w, r, once.Kind, once.RetryAfter, "batch", "batch") {
		return
	}
	if once.Kind == dispatch.OnceReplay {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	earlier := make([]placementJSON, 0, len(once.Earlier))
	for _, a := range once.Earlier {
		var pj placementJSON
		if err := json.Unmarshal(a.Body, &pj); err != nil {
			s.writeError(w, r, fmt.Errorf("read a batch's recorded answer: %w", err))
			return
		}
		earlier = append(earlier, pj)
	}
	writeJSON(w, http.StatusOK, assignOut(once.Outcome, earlier, true, viewer))
}

// assignOut is the answer to a batch: out's placements, and earlier, the
// recorded placements of an earlier call with the batch's key, marked
// replayed.
func assignOut(out *dispatch.BatchOutcome, earlier []placementJSON, committed bool, viewer Principal) assignJSON {
	res := assignJSON{
		Assignments: make([]placementJSON, 0, len(out.Placements)+len(earlier)),
		Unassigned:  make([]unplacedJSON, 0, len(out.Unplaced)),
		Objective:   out.Objective,
		SolveMs:     float64(out.Solve.Microseconds()) / 1000,
		Rounds:      out.Rounds,
		Optimal:     out.Optimal,
		ServedBound: out.ServedBound,
		UrgentBound: out.UrgentBound,
		Committed:   committed,
	}
	for i := range out.Placements {
		res.Assignments = append(res.Assignments, placementOut(&out.Placements[i], viewer))
	}
	for _, pj := range earlier {
		pj.Replayed = true
		res.Objective += pj.Cost
		res.Assignments = append(res.Assignments, pj)
	}
	if len(earlier) > 0 {
		slices.SortFunc(res.Assignments, func(a, b placementJSON) int { return strings.Compare(a.RequestID, b.RequestID) })
	}
	res.Objective = round2(res.Objective)
	for _, u := range out.Unplaced {
		res.Unassigned = append(res.Unassigned, unplacedJSON(u))
	}
	return res
}

// placementOut is p as viewer sees it.
func placementOut(p *dispatch.Placement, viewer Principal) placementJSON {
	pj := placementJSON{RequestID: p.RequestID, WorkerID: p.WorkerID, Start: p.Start, End: p.End, Arrival: p.Arrival,
		Cost: round2(p.Cost), Moves: movesOut(p.Moves, viewer), Replayed: p.Earlier}
	if p.Booking != nil {
		pj.BookingID = p.Booking.ID // audited by the reservation itself
	}
	return pj
}
