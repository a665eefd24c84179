package schedule_test

import (
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Flexible breaks on tiny days: the worker lives at at(0), a km takes a
// minute, the shift is 08:00-18:00 (600 minutes).
func TestEarliestSlotFlexibleBreaks(t *testing.T) {
	nine := clock(9, 0)
	tests := []slotCase{
		{
			// From home at 10:50, at the door 11:00, done 12:00; the half
			// hour is taken after the job, 12:00-12:30.
			name: "the break floats after the job",
			w:    worker(dayShift(flexible(clock(11, 0), clock(14, 0), 30))),
			job:  normalJob(at(10), mins(60), nine, &doorstep.Window{Start: clock(11, 0), End: clock(14, 0)}),
			want: schedule.Slot{Arrival: clock(11, 0), Start: clock(11, 0), End: clock(12, 0), Travel: mins(10), DistanceKm: 10,
				AddedTravel: mins(10), ShiftMinutes: 600},
		},
		{
			// Free at 11:00; 11:00-12:00 would leave no half hour inside
			// 11:00-12:00 (12:00-12:30 ends too late), so the worker takes
			// the break first, 11:00-11:30, and serves 11:30-12:30, just
			// before C at 12:30 (same place).
			name: "the break floats before the job",
			w:    worker(dayShift(flexible(clock(11, 0), clock(12, 0), 30))),
			tl:   schedule.Timeline{stop("a", clock(8, 0), clock(11, 0), at(0)), stop("c", clock(12, 30), clock(13, 0), at(0))},
			job:  normalJob(at(0), mins(60), clock(8, 0), nil),
			want: schedule.Slot{Arrival: clock(11, 30), Start: clock(11, 30), End: clock(12, 30), ShiftMinutes: 600, DayJobs: 2, DayMinutes: 210},
		},
		{
			// 11:00-12:30 leaves 12:30-13:00 for the break.
			name: "a job that leaves room for the break",
			w:    worker(dayShift(flexible(clock(11, 0), clock(13, 0), 30))),
			tl:   schedule.Timeline{stop("a", clock(8, 0), clock(11, 0), at(0)), stop("c", clock(13, 0), clock(18, 0), at(0))},
			job:  normalJob(at(0), mins(90), clock(8, 0), nil),
			want: schedule.Slot{Arrival: clock(11, 0), Start: clock(11, 0), End: clock(12, 30), ShiftMinutes: 600, DayJobs: 2, DayMinutes: 480},
		},
		{
			// Two hours fill the gap 11:00-13:00, the break's whole range:
			// refused as busy (taking the break first, the job would run
			// into C).
			name:    "a job that would take the break's room is busy",
			w:       worker(dayShift(flexible(clock(11, 0), clock(13, 0), 30))),
			tl:      schedule.Timeline{stop("a", clock(8, 0), clock(11, 0), at(0)), stop("c", clock(13, 0), clock(18, 0), at(0))},
			job:     normalJob(at(0), mins(120), clock(8, 0), nil),
			wantErr: schedule.ErrBusy,
		},
		{
			// B (11:00-12:00) leaves 12:00-13:00 for the break; a second
			// job of an hour would squeeze it out.
			name: "two jobs squeeze the break out",
			w:    worker(dayShift(flexible(clock(11, 0), clock(13, 0), 30))),
			tl: schedule.Timeline{stop("a", clock(8, 0), clock(11, 0), at(0)), stop("b", clock(11, 0), clock(12, 0), at(0)),
				stop("c", clock(13, 0), clock(18, 0), at(0))},
			job:     normalJob(at(0), mins(60), clock(8, 0), nil),
			wantErr: schedule.ErrBusy,
		},
		{
			name: "half an hour still fits beside the break",
			w:    worker(dayShift(flexible(clock(11, 0), clock(13, 0), 30))),
			tl: schedule.Timeline{stop("a", clock(8, 0), clock(11, 0), at(0)), stop("b", clock(11, 0), clock(12, 0), at(0)),
				stop("c", clock(13, 0), clock(18, 0), at(0))},
			job:  normalJob(at(0), mins(30), clock(8, 0), nil),
			want: schedule.Slot{Arrival: clock(12, 0), Start: clock(12, 0), End: clock(12, 30), ShiftMinutes: 600, DayJobs: 3, DayMinutes: 540},
		},
		{
			// The break may be taken first thing, before leaving home:
			// 08:00-08:30, then the job 08:30-09:30.
			name: "the break at the shift's start",
			w:    worker(dayShift(flexible(clock(8, 0), clock(9, 0), 30))),
			job:  normalJob(at(0), mins(60), clock(7, 0), &doorstep.Window{Start: clock(8, 0), End: clock(9, 0)}),
			want: schedule.Slot{Arrival: clock(8, 30), Start: clock(8, 30), End: clock(9, 30), ShiftMinutes: 600},
		},
		{
			// 17:00-17:30 leaves 17:30-18:00 for the break.
			name: "the break at the shift's end",
			w:    worker(dayShift(flexible(clock(17, 0), clock(18, 0), 30))),
			job:  normalJob(at(0), mins(30), nine, &doorstep.Window{Start: clock(17, 0), End: clock(17, 30)}),
			want: schedule.Slot{Arrival: clock(17, 0), Start: clock(17, 0), End: clock(17, 30), ShiftMinutes: 600},
		},
		{
			// An hour from 17:00 ends the shift with no break; after the
			// break it would run past the shift. Busy, as with a fixed
			// break at 17:30.
			name:    "no room for the break before the shift ends",
			w:       worker(dayShift(flexible(clock(17, 0), clock(18, 0), 30))),
			job:     normalJob(at(0), mins(60), nine, &doorstep.Window{Start: clock(17, 0), End: clock(17, 30)}),
			wantErr: schedule.ErrBusy,
		},
		{
			// Free at 12:00 at home; leaving at once the worker would serve
			// at(20) 12:20-12:35, too late for a half hour by 12:45. The
			// trip is no break: rest 12:00-12:30, leave, 12:50-13:05.
			name: "travel is not a break",
			w:    worker(dayShift(flexible(clock(12, 0), clock(12, 45), 30))),
			tl:   schedule.Timeline{stop("b", clock(10, 0), clock(12, 0), at(0))},
			job:  normalJob(at(20), mins(15), nine, &doorstep.Window{Start: clock(12, 0), End: clock(13, 0)}),
			want: schedule.Slot{Arrival: clock(12, 50), Start: clock(12, 50), End: clock(13, 5), Travel: mins(20), DistanceKm: 20,
				AddedTravel: mins(20), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 120},
		},
		{
			// B ends 12:00 at at(0), D starts 13:00 at at(30): the
			// break must end by 12:30 for the trip. A job at at(0) of 10
			// minutes from 12:00 would leave 12:10-12:30: 20 minutes.
			// Taking the break first, 12:00-12:30, the job would end 12:40
			// and miss D. After D: 14:00 + 30 back.
			name: "no travel crosses a break",
			w:    worker(dayShift(flexible(clock(12, 0), clock(13, 0), 30))),
			tl:   schedule.Timeline{stop("b", clock(8, 0), clock(12, 0), at(0)), stop("d", clock(13, 0), clock(14, 0), at(30))},
			job:  normalJob(at(0), mins(10), nine, nil),
			want: schedule.Slot{Arrival: clock(14, 30), Start: clock(14, 30), End: clock(14, 40), Travel: mins(30), DistanceKm: 30,
				AddedTravel: mins(30), ShiftMinutes: 600, DayJobs: 2, DayMinutes: 300},
		},
		{
			// A fixed lunch 12:00-12:30 is no idle time for the flexible
			// half hour in 11:30-13:00: a job 12:30-13:00 would leave it
			// none, so the break takes 12:30-13:00 and the job 13:00-13:30.
			name: "a flexible break beside a fixed one",
			w:    worker(dayShift(window(clock(12, 0), clock(12, 30)), flexible(clock(11, 30), clock(13, 0), 30))),
			tl:   schedule.Timeline{stop("a", clock(8, 0), clock(12, 0), at(0))},
			job:  normalJob(at(0), mins(30), nine, nil),
			want: schedule.Slot{Arrival: clock(13, 0), Start: clock(13, 0), End: clock(13, 30), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 240},
		},
		{
			// Lunch 12:00-13:00, half an hour to take in 11:00-12:00, A
			// ends 11:00 at home. Rest 11:00-11:30, leave, at the door
			// (20 away) 11:50, before lunch: the job starts as lunch ends.
			name: "a flexible break, then a trip over before lunch",
			w:    worker(dayShift(flexible(clock(11, 0), clock(12, 0), 30), window(clock(12, 0), clock(13, 0)))),
			tl:   schedule.Timeline{stop("a", clock(8, 0), clock(11, 0), at(0))},
			job:  normalJob(at(20), mins(30), clock(8, 0), &doorstep.Window{Start: clock(12, 0), End: clock(13, 30)}),
			want: schedule.Slot{Arrival: clock(13, 0), Start: clock(13, 0), End: clock(13, 30), Travel: mins(20), DistanceKm: 20,
				AddedTravel: mins(20), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 180},
		},
		{
			// As above with 40 minutes to rest and the job 25 away: leaving
			// at 11:00 the worker would be at the door before lunch, but
			// the break would then have no room (resting 11:00-11:40 first,
			// the trip would end at 12:05, inside lunch). So it rests,
			// waits for lunch to end, and leaves at 13:00: 13:25.
			name: "a flexible break that pushes the trip past lunch",
			w:    worker(dayShift(flexible(clock(11, 0), clock(12, 0), 40), window(clock(12, 0), clock(13, 0)))),
			tl:   schedule.Timeline{stop("a", clock(8, 0), clock(11, 0), at(0))},
			job:  normalJob(at(25), mins(30), clock(8, 0), &doorstep.Window{Start: clock(12, 0), End: clock(13, 30)}),
			want: schedule.Slot{Arrival: clock(13, 25), Start: clock(13, 25), End: clock(13, 55), Travel: mins(25), DistanceKm: 25,
				AddedTravel: mins(25), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 180},
		},
	}
	runSlotCases(t, fake, tests)
}

// TestEarliestSlotBreakOver: the morning left no break (a stop 08:00-13:00,
// which Verify refuses), but at 15:00 that break is over and nothing the
// planner does now changes it: the afternoon stays bookable.
func TestEarliestSlotBreakOver(t *testing.T) {
	w := worker(dayShift(flexible(clock(11, 0), clock(12, 0), 30)))
	tl := schedule.Timeline{stop("a", clock(8, 0), clock(13, 0), at(0))}
	got, err := fake.EarliestSlot(w, tl, normalJob(at(0), mins(30), clock(15, 0), nil))
	want := schedule.Slot{Arrival: clock(15, 0), Start: clock(15, 0), End: clock(15, 30), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 300}
	if err != nil || got != want {
		t.Errorf("EarliestSlot() = %+v, %v; want %+v", got, err, want)
	}
	// At 11:00 the break is still to come, and the day has no room for it.
	if _, err := fake.EarliestSlot(w, tl, normalJob(at(0), mins(30), clock(11, 0), &doorstep.Window{Start: clock(15, 0), End: clock(15, 30)})); err != schedule.ErrBusy {
		t.Errorf("EarliestSlot() at 11:00 = %v, want %v", err, schedule.ErrBusy)
	}
}

func TestVerifyFlexibleBreaks(t *testing.T) {
	noon := worker(dayShift(flexible(clock(12, 0), clock(13, 0), 30)))
	tests := []struct {
		name    string
		w       *doorstep.Worker
		tl      schedule.Timeline
		wantErr string
	}{
		{"room between two stops", noon, schedule.Timeline{
			stop("a", clock(11, 0), clock(12, 0), at(0)), stop("b", clock(12, 30), clock(13, 0), at(0))}, ""},
		{"a minute short", noon, schedule.Timeline{
			stop("a", clock(11, 0), clock(12, 0), at(0)), stop("b", clock(12, 29), clock(13, 0), at(0))}, "no idle time"},
		{"room after the stops", noon, schedule.Timeline{
			stop("a", clock(11, 0), clock(12, 30), at(0))}, ""},
		{"the stops fill the range", noon, schedule.Timeline{
			stop("a", clock(11, 0), clock(12, 31), at(0)), stop("b", clock(12, 31), clock(13, 0), at(0))}, "no idle time"},
		{"the break before the trip", worker(dayShift(flexible(clock(12, 0), clock(12, 40), 30))), schedule.Timeline{
			stop("a", clock(10, 0), clock(12, 0), at(0)), stop("b", clock(12, 50), clock(14, 0), at(20))}, ""},
		// 12:00-12:35 holds no stop, but 20 of its minutes are the trip.
		{"the trip is no break", worker(dayShift(flexible(clock(12, 0), clock(12, 35), 30))), schedule.Timeline{
			stop("a", clock(10, 0), clock(12, 0), at(0)), stop("b", clock(12, 40), clock(14, 0), at(20))}, "no idle time"},
		{"at the shift's end", worker(dayShift(flexible(clock(17, 0), clock(18, 0), 30))), schedule.Timeline{
			stop("a", clock(16, 0), clock(17, 30), at(0))}, ""},
		{"past the shift's end", worker(dayShift(flexible(clock(17, 0), clock(18, 0), 30))), schedule.Timeline{
			stop("a", clock(16, 0), clock(17, 31), at(0))}, "no idle time"},
		{"a fixed break is no idle time for a flexible one",
			worker(dayShift(window(clock(12, 0), clock(12, 30)), flexible(clock(11, 30), clock(13, 0), 30))),
			schedule.Timeline{stop("a", clock(11, 0), clock(12, 0), at(0)), stop("b", clock(12, 30), clock(13, 0), at(0))}, "no idle time"},
		{"the flexible break after the fixed one",
			worker(dayShift(window(clock(12, 0), clock(12, 30)), flexible(clock(11, 30), clock(13, 0), 30))),
			schedule.Timeline{stop("a", clock(11, 0), clock(12, 0), at(0)), stop("b", clock(13, 0), clock(13, 30), at(0))}, ""},
		{"a stop may run through a flexible range", noon, schedule.Timeline{stop("a", clock(11, 0), clock(12, 20), at(0))}, ""},
		// Lunch 12:00-13:00; B (20 away) at 13:10 is reached only by a
		// trip over before lunch. A half hour in 10:00-11:00 leaves it:
		// rest 10:00-10:30, leave, at B's door 10:50.
		{"a flexible break before a trip that beats the fixed one",
			worker(dayShift(flexible(clock(10, 0), clock(11, 0), 30), window(clock(12, 0), clock(13, 0)))),
			schedule.Timeline{stop("a", clock(9, 0), clock(10, 0), at(0)), stop("b", clock(13, 10), clock(14, 0), at(20))}, ""},
		// Fifty minutes in 11:00-12:00 end at 11:50 at the earliest: the
		// trip would reach B at 12:10, inside lunch, so it leaves at 13:00
		// and reaches B at 13:20, too late. No idle time for the break.
		{"a flexible break that pushes the trip past the fixed one",
			worker(dayShift(flexible(clock(11, 0), clock(12, 0), 50), window(clock(12, 0), clock(13, 0)))),
			schedule.Timeline{stop("a", clock(9, 0), clock(11, 0), at(0)), stop("b", clock(13, 10), clock(14, 0), at(20))}, "no idle time"},
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
