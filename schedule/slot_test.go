package schedule_test

import (
	"errors"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/google/go-cmp/cmp"
)

// slotCase is one EarliestSlot scenario. With the fake model a km is a
// minute and the worker lives at at(0), so every expected time below is
// worked out by hand in the case's comment.
type slotCase struct {
	name    string
	w       *doorstep.Worker
	tl      schedule.Timeline
	job     schedule.Job
	want    schedule.Slot
	wantErr error
}

func runSlotCases(t *testing.T, travel schedule.Planner, tests []slotCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := travel.EarliestSlot(tt.w, tt.tl, tt.job)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("EarliestSlot() error = %v, want %v (slot %+v)", err, tt.wantErr, got)
			}
			if diff := cmp.Diff(tt.want, got, slotOpts); diff != "" {
				t.Errorf("EarliestSlot() mismatch (-want +got):\n%s", diff)
			}
			if err == nil {
				st := stop("new", got.Start, got.End, tt.job.Location)
				st.Urgent = tt.job.Urgent()
				if err := schedule.Verify(tt.w, tt.tl.Insert(st), travel.Travel); err != nil {
					t.Errorf("the slot breaks the timeline: %v", err)
				}
			}
		})
	}
}

var fake = schedule.Planner{Travel: minuteAKm}

func TestEarliestSlotUrgentDeadline(t *testing.T) {
	w := worker(dayShift())
	nine := clock(9, 0)
	tests := []slotCase{
		{
			name: "59 minutes away",
			w:    w,
			job:  urgentJob(at(59), mins(30), nine, nine),
			want: schedule.Slot{Arrival: clock(9, 59), Start: clock(9, 59), End: clock(10, 29), Travel: mins(59), DistanceKm: 59, AddedTravel: mins(59), ShiftMinutes: 600},
		},
		{
			name: "60 minutes away: arriving at the deadline is on time",
			w:    w,
			job:  urgentJob(at(60), mins(30), nine, nine),
			want: schedule.Slot{Arrival: clock(10, 0), Start: clock(10, 0), End: clock(10, 30), Travel: mins(60), DistanceKm: 60, AddedTravel: mins(60), ShiftMinutes: 600},
		},
		{
			name:    "61 minutes away",
			w:       w,
			job:     urgentJob(at(61), mins(30), nine, nine),
			wantErr: schedule.ErrDeadline,
		},
		{
			name: "the promise is on arrival: a long job may run past the hour",
			w:    w,
			job:  urgentJob(at(10), 3*time.Hour, nine, nine),
			want: schedule.Slot{Arrival: clock(9, 10), Start: clock(9, 10), End: clock(12, 10), Travel: mins(10), DistanceKm: 10, AddedTravel: mins(10), ShiftMinutes: 600},
		},
		{
			name: "requested half an hour ago, 30 minutes away",
			w:    w,
			job:  urgentJob(at(30), mins(30), clock(8, 30), nine),
			want: schedule.Slot{Arrival: clock(9, 30), Start: clock(9, 30), End: clock(10, 0), Travel: mins(30), DistanceKm: 30, AddedTravel: mins(30), ShiftMinutes: 600},
		},
		{
			name:    "requested half an hour ago, 31 minutes away",
			w:       w,
			job:     urgentJob(at(31), mins(30), clock(8, 30), nine),
			wantErr: schedule.ErrDeadline,
		},
		{
			// The worker departs at 08:00, the shift's start, not at the
			// request's 07:30: 08:00 + 30 = 08:30 is on time, 31 is not.
			name: "requested before the shift: departs at its start",
			w:    w,
			job:  urgentJob(at(30), mins(30), clock(7, 30), clock(7, 30)),
			want: schedule.Slot{Arrival: clock(8, 30), Start: clock(8, 30), End: clock(9, 0), Travel: mins(30), DistanceKm: 30, AddedTravel: mins(30), ShiftMinutes: 600},
		},
		{
			name:    "requested before the shift, a minute too far",
			w:       w,
			job:     urgentJob(at(31), mins(30), clock(7, 30), clock(7, 30)),
			wantErr: schedule.ErrDeadline,
		},
		{
			// 09:00-09:50 at home, then 09:50 + 10 = 10:00.
			name: "busy first, then just in time",
			w:    w,
			tl:   schedule.Timeline{stop("s", clock(9, 0), clock(9, 50), at(0))},
			job:  urgentJob(at(10), mins(30), nine, nine),
			want: schedule.Slot{Arrival: clock(10, 0), Start: clock(10, 0), End: clock(10, 30), Travel: mins(10), DistanceKm: 10, AddedTravel: mins(10), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 50},
		},
		{
			name:    "busy first, then a minute late",
			w:       w,
			tl:      schedule.Timeline{stop("s", clock(9, 0), clock(9, 50), at(0))},
			job:     urgentJob(at(11), mins(30), nine, nine),
			wantErr: schedule.ErrDeadline,
		},
		{
			name:    "busy past the deadline",
			w:       w,
			tl:      schedule.Timeline{stop("s", clock(9, 0), clock(10, 30), at(0))},
			job:     urgentJob(at(1), mins(30), nine, nine),
			wantErr: schedule.ErrBusy,
		},
		{
			// The deadline had passed before anyone looked: no start is
			// allowed at all, which the code reports as ErrShift.
			name:    "requested two hours ago",
			w:       w,
			job:     urgentJob(at(1), mins(30), clock(7, 0), nine),
			wantErr: schedule.ErrShift,
		},
	}
	runSlotCases(t, fake, tests)
}

