package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/store/storetest"
)

// TestMainContention books one worker from 30 goroutines at once through
// the real program, on the embedded store (the product default) and on
// redis-server, one after the other, and logs what they answered. Every
// answer is 201 (one of the worker's free slots), 409 (retry), 422, or 503
// when the request deadline passed (issue 9, item 7: the embedded store
// answered 503 to 27 of 30 where redis-server answered 409; whether the
// 750 ms deadline holds depends on the machine's load, so 503 is counted,
// not failed); every 201 is a booking and no two bookings overlap.
func TestMainContention(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		redis bool // a redis-server rather than the embedded store
	}{
		{"embedded", false},
		{"redis-server", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the two must not share the CPUs.
			// Every request is let in (rescue plans too): the load limits
			// would shed most of them with 429 and hide what the store
			// answers.
			var env []string
			if tt.redis {
				env = append(env, "REDIS_URL="+storetest.RunRedis(t).URL())
			}
			c := startServe(t, env, "-addr", "127.0.0.1:0", "-rate-limit", "-1", "-max-in-flight", "64", "-max-rescues", "-1")
			base := "http://" + c.waitAddr(t)
			client := &http.Client{Timeout: 10 * time.Second}
			post := func(method, path string, body any) (int, []byte) {
				data, _ := json.Marshal(body)
				req, _ := http.NewRequestWithContext(t.Context(), method, base+path, bytes.NewReader(data))
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					t.Errorf("%s %s: %v", method, path, err)
					return 0, nil
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, b
			}
			start := time.Now().UTC().Truncate(time.Hour)
			w := map[string]any{"skills": []string{"cleaning"}, "rating": 4.5, "home": shutdownPlace(0, 1),
				"shifts": []map[string]time.Time{{"start": start, "end": start.Add(24 * time.Hour)}}}
			if code, body := post("PUT", "/v1/workers/w0", w); code != http.StatusCreated {
				t.Fatalf("PUT worker: %d %s", code, body)
			}
			const n = 30
			codes := make([]int, n)
			bodies := make([][]byte, n)
			var wg sync.WaitGroup
			gate := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-gate
					codes[i], bodies[i] = post("POST", "/v1/bookings", map[string]any{"service": "cleaning",
						"urgency": "normal", "duration_minutes": 30, "location": shutdownPlace(0, 1)})
				})
			}
			t0 := time.Now()
			close(gate)
			wg.Wait()
			count := map[int]int{}
			for i, c := range codes {
				count[c]++
				switch c {
				case http.StatusCreated, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable:
				default:
					t.Errorf("booking %d: %d %s, want 201, 409, 422 or 503", i, c, bodies[i])
				}
			}
			t.Logf("%s: %d concurrent bookings of one worker in %v: %v (status: count)", tt.name, n, time.Since(t0).Round(time.Millisecond), count)
			var got []struct {
				Start, End time.Time
				Status     string
			}
			code, body := post("GET", "/v1/workers/w0/bookings", nil)
			if code != http.StatusOK {
				t.Fatalf("GET bookings: %d %s", code, body)
			}
			var page struct {
				Bookings json.RawMessage `json:"bookings"`
			}
			if err := json.Unmarshal(body, &page); err != nil || json.Unmarshal(page.Bookings, &got) != nil {
				t.Fatalf("bookings page %s: %v", body, err)
			}
			// A 503 may have booked (its reply missed the deadline: issue 9,
			// item 2), so 201s and 503s bound the bookings.
			if created, maybe := count[http.StatusCreated], count[http.StatusServiceUnavailable]; len(got) < created || len(got) > created+maybe {
				t.Errorf("the worker has %d bookings; %d were answered 201 and %d 503", len(got), created, maybe)
			}
			for i := range got {
				for j := range i {
					if got[i].Start.Before(got[j].End) && got[j].Start.Before(got[i].End) {
						t.Errorf("bookings overlap: %v-%v and %v-%v", got[i].Start, got[i].End, got[j].Start, got[j].End)
					}
				}
			}
		})
	}
}
