package schedule_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/google/go-cmp/cmp"
)

func TestJobFor(t *testing.T) {
	place := at(10)
	req := clock(9, 0)
	tests := []struct {
		name string
		req  doorstep.Request
		now  time.Time
		want schedule.Job
	}{
		{
			name: "urgent: arrive within the hour",
			req:  doorstep.Request{Location: place, Urgency: doorstep.Urgent, Duration: mins(45), RequestedAt: req},
			now:  req,
			want: schedule.Job{Location: place, Duration: mins(45), NotBefore: req, EarliestStart: req, LatestStart: clock(10, 0), LatestArrival: clock(10, 0)},
		},
		{
			name: "urgent seen late: the deadline runs from requested_at, not now",
			req:  doorstep.Request{Location: place, Urgency: doorstep.Urgent, Duration: mins(45), RequestedAt: req},
			now:  clock(9, 40),
			want: schedule.Job{Location: place, Duration: mins(45), NotBefore: clock(9, 40), EarliestStart: clock(9, 40), LatestStart: clock(10, 0), LatestArrival: clock(10, 0)},
		},
		{
			name: "urgent ignores a window",
			req: doorstep.Request{Location: place, Urgency: doorstep.Urgent, Duration: mins(45), RequestedAt: req,
				Window: &doorstep.Window{Start: clock(14, 0), End: clock(15, 0)}},
			now:  req,
			want: schedule.Job{Location: place, Duration: mins(45), NotBefore: req, EarliestStart: req, LatestStart: clock(10, 0), LatestArrival: clock(10, 0)},
		},
		{
			name: "normal: start within 24 hours, no bound on arrival",
			req:  doorstep.Request{Location: place, Urgency: doorstep.Normal, Duration: mins(90), RequestedAt: req},
			now:  req,
			want: schedule.Job{Location: place, Duration: mins(90), NotBefore: req, EarliestStart: req, LatestStart: clock2(9, 0)},
		},
		{
			name: "normal: the window narrows both ends",
			req: doorstep.Request{Location: place, Urgency: doorstep.Normal, Duration: mins(90), RequestedAt: req,
				Window: &doorstep.Window{Start: clock(14, 0), End: clock(16, 0)}},
			now:  req,
			want: schedule.Job{Location: place, Duration: mins(90), NotBefore: req, EarliestStart: clock(14, 0), LatestStart: clock(16, 0)},
		},
		{
			name: "normal: a window starting in the past starts now",
			req: doorstep.Request{Location: place, Urgency: doorstep.Normal, Duration: mins(90), RequestedAt: req,
				Window: &doorstep.Window{Start: clock(7, 0), End: clock(12, 0)}},
			now:  clock(9, 30),
			want: schedule.Job{Location: place, Duration: mins(90), NotBefore: clock(9, 30), EarliestStart: clock(9, 30), LatestStart: clock(12, 0)},
		},
		{
			name: "appointment: a window ending beyond 24 hours is the promise",
			req: doorstep.Request{Location: place, Urgency: doorstep.Normal, Duration: mins(90), RequestedAt: req,
				Window: &doorstep.Window{Start: clock2(8, 0), End: clock2(12, 0)}},
			now:  req,
			want: schedule.Job{Location: place, Duration: mins(90), NotBefore: req, EarliestStart: clock2(8, 0), LatestStart: clock2(12, 0)},
		},
		{
			name: "normal seen late: the deadline runs from requested_at",
			req:  doorstep.Request{Location: place, Urgency: doorstep.Normal, Duration: mins(90), RequestedAt: req},
			now:  clock(20, 0),
			want: schedule.Job{Location: place, Duration: mins(90), NotBefore: clock(20, 0), EarliestStart: clock(20, 0), LatestStart: clock2(9, 0)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := schedule.JobFor(&tt.req, tt.now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("JobFor mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStopOf(t *testing.T) {
	b := &doorstep.Booking{ID: "b1", WorkerID: "w1", Arrival: clock(9, 50), Start: clock(10, 0), End: clock(11, 0),
		Location: at(3), Status: doorstep.StatusConfirmed, Deadline: clock(12, 0)}
	got := schedule.StopOf(b)
	want := schedule.Stop{BookingID: "b1", Arrival: clock(9, 50), Start: clock(10, 0), End: clock(11, 0), Location: at(3)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StopOf mismatch (-want +got):\n%s", diff)
	}
}

func TestTimelineOf(t *testing.T) {
	booking := func(id string, h int, status string) *doorstep.Booking {
		return &doorstep.Booking{ID: id, Start: clock(h, 0), Arrival: clock(h, 0), End: clock(h, 30), Location: at(float64(h)), Status: status}
	}
	tests := []struct {
		name string
		in   []*doorstep.Booking
		want schedule.Timeline
	}{
		{"none", nil, schedule.Timeline{}},
		{"sorted", []*doorstep.Booking{booking("a", 9, doorstep.StatusConfirmed), booking("b", 10, doorstep.StatusConfirmed)},
			schedule.Timeline{stopAt("a", 9), stopAt("b", 10)}},
		{"reversed", []*doorstep.Booking{booking("c", 11, doorstep.StatusConfirmed), booking("b", 10, doorstep.StatusConfirmed), booking("a", 9, doorstep.StatusConfirmed)},
			schedule.Timeline{stopAt("a", 9), stopAt("b", 10), stopAt("c", 11)}},
		{"shuffled, cancelled dropped", []*doorstep.Booking{
			booking("d", 12, doorstep.StatusConfirmed), booking("x", 8, doorstep.StatusCancelled), booking("a", 9, doorstep.StatusConfirmed),
			booking("c", 11, doorstep.StatusConfirmed), booking("y", 10, doorstep.StatusCancelled), booking("b", 10, doorstep.StatusConfirmed)},
			schedule.Timeline{stopAt("a", 9), stopAt("b", 10), stopAt("c", 11), stopAt("d", 12)}},
		{"only cancelled", []*doorstep.Booking{booking("x", 8, doorstep.StatusCancelled)}, schedule.Timeline{}},
		{"no status counts as booked", []*doorstep.Booking{booking("a", 9, "")}, schedule.Timeline{stopAt("a", 9)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := schedule.TimelineOf(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("TimelineOf mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// stopAt is the stop TestTimelineOf's bookings make: h:00-h:30 at at(h).
func stopAt(id string, h int) schedule.Stop {
	return schedule.Stop{BookingID: id, Arrival: clock(h, 0), Start: clock(h, 0), End: clock(h, 30), Location: at(float64(h))}
}

func TestTimelineInsert(t *testing.T) {
	base := schedule.Timeline{stopAt("a", 9), stopAt("b", 11), stopAt("c", 13)}
	tests := []struct {
		name string
		tl   schedule.Timeline
		s    schedule.Stop
		want []string
	}{
		{"into nothing", nil, stopAt("x", 10), []string{"x"}},
		{"first", base, stopAt("x", 8), []string{"x", "a", "b", "c"}},
		{"middle", base, stopAt("x", 12), []string{"a", "b", "x", "c"}},
		{"last", base, stopAt("x", 14), []string{"a", "b", "c", "x"}},
		{"same start goes after", base, stopAt("x", 11), []string{"a", "b", "x", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append(schedule.Timeline(nil), tt.tl...)
			got := tt.tl.Insert(tt.s)
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("Insert order mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.tl); diff != "" {
				t.Errorf("Insert changed its receiver (-want +got):\n%s", diff)
			}
		})
	}
	// Inserting into a slice with spare capacity must not write into it.
	roomy := make(schedule.Timeline, 2, 8)
	copy(roomy, base[:2])
	_ = roomy.Insert(stopAt("x", 10))
	if got := roomy[:3][2]; got.BookingID != "" {
		t.Errorf("Insert wrote %q past its receiver's length", got.BookingID)
	}
}

func TestTimelineWithout(t *testing.T) {
	base := schedule.Timeline{stopAt("a", 9), stopAt("b", 11), stopAt("c", 13)}
	tests := []struct {
		name string
		id   string
		want []string
	}{
		{"first", "a", []string{"b", "c"}},
		{"middle", "b", []string{"a", "c"}},
		{"last", "c", []string{"a", "b"}},
		{"unknown", "zz", []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := base.Without(tt.id)
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("Without(%q) mismatch (-want +got):\n%s", tt.id, diff)
			}
			if diff := cmp.Diff([]string{"a", "b", "c"}, ids(base)); diff != "" {
				t.Errorf("Without changed its receiver (-want +got):\n%s", diff)
			}
		})
	}
}

func ids(tl schedule.Timeline) []string {
	out := []string{}
	for _, s := range tl {
		out = append(out, s.BookingID)
	}
	return out
}