func TestEarliestSlotTravelAroundStops(t *testing.T) {
	w := worker(dayShift())
	eight := clock(8, 0)
	stopB := stop("b", clock(10, 0), clock(11, 0), at(10)) // B = at(10)
	tests := []slotCase{
		{
			// From home 08:00 + 20 = 08:20; 08:20 + 90 = 09:50; + t(C,B) 10 =
			// 10:00, the stop's start. AddedTravel = 20 + 10 - t(home,B) 10.
			name: "before the stop: end + travel to it == its start",
			w:    w,
			tl:   schedule.Timeline{stopB},
			job:  normalJob(at(20), mins(90), eight, nil),
			want: schedule.Slot{Arrival: clock(8, 20), Start: clock(8, 20), End: clock(9, 50), Travel: mins(20), DistanceKm: 20,
				AddedTravel: mins(20), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 60},
		},
		{
			// 09:51 + 10 > 10:00: after the stop instead, 11:00 + t(B,C) 10.
			name: "a minute too long for before: after the stop, plus the trip",
			w:    w,
			tl:   schedule.Timeline{stopB},
			job:  normalJob(at(20), mins(91), eight, nil),
			want: schedule.Slot{Arrival: clock(11, 10), Start: clock(11, 10), End: clock(12, 41), Travel: mins(10), DistanceKm: 10,
				AddedTravel: mins(10), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 60},
		},
		{
			name: "asked during the stop: its end plus the trip",
			w:    w,
			tl:   schedule.Timeline{stopB},
			job:  normalJob(at(25), mins(30), clock(10, 30), nil),
			want: schedule.Slot{Arrival: clock(11, 15), Start: clock(11, 15), End: clock(11, 45), Travel: mins(15), DistanceKm: 15,
				AddedTravel: mins(15), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 60},
		},
		{
			name: "asked after the stop: departs now from the stop's place",
			w:    w,
			tl:   schedule.Timeline{stopB},
			job:  normalJob(at(25), mins(30), clock(11, 30), nil),
			want: schedule.Slot{Arrival: clock(11, 45), Start: clock(11, 45), End: clock(12, 15), Travel: mins(15), DistanceKm: 15,
				AddedTravel: mins(15), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 60},
		},
		{
			// Window 10:00-12:00 excludes before 09:00 and after 14:00.
			// 10:00 from B: + t(B,C) 5 = 10:05; 11:05 + t(C,D) 35 = 11:40 <=
			// 13:00. AddedTravel = 5 + 35 - t(B,D) 30 = 10.
			name: "only between two stops",
			w:    w,
			tl: schedule.Timeline{stop("b", clock(9, 0), clock(10, 0), at(10)),
				stop("d", clock(13, 0), clock(14, 0), at(40))},
			job: normalJob(at(5), mins(60), eight, &doorstep.Window{Start: clock(10, 0), End: clock(12, 0)}),
			want: schedule.Slot{Arrival: clock(10, 5), Start: clock(10, 5), End: clock(11, 5), Travel: mins(5), DistanceKm: 5,
				AddedTravel: mins(10), ShiftMinutes: 600, DayJobs: 2, DayMinutes: 120},
		},
		{
			name: "between two stops, the gap exactly long enough",
			w:    w,
			tl: schedule.Timeline{stop("b", clock(9, 0), clock(10, 0), at(10)),
				stop("d", clock(11, 40), clock(12, 40), at(40))},
			job: normalJob(at(5), mins(60), eight, &doorstep.Window{Start: clock(10, 0), End: clock(12, 0)}),
			want: schedule.Slot{Arrival: clock(10, 5), Start: clock(10, 5), End: clock(11, 5), Travel: mins(5), DistanceKm: 5,
				AddedTravel: mins(10), ShiftMinutes: 600, DayJobs: 2, DayMinutes: 120},
		},
		{
			name: "between two stops, the gap a minute short",
			w:    w,
			tl: schedule.Timeline{stop("b", clock(9, 0), clock(10, 0), at(10)),
				stop("d", clock(11, 39), clock(12, 39), at(40))},
			job:     normalJob(at(5), mins(60), eight, &doorstep.Window{Start: clock(10, 0), End: clock(12, 0)}),
			wantErr: schedule.ErrBusy,
		},
		{
			// Home -> C -> B instead of home -> B: 15 + 5 - 10 = 10.
			name: "added travel of a detour before the first stop",
			w:    w,
			tl:   schedule.Timeline{stopB},
			job:  normalJob(at(15), mins(30), eight, nil),
			want: schedule.Slot{Arrival: clock(8, 15), Start: clock(8, 15), End: clock(8, 45), Travel: mins(15), DistanceKm: 15,
				AddedTravel: mins(10), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 60},
		},
		{
			// Off the line: t(home,C) = t(C,B) = round(sqrt(5²+5²)) = 7,
			// t(home,B) = 10: 7 + 7 - 10 = 4.
			name: "added travel off the line",
			w:    w,
			tl:   schedule.Timeline{stopB},
			job:  normalJob(pt(5, 5), mins(30), eight, nil),
			want: schedule.Slot{Arrival: clock(8, 7), Start: clock(8, 7), End: clock(8, 37), Travel: mins(7), DistanceKm: geo.DistanceKm(at(0), pt(5, 5)),
				AddedTravel: mins(4), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 60},
		},
	}
	runSlotCases(t, fake, tests)
}

