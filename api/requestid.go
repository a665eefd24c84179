package api

import (
	"context"
	"crypto/rand"
	"net/http"
	"regexp"

	"github.com/go-chi/chi/v5/middleware"
)

// requestIDPattern is what a client's own X-Request-Id must look like to
// be kept: short and printable, safe in logs and audit events.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:/+=-]{1,64}$`)

// requestID gives every request an id and returns it in the X-Request-Id
// response header, so that a client can quote it and an operator find the
// request's log line and audit events. A client's X-Request-Id is kept when
// it matches requestIDPattern; otherwise the id is 26 random base32
// characters. It replaces chi's middleware.RequestID, which takes any
// client header verbatim (of any length, into every log line and audit
// event), answers no header and names the host in its ids; it stores the
// id under chi's key, so middleware.GetReqID reads it.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(middleware.RequestIDHeader)
		if !requestIDPattern.MatchString(id) {
			id = rand.Text()
		}
		w.Header().Set(middleware.RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), middleware.RequestIDKey, id)))
	})
}
