package api

import (
	"net/http"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// Audit actions. The events of booking changes (create, cancel,
// reschedule, and move with its reason) are written by the change's own
// atomic step in the store (store.Apply, with who acts taken from the
// request's context: withAudit); the handlers append the others through
// audit: refused requests and erasures.
const (
	auditCreate     = "create"
	auditCancel     = "cancel"
	auditReschedule = "reschedule"
	auditErase      = "erase_customer"
)

// withAudit puts who makes the request into its context, for the audit
// events the store writes with each booking change.
func (s *Server) withAudit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		who := store.AuditEvent{At: s.svc.Now(), KeyID: p.KeyID, Role: string(p.Role), RequestID: middleware.GetReqID(r.Context())}
		next.ServeHTTP(w, r.WithContext(store.WithAudit(r.Context(), who, s.auditMax)))
	})
}

// audit appends one event for a request that changed no booking (a refusal,
// an erasure) to the global stream. It never fails the request: a lost
// audit event is logged (with its request id, so an operator can
// reconstruct it from the logs) and counted.
func (s *Server) audit(r *http.Request, action, bookingID string, err error) {
	p := principalFrom(r.Context())
	result := "ok"
	if err != nil {
		result = doorstep.ErrorCode(err)
	}
	e := store.AuditEvent{At: s.svc.Now(), KeyID: p.KeyID, Role: string(p.Role), Action: action,
		BookingID: bookingID, Result: result, RequestID: middleware.GetReqID(r.Context())}
	ctx, cancel := settle(r, err)
	defer cancel()
	if aerr := s.st.AppendAudit(ctx, e, s.auditMax); aerr != nil {
		s.metrics.auditErrors.Inc()
		s.log.ErrorContext(r.Context(), "audit event lost", "err", aerr, "action", action, "booking", bookingID,
			"result", result, "request_id", e.RequestID, "key_id", p.KeyID)
	}
}

// handleAudit reads the audit log, newest first: ?limit=N&before=ID pages.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r, 100, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.st.ReadAudit(r.Context(), r.URL.Query().Get("before"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, auditOut(events))
}

// handleEraseCustomer erases what Doorstep holds of a customer
// (dispatch.Service.EraseCustomer): a booking key its own customer of that
// id, an admin (the operator) the id in every tenant's records.
func (s *Server) handleEraseCustomer(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if !doorstep.ValidID(id) { // a path that names no customer erases nothing, and is not audited
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "id", "not a customer id"))
		return
	}
	// Each booking the erasure cancels is audited by its cancel.
	er, err := s.svc.EraseCustomer(r.Context(), principalFrom(r.Context()).owner(), id)
	s.audit(r, auditErase, "", err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if er.RewritePending {
		s.log.InfoContext(r.Context(), "erased values stay in the Redis AOF files until the rewrite the server starts when the running one ends")
	}
	writeJSON(w, http.StatusOK, struct {
		Bookings int `json:"bookings_erased"`
	}{er.Bookings})
}
