package geo

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/uber/h3-go/v4"

	"github.com/doorstep-dev/doorstep"
)

// TableResolution is the resolution of a travel table's cells: the index
// resolution, so that a trip is looked up by the IndexCell of its ends.
const TableResolution = IndexResolution

// MaxTableMinutes bounds one trip of a travel table (a day).
const MaxTableMinutes = 24 * 60

// Table is a travel model from data: measured trip times between pairs of
// H3 cells (of TableResolution), optionally by hour of departure, with
// Fallback answering every trip the table is silent on. Build it with
// ParseTable.
//
// A trip from a to b leaving at depart takes:
//   - no time if a and b are closer than SamePlaceKm (as in Linear);
//   - else the table's minutes for (IndexCell(a), IndexCell(b), hour),
//     the hour being depart.Hour() in depart's time zone;
//   - else its minutes for (IndexCell(a), IndexCell(b)) at every hour (a
//     row with no hour);
//   - else Fallback.Travel(a, b, depart).
//
// The table is directed: a row from A to B says nothing of B to A (one-way
// streets, tidal traffic); give both rows for a symmetric pair. Its
// minutes are the whole trip, door to door: Fallback's overhead is not
// added to them.
//
// ReachKm is exact rather than a guess at a speed: it is the larger of
// Fallback.ReachKm(d) and the farthest two points can be apart while lying
// in the cells of a row of at most d minutes (the distance between the
// cells' centres plus both cells' circumradii, whatever the row's hour).
// So the candidate search never misses a worker the table brings within
// reach, even when a row promises a trip faster than Fallback would, and a
// table slower than Fallback leaves the search as wide as Fallback's.
//
// A Table is safe for concurrent use; it must not be copied. The zero
// Table is Linear{} alone.
type Table struct {
	// Fallback answers the trips the table is silent on.
	Fallback Linear
	trips    map[tripKey]time.Duration
	// reach[i] is the farthest apart two points of a row of at most
	// reach[i].d can be; sorted by d, km non-decreasing.
	reach []reachStep
	// cells memoises IndexCell, which goes through h3's C library (some
	// 1.3 µs a call): a match asks for the same few places many times.
	cells cellCache
}

// cellCacheBits sizes the cell cache: 16384 places, 128 KiB of pointers.
const cellCacheBits = 14

// cellCache is a direct-mapped cache of IndexCell, safe for concurrent
// use: an entry is replaced whole, and a miss recomputes the cell, so the
// answer never depends on what the cache holds.
type cellCache [1 << cellCacheBits]atomic.Pointer[cellEntry]

type cellEntry struct {
	loc  doorstep.Location
	cell Cell
}

// cell returns IndexCell(loc) through the cache.
func (c *cellCache) cell(loc doorstep.Location) Cell {
	h := (math.Float64bits(loc.Lat)*0x9E3779B97F4A7C15 ^ math.Float64bits(loc.Lng)) * 0xBF58476D1CE4E5B9
	slot := &c[h>>(64-cellCacheBits)]
	if e := slot.Load(); e != nil && e.loc == loc {
		return e.cell
	}
	cell := IndexCell(loc)
	slot.Store(&cellEntry{loc: loc, cell: cell})
	return cell
}

var _ TravelModel = (*Table)(nil)

// tripKey is a directed cell pair at one hour; hour -1 is every hour.
type tripKey struct {
	from, to Cell
	hour     int8
}

type reachStep struct {
	d  time.Duration
	km float64
}

// Len returns the number of rows of the table.
func (t *Table) Len() int { return len(t.trips) }

// Travel implements TravelModel.
func (t *Table) Travel(a, b doorstep.Location, depart time.Time) time.Duration {
	km := DistanceKm(a, b)
	if km < SamePlaceKm {
		return 0
	}
	if len(t.trips) > 0 {
		k := tripKey{from: t.cells.cell(a), to: t.cells.cell(b), hour: int8(depart.Hour())}
		if d, ok := t.trips[k]; ok {
			return d
		}
		k.hour = -1
		if d, ok := t.trips[k]; ok {
			return d
		}
	}
	return t.Fallback.TravelKm(km, depart)
}

// ReachKm implements TravelModel; see Table.
func (t *Table) ReachKm(d time.Duration) float64 {
	reach := t.Fallback.ReachKm(d)
	// The last step of at most d minutes holds the farthest such row.
	if i, _ := slices.BinarySearchFunc(t.reach, d, func(s reachStep, d time.Duration) int {
		if s.d <= d {
			return -1
		}
		return 1
	}); i > 0 {
		reach = max(reach, t.reach[i-1].km)
	}
	return reach
}

// TableError is a parse error of a travel table: Line and Column (both
// from 1; Column counts fields) locate it in the input.
type TableError struct {
	Line, Column int
	Err          error
}

