package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/events"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/go-chi/chi/v5"
)

// Webhooks (issue 15): a tenant registers URLs that receive its events
// (package events delivers them); ops and admin keys see every tenant's,
// with the state of their delivery.

// webhookBody is POST /v1/webhooks.
type webhookBody struct {
	URL string `json:"url"`
	// Secret signs the deliveries; empty: one is generated. Either way it
	// is answered once, at creation.
	Secret string `json:"secret,omitempty"`
	// Tenant, for ops and admin keys: whose events; empty: the caller's.
	Tenant string `json:"tenant,omitempty"`
}

// webhookJSON is a webhook on the wire.
type webhookJSON struct {
	ID        string       `json:"id"`
	Tenant    string       `json:"tenant"`
	URL       string       `json:"url"`
	Secret    string       `json:"secret,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	Delivery  deliveryJSON `json:"delivery"`
}

// deliveryJSON is the state of a webhook's delivery.
type deliveryJSON struct {
	Cursor      string    `json:"cursor"`
	Pending     int64     `json:"pending"`
	Delivered   int64     `json:"delivered"`
	Failures    int64     `json:"failures"`
	FailedTotal int64     `json:"failed_total"`
	Skipped     int64     `json:"skipped"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastFailure time.Time `json:"last_failure,omitzero"`
	LastStatus  int       `json:"last_status,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

func webhookOut(w *store.Webhook) webhookJSON {
	return webhookJSON{ID: w.ID, Tenant: w.Tenant, URL: w.URL, CreatedAt: w.CreatedAt, Delivery: deliveryJSON{
		Cursor: w.Cursor, Pending: w.Pending, Delivered: w.Delivered, Failures: w.Failures, FailedTotal: w.FailedTotal,
		Skipped: w.Skipped, LastSuccess: w.LastSuccess, LastFailure: w.LastFailure, LastStatus: w.LastStatus,
		LastError: w.LastError, NextAttempt: w.NextAttempt}}
}

// Bounds of a supplied webhook secret.
const minSecretLen, maxSecretLen = 16, 256

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	var body webhookBody
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	tenant, err := eventTenant(r, body.Tenant)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.URL == "" {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "url", "url is required"))
		return
	}
	if err := s.ev.policy.Check(body.URL); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case body.Secret == "":
		body.Secret = events.NewSecret()
	case len(body.Secret) < minSecretLen || len(body.Secret) > maxSecretLen ||
		strings.ContainsFunc(body.Secret, func(c rune) bool { return c <= ' ' || c > '~' }):
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "secret", "secret must be %d to %d printable ASCII characters without spaces", minSecretLen, maxSecretLen))
		return
	}
	wh := &store.Webhook{ID: store.NewWebhookID(), Tenant: tenant, URL: body.URL, Secret: body.Secret, CreatedAt: s.svc.Now().UTC()}
	if err := s.st.CreateWebhook(r.Context(), wh); err != nil {
		s.writeError(w, r, err)
		return
	}
	out := webhookOut(wh)
	out.Secret = wh.Secret // once
	w.Header().Set("Location", "/v1/webhooks/"+wh.ID)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	asked := r.URL.Query().Get("tenant")
	tenant, err := eventTenant(r, asked)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if asked == "" && principalFrom(r.Context()).Role != RoleBooking {
		tenant = "" // ops and admin: every tenant's
	}
	ws, err := s.st.ListWebhooks(r.Context(), tenant)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Webhooks []webhookJSON `json:"webhooks"`
	}{Webhooks: make([]webhookJSON, len(ws))}
	for i, wh := range ws {
		out.Webhooks[i] = webhookOut(wh)
	}
	writeJSON(w, http.StatusOK, out)
}

// webhook reads the webhook of the path, which a booking key sees only
// when it is its own (another tenant's is not found).
func (s *Server) webhook(r *http.Request) (*store.Webhook, error) {
	wh, err := s.st.GetWebhook(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return nil, err
	}
	if p := principalFrom(r.Context()); p.Role == RoleBooking && wh.Tenant != p.KeyID {
		return nil, errNotFound("webhook " + wh.ID + " not found")
	}
	return wh, nil
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request) {
	wh, err := s.webhook(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookOut(wh))
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	wh, err := s.webhook(r)
	if err == nil {
		err = s.st.DeleteWebhook(r.Context(), wh.ID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
