package sim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/matcher"
)

// The hand-checked scenarios: one plumber at home at 40.70 N, 74.00 W, with
// the default travel model (detour 1.3, 25 km/h, 5 minutes of overhead,
// rounded up to the second). Along a meridian the great-circle distance is
// the latitude difference in radians times 6371.0088 km:
//
//	P1 = 40.718 N: 0.018 deg = 2.0015114 km from home;
//	   1.3 * 2.0015114 km / 25 km/h = 374.68 s -> 375 s; + 5 min = 11 min 15 s.
//	P2 = 40.727 N: 0.009 deg = 1.0007557 km from P1;
//	   1.3 * 1.0007557 / 25 h = 187.34 s -> 188 s; + 5 min = 8 min 8 s.
//	P3 = 40.844 N: 0.144 deg = 16.012094 km from home;
//	   1.3 * 16.012094 / 25 h = 2997.46 s -> 2998 s; + 5 min = 54 min 58 s.
//	P4 = 41.105 N: 45 km from home, beyond every ring of the urgent search.
//
// Plumbing takes 90 minutes.
const (
	p1 = "40.718,-74.0"
	p2 = "40.727,-74.0"
	p3 = "40.844,-74.0"
	p4 = "41.105,-74.0"
)

var day = time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)

func at(h, m, s int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
}

// soloScenario is one plumber on shift (with breaks, JSON) from 08:00 over
// a horizon, replaying rows "HH:MM,lat,lng,urgency", with the default
// weights but urgent-capacity protection off: these check the engine's
// mechanics against earliest slots counted by hand (protection is checked
// by matcher.TestProtection and TestProtectionInTheSimulator).
func soloScenario(policy, shift, breaks string, horizon int) string {
	if breaks == "" {
		breaks = "[]"
	}
	return fmt.Sprintf(`{
  "name": "solo", "seed": 1, "start": "2025-06-02T08:00:00Z", "horizon_hours": %d,
  "policy": %s,
  "matching": {"weights": {"travel": 1, "urgent_wait": 1, "normal_wait": 0.05, "rating": 6,
    "fairness": 20, "preferred": 15, "continuity": 10, "protection": 0}},
  "roster": {
    "shifts": [{"name": "day", "start": "08:00", "end": %q, "breaks": %s}],
    "groups": [{"name": "solo", "count": 1, "skills": ["plumbing"], "shifts": ["day"],
                "homes": [{"center": {"lat": 40.70, "lng": -74.0}}], "rating": [5, 5]}]
  },
  "demand": {"replay": {"path": "trace.csv", "rules": [
    {"where": {"urgency": "urgent"}, "service": "plumbing", "urgency": "urgent"},
    {"where": {"urgency": "normal"}, "service": "plumbing", "urgency": "normal"}]}}
}`, horizon, policy, shift, breaks)
}

// trace builds the CSV of rows "HH:MM place urgency".
func trace(rows ...string) string {
	var b strings.Builder
	b.WriteString("created,latitude,longitude,urgency\n")
	for _, r := range rows {
		f := strings.Fields(r)
		fmt.Fprintf(&b, "2025-06-02T%s:00Z,%s,%s\n", f[0], f[1], f[2])
	}
	return b.String()
}

var policies = []string{
	`{"name": "insertion"}`,
	`{"name": "greedy"}`,
	`{"name": "batch", "batch_seconds": 60}`,
}

// want is a request's expected outcome: its slot, or the reason it was
// not served.
type want struct {
	arrival, start, end time.Time
	reason              string
}