func TestEarliestSlotWindows(t *testing.T) {
	w := worker(dayShift())
	nine := clock(9, 0)
	tests := []slotCase{
		{
			// Free from 09:00, and could be at the door at 09:10; the
			// service starts at the window's start, and the worker leaves
			// so as to arrive then (Arrival = Start) rather than wait.
			name: "starts at the window's start when free earlier",
			w:    w,
			job:  normalJob(at(10), mins(60), nine, &doorstep.Window{Start: clock(14, 0), End: clock(16, 0)}),
			want: schedule.Slot{Arrival: clock(14, 0), Start: clock(14, 0), End: clock(15, 0), Travel: mins(10), DistanceKm: 10,
				AddedTravel: mins(10), ShiftMinutes: 600},
		},
		{
			name: "a window opened in the past starts now",
			w:    w,
			job:  normalJob(at(10), mins(60), nine, &doorstep.Window{Start: clock(7, 0), End: clock(12, 0)}),
			want: schedule.Slot{Arrival: clock(9, 10), Start: clock(9, 10), End: clock(10, 10), Travel: mins(10), DistanceKm: 10,
				AddedTravel: mins(10), ShiftMinutes: 600},
		},
		{
			// 10:50 at B + 20 = 11:10: the start is the window's last instant
			// 11:10; a closing 11:09 would be missed.
			name: "the last start the window allows",
			w:    w,
			tl:   schedule.Timeline{stop("b", clock(9, 0), clock(10, 50), at(10))},
			job:  normalJob(at(30), mins(60), nine, &doorstep.Window{Start: clock(10, 0), End: clock(11, 10)}),
			want: schedule.Slot{Arrival: clock(11, 10), Start: clock(11, 10), End: clock(12, 10), Travel: mins(20), DistanceKm: 20,
				AddedTravel: mins(20), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 110},
		},
		{
			// The gap after the stop opens inside the window but the trip
			// ends after it: a deadline miss, not a full window.
			name:    "reachable only after the window closes",
			w:       w,
			tl:      schedule.Timeline{stop("b", clock(9, 0), clock(10, 50), at(10))},
			job:     normalJob(at(30), mins(60), nine, &doorstep.Window{Start: clock(10, 0), End: clock(11, 9)}),
			wantErr: schedule.ErrDeadline,
		},
		{
			name:    "the window is booked full",
			w:       w,
			tl:      schedule.Timeline{stop("b", clock(9, 30), clock(11, 30), at(10))},
			job:     normalJob(at(10), mins(30), nine, &doorstep.Window{Start: clock(10, 0), End: clock(11, 0)}),
			wantErr: schedule.ErrBusy,
		},
		{
			name:    "the window after the shift",
			w:       w,
			job:     normalJob(at(10), mins(60), nine, &doorstep.Window{Start: clock(19, 0), End: clock(21, 0)}),
			wantErr: schedule.ErrShift,
		},
		{
			name:    "the window before the shift",
			w:       w,
			job:     normalJob(at(10), mins(60), clock(5, 0), &doorstep.Window{Start: clock(6, 0), End: clock(7, 59)}),
			wantErr: schedule.ErrShift,
		},
		{
			// The shift allows starts until 17:00 for an hour's job.
			name:    "the window straddles the shift's end, too late for the job to end in it",
			w:       w,
			job:     normalJob(at(10), mins(60), nine, &doorstep.Window{Start: clock(17, 1), End: clock(19, 0)}),
			wantErr: schedule.ErrShiftEnd,
		},
		{
			name: "the job ends with the shift",
			w:    w,
			job:  normalJob(at(10), mins(60), nine, &doorstep.Window{Start: clock(17, 0), End: clock(19, 0)}),
			want: schedule.Slot{Arrival: clock(17, 0), Start: clock(17, 0), End: clock(18, 0), Travel: mins(10), DistanceKm: 10,
				AddedTravel: mins(10), ShiftMinutes: 600},
		},
		{
			// 16:55 + 10 = 17:05, + 60 = 18:05, after the shift. The worker
			// has no booking, yet the reason is ErrBusy: the code reports
			// any job running past the shift's end after the last stop as
			// busy (ErrShift would be the telling reason).
			name:    "the trip pushes the job past the shift's end",
			w:       w,
			job:     normalJob(at(10), mins(60), clock(16, 55), &doorstep.Window{Start: clock(16, 50), End: clock(19, 0)}),
			wantErr: schedule.ErrShiftEnd,
		},
		{
			name:    "the window opens after the shift ends: no shift",
			w:       w,
			job:     normalJob(at(10), mins(60), nine, &doorstep.Window{Start: clock(18, 1), End: clock(19, 0)}),
			wantErr: schedule.ErrShift,
		},
		{
			// JobFor leaves EarliestStart (now) after LatestStart: the code
			// finds no start to try and reports ErrShift.
			name:    "the window has already closed",
			w:       w,
			job:     normalJob(at(10), mins(60), clock(13, 0), &doorstep.Window{Start: clock(11, 0), End: clock(12, 0)}),
			wantErr: schedule.ErrShift,
		},
	}
	runSlotCases(t, fake, tests)
}

