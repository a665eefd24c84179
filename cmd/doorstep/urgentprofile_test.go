package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/sim"
)

// hours24 is a JSON row of 24 rates, v at hour h and 0 elsewhere.
func hours24(h int, v string) string {
	r := make([]string, 24)
	for i := range r {
		r[i] = "0"
	}
	r[h] = v
	return "[" + strings.Join(r, ",") + "]"
}

func TestParseUrgentProfile(t *testing.T) {
	var night [24]float64
	night[22] = 0.5
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	tests := []struct {
		name string
		in   string
		want *matcher.UrgentProfile // nil: an error containing err
		err  string
	}{
		{name: "zone, lead, rates and a region",
			in:   `{"zone": "Europe/Paris", "lead_minutes": 140, "rates": {"plumbing": ` + hours24(22, "0.5") + `}, "regions": {"831fb4fffffffff": {"plumbing": ` + hours24(22, "0.5") + `}}}`,
			want: &matcher.UrgentProfile{Zone: paris, Lead: 140 * time.Minute, Rate: map[string][24]float64{"plumbing": night}, Regions: map[string]map[string][24]float64{"831fb4fffffffff": {"plumbing": night}}}},
		{name: "defaults: UTC, no lead (the matcher's default)", in: `{"rates": {"plumbing": ` + hours24(22, "0.5") + `}}`,
			want: &matcher.UrgentProfile{Zone: time.UTC, Rate: map[string][24]float64{"plumbing": night}}},
		{name: "fixed offset", in: `{"utc_offset_minutes": 120, "rates": {}}`,
			want: &matcher.UrgentProfile{Zone: time.FixedZone("", 7200), Rate: map[string][24]float64{}}},
		{name: "23 hours", in: `{"rates": {"plumbing": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}`, err: "rates.plumbing: 23 hourly rates, want 24"},
		{name: "region of 25 hours", in: `{"regions": {"x": {"plumbing": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}}}`, err: "regions.x.plumbing: 25 hourly rates"},
		{name: "negative rate", in: `{"rates": {"plumbing": ` + hours24(3, "-1") + `}}`, err: "plumbing hour 3"},
		{name: "unknown field", in: `{"rate": {}}`, err: `unknown field "rate"`},
		{name: "trailing data", in: `{"rates": {}} {}`, err: "trailing data"},
		{name: "bad zone", in: `{"zone": "Mars/Olympus", "rates": {}}`, err: "zone:"},
		{name: "zone and offset", in: `{"zone": "UTC", "utc_offset_minutes": 60}`, err: "give one"},
		{name: "negative lead", in: `{"lead_minutes": -5}`, err: "lead_minutes: -5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseUrgentProfile([]byte(tc.in))
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseUrgentProfile = %v, %v; want an error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(sameZone)); diff != "" {
				t.Errorf("profile (-want +got):\n%s", diff)
			}
		})
	}
}

// sameZone compares zones by name and offset.
func sameZone(a, b *time.Location) bool {
	t := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	an, ao := t.In(a).Zone()
	bn, bo := t.In(b).Zone()
	return an == bn && ao == bo
}

