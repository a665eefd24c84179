package doorstep_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

func progressAt(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, time.UTC) }

// inState is a booking 10:00-11:00 (arrival 9:50, requested 8:00) in
// lifecycle state.
func inState(state string) *doorstep.Booking {
	b := &doorstep.Booking{
		ID: "b1", WorkerID: "w1", Urgency: doorstep.Normal, Status: doorstep.StatusConfirmed, Version: 3,
		RequestedAt: progressAt(8, 0), Deadline: progressAt(8, 0).Add(24 * time.Hour),
		Arrival: progressAt(9, 50), Start: progressAt(10, 0), End: progressAt(11, 0),
	}
	switch state {
	case doorstep.StatusConfirmed:
	case doorstep.StatusCancelled:
		b.Status = state
	default:
		b.Progress = &doorstep.Progress{State: state, History: []doorstep.ProgressAt{{Status: state, At: progressAt(9, 0)}}}
	}
	return b
}

// TestLifecycle checks every (state, report) pair of the job lifecycle:
// the allowed ones reach the state said, the others are a conflict naming
// status and the current state. Reports are at 10:30, after the start.
func TestLifecycle(t *testing.T) {
	states := []string{doorstep.StatusConfirmed, doorstep.ProgressEnRoute, doorstep.ProgressArrived, doorstep.ProgressStarted,
		doorstep.ProgressCompleted, doorstep.ProgressNoShow, doorstep.StatusCancelled}
	reports := []string{doorstep.ProgressEnRoute, doorstep.ProgressArrived, doorstep.ProgressStarted,
		doorstep.ProgressCompleted, doorstep.ProgressNoShow, doorstep.ProgressDelayed}
	// want[state][report] is the state reached; absent: refused.
	want := map[string]map[string]string{
		"confirmed": {"en_route": "en_route", "arrived": "arrived", "started": "started", "no_show": "no_show", "delayed": "confirmed"},
		"en_route":  {"arrived": "arrived", "started": "started", "no_show": "no_show", "delayed": "en_route"},
		"arrived":   {"started": "started", "no_show": "no_show", "delayed": "arrived"},
		"started":   {"completed": "completed", "delayed": "started"},
		"completed": {},
		"no_show":   {},
		"cancelled": {},
	}
	now := progressAt(10, 30)
	for _, st := range states {
		for _, rep := range reports {
			t.Run(st+"/"+rep, func(t *testing.T) {
				b := inState(st)
				p := doorstep.ProgressAt{Status: rep, At: now}
				if rep == doorstep.ProgressDelayed {
					p.ExpectedEnd = progressAt(11, 30)
				}
				got, err := b.Advance(p, now)
				to, ok := want[st][rep]
				if !ok {
					var e *doorstep.Error
					if doorstep.ErrorCode(err) != doorstep.ECONFLICT || !asError(err, &e) || e.Field != "status" {
						t.Fatalf("Advance = %v, want a conflict naming status", err)
					}
					if want := "booking b1 is " + st; len(e.Message) < len(want) || e.Message[:len(want)] != want {
						t.Errorf("message %q does not name the state %s", e.Message, st)
					}
					return
				}
				if err != nil {
					t.Fatalf("Advance: %v", err)
				}
				if got.State() != to {
					t.Errorf("state = %s, want %s", got.State(), to)
				}
				if got.Version != b.Version+1 || got.LastChange == nil || got.LastChange.Reason != doorstep.ChangeProgress {
					t.Errorf("not touched: version %d, last change %+v", got.Version, got.LastChange)
				}
				if h := got.Progress.History; len(h) == 0 || h[len(h)-1] != p {
					t.Errorf("history %+v does not end with the report", h)
				}
				if b.Progress != nil && len(b.Progress.History) != 1 {
					t.Errorf("Advance changed the booking it was given")
				}
			})
		}
	}
}

func asError(err error, e **doorstep.Error) bool { return errors.As(err, e) }

