package doorstep_test

import (
	"errors"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// wantField checks that err is an EINVALID *doorstep.Error naming field,
// or nil when field is "".
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var e *doorstep.Error
	switch {
	case field == "" && err != nil:
		t.Fatalf("got %v, want nil", err)
	case field == "":
	case !errors.As(err, &e):
		t.Fatalf("got %v, want a *doorstep.Error naming %q", err, field)
	case e.Code != doorstep.EINVALID || e.Field != field:
		t.Errorf("got code=%q field=%q, want %q %q", e.Code, e.Field, doorstep.EINVALID, field)
	}
}

func TestWorkerValidateLists(t *testing.T) {
	day := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		skills, certs []string
		field         string
	}{
		{"distinct", []string{"cleaning", "plumbing"}, []string{"first_aid"}, ""},
		{"skill twice", []string{"cleaning", "plumbing", "cleaning"}, nil, "skills[2]"},
		{"certificate twice", []string{"cleaning"}, []string{"first_aid", "first_aid"}, "certificates[1]"},
		{"no skill", nil, nil, "skills"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := doorstep.Worker{ID: "w-1", Skills: tt.skills, Certificates: tt.certs, Home: doorstep.Location{Lat: 52.5, Lng: 13.4},
				Shifts: []doorstep.Shift{{Start: day, End: day.Add(8 * time.Hour)}}}
			wantField(t, w.Validate(), tt.field)
		})
	}
}

// TestWorkerValidateUrgentOvertime: a shift's urgent overtime is 0 to 240
// minutes, and the next shift starts after it.
func TestWorkerValidateUrgentOvertime(t *testing.T) {
	day := time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)
	late := func(overtime int) doorstep.Shift {
		return doorstep.Shift{Start: day, End: day.Add(8 * time.Hour), UrgentOvertimeMinutes: overtime}
	}
	next := func(after time.Duration) doorstep.Shift {
		return doorstep.Shift{Start: day.Add(8*time.Hour + after), End: day.Add(12*time.Hour + after)}
	}
	tests := []struct {
		name   string
		shifts []doorstep.Shift
		field  string
	}{
		{"an hour over", []doorstep.Shift{late(60)}, ""},
		{"none", []doorstep.Shift{late(0), next(0)}, ""},
		{"at most four hours", []doorstep.Shift{late(241)}, "shifts[0].urgent_overtime_minutes"},
		{"not negative", []doorstep.Shift{late(-1)}, "shifts[0].urgent_overtime_minutes"},
		{"the next shift after the overtime", []doorstep.Shift{late(60), next(time.Hour)}, ""},
		{"the next shift inside the overtime", []doorstep.Shift{late(60), next(59 * time.Minute)}, "shifts[1].start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := doorstep.Worker{ID: "w-1", Skills: []string{"plumbing"}, Home: doorstep.Location{Lat: 52.5, Lng: 13.4}, Shifts: tt.shifts}
			wantField(t, w.Validate(), tt.field)
		})
	}
}

func TestRequestValidateSkillTwice(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	r := doorstep.Request{Service: "cleaning", Skills: []string{"cleaning", "cleaning"}, Urgency: doorstep.Normal,
		Location: doorstep.Location{Lat: 52.5, Lng: 13.4}, Duration: time.Hour, RequestedAt: now}
	wantField(t, r.Validate(now), "skills[1]")
}

func TestCheckWorkerSkills(t *testing.T) {
	c := doorstep.DefaultCatalogue()
	tests := []struct {
		skills []string
		field  string
	}{
		{[]string{"cleaning", "elder_care"}, ""},
		{[]string{"cleaning", "plumbin"}, "skills[1]"},
		{[]string{"first_aid"}, "skills[0]"},
	}
	for _, tt := range tests {
		wantField(t, c.CheckWorkerSkills(&doorstep.Worker{Skills: tt.skills}), tt.field)
	}
	if got := c.Skills(); len(got) != len(c) {
		t.Errorf("Skills() = %v: want one per service of the default catalogue", got)
	}
}

func TestCheckTime(t *testing.T) {
	tests := []struct {
		t  time.Time
		ok bool
	}{
		{time.Time{}, false},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), false},
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 11, 23, 8, 0, 0, 0, time.FixedZone("", -23*3600)), true},
		{time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC), true},
		{time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		field := "at"
		if tt.ok {
			field = ""
		}
		wantField(t, doorstep.CheckTime("at", tt.t), field)
	}
}

// TestRequestValidateHorizon: the horizon rules of a window and their
// edges. A normal request's window may end anywhere up to now + horizon
// (an appointment); urgent requests take none.
func TestRequestValidateHorizon(t *testing.T) {
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	const day = 24 * time.Hour
	win := func(from, to time.Duration) *doorstep.Window {
		return &doorstep.Window{Start: now.Add(from), End: now.Add(to)}
	}
	tests := []struct {
		name    string
		urgency doorstep.Urgency
		window  *doorstep.Window
		horizon time.Duration // 0: Validate, the default horizon
		field   string
	}{
		{"no window", doorstep.Normal, nil, 0, ""},
		{"window within 24 hours", doorstep.Normal, win(2*time.Hour, 4*time.Hour), 0, ""},
		{"window ending past 24 hours", doorstep.Normal, win(20*time.Hour, 26*time.Hour), 0, ""},
		{"window next week", doorstep.Normal, win(7*day, 7*day+2*time.Hour), 0, ""},
		{"window ending exactly at the default horizon", doorstep.Normal, win(60*day-2*time.Hour, 60*day), 0, ""},
		{"window ending a second past the default horizon", doorstep.Normal, win(60*day-2*time.Hour, 60*day+time.Second), 0, "window.end"},
		{"window wholly past the horizon", doorstep.Normal, win(61*day, 61*day+time.Hour), 0, "window.end"},
		{"window ending exactly at a 7-day horizon", doorstep.Normal, win(7*day-time.Hour, 7*day), 7 * day, ""},
		{"window past a 7-day horizon", doorstep.Normal, win(7*day, 7*day+time.Hour), 7 * day, "window.end"},
		{"window already started", doorstep.Normal, win(-time.Hour, time.Hour), 0, ""},
		{"window in the past", doorstep.Normal, win(-2*time.Hour, -time.Hour), 0, "window.end"},
		{"window ending now", doorstep.Normal, win(-2*time.Hour, 0), 0, "window.end"},
		{"window ending before it starts", doorstep.Normal, win(3*day, 3*day-time.Hour), 0, "window.end"},
		{"empty window", doorstep.Normal, win(3*day, 3*day), 0, "window.end"},
		{"urgent with a window", doorstep.Urgent, win(time.Hour, 2*time.Hour), 0, "window"},
		{"urgent with a window days ahead", doorstep.Urgent, win(3*day, 3*day+time.Hour), 0, "window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := doorstep.Request{Service: "cleaning", Urgency: tt.urgency, Location: doorstep.Location{Lat: 52.5, Lng: 13.4},
				Duration: time.Hour, RequestedAt: now, Window: tt.window}
			err := r.Validate(now)
			if tt.horizon != 0 {
				err = r.ValidateWithin(now, tt.horizon)
			}
			wantField(t, err, tt.field)
		})
	}
}
