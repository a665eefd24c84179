package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// TestAppointmentsAhead: demand.ahead makes normal requests appointments
// two days later (10:00-12:00): the plumber's shifts reach that day, both
// are served inside their window, the urgent call today, and the normal
// promise metric counts the appointments against their window (not the
// 24 hours, which they lie beyond).
func TestAppointmentsAhead(t *testing.T) {
	scenario := strings.Replace(soloScenario(`{"name": "insertion"}`, "18:00", "", 2),
		`"demand": {`, `"demand": {"ahead": {"share": 1, "lead_days": [2, 2], "clock_hours": [10, 10]}, `, 1)
	s := MustParse(t, scenario)
	e := runEngine(t, s, Options{Open: memTrace(trace("08:00 "+p1+" normal", "08:05 "+p2+" normal", "08:10 "+p1+" urgent"))}, 0)
	win := doorstep.Window{Start: day.AddDate(0, 0, 2).Add(10 * time.Hour), End: day.AddDate(0, 0, 2).Add(12 * time.Hour)}
	for i := range 2 {
		req, o := &e.arr[i].req, &e.out[i]
		switch {
		case req.Window == nil || !req.Window.Start.Equal(win.Start) || !req.Window.End.Equal(win.End):
			t.Errorf("request %d: window %v, want %v", i, req.Window, win)
		case o.worker < 0:
			t.Errorf("request %d unserved (%s)", i, o.reason)
		case !win.Contains(o.slot.Start):
			t.Errorf("request %d starts %v, outside its window %v", i, o.slot.Start, win)
		}
	}
	if e.arr[2].req.Window != nil || e.out[2].worker < 0 || e.out[2].slot.Arrival.After(at(9, 10, 0)) {
		t.Errorf("the urgent call: window %v, outcome %+v; want no window, served within the hour", e.arr[2].req.Window, e.out[2])
	}
	m := e.report().Totals
	if m.NormalWithin24hShare == nil || *m.NormalWithin24hShare != 1 {
		t.Errorf("normal within promise share %v, want 1 (the appointments in their window)", m.NormalWithin24hShare)
	}
}
