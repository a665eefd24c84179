package geo_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// Points of the table tests and their resolution-7 cells.
var (
	tableNorth = doorstep.Location{Lat: paris.Lat + 10/degreeKm, Lng: paris.Lng} // 10 km north: 871fb474dffffff
	tableFar   = doorstep.Location{Lat: paris.Lat + 40/degreeKm, Lng: paris.Lng} // 40 km north: 871fb4332ffffff
	// 200 m east of paris, in its cell 871fb4662ffffff.
	tableNear = doorstep.Location{Lat: paris.Lat, Lng: paris.Lng + 0.2/degreeKm/0.6578}
)

// tableCSV is the table of the unit tests (and a seed of the fuzz target):
// paris -> north takes 20 minutes, 50 at 08:00-08:59; far -> paris 25.5
// minutes; paris -> far 30 minutes at 08:00-08:59 only.
const tableCSV = `# door-to-door minutes, resolution 7
from_cell,to_cell,minutes,hour
871fb4662ffffff,871fb474dffffff,20,
871fb4662ffffff,871fb474dffffff,50,8
871fb4332ffffff,871fb4662ffffff,25.5,
871fb4662ffffff,871fb4332ffffff,30,8
`

func mustParseTable(tb testing.TB, s string) *geo.Table {
	tb.Helper()
	t, err := geo.ParseTable(strings.NewReader(s), geo.Linear{})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestTableCells(t *testing.T) {
	// The fixture's cells are the points' IndexCells.
	for _, tt := range []struct {
		loc  doorstep.Location
		want string
	}{{paris, "871fb4662ffffff"}, {tableNear, "871fb4662ffffff"}, {tableNorth, "871fb474dffffff"}, {tableFar, "871fb4332ffffff"}} {
		if got := geo.IndexCell(tt.loc).String(); got != tt.want {
			t.Errorf("IndexCell(%v) = %s, want %s", tt.loc, got, tt.want)
		}
	}
}

func TestTableTravel(t *testing.T) {
	table := mustParseTable(t, tableCSV)
	if got := table.Len(); got != 4 {
		t.Errorf("Len() = %d, want 4", got)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name   string
		a, b   doorstep.Location
		depart time.Time
		want   time.Duration
	}{
		{"every-hour row", paris, tableNorth, at(9, 0), 20 * time.Minute},
		{"any point of the cell", tableNear, tableNorth, at(9, 0), 20 * time.Minute},
		{"hour row wins", paris, tableNorth, at(8, 30), 50 * time.Minute},
		{"hour row from its first second", paris, tableNorth, at(8, 0), 50 * time.Minute},
		{"hour row ends with its hour", paris, tableNorth, at(9, 0).Add(-time.Second), 50 * time.Minute},
		// 13:30 UTC is 08:30 in New York (EST in November).
		{"hour in depart's time zone", paris, tableNorth, at(13, 30).In(newYork), 50 * time.Minute},
		{"same instant in UTC", paris, tableNorth, at(13, 30), 20 * time.Minute},
		{"fractional minutes", tableFar, paris, at(9, 0), 25*time.Minute + 30*time.Second},
		{"hour-only row", paris, tableFar, at(8, 59), 30 * time.Minute},
		// Directed: no north -> paris row; Linear{}: 5 min + 10 km * 1.3 / 25 km/h.
		{"reverse is not implied: fallback", tableNorth, paris, at(9, 0), 36*time.Minute + 12*time.Second},
		{"hour-only row, other hour: fallback", paris, tableFar, at(9, 0), geo.Linear{}.Travel(paris, tableFar, at(9, 0))},
		{"same cell, no row: fallback", paris, tableNear, at(9, 0), geo.Linear{}.Travel(paris, tableNear, at(9, 0))},
		{"same place", paris, paris, at(8, 30), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := table.Travel(tt.a, tt.b, tt.depart); got != tt.want {
				t.Errorf("Travel(%v, %v, %v) = %v, want %v", tt.a, tt.b, tt.depart, got, tt.want)
			}
		})
	}
}

