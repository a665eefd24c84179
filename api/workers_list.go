package api

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store"
)

// Pages of GET /v1/workers.
const (
	DefaultWorkerPage = 100
	MaxWorkerPage     = store.MaxWorkerPage
)

// cursorPrefix versions the cursors of GET /v1/workers, which are opaque
// to clients: base64url of the prefix and the last worker id examined.
const cursorPrefix = "w1:"

// encodeCursor is the cursor of a list (its prefix) that resumes after
// after; "" for none.
func encodeCursor(prefix, after string) string {
	if after == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + after))
}

// decodeCursor reads a cursor of encodeCursor with prefix.
func decodeCursor(prefix, c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	after, ok := strings.CutPrefix(string(b), prefix)
	if err != nil || !ok || after == "" {
		return "", doorstep.Errorf(doorstep.EINVALID, "cursor", "not a cursor of this API: pass next_cursor from the previous page as it is")
	}
	return after, nil
}

// workerPage is the answer of GET /v1/workers.
type workerPage struct {
	Workers    []*doorstep.Worker `json:"workers"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// handleListWorkers answers a page of the workers in order of id:
// ?limit= (1-1000, default 100), ?cursor= (the previous page's
// next_cursor), ?skill= and ?region= (an H3 resolution-3 cell id, the
// home region).
func (s *Server) handleListWorkers(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	limit, err := queryLimit(r, DefaultWorkerPage, MaxWorkerPage)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := store.WorkerQuery{Limit: limit, Skill: qs.Get("skill"), Region: qs.Get("region")}
	if v := qs.Get("cursor"); v != "" {
		after, err := decodeCursor(cursorPrefix, v)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		q.After = after
	}
	page, err := s.svc.ListWorkers(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := workerPage{Workers: make([]*doorstep.Worker, 0, len(page.Workers)), NextCursor: encodeCursor(cursorPrefix, page.Next)}
	for _, wk := range page.Workers {
		out.Workers = append(out.Workers, workerOut(wk))
	}
	writeJSON(w, http.StatusOK, out)
}
