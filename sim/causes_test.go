package sim

import (
	"os"
	"strings"
	"testing"
)

// TestMissCauses checks each cause of a miss on the one-plumber town of
// TestHandChecked, under every policy.
func TestMissCauses(t *testing.T) {
	tests := []struct {
		name  string
		shift string
		rows  []string
		cause string // of the last request, which goes unserved
	}{
		// The shift ends at 08:30; tomorrow's starts after the hour.
		{"no shift at that hour", "08:30", []string{"08:40 " + p1 + " urgent"}, CauseStructural},
		{"45 km away", "18:00", []string{"08:00 " + p4 + " urgent"}, CauseOutOfReach},
		{"cannot finish before 09:00", "09:00", []string{"08:00 " + p1 + " urgent"}, CauseShiftEnd},
		// The first urgent job holds the plumber until 09:41.
		{"held by urgent work", "18:00", []string{"08:00 " + p1 + " urgent", "08:30 " + p2 + " urgent"}, CauseBusyUrgent},
		// The normal job (no window: its start is fixed) is booked at
		// 08:00 to start at 08:11; at 08:05 the plumber is on the way to
		// it, and without it could reach P2 within the hour.
		{"held by normal work not started", "18:00", []string{"08:00 " + p1 + " normal", "08:05 " + p2 + " urgent"}, CauseBusyNormal},
	}
	for _, tt := range tests {
		for _, pol := range policies {
			t.Run(tt.name+"/"+strings.Split(pol, `"`)[3], func(t *testing.T) {
				s := MustParse(t, soloScenario(pol, tt.shift, "", 2))
				e := runEngine(t, s, Options{Open: memTrace(trace(tt.rows...))}, 0)
				last := e.out[len(e.out)-1]
				if last.worker >= 0 {
					t.Fatalf("the last request was served: %+v", last)
				}
				if last.cause != tt.cause {
					t.Errorf("cause %q (reason %q), want %q", last.cause, last.reason, tt.cause)
				}
				for _, o := range e.out[:len(e.out)-1] {
					if o.worker < 0 {
						t.Errorf("an earlier request went unserved: %+v", o)
					}
				}
				m := e.report().Totals
				if m.MissesByCause[tt.cause] != 1 || m.ByService["plumbing"].MissesByCause[tt.cause] != 1 {
					t.Errorf("report: misses_by_cause %v, plumbing %v", m.MissesByCause, m.ByService["plumbing"].MissesByCause)
				}
			})
		}
	}
}

// Every unserved request has one cause, in the totals, each hour, each
// region and each service.
func TestMissCausesAccountForEveryMiss(t *testing.T) {
	s := MustParse(t, string(mustReadFile(t, "../examples/scenarios/city.json")))
	s.Scale = 0.15
	rep := MustRun(t, s, Options{})
	sum := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	for _, v := range rep.Variants {
		if got := sum(v.Totals.MissesByCause); got != v.Totals.Unserved || got == 0 {
			t.Errorf("%s: %d causes for %d unserved", v.Name, got, v.Totals.Unserved)
		}
		for _, h := range v.Hours {
			if sum(h.MissesByCause) != h.Unserved {
				t.Errorf("%s hour %d: %v for %d unserved", v.Name, h.Hour, h.MissesByCause, h.Unserved)
			}
		}
		for _, r := range v.Regions {
			if sum(r.MissesByCause) != r.Unserved {
				t.Errorf("%s region %s: %v for %d unserved", v.Name, r.Region, r.MissesByCause, r.Unserved)
			}
		}
		n, req := 0, 0
		for _, m := range v.Totals.ByService {
			if sum(m.MissesByCause) != m.Unserved {
				t.Errorf("%s: a service's causes %v for %d unserved", v.Name, m.MissesByCause, m.Unserved)
			}
			n += m.Unserved
			req += m.Requests
		}
		if n != v.Totals.Unserved || req != v.Totals.Requests {
			t.Errorf("%s: services hold %d unserved of %d requests, totals %d of %d", v.Name, n, req, v.Totals.Unserved, v.Totals.Requests)
		}
	}
}

func mustReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
