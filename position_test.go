package doorstep_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doorstep-dev/doorstep"
)

func TestWorkerPositionAt(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	h := func(hh int) time.Time { return day.Add(time.Duration(hh) * time.Hour) }
	home := doorstep.Location{Lat: 52.52, Lng: 13.40}
	away := doorstep.Location{Lat: 52.88, Lng: 13.40}
	shifts := []doorstep.Shift{{Start: h(8), End: h(12)}, {Start: h(14), End: h(18)}}
	tests := []struct {
		name     string
		loc      *doorstep.Location
		reported time.Time
		t        time.Time
		want     doorstep.Location
		places   []doorstep.Location
	}{
		{"no report", nil, time.Time{}, h(9), home, []doorstep.Location{home}},
		{"report during the shift", &away, h(9), h(10), away, []doorstep.Location{home, away}},
		{"report an hour before the shift", &away, h(7), h(9), away, []doorstep.Location{home, away}},
		{"report 3 h before the shift: stale", &away, h(5), h(9), home, []doorstep.Location{home, away}},
		{"off shift: home", &away, h(9), h(13), home, []doorstep.Location{home, away}},
		{"next shift, report from the last one: stale", &away, h(11), h(15), home, []doorstep.Location{home, away}},
		{"report at home", &home, h(9), h(10), home, []doorstep.Location{home}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &doorstep.Worker{ID: "w", Home: home, Location: tt.loc, LocatedAt: tt.reported, Shifts: shifts}
			if got := w.PositionAt(tt.t); got != tt.want {
				t.Errorf("PositionAt = %v, want %v", got, tt.want)
			}
			if diff := cmp.Diff(w.IndexedPlaces(), tt.places); diff != "" {
				t.Errorf("IndexedPlaces (-got +want):\n%s", diff)
			}
			if !slices.Contains(w.IndexedPlaces(), w.PositionAt(tt.t)) {
				t.Errorf("PositionAt %v is not indexed", w.PositionAt(tt.t))
			}
		})
	}
}
