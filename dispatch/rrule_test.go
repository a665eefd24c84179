package dispatch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/google/go-cmp/cmp"
)

// utc parses an RFC 3339 time for the tables below.
func utc(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t.UTC()
}

// TestSeriesWindows expands rules against fixed expected dates, across DST
// changes and month ends.
func TestSeriesWindows(t *testing.T) {
	tests := []struct {
		name  string
		rec   dispatch.Recurrence
		first string // window start; the windows last an hour
		want  []string
	}{
		{
			// Berlin moves to CEST on Sunday 2027-03-28: 09:00 local is
			// 08:00Z before and 07:00Z after; March turns to April.
			name:  "twice a week across the spring DST change and a month end, Berlin",
			rec:   dispatch.Recurrence{RRule: "FREQ=WEEKLY;BYDAY=TU,FR;COUNT=8", TimeZone: "Europe/Berlin"},
			first: "2027-03-23T09:00:00+01:00",
			want: []string{"2027-03-23T08:00:00Z", "2027-03-26T08:00:00Z", "2027-03-30T07:00:00Z", "2027-04-02T07:00:00Z",
				"2027-04-06T07:00:00Z", "2027-04-09T07:00:00Z", "2027-04-13T07:00:00Z", "2027-04-16T07:00:00Z"},
		},
		{
			// New York leaves EDT on Sunday 2027-11-07 (02:00): 09:00 local
			// is 13:00Z before, 14:00Z from that very day on.
			name:  "every third day across the autumn DST change, New York",
			rec:   dispatch.Recurrence{RRule: "RRULE:FREQ=DAILY;INTERVAL=3;COUNT=4", TimeZone: "America/New_York"},
			first: "2027-11-01T09:00:00-04:00",
			want:  []string{"2027-11-01T13:00:00Z", "2027-11-04T13:00:00Z", "2027-11-07T14:00:00Z", "2027-11-10T14:00:00Z"},
		},
		{
			// Without a zone the series keeps the UTC time of day: 08:00Z
			// throughout, which is 10:00 in Berlin after the change.
			name:  "no time zone keeps UTC",
			rec:   dispatch.Recurrence{RRule: "FREQ=WEEKLY;BYDAY=TU;COUNT=2"},
			first: "2027-03-23T08:00:00Z",
			want:  []string{"2027-03-23T08:00:00Z", "2027-03-30T08:00:00Z"},
		},
		{
			name:  "every other Monday until a date, across two month ends",
			rec:   dispatch.Recurrence{RRule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;UNTIL=20270301T000000Z", TimeZone: "Europe/Berlin"},
			first: "2027-01-25T10:00:00+01:00",
			want:  []string{"2027-01-25T09:00:00Z", "2027-02-08T09:00:00Z", "2027-02-22T09:00:00Z"},
		},
		{
			// A first window on a day the rule does not name is not an
			// occurrence: the series starts on the rule's next day.
			name:  "a start on another weekday",
			rec:   dispatch.Recurrence{RRule: "FREQ=WEEKLY;BYDAY=TU,FR;COUNT=2", TimeZone: "Europe/Berlin"},
			first: "2027-03-22T09:00:00+01:00",
			want:  []string{"2027-03-23T08:00:00Z", "2027-03-26T08:00:00Z"},
		},
		{
			name:  "weekdays across a month end",
			rec:   dispatch.Recurrence{RRule: "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=4", TimeZone: "Europe/Berlin"},
			first: "2027-04-29T09:00:00+02:00",
			want:  []string{"2027-04-29T07:00:00Z", "2027-04-30T07:00:00Z", "2027-05-03T07:00:00Z", "2027-05-04T07:00:00Z"},
		},
		{
			name:  "the older form is FREQ=DAILY;INTERVAL;COUNT",
			rec:   dispatch.Recurrence{IntervalDays: 7, Count: 3},
			first: "2027-01-29T10:00:00Z",
			want:  []string{"2027-01-29T10:00:00Z", "2027-02-05T10:00:00Z", "2027-02-12T10:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := utc(t, tt.first)
			ws, err := dispatch.SeriesWindows(tt.rec, doorstep.Window{Start: start, End: start.Add(time.Hour)})
			if err != nil {
				t.Fatalf("SeriesWindows: %v", err)
			}
			var got []string
			for _, w := range ws {
				got = append(got, w.Start.Format(time.RFC3339))
				if w.Duration() != time.Hour {
					t.Errorf("window %v lasts %v, want 1h", w, w.Duration())
				}
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("occurrences (-got +want):\n%s", diff)
			}
		})
	}
}

// TestSeriesWindowsRefused checks that rules outside the subset, unbounded
// or too long are refused naming the field.
func TestSeriesWindowsRefused(t *testing.T) {
	tests := []struct {
		name  string
		rec   dispatch.Recurrence
		field string
		says  string
	}{
		{"hourly", dispatch.Recurrence{RRule: "FREQ=HOURLY;COUNT=3"}, "recurrence.rrule", "FREQ=HOURLY"},
		{"monthly", dispatch.Recurrence{RRule: "FREQ=MONTHLY;COUNT=3"}, "recurrence.rrule", "FREQ=MONTHLY"},
		{"bysetpos", dispatch.Recurrence{RRule: "FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=1;COUNT=3"}, "recurrence.rrule", "BYSETPOS"},
		{"bymonthday", dispatch.Recurrence{RRule: "FREQ=DAILY;BYMONTHDAY=1;COUNT=3"}, "recurrence.rrule", "BYMONTHDAY"},
		{"byhour", dispatch.Recurrence{RRule: "FREQ=DAILY;BYHOUR=9,17;COUNT=3"}, "recurrence.rrule", "BYHOUR"},
		{"ordinal weekday", dispatch.Recurrence{RRule: "FREQ=WEEKLY;BYDAY=1MO;COUNT=3"}, "recurrence.rrule", "ordinal"},
		{"no end", dispatch.Recurrence{RRule: "FREQ=WEEKLY;BYDAY=TU"}, "recurrence.rrule", "COUNT or UNTIL"},
		{"too many", dispatch.Recurrence{RRule: "FREQ=DAILY;COUNT=263"}, "recurrence.rrule", "COUNT"},
		{"over a year", dispatch.Recurrence{RRule: "FREQ=WEEKLY;INTERVAL=10;COUNT=7"}, "recurrence.rrule", "366 days"},
		{"until over a year", dispatch.Recurrence{RRule: "FREQ=WEEKLY;UNTIL=20290101T000000Z"}, "recurrence.rrule", "366 days"},
		{"until before the start", dispatch.Recurrence{RRule: "FREQ=WEEKLY;UNTIL=20200101T000000Z"}, "recurrence.rrule", "no occurrence"},
		{"not a rule", dispatch.Recurrence{RRule: "every tuesday"}, "recurrence.rrule", "RRULE"},
		{"dtstart", dispatch.Recurrence{RRule: "DTSTART:20270323T090000Z\nRRULE:FREQ=WEEKLY;COUNT=2"}, "recurrence.rrule", "DTSTART"},
		{"tzid", dispatch.Recurrence{RRule: "FREQ=WEEKLY;COUNT=2;TZID=Europe/Berlin"}, "recurrence.rrule", "time_zone"},
		{"both forms", dispatch.Recurrence{RRule: "FREQ=WEEKLY;COUNT=2", IntervalDays: 7, Count: 2}, "recurrence", "not both"},
		{"unknown zone", dispatch.Recurrence{RRule: "FREQ=WEEKLY;COUNT=2", TimeZone: "Mars/Olympus"}, "recurrence.time_zone", "IANA"},
		{"older form, count 0", dispatch.Recurrence{IntervalDays: 7}, "recurrence.count", "count"},
	}
	start := utc(t, "2027-03-23T08:00:00Z")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dispatch.SeriesWindows(tt.rec, doorstep.Window{Start: start, End: start.Add(time.Hour)})
			var de *doorstep.Error
			if !asError(err, &de) || de.Code != doorstep.EINVALID || de.Field != tt.field || !strings.Contains(de.Message, tt.says) {
				t.Errorf("got %v, want %s on %s saying %q", err, doorstep.EINVALID, tt.field, tt.says)
			}
		})
	}
}