// TestSimulateWritesTheUrgentProfile: doorstep simulate writes the profile
// the simulation priced with, and the server's loader reads it back equal
// (the scenario's fixed +02:00 zone as an offset).
func TestSimulateWritesTheUrgentProfile(t *testing.T) {
	path := simScenario(t, `"start": "2025-06-02T08:00:00Z"`, `"start": "2025-06-02T10:00:00+02:00"`)
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	if err := runSimulate(context.Background(), []string{"-scenario", path, "-out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("runSimulate: %v\nstderr: %s", err, stderr.String())
	}
	got, err := loadUrgentProfile(filepath.Join(out, "urgent-profile.json"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.ParseScenario(data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.UrgentProfile(sim.Options{Open: func(name string) (io.ReadCloser, error) { return os.Open(filepath.Join(filepath.Dir(path), name)) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Rate["plumbing"]) == 0 || want.Lead == 0 {
		t.Fatalf("the scenario's profile is empty: %+v", want)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(sameZone)); diff != "" {
		t.Errorf("urgent-profile.json (-simulated +loaded):\n%s", diff)
	}
}

// TestServeUrgentProfile runs the real program with and without
// -urgent-profile (1 urgent cleaning call an hour per cleaner on duty, at
// every hour) and asks /v1/match for a one-hour normal cleaning job at the
// home of the only cleaner, on shift now: the job starts now, so the lead
// before it is cut at the clock and the cleaner is kept from calls for the
// hour of the job, 1 call: the breakdown's protection is 300 (the default
// weight) with the profile and 0 without.
func TestServeUrgentProfile(t *testing.T) {
	t.Parallel()
	all := make([]string, 24)
	for i := range all {
		all[i] = "1"
	}
	path := filepath.Join(t.TempDir(), "urgent.json")
	if err := os.WriteFile(path, []byte(`{"rates": {"cleaning": [`+strings.Join(all, ",")+`]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want float64
	}{
		{"with a profile", []string{"-urgent-profile", path}, 300},
		{"without", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startServe(t, nil, append([]string{"-addr", "127.0.0.1:0"}, tc.args...)...)
			base := "http://" + c.waitAddr(t)
			home := map[string]float64{"lat": 52.52, "lng": 13.40}
			now := time.Now().UTC().Truncate(time.Hour)
			send := func(method, path string, body any) []byte {
				data, _ := json.Marshal(body)
				req, _ := http.NewRequest(method, base+path, bytes.NewReader(data))
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				out, _ := io.ReadAll(res.Body)
				if res.StatusCode/100 != 2 {
					t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, out)
				}
				return out
			}
			send("PUT", "/v1/workers/c1", map[string]any{"skills": []string{"cleaning"}, "rating": 5, "home": home,
				"shifts": []map[string]time.Time{{"start": now, "end": now.Add(24 * time.Hour)}}})
			var res struct {
				Options []struct {
					Breakdown map[string]float64 `json:"breakdown"`
				} `json:"options"`
			}
			out := send("POST", "/v1/match", map[string]any{"service": "cleaning", "urgency": "normal", "duration_minutes": 60, "location": home})
			if err := json.Unmarshal(out, &res); err != nil || len(res.Options) == 0 {
				t.Fatalf("match: %v %s", err, out)
			}
			if got := res.Options[0].Breakdown["protection"]; math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("protection = %v, want %v (%s)", got, tc.want, out)
			}
		})
	}
}

// Without -urgent-profile the server learns the profile from the urgent
// requests it was asked to book: with a day of urgent cleaning calls
// counted (yesterday, every hour) it logs that it learnt it and prices a
// normal cleaning job for the urgent capacity it takes.
func TestServeLearnsUrgentProfile(t *testing.T) {
	t.Parallel()
	rs := storetest.RunRedis(t)
	st, err := store.Open(t.Context(), store.Config{URL: rs.URL()})
	if err != nil {
		t.Fatal(err)
	}
	home := map[string]float64{"lat": 52.52, "lng": 13.40}
	region := geo.RegionOf(doorstep.Location{Lat: 52.52, Lng: 13.40}).String()
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Truncate(24 * time.Hour)
	for h := range 24 {
		if err := st.RecordUrgent(t.Context(), region, store.UrgentCall{Skills: []string{"cleaning"}, At: yesterday.Add(time.Duration(h) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	c := startServe(t, []string{"REDIS_URL=" + rs.URL()}, "-addr", "127.0.0.1:0")
	base := "http://" + c.waitAddr(t)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(c.stderr(), "urgent profile learnt") {
		if time.Now().After(deadline) {
			t.Fatalf("no profile learnt:\n%s", c.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	now := time.Now().UTC().Truncate(time.Hour)
	put, _ := json.Marshal(map[string]any{"skills": []string{"cleaning"}, "rating": 5, "home": home,
		"shifts": []map[string]time.Time{{"start": now, "end": now.Add(24 * time.Hour)}}})
	req, _ := http.NewRequest("PUT", base+"/v1/workers/c1", bytes.NewReader(put))
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("PUT worker: %v %v", res, err)
	}
	match, _ := json.Marshal(map[string]any{"service": "cleaning", "urgency": "normal", "duration_minutes": 60, "location": home})
	res, err := http.Post(base+"/v1/match", "application/json", bytes.NewReader(match))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Options []struct {
			Breakdown map[string]float64 `json:"breakdown"`
		} `json:"options"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || len(out.Options) == 0 {
		t.Fatalf("match: %v", err)
	}
	if got := out.Options[0].Breakdown["protection"]; got <= 0 {
		t.Errorf("protection = %v, want a positive price from the learnt profile", got)
	}
}