func TestEarliestSlotCaps(t *testing.T) {
	nine := clock(9, 0)
	// A split day: the morning's stops do not stand in the afternoon's
	// way, so only the cap can refuse an afternoon job.
	morning, afternoon := shift(clock(7, 0), clock(12, 0)), shift(clock(13, 0), clock(18, 0))
	twoStops := schedule.Timeline{stop("a", clock(8, 0), clock(9, 0), at(0)), stop("b", clock(10, 0), clock(11, 30), at(0))}
	capped := func(jobs, minutes int) *doorstep.Worker {
		w := worker(morning, afternoon)
		w.MaxJobsPerDay, w.MaxWorkMinutesPerDay = jobs, minutes
		return w
	}
	pm := &doorstep.Window{Start: clock(13, 0), End: clock(17, 0)}

	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	nyClock := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, ny) }
	// New York's day of 23 November runs from 05:00 UTC on the 23rd to
	// 05:00 UTC on the 24th. Shifts 07:00-12:00 and 17:00-22:00 local.
	nyWorker := func(jobs int) *doorstep.Worker {
		w := worker(shift(nyClock(22, 17, 0), nyClock(22, 22, 0)),
			shift(nyClock(23, 7, 0), nyClock(23, 12, 0)), shift(nyClock(23, 17, 0), nyClock(23, 22, 0)))
		w.MaxJobsPerDay = jobs
		return w
	}
	// 20:00-21:00 local on the 22nd is 01:00-02:00 UTC on the 23rd: the
	// previous local day but the same UTC day as the morning job.
	lastNight := stop("n", nyClock(22, 20, 0).UTC(), nyClock(22, 21, 0).UTC(), at(0))
	// 08:00-09:00 local on the 23rd is 13:00-14:00 UTC on the 23rd.
	thisMorning := stop("m", nyClock(23, 8, 0).UTC(), nyClock(23, 9, 0).UTC(), at(0))
	// 19:30 local on the 23rd is 00:30 UTC on the 24th.
	evening := &doorstep.Window{Start: nyClock(23, 19, 30), End: nyClock(23, 20, 30)}
	morningWindow := &doorstep.Window{Start: nyClock(23, 10, 0), End: nyClock(23, 11, 0)}
	nyNow := nyClock(23, 6, 0)

	tests := []slotCase{
		{
			name: "under the job cap: the day's counts are reported",
			w:    capped(3, 0),
			tl:   twoStops, job: normalJob(at(0), mins(60), nine, pm),
			want: schedule.Slot{Arrival: clock(13, 0), Start: clock(13, 0), End: clock(14, 0), ShiftMinutes: 300, DayJobs: 2, DayMinutes: 150},
		},
		{
			name: "at the job cap",
			w:    capped(2, 0),
			tl:   twoStops, job: normalJob(at(0), mins(60), nine, pm),
			wantErr: schedule.ErrCap,
		},
		{
			name: "the job cap counts only the slot's day",
			w:    capped(2, 0),
			tl:   twoStops,
			job:  normalJob(at(0), mins(60), clock(20, 0), &doorstep.Window{Start: clock2(13, 0), End: clock2(14, 0)}),
			// No shift on day 2.
			wantErr: schedule.ErrShift,
		},
		{
			name: "the minute cap reached exactly",
			w:    capped(0, 210),
			tl:   twoStops, job: normalJob(at(0), mins(60), nine, pm),
			want: schedule.Slot{Arrival: clock(13, 0), Start: clock(13, 0), End: clock(14, 0), ShiftMinutes: 300, DayJobs: 2, DayMinutes: 150},
		},
		{
			name: "the minute cap a minute short",
			w:    capped(0, 209),
			tl:   twoStops, job: normalJob(at(0), mins(60), nine, pm),
			wantErr: schedule.ErrCap,
		},
		{
			name: "New York: last night's job is another day",
			w:    nyWorker(1),
			tl:   schedule.Timeline{lastNight},
			job:  normalJob(at(0), mins(30), nyNow, morningWindow),
			want: schedule.Slot{Arrival: nyClock(23, 10, 0), Start: nyClock(23, 10, 0), End: nyClock(23, 10, 30), ShiftMinutes: 300},
		},
		{
			name:    "New York: this morning's job is the same day as tonight's",
			w:       nyWorker(1),
			tl:      schedule.Timeline{thisMorning},
			job:     normalJob(at(0), mins(30), nyNow, evening),
			wantErr: schedule.ErrCap,
		},
		{
			name: "New York: under the cap, both counted",
			w:    nyWorker(2),
			tl:   schedule.Timeline{lastNight, thisMorning},
			job:  normalJob(at(0), mins(30), nyNow, evening),
			want: schedule.Slot{Arrival: nyClock(23, 19, 30), Start: nyClock(23, 19, 30), End: nyClock(23, 20, 0), ShiftMinutes: 300, DayJobs: 1, DayMinutes: 60},
		},
	}
	runSlotCases(t, fake, tests)
}

