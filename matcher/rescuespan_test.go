package matcher_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// TestRescueSpan: where a rescue may move bookings for each promise: from
// now to a day ahead (or the job's latest start), and for an appointment
// more than a day ahead only on its own days, which are what the pool is
// read around.
func TestRescueSpan(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	win := func(from, to time.Duration) *doorstep.Window {
		return &doorstep.Window{Start: now.Add(from), End: now.Add(to)}
	}
	tests := []struct {
		name   string
		req    doorstep.Request
		lo, hi time.Time
	}{
		{"urgent", doorstep.Request{Urgency: doorstep.Urgent}, now, now.Add(day)},
		{"normal without a window", doorstep.Request{Urgency: doorstep.Normal}, now, now.Add(day)},
		{"appointment today", doorstep.Request{Urgency: doorstep.Normal, Window: win(2*time.Hour, 5*time.Hour)}, now, now.Add(day)},
		{"appointment opening exactly a day ahead", doorstep.Request{Urgency: doorstep.Normal, Window: win(day, day+2*time.Hour)}, now, now.Add(day + 2*time.Hour)},
		{"appointment in three days", doorstep.Request{Urgency: doorstep.Normal, Window: win(3*day, 3*day+2*time.Hour)}, now.Add(3 * day), now.Add(3*day + 2*time.Hour)},
		{"appointment open from today to next week", doorstep.Request{Urgency: doorstep.Normal, Window: win(time.Hour, 7*day)}, now, now.Add(7 * day)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.RequestedAt = now
			lo, hi := matcher.RescueSpan(schedule.JobFor(&tt.req, now), now)
			if !lo.Equal(tt.lo) || !hi.Equal(tt.hi) {
				t.Errorf("RescueSpan = [%v, %v], want [%v, %v]", lo, hi, tt.lo, tt.hi)
			}
		})
	}
}
