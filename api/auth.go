package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/doorstep-dev/doorstep"
)

// Role is what an API key may do.
type Role string

// The roles. Admin may do everything.
const (
	RoleBooking Role = "booking" // booking systems: match, book, read and cancel their own bookings
	RoleOps     Role = "ops"     // operations: workers, batch assignment, simulations
	RoleAdmin   Role = "admin"   // everything, and other owners' bookings
	// RoleField is a worker's app: a key bound to one worker id
	// ("key:field:worker-id") reads that worker's bookings and reports
	// their progress, nothing else.
	RoleField Role = "field"
)

// Key is a configured API key. Only its digest is kept; ID names it in logs,
// audit records and booking ownership without revealing it.
type Key struct {
	ID     string
	Role   Role
	Worker string // the worker a RoleField key is bound to
	digest [32]byte
}

// ParseKeys parses DOORSTEP_API_KEYS: "key:role,key:role", where a field
// key names its worker: "key:field:worker-id". A key must be at least 16
// characters. The error never contains a key.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	seen := map[[32]byte]bool{}
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, r, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("api keys: entry %d: want key:role", i+1)
		}
		r, worker, bound := strings.Cut(r, ":")
		role := Role(strings.TrimSpace(r))
		worker = strings.TrimSpace(worker)
		switch {
		case role != RoleBooking && role != RoleOps && role != RoleAdmin && role != RoleField:
			return nil, fmt.Errorf("api keys: entry %d: role %q is not booking, ops, admin or field", i+1, role)
		case role == RoleField && !doorstep.ValidID(worker):
			return nil, fmt.Errorf("api keys: entry %d: a field key names its worker: key:field:worker-id", i+1)
		case role != RoleField && bound:
			return nil, fmt.Errorf("api keys: entry %d: only a field key names a worker", i+1)
		}
		if len(k) < 16 {
			return nil, fmt.Errorf("api keys: entry %d: a key must be at least 16 characters", i+1)
		}
		d := sha256.Sum256([]byte(k))
		if seen[d] {
			return nil, fmt.Errorf("api keys: entry %d: key listed twice", i+1)
		}
		seen[d] = true
		keys = append(keys, Key{ID: "key-" + hex.EncodeToString(d[:6]), Role: role, Worker: worker, digest: d})
	}
	return keys, nil
}

// Principal is who is calling.
type Principal struct {
	KeyID string
	Role  Role
	// Worker is the worker a RoleField key is bound to.
	Worker string
}

// owner is the booking owner a principal sees: admins see everyone's.
func (p Principal) owner() string {
	if p.Role == RoleAdmin {
		return ""
	}
	return p.KeyID
}

type principalKey struct{}

// callerKey holds the *requestRecord that authenticate and writeError fill
// in for the request logger, which runs outside them.
type callerKey struct{}

// requestRecord is what the request log line learns from inside the
// handlers: who called and, for a refusal, the problem's code.
type requestRecord struct {
	who  Principal
	code string
}

func withPrincipal(r *http.Request, p Principal) *http.Request {
	if rec, ok := r.Context().Value(callerKey{}).(*requestRecord); ok {
		rec.who = p
	}
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

func principalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// anonymousKeyID is the key id of a caller without a valid key: every
// caller when auth is off, and in the request log, any request that did not
// authenticate (refused, or on a route without auth). The audit log and the
// request log use the same id.
const anonymousKeyID = "anonymous"

// anonymous is the principal when auth is off (no keys configured; the
// server then listens on loopback only).
var anonymous = Principal{KeyID: anonymousKeyID, Role: RoleAdmin}

// authenticate finds the caller's key. Every configured key is compared, in
// constant time, so timing reveals neither a key nor which one matched.
// A request without a valid key is answered 401, or 429 once its address
// has made too many (Limits.FailedAuthPerMinute).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.keys) == 0 {
			next.ServeHTTP(w, withPrincipal(r, anonymous))
			return
		}
		// The scheme is case-insensitive (RFC 9110 section 11.1).
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="doorstep"`)
			s.refuse(w, r, "an Authorization: Bearer <key> header is required")
			return
		}
		d := sha256.Sum256([]byte(token))
		var found *Key
		for i := range s.keys {
			if subtle.ConstantTimeCompare(d[:], s.keys[i].digest[:]) == 1 {
				found = &s.keys[i]
			}
		}
		if found == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="doorstep", error="invalid_token"`)
			s.refuse(w, r, "unknown API key")
			return
		}
		next.ServeHTTP(w, withPrincipal(r, Principal{KeyID: found.ID, Role: found.Role, Worker: found.Worker}))
	})
}

// refuse answers a request without a valid key: 401 with why, or 429
// with Retry-After when its address is past its budget of failures.
//
// The budget is checked after the key, never before: a valid key passes
// whatever its address did, so a misconfigured or hostile client behind
// the same load balancer or NAT cannot lock the others out. The cost: a
// guesser past its budget is told 429, not stopped; what stops guessing
// is the length of the keys (16 characters or more, ParseKeys). What the
// limit gives is a clear answer to a client that keeps failing (stop,
// retry after this long) and failures that are counted per address apart
// from the keys' own rate limit.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, why string) {
	if blocked, wait := s.authBlocked(r); blocked {
		w.Header().Del("WWW-Authenticate")
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		s.writeError(w, r, doorstep.Errorf(doorstep.ERATELIMITED, "", "too many requests without a valid API key from this address; retry in %d s", wait))
		return
	}
	s.authFailed(r)
	s.writeError(w, r, doorstep.Errorf(doorstep.EUNAUTHORIZED, "", "%s", why))
}

// allow lets through only callers with one of roles (admin always passes).
func (s *Server) allow(roles ...Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := principalFrom(r.Context())
			if p.Role != RoleAdmin && !slices.Contains(roles, p.Role) {
				s.writeError(w, r, doorstep.Errorf(doorstep.EFORBIDDEN, "", "this key's role %q may not use %s %s", p.Role, r.Method, r.URL.Path))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