// TestAdvanceTimes checks the times each report gives the job, and the
// refusals of times out of order.
func TestAdvanceTimes(t *testing.T) {
	type times struct{ arrival, start, end time.Time }
	tests := []struct {
		name  string
		state string
		p     doorstep.ProgressAt
		want  times
		code  string // refusal
		field string
	}{
		{name: "arrived early waits", state: "en_route", p: doorstep.ProgressAt{Status: "arrived", At: progressAt(9, 40)},
			want: times{progressAt(9, 40), progressAt(10, 0), progressAt(11, 0)}},
		{name: "arrived late shifts the job", state: "en_route", p: doorstep.ProgressAt{Status: "arrived", At: progressAt(10, 20)},
			want: times{progressAt(10, 20), progressAt(10, 20), progressAt(11, 20)}},
		{name: "started late overruns", state: "arrived", p: doorstep.ProgressAt{Status: "started", At: progressAt(10, 15)},
			want: times{progressAt(9, 50), progressAt(10, 15), progressAt(11, 15)}},
		{name: "started early frees the end", state: "confirmed", p: doorstep.ProgressAt{Status: "started", At: progressAt(9, 30)},
			want: times{progressAt(9, 30), progressAt(9, 30), progressAt(10, 30)}},
		{name: "completed early frees the slot", state: "started", p: doorstep.ProgressAt{Status: "completed", At: progressAt(10, 40)},
			want: times{progressAt(9, 50), progressAt(10, 0), progressAt(10, 40)}},
		{name: "completed late", state: "started", p: doorstep.ProgressAt{Status: "completed", At: progressAt(11, 25)},
			want: times{progressAt(9, 50), progressAt(10, 0), progressAt(11, 25)}},
		{name: "no-show ends the job", state: "arrived", p: doorstep.ProgressAt{Status: "no_show", At: progressAt(10, 10)},
			want: times{progressAt(9, 50), progressAt(10, 0), progressAt(10, 10)}},
		{name: "delayed arrival", state: "en_route", p: doorstep.ProgressAt{Status: "delayed", At: progressAt(9, 45), ExpectedArrival: progressAt(10, 30)},
			want: times{progressAt(10, 30), progressAt(10, 30), progressAt(11, 30)}},
		{name: "delayed arrival before the start", state: "confirmed", p: doorstep.ProgressAt{Status: "delayed", At: progressAt(9, 30), ExpectedArrival: progressAt(9, 55)},
			want: times{progressAt(9, 55), progressAt(10, 0), progressAt(11, 0)}},
		{name: "delayed end", state: "started", p: doorstep.ProgressAt{Status: "delayed", At: progressAt(10, 30), ExpectedEnd: progressAt(12, 0)},
			want: times{progressAt(9, 50), progressAt(10, 0), progressAt(12, 0)}},

		{name: "no-show before the start", state: "arrived", p: doorstep.ProgressAt{Status: "no_show", At: progressAt(9, 55)}, code: doorstep.ECONFLICT, field: "status"},
		{name: "before the request", state: "confirmed", p: doorstep.ProgressAt{Status: "en_route", At: progressAt(7, 0)}, code: doorstep.EINVALID, field: "at"},
		{name: "before the last report", state: "en_route", p: doorstep.ProgressAt{Status: "arrived", At: progressAt(8, 30)}, code: doorstep.EINVALID, field: "at"},
		{name: "delayed without a time", state: "en_route", p: doorstep.ProgressAt{Status: "delayed", At: progressAt(9, 30)}, code: doorstep.EINVALID, field: "expected_end"},
		{name: "delayed with both", state: "en_route", p: doorstep.ProgressAt{Status: "delayed", At: progressAt(9, 30), ExpectedEnd: progressAt(12, 0), ExpectedArrival: progressAt(10, 0)}, code: doorstep.EINVALID, field: "expected_end"},
		{name: "expected arrival once arrived", state: "arrived", p: doorstep.ProgressAt{Status: "delayed", At: progressAt(9, 55), ExpectedArrival: progressAt(10, 30)}, code: doorstep.ECONFLICT, field: "expected_arrival"},
		{name: "expected arrival not later", state: "en_route", p: doorstep.ProgressAt{Status: "delayed", At: progressAt(9, 30), ExpectedArrival: progressAt(9, 50)}, code: doorstep.EINVALID, field: "expected_arrival"},
		{name: "expected end not later", state: "started", p: doorstep.ProgressAt{Status: "delayed", At: progressAt(10, 30), ExpectedEnd: progressAt(11, 0)}, code: doorstep.EINVALID, field: "expected_end"},
		{name: "expected end on another status", state: "started", p: doorstep.ProgressAt{Status: "completed", At: progressAt(10, 30), ExpectedEnd: progressAt(12, 0)}, code: doorstep.EINVALID, field: "expected_end"},
		{name: "unknown status", state: "confirmed", p: doorstep.ProgressAt{Status: "done", At: progressAt(10, 30)}, code: doorstep.EINVALID, field: "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inState(tt.state).Advance(tt.p, progressAt(10, 45))
			if tt.code != "" {
				var e *doorstep.Error
				if doorstep.ErrorCode(err) != tt.code || !asError(err, &e) || e.Field != tt.field {
					t.Fatalf("Advance = %v, want %s naming %s", err, tt.code, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("Advance: %v", err)
			}
			if g := (times{got.Arrival, got.Start, got.End}); g != tt.want {
				t.Errorf("times = %s, want %s", show(g.arrival, g.start, g.end), show(tt.want.arrival, tt.want.start, tt.want.end))
			}
		})
	}
}

func show(ts ...time.Time) string {
	s := ""
	for _, t := range ts {
		s += fmt.Sprintf(" %s", t.Format("15:04"))
	}
	return s
}

func TestRepeats(t *testing.T) {
	b := inState(doorstep.ProgressArrived)
	if !b.Repeats(doorstep.ProgressAt{Status: "arrived", At: progressAt(9, 0)}) {
		t.Error("the same report is not a repeat")
	}
	if b.Repeats(doorstep.ProgressAt{Status: "arrived", At: progressAt(9, 1)}) {
		t.Error("a report at another time is a repeat")
	}
	if inState(doorstep.StatusConfirmed).Repeats(doorstep.ProgressAt{Status: "en_route", At: progressAt(9, 0)}) {
		t.Error("a first report is a repeat")
	}
}
