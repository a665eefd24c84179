package doorstep_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

func TestBreakJSON(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name string
		in   string
		want doorstep.Break
		out  string // the form written back
	}{
		{"fixed, as always", `{"start":"2026-11-23T12:00:00Z","end":"2026-11-23T12:30:00Z"}`,
			doorstep.FixedBreak(at(12, 0), at(12, 30)), `{"start":"2026-11-23T12:00:00Z","end":"2026-11-23T12:30:00Z"}`},
		{"flexible", `{"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T14:00:00Z","minutes":30}`,
			doorstep.FlexibleBreak(at(11, 0), at(14, 0), 30*time.Minute), `{"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T14:00:00Z","minutes":30}`},
		{"flexible filling its range is fixed", `{"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T11:30:00Z","minutes":30}`,
			doorstep.FixedBreak(at(11, 0), at(11, 30)), `{"start":"2026-11-23T11:00:00Z","end":"2026-11-23T11:30:00Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got doorstep.Break
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("decoded (-got +want):\n%s", diff)
			}
			out, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.out {
				t.Errorf("encoded %s, want %s", out, tt.out)
			}
		})
	}
	bad := []struct{ name, in, field string }{
		{"both forms", `{"start":"2026-11-23T12:00:00Z","end":"2026-11-23T12:30:00Z","minutes":30}`, "minutes"},
		{"no minutes", `{"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T14:00:00Z"}`, "minutes"},
		{"no end", `{"start":"2026-11-23T12:00:00Z"}`, "end"},
		{"empty", `{}`, "start"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			var got doorstep.Break
			wantField(t, json.Unmarshal([]byte(tt.in), &got), tt.field)
		})
	}
}

func TestWorkerValidateBreaks(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	fixed := doorstep.FixedBreak
	flex := func(from, to time.Time, m int) doorstep.Break {
		return doorstep.FlexibleBreak(from, to, time.Duration(m)*time.Minute)
	}
	tests := []struct {
		name   string
		breaks []doorstep.Break
		field  string
	}{
		{"fixed", []doorstep.Break{fixed(at(12, 0), at(12, 30))}, ""},
		{"flexible", []doorstep.Break{flex(at(11, 0), at(14, 0), 30)}, ""},
		{"fixed and flexible over it", []doorstep.Break{flex(at(11, 0), at(14, 0), 30), fixed(at(12, 0), at(12, 30))}, ""},
		{"two flexible, apart", []doorstep.Break{flex(at(10, 0), at(11, 0), 15), flex(at(14, 0), at(16, 0), 30)}, ""},
		{"fixed end before start", []doorstep.Break{fixed(at(12, 0), at(11, 0))}, "shifts[0].breaks[0].end"},
		{"flexible latest before earliest", []doorstep.Break{flex(at(12, 0), at(11, 0), 30)}, "shifts[0].breaks[0].latest"},
		{"fixed before the shift", []doorstep.Break{fixed(at(7, 0), at(8, 30))}, "shifts[0].breaks[0].start"},
		{"flexible before the shift", []doorstep.Break{flex(at(7, 0), at(9, 0), 30)}, "shifts[0].breaks[0].earliest"},
		{"flexible after the shift", []doorstep.Break{flex(at(17, 0), at(19, 0), 30)}, "shifts[0].breaks[0].latest"},
		{"no minutes", []doorstep.Break{flex(at(11, 0), at(14, 0), 0)}, "shifts[0].breaks[0].minutes"},
		{"minutes beyond the range", []doorstep.Break{flex(at(11, 0), at(11, 20), 30)}, "shifts[0].breaks[0].minutes"},
		{"part of a minute", []doorstep.Break{doorstep.FlexibleBreak(at(11, 0), at(14, 0), 90*time.Second)}, "shifts[0].breaks[0].minutes"},
		{"fixed overlapping", []doorstep.Break{fixed(at(12, 0), at(12, 30)), fixed(at(12, 15), at(12, 45))}, "shifts[0].breaks[1].start"},
		{"flexible ranges overlapping", []doorstep.Break{flex(at(11, 0), at(13, 0), 30), flex(at(12, 0), at(14, 0), 30)}, "shifts[0].breaks[1].earliest"},
		{"out of order", []doorstep.Break{fixed(at(14, 0), at(14, 30)), flex(at(11, 0), at(13, 0), 30)}, "shifts[0].breaks[1].earliest"},
		{"no room beside the fixed breaks", []doorstep.Break{flex(at(12, 0), at(13, 0), 30), fixed(at(12, 15), at(12, 45))}, "shifts[0].breaks[0].minutes"},
		{"too many", []doorstep.Break{
			flex(at(8, 0), at(9, 0), 5), flex(at(9, 0), at(10, 0), 5), flex(at(10, 0), at(11, 0), 5), flex(at(11, 0), at(12, 0), 5),
			flex(at(12, 0), at(13, 0), 5), flex(at(13, 0), at(14, 0), 5), flex(at(14, 0), at(15, 0), 5), flex(at(15, 0), at(16, 0), 5),
			flex(at(16, 0), at(17, 0), 5)}, "shifts[0].breaks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := doorstep.Worker{ID: "w-1", Skills: []string{"cleaning"}, Home: doorstep.Location{Lat: 52.5, Lng: 13.4},
				Shifts: []doorstep.Shift{{Start: at(8, 0), End: at(18, 0), Breaks: tt.breaks}}}
			wantField(t, w.Validate(), tt.field)
		})
	}
}