func TestTableReachKm(t *testing.T) {
	empty := mustParseTable(t, "from_cell,to_cell,minutes\n")
	table := mustParseTable(t, tableCSV)
	for _, d := range []time.Duration{0, 5 * time.Minute, 30 * time.Minute, time.Hour, 24 * time.Hour} {
		if got, want := empty.ReachKm(d), (geo.Linear{}).ReachKm(d); got != want {
			t.Errorf("empty table: ReachKm(%v) = %v, want Linear's %v", d, got, want)
		}
		if got, lin := table.ReachKm(d), (geo.Linear{}).ReachKm(d); got < lin {
			t.Errorf("ReachKm(%v) = %v, below Linear's %v", d, got, lin)
		}
	}
	// Linear{} covers (20-5) min * 25 km/h / 1.3 = 4.8 km in 20 minutes;
	// the 20-minute row paris -> north spans 10 km and a cell radius of
	// about 1.5 km at each end; the 25.5-minute row spans 40 km.
	tests := []struct {
		d      time.Duration
		lo, hi float64
	}{
		{20*time.Minute - time.Second, 4.7, 4.9},
		{20 * time.Minute, 10, 15},
		{25*time.Minute + 29*time.Second, 10, 15},
		{25*time.Minute + 30*time.Second, 40, 45},
		{50 * time.Minute, 40, 45},
		// Linear{} again: (10 h - 5 min) * 25 / 1.3 = 190.7 km.
		{10 * time.Hour, 190, 191},
	}
	for _, tt := range tests {
		if got := table.ReachKm(tt.d); got < tt.lo || got > tt.hi {
			t.Errorf("ReachKm(%v) = %v, want in [%v, %v]", tt.d, got, tt.lo, tt.hi)
		}
	}
}

// TestTableReachBoundsTravel checks what the candidate search relies on: a
// trip of the table never covers more than ReachKm of its duration, for
// any points of the rows' cells, at any hour.
func TestTableReachBoundsTravel(t *testing.T) {
	table := mustParseTable(t, tableCSV)
	rng := rand.New(rand.NewPCG(11, 7))
	// Points within 2 km of a centre cover its resolution-7 cell and some
	// neighbours (fallback trips).
	around := func(c doorstep.Location) doorstep.Location {
		return doorstep.Location{Lat: c.Lat + (rng.Float64()*4-2)/degreeKm, Lng: c.Lng + (rng.Float64()*4-2)/degreeKm/0.6578}
	}
	centres := []doorstep.Location{paris, tableNorth, tableFar}
	for range 20000 {
		a, b := around(centres[rng.IntN(3)]), around(centres[rng.IntN(3)])
		depart := time.Date(2026, 11, 23, rng.IntN(24), 0, 0, 0, time.UTC)
		d := table.Travel(a, b, depart)
		if km := geo.DistanceKm(a, b); km > table.ReachKm(d) {
			t.Fatalf("Travel(%v, %v, %v) = %v covers %v km > ReachKm %v", a, b, depart, d, km, table.ReachKm(d))
		}
	}
}

func TestParseTableErrors(t *testing.T) {
	res8 := geo.CellOf(paris, 8).String()
	const row = "871fb4662ffffff,871fb474dffffff,"
	tests := []struct {
		name         string
		in           string
		line, column int
		msg          string
	}{
		{"empty", "", 1, 0, "empty"},
		{"only comments", "# nothing\n", 1, 0, "empty"},
		{"unknown column", "from_cell,to_cell,minutes,speed\n", 1, 4, `unknown column "speed"`},
		{"column twice", "from_cell,to_cell,minutes,from_cell\n", 1, 4, `"from_cell" given twice`},
		{"missing column", "from_cell,to_cell\n", 1, 0, `lacks column "minutes"`},
		{"bad from cell", "from_cell,to_cell,minutes\nzz,871fb474dffffff,3\n", 2, 1, "from_cell"},
		{"wrong resolution", "from_cell,to_cell,minutes\n871fb4662ffffff," + res8 + ",3\n", 2, 2, "resolution 8, want 7"},
		{"zero minutes", "from_cell,to_cell,minutes\n" + row + "0\n", 2, 3, "minutes"},
		{"negative minutes", "from_cell,to_cell,minutes\n" + row + "-1\n", 2, 3, "minutes"},
		{"NaN minutes", "from_cell,to_cell,minutes\n" + row + "NaN\n", 2, 3, "minutes"},
		{"minutes over a day", "from_cell,to_cell,minutes\n" + row + "1441\n", 2, 3, "minutes"},
		{"minutes not a number", "from_cell,to_cell,minutes\n" + row + "ten\n", 2, 3, "minutes"},
		{"hour 24", "from_cell,to_cell,minutes,hour\n" + row + "5,24\n", 2, 4, "hour"},
		{"hour not a number", "from_cell,to_cell,minutes,hour\n" + row + "5,8h\n", 2, 4, "hour"},
		{"columns reordered", "hour,minutes,to_cell,from_cell\n7,5,871fb474dffffff,bad\n", 2, 4, "from_cell"},
		{"comment lines count", "# a comment\nfrom_cell,to_cell,minutes\n\n" + row + "x\n", 4, 3, "minutes"},
		{"duplicate", "from_cell,to_cell,minutes,hour\n" + row + "5,3\n" + row + "6,3\n", 3, 0, "first on line 2"},
		{"duplicate every hour", "from_cell,to_cell,minutes,hour\n" + row + "5,\n" + row + "6, \n", 3, 0, "at every hour"},
		{"missing field", "from_cell,to_cell,minutes\n" + row + "5\n871fb4662ffffff,3\n", 3, 1, "wrong number of fields"},
		{"bad quote", "from_cell,to_cell,minutes\n" + row + "\"5\n", 2, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := geo.ParseTable(strings.NewReader(tt.in), geo.Linear{})
			te, ok := errors.AsType[*geo.TableError](err)
			if !ok {
				t.Fatalf("ParseTable error = %v, want a *geo.TableError", err)
			}
			if te.Line != tt.line || (tt.column != 0 && te.Column != tt.column) {
				t.Errorf("error at line %d, column %d, want line %d, column %d: %v", te.Line, te.Column, tt.line, tt.column, err)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "travel table: line ") {
				t.Errorf("error %q lacks %q", err, tt.msg)
			}
		})
	}
}