func (e *TableError) Error() string {
	if e.Column == 0 {
		return fmt.Sprintf("travel table: line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("travel table: line %d, column %d: %v", e.Line, e.Column, e.Err)
}

func (e *TableError) Unwrap() error { return e.Err }

// Table column names.
const (
	colFrom    = "from_cell"
	colTo      = "to_cell"
	colMinutes = "minutes"
	colHour    = "hour"
)

// ParseTable reads a travel table from CSV. The first record is a header
// naming the columns, in any order: from_cell, to_cell and minutes are
// required, hour is optional. Every further record is a row:
//
//   - from_cell, to_cell: H3 cells of TableResolution (7) in hexadecimal,
//     as Cell.String writes them (e.g. 871fb4662ffffff);
//   - minutes: the trip's duration, a number in (0, MaxTableMinutes],
//     rounded up to the second;
//   - hour: the hour of departure 0-23 the row applies to; empty (or no
//     hour column) means every hour, and a row for the hour wins over it.
//
// Lines starting with '#' are comments; spaces after a comma are ignored.
// A pair given twice for the same hour is an error. Errors are
// *TableError, naming the line and column. fallback answers what the table
// does not and is validated too.
func ParseTable(r io.Reader, fallback Linear) (*Table, error) {
	if err := fallback.Validate(); err != nil {
		return nil, fmt.Errorf("travel table: fallback: %w", err)
	}
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &TableError{Line: 1, Err: errors.New("empty: want a header from_cell,to_cell,minutes[,hour]")}
	}
	if err != nil {
		return nil, csvError(err)
	}
	line, _ := cr.FieldPos(0)
	cols := map[string]int{colFrom: -1, colTo: -1, colMinutes: -1, colHour: -1}
	for i, name := range header {
		name = strings.TrimSpace(name)
		switch j, ok := cols[name]; {
		case !ok:
			return nil, &TableError{Line: line, Column: i + 1, Err: fmt.Errorf("unknown column %q (want from_cell, to_cell, minutes, hour)", name)}
		case j >= 0:
			return nil, &TableError{Line: line, Column: i + 1, Err: fmt.Errorf("column %q given twice", name)}
		}
		cols[name] = i
	}
	for _, name := range []string{colFrom, colTo, colMinutes} {
		if cols[name] < 0 {
			return nil, &TableError{Line: line, Err: fmt.Errorf("header lacks column %q", name)}
		}
	}

	t := &Table{Fallback: fallback, trips: make(map[tripKey]time.Duration)}
	rowLine := make(map[tripKey]int)
	radius := make(map[Cell]float64)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		fail := func(col string, err error) error {
			return &TableError{Line: line, Column: cols[col] + 1, Err: err}
		}
		var k tripKey
		for _, c := range []struct {
			col string
			dst *Cell
		}{{colFrom, &k.from}, {colTo, &k.to}} {
			cell, err := ParseCell(strings.TrimSpace(rec[cols[c.col]]))
			if err != nil {
				return nil, fail(c.col, fmt.Errorf("%s: %w", c.col, err))
			}
			if res := cell.Resolution(); res != TableResolution {
				return nil, fail(c.col, fmt.Errorf("%s %v: resolution %d, want %d", c.col, cell, res, TableResolution))
			}
			*c.dst = cell
		}
		s := strings.TrimSpace(rec[cols[colMinutes]])
		m, err := strconv.ParseFloat(s, 64)
		if err != nil || !(m > 0 && m <= MaxTableMinutes) {
			return nil, fail(colMinutes, fmt.Errorf("minutes %q: want a number in (0, %d]", s, MaxTableMinutes))
		}
		k.hour = -1
		if cols[colHour] >= 0 {
			if s := strings.TrimSpace(rec[cols[colHour]]); s != "" {
				h, err := strconv.Atoi(s)
				if err != nil || h < 0 || h > 23 {
					return nil, fail(colHour, fmt.Errorf("hour %q: want 0-23 or empty for every hour", s))
				}
				k.hour = int8(h)
			}
		}
		if prev, ok := rowLine[k]; ok {
			return nil, &TableError{Line: line, Err: fmt.Errorf("%v to %v %s given again (first on line %d)", k.from, k.to, hourName(k.hour), prev)}
		}
		rowLine[k] = line
		d := time.Duration(math.Ceil(m*60)) * time.Second
		t.trips[k] = d
		t.reach = append(t.reach, reachStep{d: d, km: DistanceKm(k.from.Center(), k.to.Center()) +
			circumradiusKm(k.from, radius) + circumradiusKm(k.to, radius)})
	}
	slices.SortFunc(t.reach, func(a, b reachStep) int { return cmp.Compare(a.d, b.d) })
	for i := 1; i < len(t.reach); i++ {
		t.reach[i].km = max(t.reach[i].km, t.reach[i-1].km)
	}
	return t, nil
}

// csvError turns encoding/csv's error into a *TableError.
func csvError(err error) error {
	if pe, ok := errors.AsType[*csv.ParseError](err); ok {
		return &TableError{Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return fmt.Errorf("travel table: %w", err)
}

func hourName(h int8) string {
	if h < 0 {
		return "at every hour"
	}
	return fmt.Sprintf("at hour %d", h)
}

// circumradiusKm returns the distance from c's centre to its farthest
// vertex, 1% wider for the curvature of its edges, memoised in seen.
func circumradiusKm(c Cell, seen map[Cell]float64) float64 {
	if r, ok := seen[c]; ok {
		return r
	}
	center := c.Center()
	var r float64
	for _, v := range h3.Cell(c).Boundary() {
		r = max(r, DistanceKm(center, doorstep.Location{Lat: v.Lat, Lng: v.Lng}))
	}
	r *= 1.01
	seen[c] = r
	return r
}
