package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/redis/go-redis/v9"
)

// TestWorkerIDsInCellsCommands: reading the index of a wide step (more
// than maxMembersCells cells) costs one Redis command per region, not one
// per cell. A search step of a sparse fleet reads a thousand or more
// cells, nearly all empty; a command
// per cell made each booking round thousands of commands, which the
// embedded store (some 10-15 us a command) could not serve for 30
// concurrent bookings within the request deadline (issue 9, item 7).
func TestWorkerIDsInCellsCommands(t *testing.T) {
	t.Parallel()
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	home := doorstep.Location{Lat: 52.52, Lng: 13.405}
	if _, err := s.PutWorker(ctx, &doorstep.Worker{ID: "w1", Skills: []string{"cleaning"}, Home: home}); err != nil {
		t.Fatal(err)
	}
	var cells []geo.Cell
	for _, ring := range geo.Rings(geo.IndexCell(home), 25) {
		cells = append(cells, ring...)
	}
	regions := map[string]bool{}
	for _, c := range cells {
		regions[cellRegion(c)] = true
	}
	if err := s.rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	refs, err := s.WorkerIDsInCells(ctx, cells)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].ID != "w1" {
		t.Errorf("WorkerIDsInCells = %v, want w1", refs)
	}
	n := indexCommands(t, s.rdb)
	t.Logf("%d cells in %d regions: %d commands", len(cells), len(regions), n)
	if n > len(regions) {
		t.Errorf("reading %d cells in %d regions took %d commands, want at most one per region", len(cells), len(regions), n)
	}
}

// indexCommands sums the calls of INFO commandstats but for the stats
// commands themselves.
func indexCommands(tb testing.TB, rdb redis.UniversalClient) int {
	tb.Helper()
	info, err := rdb.Info(tb.Context(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(info, "\n") {
		name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") || strings.HasPrefix(name, "cmdstat_config") || name == "cmdstat_info" {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(stats, "calls="), ",")
		c, err := strconv.Atoi(calls)
		if err != nil {
			tb.Fatalf("commandstats line %q: %v", line, err)
		}
		n += c
	}
	return n
}

// TestWorkerIDsInCellsSameByMembersAndUnion: a step read one SMEMBERS a
// cell (up to maxMembersCells cells) lists the same workers in the same
// order as one SUNION a region: each once, though a worker is indexed
// under its home's cell and its reported position's, both read here.
func TestWorkerIDsInCellsSameByMembersAndUnion(t *testing.T) {
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	var cells []geo.Cell
	for i := range 40 {
		home := doorstep.Location{Lat: nycA.Lat + float64(i%7)*0.01, Lng: nycA.Lng + float64(i/7)*0.01}
		w := &doorstep.Worker{ID: fmt.Sprintf("w%02d", i), Skills: []string{"plumbing"}, Home: home}
		if _, err := s.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			at := doorstep.Location{Lat: home.Lat + 0.02, Lng: home.Lng}
			if err := s.SetLocation(ctx, w.ID, at, t0); err != nil {
				t.Fatal(err)
			}
			cells = append(cells, geo.IndexCell(at))
		}
		cells = append(cells, geo.IndexCell(home))
	}
	slices.SortFunc(cells, func(a, b geo.Cell) int { return strings.Compare(a.String(), b.String()) })
	cells = slices.Compact(cells)
	if len(cells) > maxMembersCells {
		t.Fatalf("fixture: %d cells", len(cells))
	}
	byMembers, err := s.WorkerIDsInCells(ctx, cells)
	if err != nil {
		t.Fatal(err)
	}
	var many []geo.Cell // the same cells, more than maxMembersCells of them: one SUNION
	for len(many) <= maxMembersCells {
		many = append(many, cells...)
	}
	byUnion, err := s.WorkerIDsInCells(ctx, many)
	if err != nil {
		t.Fatal(err)
	}
	if len(byMembers) != 40 {
		t.Errorf("listed %d workers, want 40 (each once)", len(byMembers))
	}
	if !slices.Equal(byMembers, byUnion) {
		t.Errorf("SMEMBERS a cell listed %v, SUNION %v", byMembers, byUnion)
	}
}
