package store

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

func redisZ(id string) redis.Z { return redis.Z{Member: id} }

// listAll walks ListWorkers page by page and returns the ids in order,
// failing on an id listed twice.
func listAll(tb testing.TB, s *Store, q WorkerQuery) (ids []string, pages int) {
	tb.Helper()
	for {
		page, err := s.ListWorkers(context.Background(), q)
		if err != nil {
			tb.Fatalf("ListWorkers(%+v): %v", q, err)
		}
		pages++
		if len(page.Workers) > q.Limit {
			tb.Fatalf("ListWorkers(%+v): %d workers, limit %d", q, len(page.Workers), q.Limit)
		}
		for _, w := range page.Workers {
			ids = append(ids, w.ID)
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
		if pages > 1000 {
			tb.Fatal("ListWorkers does not end")
		}
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		tb.Fatalf("ListWorkers(%+v) = %v: not strictly in order of id", q, ids)
	}
	return ids, pages
}

// testListWorkers lists workers of two regions in pages, with filters,
// after a move, a delete, and for profiles written before rosters.
func testListWorkers(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	if ids, _ := listAll(t, s, WorkerQuery{Limit: 10}); len(ids) != 0 {
		t.Fatalf("empty store lists %v", ids)
	}
	var all, nyc, phl, heating []string
	for i := range 23 {
		id := fmt.Sprintf("w%02d", i)
		w := newWorker(id, nycA)
		if i%3 == 0 {
			w.Home = philly
			phl = append(phl, id)
		} else {
			nyc = append(nyc, id)
		}
		if i%5 == 0 {
			w.Skills = append(w.Skills, "heating")
			heating = append(heating, id)
		}
		mustPutWorker(t, s, w)
		all = append(all, id)
	}
	tests := []struct {
		name string
		q    WorkerQuery
		want []string
	}{
		{"all in pages of 4", WorkerQuery{Limit: 4}, all},
		{"all in one page", WorkerQuery{Limit: 1000}, all},
		{"all in pages of 1", WorkerQuery{Limit: 1}, all},
		{"after w10", WorkerQuery{Limit: 3, After: "w10"}, all[11:]},
		{"region nyc", WorkerQuery{Limit: 4, Region: regionOfLoc(nycA)}, nyc},
		{"region philly", WorkerQuery{Limit: 2, Region: regionOfLoc(philly)}, phl},
		{"skill", WorkerQuery{Limit: 2, Skill: "heating"}, heating},
		{"skill and region", WorkerQuery{Limit: 2, Skill: "heating", Region: regionOfLoc(philly)}, []string{"w00", "w15"}},
		{"unknown skill", WorkerQuery{Limit: 2, Skill: "roofing"}, nil},
		{"empty region", WorkerQuery{Limit: 2, Region: regionOfLoc(boston)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := listAll(t, s, tt.q)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// Two short rosters whose merge is cut: the ids beyond the cut are not
	// lost, even when a filter leaves the page short.
	for i, home := range []doorstep.Location{nycA, philly, nycA, philly} {
		w := newWorker(fmt.Sprintf("x%d", i), home)
		if i == 3 {
			w.Skills = []string{"roofing"}
		}
		mustPutWorker(t, s, w)
	}
	if got, _ := listAll(t, s, WorkerQuery{Limit: 2, After: "x", Skill: "roofing"}); !slices.Equal(got, []string{"x3"}) {
		t.Errorf("a cut merge with a filter lists %v, want [x3]", got)
	}
	for i := range 4 {
		if err := s.DeleteWorker(ctx, fmt.Sprintf("x%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, pages := listAll(t, s, WorkerQuery{Limit: 23}); pages != 1 {
		t.Errorf("a limit of exactly all workers took %d pages, want 1 (no empty last page)", pages)
	}

	// A move to Philadelphia and a retirement show in the next listing.
	w := newWorker("w01", philly)
	mustPutWorker(t, s, w)
	if err := s.DeleteWorker(ctx, "w02"); err != nil {
		t.Fatal(err)
	}
	got, _ := listAll(t, s, WorkerQuery{Limit: 5, Region: regionOfLoc(philly)})
	if want := append([]string{"w00", "w01"}, phl[1:]...); !slices.Equal(got, want) {
		t.Errorf("philly after the move = %v, want %v", got, want)
	}
	got, _ = listAll(t, s, WorkerQuery{Limit: 5})
	if want := slices.DeleteFunc(slices.Clone(all), func(id string) bool { return id == "w02" }); !slices.Equal(got, want) {
		t.Errorf("all after the delete = %v, want %v", got, want)
	}

	// A roster entry that lags its profile (read before a move) is looked
	// up again by id, so the worker is listed once.
	if err := s.rdb.ZAdd(ctx, rosterKey(regionOfLoc(nycA)), redisZ("w01")).Err(); err != nil {
		t.Fatal(err)
	}
	got, _ = listAll(t, s, WorkerQuery{Limit: 2})
	if n := len(slices.DeleteFunc(slices.Clone(got), func(id string) bool { return id != "w01" })); n != 1 {
		t.Errorf("a stale roster entry: w01 listed %d times in %v", n, got)
	}

	// Profiles written before rosters existed are listed after IndexRosters.
	for _, k := range []string{rosterKey(regionOfLoc(nycA)), rosterKey(regionOfLoc(philly)), regionsKey, rostersKey} {
		if err := s.rdb.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := listAll(t, s, WorkerQuery{Limit: 5}); len(got) != 0 {
		t.Fatalf("without rosters ListWorkers = %v", got)
	}
	n, err := s.IndexRosters(ctx)
	if err != nil || n != len(all)-1 {
		t.Fatalf("IndexRosters = %d, %v; want %d, nil", n, err, len(all)-1)
	}
	got, _ = listAll(t, s, WorkerQuery{Limit: 5})
	if want := slices.DeleteFunc(slices.Clone(all), func(id string) bool { return id == "w02" }); !slices.Equal(got, want) {
		t.Errorf("after IndexRosters = %v, want %v", got, want)
	}
	if n, err := s.IndexRosters(ctx); n != 0 || err != nil {
		t.Errorf("IndexRosters on an indexed store = %d, %v; want 0, nil (marked)", n, err)
	}

	for _, q := range []WorkerQuery{{Limit: 0}, {Limit: MaxWorkerPage + 1}} {
		_, err := s.ListWorkers(ctx, q)
		wantCode(t, fmt.Sprintf("ListWorkers(limit %d)", q.Limit), err, doorstep.EINVALID)
	}
	for _, r := range []string{"x", "872a1072bffffff", regionOfLoc(nycA) + "0"} {
		_, err := s.ListWorkers(ctx, WorkerQuery{Limit: 1, Region: r})
		wantCode(t, "ListWorkers(region "+r+")", err, doorstep.EINVALID)
	}
}