func TestHandChecked(t *testing.T) {
	tests := []struct {
		name          string
		shift, breaks string
		horizon       int
		rows          []string
		want          []want
	}{
		{
			name:    "one worker, two requests",
			shift:   "18:00",
			horizon: 2,
			rows:    []string{"08:00 " + p1 + " urgent", "08:30 " + p2 + " normal"},
			want: []want{
				{arrival: at(8, 11, 15), start: at(8, 11, 15), end: at(9, 41, 15)},
				// Leaves P1 at 09:41:15, 8 min 8 s to P2.
				{arrival: at(9, 49, 23), start: at(9, 49, 23), end: at(11, 19, 23)},
			},
		},
		{
			name:    "shift end: the job moves to the next day, from home",
			shift:   "18:00",
			horizon: 10,
			rows:    []string{"17:30 " + p1 + " normal"},
			want:    []want{{arrival: at(24+8, 11, 15), start: at(24+8, 11, 15), end: at(24+9, 41, 15)}},
		},
		{
			// 90 minutes from 11:11:15 would run into lunch; the trip
			// (11:15) is over before it, so the worker waits at the door
			// through lunch and starts as it ends.
			name:    "break: the job may not run into it",
			shift:   "18:00",
			breaks:  `[{"start": "12:00", "end": "12:30"}]`,
			horizon: 4,
			rows:    []string{"11:00 " + p1 + " normal"},
			want:    []want{{arrival: at(12, 30, 0), start: at(12, 30, 0), end: at(14, 0, 0)}},
		},
		{
			// Asked at 11:50 the trip would end in lunch: it leaves at
			// 12:30 and the job starts at 12:41:15.
			name:    "break: the trip may not run into it",
			shift:   "18:00",
			breaks:  `[{"start": "12:00", "end": "12:30"}]`,
			horizon: 4,
			rows:    []string{"11:50 " + p1 + " normal"},
			want:    []want{{arrival: at(12, 41, 15), start: at(12, 41, 15), end: at(14, 11, 15)}},
		},
		{
			// The half hour floats in 11:00-14:00: taken after the job.
			name:    "flexible break: taken after the job",
			shift:   "18:00",
			breaks:  `[{"earliest": "11:00", "latest": "14:00", "minutes": 30}]`,
			horizon: 4,
			rows:    []string{"11:00 " + p1 + " normal"},
			want:    []want{{arrival: at(11, 11, 15), start: at(11, 11, 15), end: at(12, 41, 15)}},
		},
		{
			// The half hour must be over by 12:00 and the job would run
			// through: the worker takes it first, 11:00-11:30, then leaves.
			name:    "flexible break: taken before the job",
			shift:   "18:00",
			breaks:  `[{"earliest": "11:00", "latest": "12:00", "minutes": 30}]`,
			horizon: 4,
			rows:    []string{"11:00 " + p1 + " normal"},
			want:    []want{{arrival: at(11, 41, 15), start: at(11, 41, 15), end: at(13, 11, 15)}},
		},
		{
			name:    "urgent while the only worker is busy: unserved",
			shift:   "18:00",
			horizon: 2,
			rows:    []string{"08:00 " + p1 + " urgent", "08:30 " + p2 + " urgent"},
			want: []want{
				{arrival: at(8, 11, 15), start: at(8, 11, 15), end: at(9, 41, 15)},
				{reason: matcher.ReasonBusy},
			},
		},
		{
			name:    "urgent 16 km away: arrives in 54 min 58 s",
			shift:   "18:00",
			horizon: 1,
			rows:    []string{"08:00 " + p3 + " urgent"},
			want:    []want{{arrival: at(8, 54, 58), start: at(8, 54, 58), end: at(10, 24, 58)}},
		},
		{
			name:    "urgent 45 km away: nobody within reach",
			shift:   "18:00",
			horizon: 1,
			rows:    []string{"08:00 " + p4 + " urgent"},
			want:    []want{{reason: matcher.ReasonNoCandidates}},
		},
		{
			name:    "urgent just before the shift ends: no time to serve",
			shift:   "09:00",
			horizon: 1,
			rows:    []string{"08:00 " + p1 + " urgent"},
			want:    []want{{reason: matcher.ReasonShiftEnd}},
		},
	}
	for _, tt := range tests {
		for _, pol := range policies {
			name := tt.name + "/" + strings.Split(pol, `"`)[3]
			t.Run(name, func(t *testing.T) {
				s := MustParse(t, soloScenario(pol, tt.shift, tt.breaks, tt.horizon))
				e := runEngine(t, s, Options{Open: memTrace(trace(tt.rows...))}, 0)
				if len(e.out) != len(tt.want) {
					t.Fatalf("got %d outcomes, want %d", len(e.out), len(tt.want))
				}
				for i, w := range tt.want {
					o := e.out[i]
					if w.reason != "" {
						if o.worker >= 0 || o.reason != w.reason {
							t.Errorf("request %d: got worker %d reason %q, want unserved (%s)", i, o.worker, o.reason, w.reason)
						}
						continue
					}
					if o.worker < 0 {
						t.Fatalf("request %d: unserved (%s), want arrival %v", i, o.reason, w.arrival)
					}
					got := [3]time.Time{o.slot.Arrival, o.slot.Start, o.slot.End}
					exp := [3]time.Time{w.arrival, w.start, w.end}
					for k := range got {
						if !got[k].Equal(exp[k]) {
							t.Errorf("request %d: got arrival/start/end %v, want %v", i, got, exp)
							break
						}
					}
				}
			})
		}
	}
}

