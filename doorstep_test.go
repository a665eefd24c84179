package doorstep_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

func TestLocationValidate(t *testing.T) {
	tests := []struct {
		name      string
		loc       doorstep.Location
		wantField string // "" means valid
	}{
		{"origin", doorstep.Location{}, ""},
		{"new york", doorstep.Location{Lat: 40.73, Lng: -73.99}, ""},
		{"north pole", doorstep.Location{Lat: 90, Lng: 0}, ""},
		{"south pole", doorstep.Location{Lat: -90, Lng: 0}, ""},
		{"antimeridian east", doorstep.Location{Lat: 0, Lng: 180}, ""},
		{"antimeridian west", doorstep.Location{Lat: 0, Lng: -180}, ""},
		{"lat too big", doorstep.Location{Lat: 90.000001, Lng: 0}, "home.lat"},
		{"lat too small", doorstep.Location{Lat: -91, Lng: 0}, "home.lat"},
		{"lat NaN", doorstep.Location{Lat: math.NaN(), Lng: 0}, "home.lat"},
		{"lat +Inf", doorstep.Location{Lat: math.Inf(1), Lng: 0}, "home.lat"},
		{"lng too big", doorstep.Location{Lat: 0, Lng: 180.5}, "home.lng"},
		{"lng too small", doorstep.Location{Lat: 0, Lng: -181}, "home.lng"},
		{"lng NaN", doorstep.Location{Lat: 0, Lng: math.NaN()}, "home.lng"},
		{"lng -Inf", doorstep.Location{Lat: 0, Lng: math.Inf(-1)}, "home.lng"},
		{"both bad: lat reported", doorstep.Location{Lat: 100, Lng: 200}, "home.lat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.loc.Validate("home")
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", tt.loc, err)
				}
				return
			}
			var e *doorstep.Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate(%+v) = %v, want a *doorstep.Error", tt.loc, err)
			}
			if e.Code != doorstep.EINVALID || e.Field != tt.wantField {
				t.Errorf("Validate(%+v) code=%q field=%q, want %q %q", tt.loc, e.Code, e.Field, doorstep.EINVALID, tt.wantField)
			}
		})
	}
}

