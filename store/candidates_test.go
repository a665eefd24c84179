package store

import (
	"strconv"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/redis/go-redis/v9"
)

// TestWorkerIDsInCellsCommands: reading the index around a request costs
// one Redis command per region, not one per cell. A search step of a
// sparse fleet reads a thousand or more cells, nearly all empty; a command
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
