package schedule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
)

func TestVerify(t *testing.T) {
	lunch := window(clock(12, 0), clock(13, 0))
	plain := worker(dayShift())
	withLunch := worker(dayShift(lunch))
	twoDays := worker(dayShift(), shift(clock2(8, 0), clock2(18, 0)))
	capped := func(jobs, minutes int) *doorstep.Worker {
		w := worker(dayShift(), shift(clock2(8, 0), clock2(18, 0)))
		w.MaxJobsPerDay, w.MaxWorkMinutesPerDay = jobs, minutes
		return w
	}
	// overtime works 08:00-18:00 and may run urgent jobs an hour over.
	overtime := worker(dayShift())
	overtime.Shifts[0].UrgentOvertimeMinutes = 60
	urgentStop := func(id string, from, to time.Time) schedule.Stop {
		s := stop(id, from, to, at(0))
		s.Urgent = true
		return s
	}
	threeStops := schedule.Timeline{
		stop("a", clock(9, 0), clock(10, 0), at(0)),
		stop("b", clock(10, 0), clock(11, 0), at(0)),
		stop("c", clock(11, 0), clock(12, 0), at(0)),
	}
	tests := []struct {
		name    string
		w       *doorstep.Worker
		tl      schedule.Timeline
		wantErr string // a part of the error's text; "" for none
	}{
		{"empty", plain, nil, ""},
		{"one stop", plain, schedule.Timeline{stop("a", clock(9, 0), clock(10, 0), at(50))}, ""},
		{"the whole shift", plain, schedule.Timeline{stop("a", clock(8, 0), clock(18, 0), at(50))}, ""},
		{"room for the trip", plain, schedule.Timeline{
			stop("a", clock(9, 0), clock(10, 0), at(0)), stop("b", clock(10, 30), clock(11, 0), at(30))}, ""},
		{"no room for the trip", plain, schedule.Timeline{
			stop("a", clock(9, 0), clock(10, 0), at(0)), stop("b", clock(10, 29), clock(11, 0), at(30))}, "overlap with travel"},
		{"overlapping stops", plain, schedule.Timeline{
			stop("a", clock(9, 0), clock(10, 0), at(0)), stop("b", clock(9, 30), clock(11, 0), at(0))}, "overlap with travel"},
		{"back to back at one place", plain, threeStops, ""},
		{"end not after start", plain, schedule.Timeline{stop("a", clock(9, 0), clock(9, 0), at(0))}, "not after start"},
		{"before the shift", plain, schedule.Timeline{stop("a", clock(7, 0), clock(7, 30), at(0))}, "outside every shift"},
		{"starting before the shift", plain, schedule.Timeline{stop("a", clock(7, 59), clock(8, 30), at(0))}, "outside every shift"},
		{"running past the shift", plain, schedule.Timeline{stop("a", clock(17, 30), clock(18, 1), at(0))}, "outside every shift"},
		{"no shifts", worker(), schedule.Timeline{stop("a", clock(9, 0), clock(10, 0), at(0))}, "outside every shift"},
		{"an urgent stop in the overtime", overtime, schedule.Timeline{urgentStop("a", clock(17, 30), clock(19, 0))}, ""},
		{"an urgent stop begun as the shift ends", overtime, schedule.Timeline{urgentStop("a", clock(18, 0), clock(18, 30))}, ""},
		{"an urgent stop past the overtime", overtime, schedule.Timeline{urgentStop("a", clock(17, 30), clock(19, 1))}, "outside every shift"},
		{"an urgent stop begun after the shift", overtime, schedule.Timeline{urgentStop("a", clock(18, 1), clock(18, 30))}, "outside every shift"},
		{"a normal stop in the overtime", overtime, schedule.Timeline{stop("a", clock(17, 30), clock(18, 1), at(0))}, "outside every shift"},
		{"an urgent stop past a shift without overtime", plain, schedule.Timeline{urgentStop("a", clock(17, 30), clock(18, 1))}, "outside every shift"},
		{"across two shifts", twoDays, schedule.Timeline{stop("a", clock(17, 0), clock2(9, 0), at(0))}, "outside every shift"},
		{"a new shift starts from home: no trip checked", twoDays, schedule.Timeline{
			stop("a", clock(17, 0), clock(18, 0), at(0)), stop("b", clock2(8, 0), clock2(9, 0), at(900))}, ""},
		{"overlapping the break", withLunch, schedule.Timeline{stop("a", clock(11, 30), clock(12, 30), at(0))}, "overlaps a break"},
		{"inside the break", withLunch, schedule.Timeline{stop("a", clock(12, 10), clock(12, 20), at(0))}, "overlaps a break"},
		{"around the break", withLunch, schedule.Timeline{
			stop("a", clock(11, 0), clock(12, 0), at(0)), stop("b", clock(13, 0), clock(14, 0), at(0))}, ""},
		{"the trip after the break", withLunch, schedule.Timeline{
			stop("a", clock(11, 0), clock(11, 30), at(0)), stop("b", clock(13, 20), clock(14, 0), at(20))}, ""},
		// Leaving A at 11:45 the worker would reach B at 12:05, inside
		// lunch: the trip leaves at 13:00 and reaches B at 13:20.
		{"the trip crossing the break", withLunch, schedule.Timeline{
			stop("a", clock(11, 0), clock(11, 45), at(0)), stop("b", clock(13, 19), clock(14, 0), at(20))}, "overlap with travel"},
		// What a cancellation between A and B leaves (bench/RESULTS.md,
		// the simulator's fixed lunch): the trip after lunch would reach B
		// at 13:20, but leaving A at 10:00 the worker is at B's door at
		// 10:20 and waits there through lunch.
		{"the trip before the break", withLunch, schedule.Timeline{
			stop("a", clock(9, 0), clock(10, 0), at(0)), stop("b", clock(13, 10), clock(14, 0), at(20))}, ""},
		{"the trip over as the break starts", withLunch, schedule.Timeline{
			stop("a", clock(11, 0), clock(11, 40), at(0)), stop("b", clock(13, 10), clock(14, 0), at(20))}, ""},
		{"the trip a minute into the break", withLunch, schedule.Timeline{
			stop("a", clock(11, 0), clock(11, 41), at(0)), stop("b", clock(13, 10), clock(14, 0), at(20))}, "overlap with travel"},
		{"consecutive breaks: the trip after the last", worker(dayShift(window(clock(12, 0), clock(12, 30)), window(clock(12, 30), clock(13, 0)))),
			schedule.Timeline{stop("a", clock(11, 0), clock(11, 45), at(0)), stop("b", clock(13, 19), clock(14, 0), at(20))}, "overlap with travel"},
		{"consecutive breaks: the trip before the first", worker(dayShift(window(clock(12, 0), clock(12, 30)), window(clock(12, 30), clock(13, 0)))),
			schedule.Timeline{stop("a", clock(11, 0), clock(11, 30), at(0)), stop("b", clock(13, 10), clock(14, 0), at(10))}, ""},
		// Breaks 12:00-12:30 and 12:45-13:15: leaving A at 11:55 would
		// reach B (10 away) at 12:05; leaving at 12:30, at 12:40, before
		// the second break. After both it would be 13:25.
		{"the trip between two breaks", worker(dayShift(window(clock(12, 0), clock(12, 30)), window(clock(12, 45), clock(13, 15)))),
			schedule.Timeline{stop("a", clock(11, 0), clock(11, 55), at(0)), stop("b", clock(13, 20), clock(14, 0), at(10))}, ""},
		{"a break before both stops does not delay the trip", withLunch, schedule.Timeline{
			stop("a", clock(13, 0), clock(14, 0), at(0)), stop("b", clock(14, 20), clock(15, 0), at(20))}, ""},
		{"at the job cap", capped(3, 0), threeStops, ""},
		{"over the job cap", capped(2, 0), threeStops, "over the cap of 2"},
		{"the job cap is per day", capped(2, 0), schedule.Timeline{
			stop("a", clock(9, 0), clock(10, 0), at(0)), stop("b", clock(10, 0), clock(11, 0), at(0)),
			stop("c", clock2(11, 0), clock2(12, 0), at(0)), stop("d", clock2(12, 0), clock2(13, 0), at(0))}, ""},
		{"at the minute cap", capped(0, 180), threeStops, ""},
		{"over the minute cap", capped(0, 179), threeStops, "over the cap of 179"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := schedule.Verify(tt.w, tt.tl, minuteAKm)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Verify() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Verify() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