func TestEarliestSlotBreaks(t *testing.T) {
	lunch := window(clock(12, 0), clock(13, 0))
	w := worker(dayShift(lunch))
	tests := []slotCase{
		{
			// 11:30-12:30 would overlap lunch; after it: the trip from
			// home (10) is over before lunch, so the job starts as lunch
			// ends (the worker waits at the door through it).
			name: "a job may not overlap a break",
			w:    w,
			job:  normalJob(at(10), mins(60), clock(9, 0), &doorstep.Window{Start: clock(11, 30), End: clock(14, 0)}),
			want: schedule.Slot{Arrival: clock(13, 0), Start: clock(13, 0), End: clock(14, 0), Travel: mins(10), DistanceKm: 10,
				AddedTravel: mins(10), ShiftMinutes: 600},
		},
		{
			name: "a job may end as the break starts",
			w:    w,
			job:  normalJob(at(10), mins(60), clock(9, 0), &doorstep.Window{Start: clock(11, 0), End: clock(14, 0)}),
			want: schedule.Slot{Arrival: clock(11, 0), Start: clock(11, 0), End: clock(12, 0), Travel: mins(10), DistanceKm: 10,
				AddedTravel: mins(10), ShiftMinutes: 600},
		},
		{
			// 10:10-11:10 at C; the trip to D (20) is over at 11:30,
			// before lunch: the worker waits at D's door. AddedTravel = 10
			// + 20 - t(home,D) 30.
			name: "the trip to the next stop may be over before the break",
			w:    w,
			tl:   schedule.Timeline{stop("d", clock(13, 15), clock(14, 0), at(30))},
			job:  normalJob(at(10), mins(60), clock(10, 0), nil),
			want: schedule.Slot{Arrival: clock(10, 10), Start: clock(10, 10), End: clock(11, 10), Travel: mins(10), DistanceKm: 10,
				AddedTravel: 0, ShiftMinutes: 600, DayJobs: 1, DayMinutes: 45},
		},
		{
			// 10:10-11:50 at C; the trip to D (20) would end at 12:10,
			// inside lunch, so it leaves at 13:00 and reaches D at 13:20 >
			// 13:15. Between lunch and D: 13:00 + 100 > 13:15. After D:
			// 14:00 + 20.
			name: "the trip to the next stop leaves after the break",
			w:    w,
			tl:   schedule.Timeline{stop("d", clock(13, 15), clock(14, 0), at(30))},
			job:  normalJob(at(10), mins(100), clock(10, 0), nil),
			want: schedule.Slot{Arrival: clock(14, 20), Start: clock(14, 20), End: clock(16, 0), Travel: mins(20), DistanceKm: 20,
				AddedTravel: mins(20), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 45},
		},
		{
			// As above with D at 13:20: 13:00 + 20 fits. AddedTravel = 10 +
			// 20 - t(home,D) 30.
			name: "the trip after the break just fits",
			w:    w,
			tl:   schedule.Timeline{stop("d", clock(13, 20), clock(14, 0), at(30))},
			job:  normalJob(at(10), mins(60), clock(10, 0), nil),
			want: schedule.Slot{Arrival: clock(10, 10), Start: clock(10, 10), End: clock(11, 10), Travel: mins(10), DistanceKm: 10,
				AddedTravel: 0, ShiftMinutes: 600, DayJobs: 1, DayMinutes: 40},
		},
		{
			// From B, free at 11:50, C is 30 away: leaving then would make
			// 12:30, but the trip may not cross lunch: 13:00 + 30.
			name: "the trip from a stop before the break leaves after it",
			w:    w,
			tl:   schedule.Timeline{stop("b", clock(10, 0), clock(11, 50), at(10))},
			job:  normalJob(at(40), mins(30), clock(9, 0), &doorstep.Window{Start: clock(12, 30), End: clock(14, 0)}),
			want: schedule.Slot{Arrival: clock(13, 30), Start: clock(13, 30), End: clock(14, 0), Travel: mins(30), DistanceKm: 30,
				AddedTravel: mins(30), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 110},
		},
		{
			// As above with B over at 11:00: at C's door at 11:30, before
			// lunch; the job starts as lunch ends.
			name: "the trip from a stop before the break may be over before it",
			w:    w,
			tl:   schedule.Timeline{stop("b", clock(10, 0), clock(11, 0), at(10))},
			job:  normalJob(at(40), mins(30), clock(9, 0), &doorstep.Window{Start: clock(12, 30), End: clock(14, 0)}),
			want: schedule.Slot{Arrival: clock(13, 0), Start: clock(13, 0), End: clock(13, 30), Travel: mins(30), DistanceKm: 30,
				AddedTravel: mins(30), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 60},
		},
		{
			name: "asked during the break: starts after it",
			w:    w,
			job:  normalJob(at(0), mins(30), clock(12, 15), nil),
			want: schedule.Slot{Arrival: clock(13, 0), Start: clock(13, 0), End: clock(13, 30), ShiftMinutes: 600},
		},
	}
	runSlotCases(t, fake, tests)

	// Two breaks back to back, 12:00-12:30 and 12:30-13:00.
	w2 := worker(dayShift(window(clock(12, 0), clock(12, 30)), window(clock(12, 30), clock(13, 0))))
	// Two breaks with a quarter of an hour between them.
	w3 := worker(dayShift(window(clock(12, 0), clock(12, 30)), window(clock(12, 45), clock(13, 15))))
	consecutive := []slotCase{
		{
			// 10:10-12:00 at C; the trip to D (10) would end in the first
			// break and cannot be made between them: it waits for the
			// second, 13:00 + 10 = 13:10.
			name: "consecutive breaks: the trip waits for the last",
			w:    w2,
			tl:   schedule.Timeline{stop("d", clock(13, 10), clock(14, 0), at(20))},
			job:  normalJob(at(10), mins(110), clock(10, 0), nil),
			want: schedule.Slot{Arrival: clock(10, 10), Start: clock(10, 10), End: clock(12, 0), Travel: mins(10), DistanceKm: 10,
				AddedTravel: 0, ShiftMinutes: 600, DayJobs: 1, DayMinutes: 50},
		},
		{
			// D at 13:09: no room before; none between the breaks or
			// between them and D; after D: 14:00 + 10.
			name: "consecutive breaks: a minute short",
			w:    w2,
			tl:   schedule.Timeline{stop("d", clock(13, 9), clock(14, 0), at(20))},
			job:  normalJob(at(10), mins(110), clock(10, 0), nil),
			want: schedule.Slot{Arrival: clock(14, 10), Start: clock(14, 10), End: clock(16, 0), Travel: mins(10), DistanceKm: 10,
				AddedTravel: mins(10), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 51},
		},
		{
			// An hour at C, 10:10-11:10: the trip to D is over at 11:20,
			// before both breaks. AddedTravel = 10 + 10 - t(home,D) 20.
			name: "consecutive breaks: the trip before the first",
			w:    w2,
			tl:   schedule.Timeline{stop("d", clock(13, 9), clock(14, 0), at(20))},
			job:  normalJob(at(10), mins(60), clock(10, 0), nil),
			want: schedule.Slot{Arrival: clock(10, 10), Start: clock(10, 10), End: clock(11, 10), Travel: mins(10), DistanceKm: 10,
				AddedTravel: 0, ShiftMinutes: 600, DayJobs: 1, DayMinutes: 51},
		},
		{
			name: "between two breaks: a short job fits",
			w:    w3,
			job:  normalJob(at(0), mins(15), clock(9, 0), &doorstep.Window{Start: clock(12, 0), End: clock(14, 0)}),
			want: schedule.Slot{Arrival: clock(12, 30), Start: clock(12, 30), End: clock(12, 45), ShiftMinutes: 600},
		},
		{
			name: "between two breaks: a longer one waits for the second",
			w:    w3,
			job:  normalJob(at(0), mins(16), clock(9, 0), &doorstep.Window{Start: clock(12, 0), End: clock(14, 0)}),
			want: schedule.Slot{Arrival: clock(13, 15), Start: clock(13, 15), End: clock(13, 31), ShiftMinutes: 600},
		},
	}
	runSlotCases(t, fake, consecutive)
}

