package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/sim"
)

// SimulationLimits bound what POST /v1/simulations runs. The zero value
// takes the defaults.
type SimulationLimits struct {
	// MaxWorkers, MaxRequests (per variant and seed), MaxVariants and
	// MaxReplications (seeds) bound the size; beyond them the answer is
	// 413. Zero means 5,000, 50,000, 12 and 10. The timeout bounds the
	// whole run, every replication included.
	MaxWorkers, MaxRequests, MaxVariants, MaxReplications int
	// Timeout bounds the run; beyond it the answer is 422. Zero means 60 s.
	Timeout time.Duration
}

func (l *SimulationLimits) defaults() {
	if l.MaxWorkers <= 0 {
		l.MaxWorkers = 5000
	}
	if l.MaxRequests <= 0 {
		l.MaxRequests = 50000
	}
	if l.MaxVariants <= 0 {
		l.MaxVariants = 12 // the example city has 9
	}
	if l.MaxReplications <= 0 {
		l.MaxReplications = 10
	}
	if l.Timeout <= 0 {
		l.Timeout = 60 * time.Second
	}
}

// handleSimulate runs a what-if scenario and answers its report. One
// simulation runs at a time per server (they are CPU-bound); another is
// refused with 429 rather than queued. Trace replays read files on the
// server and are for the CLI (doorstep simulate): over HTTP the demand
// must be synthetic.
func (s *Server) handleSimulate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The API's decoding rules first (duplicate keys, times, fields named),
	// then the scenario's own.
	if err := decodeBytes(body, new(sim.Scenario)); err != nil {
		s.writeError(w, r, err)
		return
	}
	sc, err := sim.ParseScenario(body)
	if err != nil {
		s.writeError(w, r, asInvalid(err))
		return
	}
	select {
	case s.simSlot <- struct{}{}:
		defer func() { <-s.simSlot }()
	default:
		s.writeError(w, r, doorstep.Errorf(doorstep.ERATELIMITED, "", "a simulation is already running on this server; retry later"))
		return
	}
	lim := s.simLimits
	ctx, cancel := context.WithTimeout(r.Context(), lim.Timeout)
	defer cancel()
	rep, err := sim.Replicate(ctx, sc, sc.Replications, sim.Options{Limits: sim.Limits{MaxWorkers: lim.MaxWorkers,
		MaxRequests: lim.MaxRequests, MaxVariants: lim.MaxVariants, MaxReplications: lim.MaxReplications}})
	switch {
	case errors.Is(err, sim.ErrNoTraces):
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "demand.replay", "trace replays run with the CLI (doorstep simulate); the API takes synthetic demand"))
		return
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		s.writeError(w, r, doorstep.Errorf(doorstep.EUNSERVABLE, "", "the simulation did not finish within %s; make it smaller or run it with the CLI", lim.Timeout))
		return
	case err != nil:
		s.writeError(w, r, asInvalid(err))
		return
	}
	out, err := rep.JSON()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// asInvalid keeps application errors as they are and reports any other
// error of a scenario as bad input; an invalid scenario that names no
// field is about the body as a whole.
func asInvalid(err error) error {
	var e *doorstep.Error
	switch {
	case !errors.As(err, &e):
		return doorstep.Errorf(doorstep.EINVALID, fieldBody, "%v", err)
	case e.Code == doorstep.EINVALID && e.Field == "":
		return &doorstep.Error{Code: e.Code, Field: fieldBody, Message: e.Message, Rejected: e.Rejected}
	}
	return err
}
