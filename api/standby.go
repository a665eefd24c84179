package api

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
)

// defaultStandbyRadiusKm is the area of a standby plan when the query
// names none.
const defaultStandbyRadiusKm = 10

type standbyMoveJSON struct {
	WorkerID    string            `json:"worker_id"`
	From        doorstep.Location `json:"from"`
	To          doorstep.Location `json:"to"`
	Km          float64           `json:"km"`
	GainMinutes float64           `json:"gain_minutes"`
}

type standbyJSON struct {
	At       time.Time          `json:"at"`
	Moves    []standbyMoveJSON  `json:"moves"`
	Idle     int                `json:"idle"`
	Busy     int                `json:"busy"`
	Calls    int                `json:"calls"`
	Expected map[string]float64 `json:"expected"`
}

// handleStandby answers where the idle workers of urgent trades around
// lat,lng should wait (dispatch.Service.Standby).
func (s *Server) handleStandby(w http.ResponseWriter, r *http.Request) {
	var at doorstep.Location
	var err error
	if at.Lat, err = floatParam(r, "lat", nil); err == nil {
		at.Lng, err = floatParam(r, "lng", nil)
	}
	radius := float64(defaultStandbyRadiusKm)
	if err == nil {
		radius, err = floatParam(r, "radius_km", &radius)
	}
	switch {
	case err != nil:
	case at.Lat < -90 || at.Lat > 90:
		err = doorstep.Errorf(doorstep.EINVALID, "lat", "lat must be in [-90, 90]")
	case at.Lng < -180 || at.Lng > 180:
		err = doorstep.Errorf(doorstep.EINVALID, "lng", "lng must be in [-180, 180]")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	plan, err := s.svc.Standby(r.Context(), at, radius)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, standbyOut(plan))
}

func standbyOut(p *dispatch.StandbyPlan) standbyJSON {
	out := standbyJSON{At: p.At, Moves: make([]standbyMoveJSON, 0, len(p.Moves)), Idle: p.Idle, Busy: p.Busy,
		Calls: p.Calls, Expected: p.Expected}
	if out.Expected == nil {
		out.Expected = map[string]float64{}
	}
	for _, m := range p.Moves {
		out.Moves = append(out.Moves, standbyMoveJSON{WorkerID: m.WorkerID, From: m.From, To: m.To,
			Km: round3(m.Km), GainMinutes: round3(m.GainMinutes)})
	}
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// floatParam reads a finite number from the query; def when absent, or
// an error naming the parameter when it is required (def nil).
func floatParam(r *http.Request, name string, def *float64) (float64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		if def == nil {
			return 0, doorstep.Errorf(doorstep.EINVALID, name, "%s is required", name)
		}
		return *def, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, doorstep.Errorf(doorstep.EINVALID, name, "%s must be a finite number", name)
	}
	return x, nil
}
