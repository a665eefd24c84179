package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
)

// Bounds of POST /v1/workers/import: beyond either the answer is 413.
const (
	MaxImportBytes   = 8 << 20
	MaxImportWorkers = 5000
)

// LineError is what is wrong with one worker of an import: Line is its
// line in the body (from 1; where an array element starts), Index its
// position among the workers (from 0).
type LineError struct {
	Line    int    `json:"line"`
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// importItem is one worker of an import body, with where it was.
type importItem struct {
	line int
	raw  []byte
}

// handleImportWorkers creates or replaces a roster of workers sent as
// NDJSON (application/x-ndjson, one worker object a line) or as a JSON
// array. Every worker is decoded as strictly as PUT /v1/workers/{id}'s
// body and validated (dispatch.Service.ImportWorkers) before the first
// write: one invalid worker and nothing is written, the answer is 400
// with a problem per invalid worker ("errors"). Otherwise the workers are
// written one by one, each worker's bookings re-planned as after its PUT,
// and the answer counts those created and updated and what the
// re-planning did, and how many of the workers the server read into its
// read model after (dispatch.Imported.Warmed).
func (s *Server) handleImportWorkers(w http.ResponseWriter, r *http.Request) {
	items, err := readImport(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ws := make([]*doorstep.Worker, 0, len(items))
	var lineErrs []LineError
	var decoded []int // index in items of each ws element
	for i, it := range items {
		wk := new(doorstep.Worker)
		if err := decodeBytes(it.raw, wk); err != nil {
			var e *doorstep.Error
			errors.As(err, &e)
			lineErrs = append(lineErrs, LineError{Line: it.line, Index: i, Field: e.Field, Message: e.Message})
			continue
		}
		ws, decoded = append(ws, wk), append(decoded, i)
	}
	var problems []dispatch.ImportProblem
	var done dispatch.Imported
	if len(lineErrs) > 0 {
		problems, err = s.svc.CheckImport(r.Context(), ws)
	} else {
		done, problems, err = s.svc.ImportWorkers(r.Context(), ws)
	}
	if err != nil {
		if done != (dispatch.Imported{}) {
			err = &doorstep.Error{Code: doorstep.ErrorCode(err), Message: fmt.Sprintf("%s; %d workers created and %d updated before it: send the import again to complete it",
				doorstep.ErrorMessage(err), done.Created, done.Updated)}
		}
		s.writeError(w, r, err)
		return
	}
	for _, p := range problems {
		i := decoded[p.Index]
		lineErrs = append(lineErrs, LineError{Line: items[i].line, Index: i, Field: p.Field, Message: p.Message})
	}
	if len(lineErrs) > 0 {
		// Decoding and validation errors were found in two passes.
		slices.SortStableFunc(lineErrs, func(a, b LineError) int { return a.Index - b.Index })
		first := lineErrs[0]
		s.writeProblem(w, r, &doorstep.Error{Code: doorstep.EINVALID, Field: first.Field,
			Message: fmt.Sprintf("%d of %d workers are invalid (the first at line %d: %s); nothing was written", len(lineErrs), len(items), first.Line, first.Message)},
			func(p *Problem) { p.Errors = lineErrs })
		return
	}
	writeJSON(w, http.StatusOK, importResult{Created: done.Created, Updated: done.Updated, Replanned: replannedOut(&done.Replanned), Warmed: done.Warmed})
}

// importResult is the answer of a successful import.
type importResult struct {
	Created   int            `json:"created"`
	Updated   int            `json:"updated"`
	Replanned *replannedJSON `json:"replanned"`
	Warmed    int            `json:"warmed"`
}

// readImport reads an import body of at most MaxImportBytes and splits it
// into its workers, at most MaxImportWorkers: the lines of NDJSON (blank
// lines skipped), or the elements of a JSON array.
func readImport(r *http.Request) ([]importItem, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/x-ndjson" && mt != "application/json") {
		return nil, doorstep.Errorf(doorstep.EUNSUPPORTEDMT, "", "content type must be application/x-ndjson (one worker a line) or application/json (an array of workers)")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxImportBytes+1))
	if err != nil {
		return nil, doorstep.Errorf(doorstep.EINVALID, fieldBody, "read body: %v", err)
	}
	if len(body) > MaxImportBytes {
		return nil, doorstep.Errorf(doorstep.ETOOLARGE, "", "an import is at most %d bytes; split the roster", MaxImportBytes)
	}
	var items []importItem
	if mt == "application/json" {
		items, err = splitArray(body)
	} else {
		for i, line := range bytes.Split(body, []byte("\n")) {
			if line = bytes.TrimSpace(line); len(line) > 0 {
				items = append(items, importItem{line: i + 1, raw: line})
			}
		}
	}
	switch {
	case err != nil:
		return nil, err
	case len(items) == 0:
		return nil, doorstep.Errorf(doorstep.EINVALID, fieldBody, "the import holds no worker")
	case len(items) > MaxImportWorkers:
		return nil, doorstep.Errorf(doorstep.ETOOLARGE, "", "an import holds at most %d workers, this one %d; split the roster", MaxImportWorkers, len(items))
	}
	return items, nil
}

// splitArray splits a JSON array into its elements, each with the line
// it starts on; the elements are decoded later, one by one.
func splitArray(body []byte) ([]importItem, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, doorstep.Errorf(doorstep.EINVALID, fieldBody, "an application/json import must be an array of workers")
	}
	var items []importItem
	for dec.More() {
		if len(items) == MaxImportWorkers {
			return nil, doorstep.Errorf(doorstep.ETOOLARGE, "", "an import holds at most %d workers; split the roster", MaxImportWorkers)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, doorstep.Errorf(doorstep.EINVALID, fmt.Sprintf("[%d]", len(items)), "malformed JSON at line %d", 1+bytes.Count(body[:dec.InputOffset()], []byte("\n")))
		}
		start := int(dec.InputOffset()) - len(raw)
		items = append(items, importItem{line: 1 + bytes.Count(body[:start], []byte("\n")), raw: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, doorstep.Errorf(doorstep.EINVALID, fieldBody, "malformed JSON: the array is not closed")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, doorstep.Errorf(doorstep.EINVALID, fieldBody, "unexpected data after the JSON array")
	}
	return items, nil
}
