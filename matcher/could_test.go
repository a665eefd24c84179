package matcher_test

import (
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

func TestCouldServe(t *testing.T) {
	now := clock(10, 0)
	urgentPlumbing := func() *doorstep.Request {
		return &doorstep.Request{Service: "plumbing", Skills: []string{"plumbing"}, Location: base,
			Urgency: doorstep.Urgent, Duration: time.Hour, RequestedAt: now}
	}
	windowed := func(from, to time.Time) *doorstep.Request {
		r := &doorstep.Request{Service: "cleaning", Skills: []string{"cleaning"}, Location: base,
			Urgency: doorstep.Normal, Duration: 2 * time.Hour, RequestedAt: now}
		r.Window = &doorstep.Window{Start: from, End: to}
		return r
	}
	onShift := func(from, to time.Time) func(*doorstep.Worker) {
		return func(w *doorstep.Worker) { w.Shifts = []doorstep.Shift{{Start: from, End: to}} }
	}
	tests := []struct {
		name   string
		req    *doorstep.Request
		skills []string
		edit   func(*doorstep.Worker)
		want   bool
	}{
		{"on shift, qualified", urgentPlumbing(), []string{"plumbing"}, nil, true},
		{"lacks the skill", urgentPlumbing(), []string{"cleaning"}, nil, false},
		{"lacks a certificate", func() *doorstep.Request {
			r := urgentPlumbing()
			r.Certificates = []string{"gas"}
			return r
		}(), []string{"plumbing"}, nil, false},
		{"excluded", func() *doorstep.Request {
			r := urgentPlumbing()
			r.ExcludedWorkers = []string{"w"}
			return r
		}(), []string{"plumbing"}, nil, false},
		{"no shifts", urgentPlumbing(), []string{"plumbing"}, func(w *doorstep.Worker) { w.Shifts = nil }, false},
		{"shift over", urgentPlumbing(), []string{"plumbing"}, onShift(clock(6, 0), clock(9, 0)), false},
		{"shift starts after the urgent deadline", urgentPlumbing(), []string{"plumbing"}, onShift(clock(11, 1), clock(20, 0)), false},
		{"shift starts at the urgent deadline", urgentPlumbing(), []string{"plumbing"}, onShift(clock(11, 0), clock(20, 0)), true},
		{"shift ends before the job could end", urgentPlumbing(), []string{"plumbing"}, onShift(clock(6, 0), clock(10, 59)), false},
		{"shift ends as the job ends", urgentPlumbing(), []string{"plumbing"}, onShift(clock(6, 0), clock(11, 0)), true},
		{"second shift holds it", urgentPlumbing(), []string{"plumbing"}, func(w *doorstep.Worker) {
			w.Shifts = []doorstep.Shift{{Start: clock(6, 0), End: clock(9, 0)}, {Start: clock(10, 30), End: clock(18, 0)}}
		}, true},
		{"normal: tomorrow's shift within 24 h", func() *doorstep.Request { r := windowed(now, now); r.Window = nil; return r }(), []string{"cleaning"},
			onShift(clock(32, 0), clock(40, 0)), true},
		{"normal: shift outside the window", windowed(clock(14, 0), clock(16, 0)), []string{"cleaning"},
			onShift(clock(8, 0), clock(13, 0)), false},
		{"normal: shift overlaps the window", windowed(clock(14, 0), clock(16, 0)), []string{"cleaning"},
			onShift(clock(15, 0), clock(18, 0)), true},
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorker("w", tt.skills...)
			if tt.edit != nil {
				tt.edit(w)
			}
			if got := matcher.CouldServe(w, tt.req, now); got != tt.want {
				t.Errorf("CouldServe = %v, want %v", got, tt.want)
			}
			// For a worker who can take the request, ShiftVerdict is
			// "" as CouldServe says, else the reason Evaluate gives.
			if !w.Qualifies(tt.req) || slices.Contains(tt.req.ExcludedWorkers, w.ID) {
				return
			}
			job := schedule.JobFor(tt.req, now)
			verdict := matcher.ShiftVerdict(w, job)
			if (verdict == "") != tt.want {
				t.Errorf("ShiftVerdict = %q, CouldServe %v", verdict, tt.want)
			}
			c := cand(w)
			if _, reason := m.Evaluate(tt.req, job, &c, matcher.History{}); verdict != "" && verdict != reason {
				t.Errorf("ShiftVerdict = %q, Evaluate rejects for %q", verdict, reason)
			}
		})
	}
}