func TestParseTableFallback(t *testing.T) {
	_, err := geo.ParseTable(strings.NewReader(tableCSV), geo.Linear{SpeedKmh: -1})
	if err == nil || !strings.Contains(err.Error(), "fallback") {
		t.Errorf("ParseTable with a bad fallback: error %v, want one naming the fallback", err)
	}
	table, err := geo.ParseTable(strings.NewReader(tableCSV), geo.Linear{Detour: 1, SpeedKmh: 60, Overhead: -1})
	if err != nil {
		t.Fatal(err)
	}
	// north -> paris is not in the table: 10 km at 60 km/h.
	if got, want := table.Travel(tableNorth, paris, nineUTC), 10*time.Minute; got != want {
		t.Errorf("fallback Travel = %v, want %v", got, want)
	}
}

func FuzzParseTable(f *testing.F) {
	f.Add(tableCSV)
	f.Add("from_cell,to_cell,minutes\n")
	f.Add("hour,minutes,to_cell,from_cell\n7,5,871fb474dffffff,871fb4662ffffff\n")
	f.Add("from_cell,to_cell,minutes,hour\n871fb4662ffffff,871fb474dffffff,5,3\n871fb4662ffffff,871fb474dffffff,6,3\n")
	f.Add("from_cell,to_cell,minutes\n871fb4662ffffff,871fb474dffffff,0.001\n")
	f.Add("from_cell,to_cell,minutes\n871fb4662ffffff,871fb474dffffff,\"5\n")
	f.Fuzz(func(t *testing.T, in string) {
		table, err := geo.ParseTable(strings.NewReader(in), geo.Linear{})
		if err != nil {
			te, ok := errors.AsType[*geo.TableError](err)
			if !ok || te.Line < 1 {
				t.Fatalf("error %v: want a *geo.TableError with a line", err)
			}
			return
		}
		prev := 0.0
		for _, d := range []time.Duration{0, time.Second, time.Minute, 30 * time.Minute, 24 * time.Hour} {
			got := table.ReachKm(d)
			if got < (geo.Linear{}).ReachKm(d) || got < prev {
				t.Fatalf("ReachKm(%v) = %v: below Linear's or not monotone", d, got)
			}
			prev = got
		}
		if got := table.Travel(paris, tableNorth, nineUTC); got <= 0 || got > 24*time.Hour {
			t.Fatalf("Travel = %v", got)
		}
	})
}

// TestTableConcurrent: the table's cell cache is safe for concurrent use
// and never changes an answer (run it with -race).
func TestTableConcurrent(t *testing.T) {
	table := mustParseTable(t, tableCSV)
	pts := benchPoints(64)
	pts = append(pts, paris, tableNorth, tableFar, tableNear)
	want := make([]time.Duration, len(pts)*len(pts))
	for i, a := range pts {
		for j, b := range pts {
			want[i*len(pts)+j] = table.Travel(a, b, nineUTC)
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for r := range 20 {
				for i, a := range pts {
					j := (i*7 + g + r) % len(pts)
					if got := table.Travel(a, pts[j], nineUTC); got != want[i*len(pts)+j] {
						t.Errorf("Travel(%v, %v) = %v concurrently, want %v", a, pts[j], got, want[i*len(pts)+j])
					}
				}
			}
		})
	}
	wg.Wait()
	if got := table.Travel(paris, tableNorth, nineUTC); got != 20*time.Minute {
		t.Errorf("Travel(paris, north) = %v, want 20m0s", got)
	}
}
