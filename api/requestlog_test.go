package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
)

// logBuffer collects the JSON log lines of a server; the handlers write
// from many goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// requests returns the "request" log lines by request path.
func (l *logBuffer) requests(t *testing.T) map[string]map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]map[string]any{}
	for _, line := range bytes.Split(bytes.TrimSpace(l.b.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "request" {
			out[m["path"].(string)] = m
		}
	}
	return out
}

// TestRequestLog checks the request log line: its duration carries its
// unit in its name (duration_ms, milliseconds), a refusal carries the
// problem's code, and key_id names the caller's key, or "anonymous" for
// every request that no key identified, with auth on or off, as the audit
// log does.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	for _, auth := range []bool{true, false} {
		logs := new(logBuffer)
		keys := ""
		if auth {
			keys = allKeys
		}
		h := newHarness(t, keys, func(cfg *api.Config) { cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil)) })
		h.do(t, http.MethodGet, "/healthz", "", nil)
		h.do(t, http.MethodPost, "/v1/match", keyBooking, `{"service": "plumbing", "urgency": "urgent"}`) // no location: 400
		if auth {
			h.do(t, http.MethodGet, "/v1/workers/nobody", "", nil) // no key: 401
		}
		h.do(t, http.MethodGet, "/v1/bookings/nope", keyAdmin, nil) // 404
		got := logs.requests(t)
		user := "anonymous"
		if auth {
			user = ""
		}
		tests := []struct {
			path, keyID, code string
			status            float64
		}{
			{"/healthz", "anonymous", "", 200},
			{"/v1/match", user, "invalid", 400},
			{"/v1/bookings/nope", user, "not_found", 404},
		}
		if auth {
			tests = append(tests, struct {
				path, keyID, code string
				status            float64
			}{"/v1/workers/nobody", "anonymous", "unauthorized", 401})
		}
		for _, tt := range tests {
			m, ok := got[tt.path]
			if !ok {
				t.Errorf("auth %v: no request line for %s in %v", auth, tt.path, got)
				continue
			}
			if m["status"] != tt.status {
				t.Errorf("auth %v: %s logged status %v, want %v", auth, tt.path, m["status"], tt.status)
			}
			if tt.keyID != "" && m["key_id"] != tt.keyID {
				t.Errorf("auth %v: %s logged key_id %q, want %q", auth, tt.path, m["key_id"], tt.keyID)
			}
			if id, _ := m["key_id"].(string); id == "" {
				t.Errorf("auth %v: %s logged an empty key_id", auth, tt.path)
			} else if tt.keyID == "" && id == "anonymous" {
				t.Errorf("auth %v: %s made with a key logged key_id anonymous", auth, tt.path)
			}
			code, hasCode := m["code"]
			if tt.code == "" && hasCode || tt.code != "" && code != tt.code {
				t.Errorf("auth %v: %s logged code %v, want %q", auth, tt.path, code, tt.code)
			}
			if _, ok := m["duration_ms"].(float64); !ok {
				t.Errorf("auth %v: %s logged duration_ms %v, want a number of milliseconds", auth, tt.path, m["duration_ms"])
			}
			if _, ok := m["duration"]; ok {
				t.Errorf("auth %v: %s still logs a duration without a unit", auth, tt.path)
			}
		}
	}
}

// TestServerTiming: every answer, a success, a refusal or a stream's,
// carries Server-Timing "app;dur=<milliseconds>", no more than the
// client saw the request take.
func TestServerTiming(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	for _, tt := range []struct {
		method, path, key string
		body              any
		status            int
	}{
		{http.MethodGet, "/healthz", "", nil, http.StatusOK},
		{http.MethodPost, "/v1/match", keyBooking, `{"service": "plumbing", "urgency": "urgent"}`, http.StatusBadRequest},
		{http.MethodGet, "/v1/workers/nobody", "", nil, http.StatusUnauthorized},
		{http.MethodGet, "/v1/bookings/nope", keyAdmin, nil, http.StatusNotFound},
		{http.MethodPost, "/v1/match", keyBooking, `{"service": "plumbing", "urgency": "urgent", "location": {"lat": 48.85, "lng": 2.35}}`, http.StatusUnprocessableEntity},
	} {
		r := h.do(t, tt.method, tt.path, tt.key, tt.body)
		if r.Status != tt.status {
			t.Fatalf("%s %s: status %d, want %d: %s", tt.method, tt.path, r.Status, tt.status, r.Body)
		}
		v := r.Header.Values("Server-Timing")
		if len(v) != 1 || !strings.HasPrefix(v[0], "app;dur=") {
			t.Fatalf("%s %s: Server-Timing %q, want one app;dur=", tt.method, tt.path, v)
		}
		ms, err := strconv.ParseFloat(strings.TrimPrefix(v[0], "app;dur="), 64)
		if err != nil || ms < 0 || time.Duration(ms*float64(time.Millisecond)) > r.Took {
			t.Fatalf("%s %s: Server-Timing %q (%v) for a request the client saw take %v", tt.method, tt.path, v[0], err, r.Took)
		}
	}
}
