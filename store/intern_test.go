package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// TestListsShare: workers decoded from a roster's profiles share their
// lists of skills, certificates and shifts where those are equal, and
// each is still exactly what decodeWorker gives (reflect.DeepEqual:
// strings, instants, zones, nil and empty lists), over profiles drawn
// from a few skill sets and shift patterns in zones that differ only by
// name, past the point where the lists are forgotten (listsMax).
func TestListsShare(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	skillSets := [][]string{nil, {}, {"plumbing"}, {"plumbing", "appliance_repair"}, {"cleaning", "deep_cleaning", "laundry"}, {"appliance_repair", "plumbing"}}
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("A", 3600), time.FixedZone("B", 3600), time.FixedZone("", 5*3600+1800)}
	day := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	shiftOf := func(pattern int) []doorstep.Shift {
		if pattern == 0 {
			return nil
		}
		z := zones[pattern%len(zones)]
		start := day.Add(time.Duration(pattern) * time.Minute).In(z)
		sh := doorstep.Shift{Start: start, End: start.Add(8 * time.Hour)}
		switch pattern % 3 {
		case 1:
			sh.Breaks = []doorstep.Break{doorstep.FixedBreak(start.Add(4*time.Hour), start.Add(4*time.Hour+30*time.Minute))}
		case 2:
			sh.Breaks = []doorstep.Break{doorstep.FlexibleBreak(start.Add(3*time.Hour), start.Add(5*time.Hour), 30*time.Minute)}
		}
		tomorrow := doorstep.Shift{Start: sh.Start.Add(24 * time.Hour), End: sh.End.Add(24 * time.Hour)}
		return []doorstep.Shift{sh, tomorrow}
	}
	var l lists
	var shared, held int
	first := map[string]*doorstep.Worker{} // by profile, less the id
	for i := range 3 * listsMax {
		pattern := rng.IntN(40)
		if i >= listsMax {
			pattern = i // past listsMax: every pattern new, until they are forgotten
		}
		w := doorstep.Worker{ID: fmt.Sprintf("w%d", i), Home: doorstep.Location{Lat: 48.8, Lng: 2.3},
			Skills: skillSets[rng.IntN(len(skillSets))], Certificates: skillSets[rng.IntN(2)], Shifts: shiftOf(pattern), Rating: 4.5}
		raw, err := json.Marshal(&w)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeWorker(string(raw))
		if err != nil {
			t.Fatal(err)
		}
		l.share(got)
		want, _ := decodeWorker(string(raw))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("worker %d: shared %#v\ndecoded %#v", i, got, want)
		}
		for _, n := range []int{len(got.Skills) - cap(got.Skills), len(got.Certificates) - cap(got.Certificates), len(got.Shifts) - cap(got.Shifts)} {
			if n != 0 {
				t.Fatalf("worker %d: a shared list has room beyond its length: an append would write into another worker's", i)
			}
		}
		if i >= listsMax {
			continue
		}
		// A worker like an earlier one shares its skills and its shifts
		// (those in the zone of 5:30 too, which each decode makes anew).
		w.ID = ""
		key, _ := json.Marshal(&w)
		prev, ok := first[string(key)]
		if !ok {
			first[string(key)] = got
			continue
		}
		held++
		if len(got.Skills) > 0 && &got.Skills[0] != &prev.Skills[0] {
			t.Fatalf("worker %d: skills %v not shared", i, got.Skills)
		}
		if len(got.Shifts) > 0 {
			if &got.Shifts[0] != &prev.Shifts[0] {
				t.Fatalf("worker %d: shifts %v not shared", i, got.Shifts)
			}
			shared++
		}
	}
	if held < 1000 || shared < held/2 { // a worker of pattern 0 has no shifts
		t.Fatalf("%d workers like an earlier one, %d of them sharing shifts: the test misses its cases", held, shared)
	}
	if len(l.shifts) >= listsMax || len(l.strings) >= listsMax {
		t.Fatalf("%d shift lists and %d string lists held: not forgotten past %d", len(l.shifts), len(l.strings), listsMax)
	}
	if len(l.shifts) == 0 {
		t.Fatal("nothing held")
	}
}

// TestListsShareTellsApart: lists that differ in what reflect.DeepEqual
// sees are never shared, however little they differ; lists are held
// clipped; and a time the decoder never makes keeps its list apart.
func TestListsShareTellsApart(t *testing.T) {
	at := time.Date(2026, 12, 4, 7, 0, 0, 0, time.UTC)
	in := func(z *time.Location) []doorstep.Shift {
		return []doorstep.Shift{{Start: at.In(z), End: at.Add(8 * time.Hour).In(z)}}
	}
	roomy := make([]doorstep.Shift, 1, 4)
	roomy[0] = doorstep.Shift{Start: at, End: at.Add(9 * time.Hour)} // like no other case
	cases := [][]doorstep.Shift{
		{{Start: at, End: at.Add(8 * time.Hour)}},
		{{Start: at, End: at.Add(8 * time.Hour), Breaks: []doorstep.Break{}}},
		{{Start: at, End: at.Add(8*time.Hour + time.Nanosecond)}},
		{{Start: at.Add(time.Nanosecond), End: at.Add(8 * time.Hour)}},
		{{Start: at, End: at.Add(8 * time.Hour), UrgentOvertimeMinutes: 60}},
		{{Start: at, End: at.Add(8 * time.Hour), Breaks: []doorstep.Break{doorstep.FlexibleBreak(at, at.Add(time.Hour), time.Minute)}}},
		{{Start: at, End: at.Add(8 * time.Hour), Breaks: []doorstep.Break{doorstep.FlexibleBreak(at, at.Add(time.Hour), time.Minute+1)}}},
		in(time.FixedZone("", 3600)),
		in(time.FixedZone("", 7200)),
		in(time.FixedZone("", 5*3600+1800)),
		in(time.FixedZone("", 5*3600+2700)),
		roomy,
	}
	var l lists
	var got []*doorstep.Worker
	for _, sh := range cases {
		w := &doorstep.Worker{Skills: append(make([]string, 0, 4), "plumbing"), Shifts: sh}
		l.share(w)
		got = append(got, w)
		if cap(w.Shifts) != len(w.Shifts) || cap(w.Skills) != len(w.Skills) {
			t.Fatalf("%v: held with room beyond its length", sh)
		}
	}
	for i, a := range got {
		for j, b := range got[:i] {
			if same := &a.Shifts[0] == &b.Shifts[0]; same != reflect.DeepEqual(cases[i], cases[j]) {
				t.Fatalf("cases %d and %d: shared %v, equal %v", j, i, same, !same)
			}
		}
	}
	if &got[0].Skills[0] != &got[1].Skills[0] {
		t.Fatal("equal skills not shared")
	}
	// A named zone (from time.LoadLocation or FixedZone with a name) or a
	// monotonic reading is never decoded: such a list is left apart.
	for _, sh := range [][]doorstep.Shift{in(time.FixedZone("CET", 3600)), {{Start: time.Now(), End: time.Now().Add(time.Hour)}}} {
		w := &doorstep.Worker{Shifts: sh}
		l.share(w)
		w2 := &doorstep.Worker{Shifts: slices.Clone(sh)}
		l.share(w2)
		if &w.Shifts[0] == &w2.Shifts[0] {
			t.Fatalf("%v: shared", sh)
		}
	}
}