func TestRequestDeadline(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	tests := []struct {
		urgency doorstep.Urgency
		want    time.Time
	}{
		{doorstep.Urgent, at.Add(time.Hour)},
		{doorstep.Normal, at.Add(24 * time.Hour)},
		{"", at.Add(24 * time.Hour)}, // anything but urgent has the normal promise
	}
	for _, tt := range tests {
		t.Run(string(tt.urgency), func(t *testing.T) {
			r := doorstep.Request{Urgency: tt.urgency, RequestedAt: at}
			if got := r.Deadline(); !got.Equal(tt.want) {
				t.Errorf("Deadline() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRequestRule: the promise a request is held to, and its deadline: a
// window makes a normal request an appointment whose deadline is the
// window's end, within 24 hours of the request or days later.
func TestRequestRule(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	win := func(from, to time.Duration) *doorstep.Window {
		return &doorstep.Window{Start: at.Add(from), End: at.Add(to)}
	}
	tests := []struct {
		name     string
		r        doorstep.Request
		rule     string
		deadline time.Time
	}{
		{"urgent", doorstep.Request{Urgency: doorstep.Urgent}, doorstep.RuleUrgent, at.Add(time.Hour)},
		{"normal", doorstep.Request{Urgency: doorstep.Normal}, doorstep.RuleNormal, at.Add(24 * time.Hour)},
		{"window today", doorstep.Request{Urgency: doorstep.Normal, Window: win(2*time.Hour, 3*time.Hour)}, doorstep.RuleAppointment, at.Add(3 * time.Hour)},
		{"window next week", doorstep.Request{Urgency: doorstep.Normal, Window: win(7*24*time.Hour, 7*24*time.Hour+2*time.Hour)}, doorstep.RuleAppointment, at.Add(7*24*time.Hour + 2*time.Hour)},
		{"urgent with a window", doorstep.Request{Urgency: doorstep.Urgent, Window: win(2*time.Hour, 3*time.Hour)}, doorstep.RuleUrgent, at.Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.RequestedAt = at
			if got := tt.r.Rule(); got != tt.rule {
				t.Errorf("Rule() = %q, want %q", got, tt.rule)
			}
			if got := tt.r.Deadline(); !got.Equal(tt.deadline) {
				t.Errorf("Deadline() = %v, want %v", got, tt.deadline)
			}
			b := doorstep.Booking{Urgency: tt.r.Urgency, Window: tt.r.Window}
			if got := b.Rule(); got != tt.rule {
				t.Errorf("Booking.Rule() = %q, want %q", got, tt.rule)
			}
		})
	}
}

func TestUrgencyValid(t *testing.T) {
	tests := []struct {
		u    doorstep.Urgency
		want bool
	}{
		{doorstep.Urgent, true},
		{doorstep.Normal, true},
		{"", false},
		{"URGENT", false},
		{"asap", false},
	}
	for _, tt := range tests {
		if got := tt.u.Valid(); got != tt.want {
			t.Errorf("Urgency(%q).Valid() = %v, want %v", tt.u, got, tt.want)
		}
	}
}

func TestCompareUrgency(t *testing.T) {
	u, n := doorstep.Urgent, doorstep.Normal
	for _, tt := range []struct {
		a, b doorstep.Urgency
		sign int
	}{{u, n, -1}, {n, u, 1}, {u, u, 0}, {n, n, 0}} {
		if got := doorstep.CompareUrgency(tt.a, tt.b); (got > 0) != (tt.sign > 0) || (got < 0) != (tt.sign < 0) {
			t.Errorf("CompareUrgency(%s, %s) = %d, want the sign of %d", tt.a, tt.b, got, tt.sign)
		}
	}
}

func TestHasAll(t *testing.T) {
	tests := []struct {
		have, need []string
		want       bool
	}{
		{nil, nil, true},
		{[]string{"a"}, nil, true},
		{nil, []string{"a"}, false},
		{[]string{"a", "b", "c"}, []string{"c", "a"}, true},
		{[]string{"a", "b"}, []string{"a", "d"}, false},
	}
	for _, tt := range tests {
		if got := doorstep.HasAll(tt.have, tt.need); got != tt.want {
			t.Errorf("HasAll(%q, %q) = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	appErr := doorstep.Errorf(doorstep.ENOTFOUND, "", "worker %s not found", "w1")
	tests := []struct {
		name        string
		err         error
		wantCode    string
		wantMessage string
	}{
		{"nil", nil, "", ""},
		{"application error", appErr, doorstep.ENOTFOUND, "worker w1 not found"},
		{"wrapped application error", fmt.Errorf("load worker w1: %w", appErr), doorstep.ENOTFOUND, "worker w1 not found"},
		{"invalid with field", doorstep.Errorf(doorstep.EINVALID, "window.end", "bad"), doorstep.EINVALID, "bad"},
		{"plain error hides its text", errors.New("dial tcp 10.0.0.1:6379: refused"), doorstep.EINTERNAL, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := doorstep.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode() = %q, want %q", got, tt.wantCode)
			}
			if got := doorstep.ErrorMessage(tt.err); got != tt.wantMessage {
				t.Errorf("ErrorMessage() = %q, want %q", got, tt.wantMessage)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *doorstep.Error
		want string
	}{
		{doorstep.Errorf(doorstep.EINVALID, "service", "unknown service %q", "x"),
			`doorstep error: code=invalid field=service message=unknown service "x"`},
		{doorstep.Errorf(doorstep.EUNSERVABLE, "", "nobody"),
			`doorstep error: code=unservable message=nobody`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestWorkerQualifies(t *testing.T) {
	w := &doorstep.Worker{ID: "w", Skills: []string{"plumbing", "heating"}, Certificates: []string{"gas"}}
	tests := []struct {
		name   string
		req    doorstep.Request
		lacks  string
		qualif bool
	}{
		{"nothing needed", doorstep.Request{}, "", true},
		{"skills held", doorstep.Request{Skills: []string{"heating"}}, "", true},
		{"skill and certificate held", doorstep.Request{Skills: []string{"plumbing"}, Certificates: []string{"gas"}}, "", true},
		{"skill missing", doorstep.Request{Skills: []string{"electrical"}}, "skills", false},
		{"certificate missing", doorstep.Request{Skills: []string{"plumbing"}, Certificates: []string{"electrical"}}, "certificates", false},
		{"both missing: skills first", doorstep.Request{Skills: []string{"roofing"}, Certificates: []string{"asbestos"}}, "skills", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.Lacks(&tt.req); got != tt.lacks {
				t.Errorf("Lacks = %q, want %q", got, tt.lacks)
			}
			if got := w.Qualifies(&tt.req); got != tt.qualif {
				t.Errorf("Qualifies = %v, want %v", got, tt.qualif)
			}
		})
	}
}