func TestEarliestSlotShifts(t *testing.T) {
	second := shift(clock2(8, 0), clock2(18, 0))
	// located reported its position at at(50) at 09:00.
	located := func(shifts ...doorstep.Shift) *doorstep.Worker {
		w := worker(shifts...)
		w.Location, w.LocatedAt = new(at(50)), clock(9, 0)
		return w
	}
	reportedAt := func(loc doorstep.Location, when time.Time) *doorstep.Worker {
		w := worker(dayShift())
		w.Location, w.LocatedAt = new(loc), when
		return w
	}
	stopB := stop("b", clock(9, 0), clock(10, 0), at(10))
	tests := []slotCase{
		{
			// Day 1 is booked through; day 2 starts from home, not from B:
			// 08:00 + 20.
			name: "the first shift full: the second, from home",
			w:    worker(dayShift(), second),
			tl:   schedule.Timeline{stop("b", clock(8, 0), clock(18, 0), at(10))},
			job:  normalJob(at(20), mins(60), clock(12, 0), nil),
			want: schedule.Slot{Arrival: clock2(8, 20), Start: clock2(8, 20), End: clock2(9, 20), Travel: mins(20), DistanceKm: 20,
				AddedTravel: mins(20), ShiftMinutes: 600},
		},
		{
			name:    "the first shift full and no second one",
			w:       worker(dayShift()),
			tl:      schedule.Timeline{stop("b", clock(8, 0), clock(18, 0), at(10))},
			job:     normalJob(at(20), mins(60), clock(12, 0), nil),
			wantErr: schedule.ErrBusy,
		},
		{
			// at(50) -> at(40): 09:30 + 10.
			name: "the shift under way starts from the reported position",
			w:    located(dayShift(), second),
			job:  normalJob(at(40), mins(60), clock(9, 30), nil),
			want: schedule.Slot{Arrival: clock(9, 40), Start: clock(9, 40), End: clock(10, 40), Travel: mins(10), DistanceKm: 10,
				AddedTravel: mins(10), ShiftMinutes: 600},
		},
		{
			name: "a shift not yet started starts from home",
			w:    located(dayShift(), second),
			job:  normalJob(at(40), mins(60), clock(7, 0), nil),
			want: schedule.Slot{Arrival: clock(8, 40), Start: clock(8, 40), End: clock(9, 40), Travel: mins(40), DistanceKm: 40,
				AddedTravel: mins(40), ShiftMinutes: 600},
		},
		{
			name: "the next shift starts from home while one is under way",
			w:    located(dayShift(), second),
			job:  normalJob(at(40), mins(60), clock(9, 30), &doorstep.Window{Start: clock2(8, 0), End: clock2(9, 0)}),
			want: schedule.Slot{Arrival: clock2(8, 40), Start: clock2(8, 40), End: clock2(9, 40), Travel: mins(40), DistanceKm: 40,
				AddedTravel: mins(40), ShiftMinutes: 600},
		},
		{
			// Reported at at(30) at 10:20, after B ended at 10:00: departs
			// from there at 10:30, 5 from at(35).
			name: "a position reported after the last stop: departs from it",
			w:    reportedAt(at(30), clock(10, 20)),
			tl:   schedule.Timeline{stopB},
			job:  normalJob(at(35), mins(60), clock(10, 30), nil),
			want: schedule.Slot{Arrival: clock(10, 35), Start: clock(10, 35), End: clock(11, 35), Travel: mins(5), DistanceKm: 5,
				AddedTravel: mins(5), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 60},
		},
		{
			// Reported during B: the worker is at B when B ends, 25 away.
			name: "a position reported during the last stop: departs from the stop",
			w:    reportedAt(at(30), clock(9, 50)),
			tl:   schedule.Timeline{stopB},
			job:  normalJob(at(35), mins(60), clock(10, 30), nil),
			want: schedule.Slot{Arrival: clock(10, 55), Start: clock(10, 55), End: clock(11, 55), Travel: mins(25), DistanceKm: 25,
				AddedTravel: mins(25), ShiftMinutes: 600, DayJobs: 1, DayMinutes: 60},
		},
	}
	runSlotCases(t, fake, tests)
}

