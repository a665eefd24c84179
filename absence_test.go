package doorstep_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

// TestAbsent cuts the 08:00-18:00 shift (break 12:00-12:30) and the
// 20:00-22:00 shift of a worker in Berlin time by absences.
func TestAbsent(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	h := func(hh, mm int) time.Time { return time.Date(2026, 11, 23, hh, mm, 0, 0, berlin) }
	win := func(a, b time.Time) doorstep.Window { return doorstep.Window{Start: a, End: b} }
	day := doorstep.Shift{Start: h(8, 0), End: h(18, 0), Breaks: []doorstep.Break{doorstep.FixedBreak(h(12, 0), h(12, 30))}}
	eve := doorstep.Shift{Start: h(20, 0), End: h(22, 0)}
	tests := []struct {
		name string
		away doorstep.Window
		want []doorstep.Shift
	}{
		{"outside every shift", win(h(18, 0), h(20, 0)), []doorstep.Shift{day, eve}},
		{"the whole day", win(h(0, 0), h(23, 59)), nil},
		{"the evening", win(h(19, 0), h(23, 0)), []doorstep.Shift{day}},
		{"the morning: the shift starts later", win(h(7, 0), h(10, 0)),
			[]doorstep.Shift{{Start: h(10, 0), End: h(18, 0), Breaks: day.Breaks}, eve}},
		{"the afternoon: the shift ends earlier", win(h(15, 0), h(19, 0)),
			[]doorstep.Shift{{Start: h(8, 0), End: h(15, 0), Breaks: day.Breaks}, eve}},
		{"inside: split, the break cut", win(h(12, 15), h(14, 0)), []doorstep.Shift{
			{Start: h(8, 0), End: h(12, 15), Breaks: []doorstep.Break{doorstep.FixedBreak(h(12, 0), h(12, 15))}},
			{Start: h(14, 0), End: h(18, 0)}, eve}},
		// Given in UTC, the pieces keep their shift's zone.
		{"in another zone", win(h(9, 0).UTC(), h(10, 0).UTC()), []doorstep.Shift{
			{Start: h(8, 0), End: h(9, 0)}, {Start: h(10, 0), End: h(18, 0), Breaks: day.Breaks}, eve}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &doorstep.Worker{ID: "w", Shifts: []doorstep.Shift{day, eve}}
			got := w.Absent(tt.away)
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Absent (-got +want):\n%s", diff)
			}
			for _, sh := range got {
				if sh.Start.Location() != berlin || sh.End.Location() != berlin {
					t.Errorf("shift %v..%v left the shift's zone", sh.Start, sh.End)
				}
			}
			if len(w.Shifts) != 2 || w.Shifts[0].End != h(18, 0) {
				t.Errorf("the worker was modified: %v", w.Shifts)
			}
		})
	}
}

// A flexible lunch (30 minutes anywhere in 11:00-14:00) keeps its minutes
// in what is left of its range, or what fits of it.
func TestAbsentFlexibleBreak(t *testing.T) {
	h := func(hh, mm int) time.Time { return time.Date(2026, 11, 23, hh, mm, 0, 0, time.UTC) }
	lunch := doorstep.FlexibleBreak(h(11, 0), h(14, 0), 30*time.Minute)
	w := &doorstep.Worker{ID: "w", Shifts: []doorstep.Shift{{Start: h(8, 0), End: h(18, 0), Breaks: []doorstep.Break{lunch}}}}
	for _, tt := range []struct {
		name string
		away doorstep.Window
		want []doorstep.Shift
	}{
		{"the range shrinks, the minutes stay", doorstep.Window{Start: h(13, 0), End: h(15, 0)}, []doorstep.Shift{
			{Start: h(8, 0), End: h(13, 0), Breaks: []doorstep.Break{doorstep.FlexibleBreak(h(11, 0), h(13, 0), 30*time.Minute)}},
			{Start: h(15, 0), End: h(18, 0)}}},
		{"cut to what fits", doorstep.Window{Start: h(11, 15), End: h(18, 0)}, []doorstep.Shift{
			{Start: h(8, 0), End: h(11, 15), Breaks: []doorstep.Break{doorstep.FlexibleBreak(h(11, 0), h(11, 15), 15*time.Minute)}}}},
	} {
		if diff := cmp.Diff(w.Absent(tt.away), tt.want); diff != "" {
			t.Errorf("%s (-got +want):\n%s", tt.name, diff)
		}
	}
}

// TestAbsentUrgentOvertime: a shift's urgent overtime (an hour after
// 18:00) stays with the piece that still ends at 18:00, ends where an
// absence begins inside it, and is gone from a piece an absence cuts
// short.
func TestAbsentUrgentOvertime(t *testing.T) {
	h := func(hh, mm int) time.Time { return time.Date(2026, 11, 23, hh, mm, 0, 0, time.UTC) }
	sh := doorstep.Shift{Start: h(8, 0), End: h(18, 0), UrgentOvertimeMinutes: 60}
	w := &doorstep.Worker{ID: "w", Shifts: []doorstep.Shift{sh}}
	for _, tt := range []struct {
		name string
		away doorstep.Window
		want []doorstep.Shift
	}{
		{"before the shift", doorstep.Window{Start: h(6, 0), End: h(7, 0)}, []doorstep.Shift{sh}},
		{"after the overtime", doorstep.Window{Start: h(19, 0), End: h(20, 0)}, []doorstep.Shift{sh}},
		{"inside: the later piece keeps it", doorstep.Window{Start: h(12, 0), End: h(13, 0)}, []doorstep.Shift{
			{Start: h(8, 0), End: h(12, 0)}, {Start: h(13, 0), End: h(18, 0), UrgentOvertimeMinutes: 60}}},
		{"from 18:20: cut to 20 minutes", doorstep.Window{Start: h(18, 20), End: h(21, 0)}, []doorstep.Shift{
			{Start: h(8, 0), End: h(18, 0), UrgentOvertimeMinutes: 20}}},
		{"from 18:00: none", doorstep.Window{Start: h(18, 0), End: h(21, 0)}, []doorstep.Shift{
			{Start: h(8, 0), End: h(18, 0)}}},
		{"the afternoon: none on the piece cut short", doorstep.Window{Start: h(15, 0), End: h(19, 0)}, []doorstep.Shift{
			{Start: h(8, 0), End: h(15, 0)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(w.Absent(tt.away), tt.want); diff != "" {
				t.Errorf("Absent (-got +want):\n%s", diff)
			}
		})
	}
}
