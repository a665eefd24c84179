package api

import (
	"net/http"
	"time"

	"github.com/doorstep-dev/doorstep"
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
// assignment left (dispatch.Service.Assign).
func (s *Server) handleAssign(w http.ResponseWriter, r *http.Request) {
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
	out, err := s.svc.Assign(r.Context(), reqs, body.Commit, viewer.KeyID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := assignJSON{
		Assignments: make([]placementJSON, 0, len(out.Placements)),
		Unassigned:  make([]unplacedJSON, 0, len(out.Unplaced)),
		Objective:   round2(out.Objective),
		SolveMs:     float64(out.Solve.Microseconds()) / 1000,
		Rounds:      out.Rounds,
		Optimal:     out.Optimal,
		ServedBound: out.ServedBound,
		UrgentBound: out.UrgentBound,
		Committed:   body.Commit,
	}
	for _, p := range out.Placements {
		pj := placementJSON{RequestID: p.RequestID, WorkerID: p.WorkerID, Start: p.Start, End: p.End, Arrival: p.Arrival,
			Cost: round2(p.Cost), Moves: movesOut(p.Moves, viewer)}
		if p.Booking != nil {
			pj.BookingID = p.Booking.ID // audited by the reservation itself
		}
		res.Assignments = append(res.Assignments, pj)
	}
	for _, u := range out.Unplaced {
		res.Unassigned = append(res.Unassigned, unplacedJSON(u))
	}
	writeJSON(w, http.StatusOK, res)
}