// TestFlexibleBreakUtilisation: a flexible break's minutes leave the
// shift's minutes as a fixed break's do: 90 booked of 600 - 30.
func TestFlexibleBreakUtilisation(t *testing.T) {
	s := MustParse(t, soloScenario(policies[0], "18:00", `[{"earliest": "11:00", "latest": "14:00", "minutes": 30}]`, 10))
	r := MustRun(t, s, Options{Open: memTrace(trace("11:00 " + p1 + " normal"))})
	if u := r.Variants[0].Totals.Utilisation; u == nil || *u != 0.1579 {
		t.Errorf("utilisation %v, want 90/570 = 0.1579", u)
	}
}

// TestHandCheckedMetrics checks the report of the first hand-checked case.
func TestHandCheckedMetrics(t *testing.T) {
	s := MustParse(t, soloScenario(policies[0], "18:00", "", 2))
	r := MustRun(t, s, Options{Open: memTrace(trace("08:00 "+p1+" urgent", "08:30 "+p2+" normal"))})
	m := r.Variants[0].Totals
	f := func(p *float64) float64 {
		if p == nil {
			return -1
		}
		return *p
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"requests", float64(m.Requests), 2},
		{"urgent_requests", float64(m.UrgentRequests), 1},
		{"urgent_on_time_share", f(m.UrgentOnTimeShare), 1},
		{"urgent_arrival_p50_minutes", f(m.UrgentArrivalP50Minutes), 11.25},
		{"urgent_arrival_p95_minutes", f(m.UrgentArrivalP95Minutes), 11.25},
		{"normal_within_24h_share", f(m.NormalWithin24hShare), 1},
		{"unserved", float64(m.Unserved), 0},
		// (2.0015114 + 1.0007557) / 2
		{"travel_km_per_job", f(m.TravelKmPerJob), 1.5011},
		// 90 min + 10 min 37 s of the second job inside the 2 h horizon.
		{"utilisation", f(m.Utilisation), 0.8385},
		{"fairness_gini", f(m.FairnessGini), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if h := r.Variants[0].Hours; len(h) != 2 || h[0].Requests != 2 || h[1].Requests != 0 || h[1].UrgentOnTimeShare != nil {
		t.Errorf("hours: got %+v", h)
	}
	if got := r.Variants[0].UrgentArrivals.Counts[5]; got != 1 { // 11.25 min: the 10-12 bin
		t.Errorf("histogram bin 5: got %d, want 1", got)
	}
}

// TestBatchBooksWhatItLeft: a request the batch's assignment cannot place
// is then booked as insertion books it, by moving a normal booking not yet
// begun, as POST /v1/assign with commit does (greedy moves nothing). The
// normal request at 17:30 asks for a start within its 24 hours (a window:
// a booking without one keeps its start, its promise). It fits no more in
// the day and is booked for the next morning at P1, 08:11:15-09:41:15
// (TestHandChecked). The urgent call
// at 07:55 that morning at P2 must arrive by 08:55: the shift starts at
// 08:00 from home, 14 min 23 s from P2 (TestNormalBatch), so 08:14:23-
// 09:44:23, and the normal job follows 8 min 8 s later, 09:52:31-11:22:31,
// inside its 24 hours.
func TestBatchBooksWhatItLeft(t *testing.T) {
	next := func(h, m, s int) time.Time { return at(24+h, m, s) }
	csv := "created,latitude,longitude,urgency\n" +
		"2025-06-02T17:30:00Z," + p1 + ",normal\n" +
		"2025-06-03T07:55:00Z," + p2 + ",urgent\n"
	for _, pol := range policies {
		t.Run(strings.Split(pol, `"`)[3], func(t *testing.T) {
			sc := strings.Replace(soloScenario(pol, "18:00", "", 24), `"demand": {`,
				`"demand": {"windows": {"share": 1, "start_after_hours": [0, 0], "length_hours": [24, 24]}, `, 1)
			e := runEngine(t, MustParse(t, sc), Options{Open: memTrace(csv)}, 0)
			if w := e.arr[0].req.Window; w == nil || !w.End.Equal(at(24+17, 30, 0)) {
				t.Fatalf("fixture: the normal request's window is %v, want its 24 hours", w)
			}
			if strings.Contains(pol, "greedy") {
				if o := e.out[1]; o.worker >= 0 || o.reason != matcher.ReasonBusy {
					t.Errorf("greedy: the urgent call got worker %d (%s), want unserved (busy)", o.worker, o.reason)
				}
				return
			}
			wants := []want{
				{arrival: next(9, 52, 31), start: next(9, 52, 31), end: next(11, 22, 31)},
				{arrival: next(8, 14, 23), start: next(8, 14, 23), end: next(9, 44, 23)},
			}
			for i, w := range wants {
				o := e.out[i]
				got := []time.Time{o.slot.Arrival, o.slot.Start, o.slot.End}
				if exp := []time.Time{w.arrival, w.start, w.end}; o.worker < 0 || !slices.EqualFunc(got, exp, time.Time.Equal) {
					t.Errorf("request %d: got worker %d %v (%s), want %v", i, o.worker, got, o.reason, exp)
				}
			}
			if o := e.out[1]; !o.rescued || o.moves != 1 {
				t.Errorf("the urgent call: rescued %v with %d moves, want a rescue of one move", o.rescued, o.moves)
			}
		})
	}
}

// TestNormalBatch checks the batch policy's own period for normal requests
// on the solo plumber: a normal request at P1 (08:01), an urgent one at P2
// (08:05). With one period of 60 s the normal job takes the worker at the
// 08:01 tick (08:12:15-09:42:15) and the urgent one finds it busy past its
// 09:05 deadline. With normal requests every 30 min, the normal request
// waits for the 08:30 tick; the urgent one goes at the 08:05 tick: P2 is 0.027 deg = 3.0022671 km from
// home, 1.3 * 3.0022671 / 25 h = 562.02 s -> 563 s + 5 min = 14 min 23 s,
// so 08:19:23-09:49:23; the normal job follows, 8 min 8 s from P2 to P1:
// 09:57:31-11:27:31.
func TestNormalBatch(t *testing.T) {
	rows := []string{"08:01 " + p1 + " normal", "08:05 " + p2 + " urgent"}
	tests := []struct {
		policy string
		want   []want
	}{
		{`{"name": "batch", "batch_seconds": 60}`, []want{
			{arrival: at(8, 12, 15), start: at(8, 12, 15), end: at(9, 42, 15)},
			{reason: matcher.ReasonBusy},
		}},
		{`{"name": "batch", "batch_seconds": 60, "normal_batch_seconds": 1800}`, []want{
			{arrival: at(9, 57, 31), start: at(9, 57, 31), end: at(11, 27, 31)},
			{arrival: at(8, 19, 23), start: at(8, 19, 23), end: at(9, 49, 23)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			s := MustParse(t, soloScenario(tt.policy, "18:00", "", 4))
			e := runEngine(t, s, Options{Open: memTrace(trace(rows...))}, 0)
			for i, w := range tt.want {
				o := e.out[i]
				if w.reason != "" {
					if o.worker >= 0 || o.reason != w.reason {
						t.Errorf("request %d: got worker %d reason %q, want unserved (%s)", i, o.worker, o.reason, w.reason)
					}
					continue
				}
				got := []time.Time{o.slot.Arrival, o.slot.Start, o.slot.End}
				if exp := []time.Time{w.arrival, w.start, w.end}; o.worker < 0 || !slices.EqualFunc(got, exp, time.Time.Equal) {
					t.Errorf("request %d: got worker %d %v (%s), want %v", i, o.worker, got, o.reason, exp)
				}
			}
		})
	}
}