// TestEarliestSlotUrgentOvertime: a shift's urgent overtime lets an urgent
// job begun in the shift end up to that long after it; a normal job
// never, and no job begins after the end. The worker lives at at(0) and
// works 13:00-21:00; a km is a minute.
func TestEarliestSlotUrgentOvertime(t *testing.T) {
	late := shift(clock(13, 0), clock(21, 0))
	over := late
	over.UrgentOvertimeMinutes = 60
	call := clock(20, 10)
	tests := []slotCase{
		{
			// 20:10 + 20 = 20:30, + 60 = 21:30: inside 21:00 + 60.
			name: "an urgent job runs into the overtime",
			w:    worker(over),
			job:  urgentJob(at(20), mins(60), call, call),
			want: schedule.Slot{Arrival: clock(20, 30), Start: clock(20, 30), End: clock(21, 30), Travel: mins(20), DistanceKm: 20,
				AddedTravel: mins(20), ShiftMinutes: 480, Overtime: mins(30)},
		},
		{
			name:    "without overtime it cannot end in time",
			w:       worker(late),
			job:     urgentJob(at(20), mins(60), call, call),
			wantErr: schedule.ErrShiftEnd,
		},
		{
			name:    "a normal job never runs over",
			w:       worker(over),
			job:     normalJob(at(20), mins(60), call, nil),
			wantErr: schedule.ErrShiftEnd,
		},
		{
			// 20:30 + 120 = 22:30, after 22:00.
			name:    "the overtime is bounded",
			w:       worker(over),
			job:     urgentJob(at(20), mins(120), call, call),
			wantErr: schedule.ErrShiftEnd,
		},
		{
			// 20:30 + 50 = 21:20: on time (21:30) and over by 21:20 + 30
			// = 21:50, but begun after the shift's end.
			name:    "a job begins in the shift",
			w:       worker(over),
			job:     urgentJob(at(50), mins(30), clock(20, 30), clock(20, 30)),
			wantErr: schedule.ErrShiftEnd,
		},
		{
			// 20:10 + 50 = 21:00, the end itself: begun in time.
			name: "a job may begin as the shift ends",
			w:    worker(over),
			job:  urgentJob(at(50), mins(30), call, call),
			want: schedule.Slot{Arrival: clock(21, 0), Start: clock(21, 0), End: clock(21, 30), Travel: mins(50), DistanceKm: 50,
				AddedTravel: mins(50), ShiftMinutes: 480, Overtime: mins(30)},
		},
		{
			// B holds 20:00-20:40 at at(10): from B 10 more, 20:50, + 40 =
			// 21:30.
			name: "after a stop, into the overtime",
			w:    worker(over),
			tl:   schedule.Timeline{stop("b", clock(20, 0), clock(20, 40), at(10))},
			job:  urgentJob(at(20), mins(40), call, call),
			want: schedule.Slot{Arrival: clock(20, 50), Start: clock(20, 50), End: clock(21, 30), Travel: mins(10), DistanceKm: 10,
				AddedTravel: mins(10), ShiftMinutes: 480, DayJobs: 1, DayMinutes: 40, Overtime: mins(30)},
		},
	}
	runSlotCases(t, fake, tests)
}

// TestEarliestSlotReasons: when no slot exists the most telling reason met
// is returned: a cap that refuses every start of a shift first (it is the
// reason whatever else fills the day), then deadline over busy over shift.
func TestEarliestSlotReasons(t *testing.T) {
	nine := clock(9, 0)
	morning, afternoon := shift(clock(7, 0), clock(12, 0)), shift(clock(13, 0), clock(18, 0))
	withCap := func(jobs int, shifts ...doorstep.Shift) *doorstep.Worker {
		w := worker(shifts...)
		w.MaxJobsPerDay = jobs
		return w
	}
	// The worker is at at(70) at 09:00; a job at home due to start by
	// 10:00 cannot be reached from there in shift A, and shift B (from
	// home) is capped by the early stop in shift C.
	deadlineAndCap := withCap(1, shift(clock(6, 0), clock(7, 0)), shift(clock(8, 0), clock(9, 55)), shift(clock(9, 55), clock(18, 0)))
	deadlineAndCap.Location, deadlineAndCap.LocatedAt = new(at(70)), clock(8, 50)

	tests := []slotCase{
		{
			name:    "shift: no shifts at all",
			w:       worker(),
			job:     normalJob(at(1), mins(30), nine, nil),
			wantErr: schedule.ErrShift,
		},
		{
			name:    "shift: none on the window's day",
			w:       worker(dayShift()),
			job:     normalJob(at(1), mins(30), nine, &doorstep.Window{Start: clock2(9, 0), End: clock2(10, 0)}),
			wantErr: schedule.ErrShift,
		},
		{
			name:    "cap over shift",
			w:       withCap(1, morning, afternoon),
			tl:      schedule.Timeline{stop("a", clock(8, 0), clock(9, 0), at(0))},
			job:     normalJob(at(0), mins(30), nine, &doorstep.Window{Start: clock(13, 0), End: clock(14, 0)}),
			wantErr: schedule.ErrCap,
		},
		{
			// The morning is booked through, and that booking also fills
			// the day's cap: the cap is what refuses the afternoon.
			name:    "cap over busy",
			w:       withCap(1, morning, afternoon),
			tl:      schedule.Timeline{stop("a", clock(7, 0), clock(12, 0), at(0))},
			job:     normalJob(at(0), mins(30), nine, &doorstep.Window{Start: clock(9, 0), End: clock(14, 0)}),
			wantErr: schedule.ErrCap,
		},
		{
			// Capped, and the day's only stop is after the window: the cap
			// alone refuses the job (without it the job starts at 09:00),
			// and the reason says so.
			name:    "cap in one shift, not the later stop",
			w:       withCap(1, dayShift()),
			tl:      schedule.Timeline{stop("a", clock(15, 0), clock(16, 0), at(0))},
			job:     normalJob(at(0), mins(30), nine, &doorstep.Window{Start: clock(9, 0), End: clock(10, 0)}),
			wantErr: schedule.ErrCap,
		},
		{
			// 09:00-09:50 busy at home; then 09:50 + 15 = 10:05, late.
			name:    "deadline over busy",
			w:       worker(dayShift()),
			tl:      schedule.Timeline{stop("a", clock(9, 0), clock(9, 50), at(0))},
			job:     urgentJob(at(15), mins(30), nine, nine),
			wantErr: schedule.ErrDeadline,
		},
		{
			// Every shift that could take the job is on a capped day.
			name:    "cap over deadline when every shift is capped",
			w:       deadlineAndCap,
			tl:      schedule.Timeline{stop("c", clock(6, 0), clock(6, 30), at(0))},
			job:     schedule.Job{Location: at(0), Duration: mins(30), NotBefore: nine, EarliestStart: nine, LatestStart: clock(10, 0)},
			wantErr: schedule.ErrCap,
		},
	}
	runSlotCases(t, fake, tests)
}

// TestEarliestSlotLinear runs the default model, whose minutes are not
// round: the urgent reach is the boundary of the hour's promise.
func TestEarliestSlotLinear(t *testing.T) {
	var m geo.Linear
	p := schedule.Planner{Travel: m}
	w := worker(dayShift())
	nine := clock(9, 0)
	reach := m.ReachKm(time.Hour)
	tests := []struct {
		name    string
		km      float64
		wantErr error
	}{
		{"next door", 0.005, nil},
		{"a km", 1, nil},
		{"just within the reach", reach * (1 - 1e-6), nil},
		{"just beyond the reach", reach * (1 + 1e-6), schedule.ErrDeadline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := urgentJob(at(tt.km), mins(30), nine, nine)
			got, err := p.EarliestSlot(w, nil, job)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("EarliestSlot() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			travel := m.Travel(w.Home, job.Location, nine)
			want := schedule.Slot{Arrival: nine.Add(travel), Start: nine.Add(travel), End: nine.Add(travel + mins(30)),
				Travel: travel, DistanceKm: tt.km, AddedTravel: travel, ShiftMinutes: 600}
			if diff := cmp.Diff(want, got, slotOpts); diff != "" {
				t.Errorf("EarliestSlot() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Two stops that overlap (a booking kept at risk beside the one its worker
// now serves): the worker leaves from the stop that ends last, not from
// the one that starts last. A is 10:00-12:00 at 10 km east, B 10:30-11:00
// at 40 km east; the job at home (0 km) is reached from A at 12:10.
func TestEarliestSlotOverlappingStops(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	home := doorstep.Location{Lat: 0, Lng: 0}
	east := func(km float64) doorstep.Location { return doorstep.Location{Lat: 0, Lng: km / degreeKm} }
	w := &doorstep.Worker{ID: "w", Home: home, Shifts: []doorstep.Shift{{Start: at(8, 0), End: at(18, 0)}}}
	tl := schedule.Timeline{
		{BookingID: "a", Arrival: at(10, 0), Start: at(10, 0), End: at(12, 0), Location: east(10)},
		{BookingID: "b", Arrival: at(10, 30), Start: at(10, 30), End: at(11, 0), Location: east(40)},
	}
	p := schedule.Planner{Travel: minuteAKm}
	job := schedule.Job{Location: home, Duration: 30 * time.Minute, NotBefore: at(11, 30), EarliestStart: at(11, 30), LatestStart: at(18, 0)}
	s, err := p.EarliestSlot(w, tl, job)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Arrival.Equal(at(12, 10)) {
		t.Errorf("arrival %s, want 12:10 (10 minutes from A, which ends last)", s.Arrival.Format("15:04"))
	}
}

// A held stop (a booking kept at risk) holds the worker's time but is no
// place: A is 10:00-11:00 at 10 km east, H (held) 11:00-12:00 at 40 km
// east; the job at home cannot end before H starts, so it waits until H
// ends and is reached from A's place: 12:10, not 12:40 from H's.
func TestEarliestSlotHeldStop(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	home := doorstep.Location{Lat: 0, Lng: 0}
	east := func(km float64) doorstep.Location { return doorstep.Location{Lat: 0, Lng: km / degreeKm} }
	w := &doorstep.Worker{ID: "w", Home: home, Shifts: []doorstep.Shift{{Start: at(8, 0), End: at(18, 0)}}}
	tl := schedule.TimelineOf([]*doorstep.Booking{
		{ID: "a", Status: doorstep.StatusConfirmed, Arrival: at(10, 0), Start: at(10, 0), End: at(11, 0), Location: east(10)},
		{ID: "h", Status: doorstep.StatusConfirmed, Arrival: at(11, 0), Start: at(11, 0), End: at(12, 0), Location: east(40),
			AtRisk: &doorstep.AtRisk{Reason: "skills", Since: at(9, 0)}},
	})
	if !tl[1].Held || tl[0].Held {
		t.Fatalf("held flags %v %v, want only the booking at risk held", tl[0].Held, tl[1].Held)
	}
	p := schedule.Planner{Travel: minuteAKm}
	job := schedule.Job{Location: home, Duration: 30 * time.Minute, NotBefore: at(10, 30), EarliestStart: at(10, 30), LatestStart: at(18, 0)}
	s, err := p.EarliestSlot(w, tl, job)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Arrival.Equal(at(12, 10)) {
		t.Errorf("arrival %s, want 12:10 (from A's place once H's time is over)", s.Arrival.Format("15:04"))
	}
}
