package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// Placement is what a Redis holds of where workers live and what they are
// booked for, read from the raw keys (the layout of the store package doc)
// so that tests can check the store's one-region guarantee from outside.
type Placement struct {
	// Profiles lists, per worker id, the regions holding a profile of it.
	Profiles map[string][]string
	// Record is, per worker id, the value of its region record dst:wreg.
	Record map[string]string
	// Bookings holds, per worker id, every booking of it in any region.
	Bookings map[string][]*doorstep.Booking
}

// ReadPlacement scans rdb (every master of a cluster) for every worker
// profile, region record and booking. Run it when the store is quiet: the
// scan is not atomic.
func ReadPlacement(tb testing.TB, rdb redis.UniversalClient) Placement {
	tb.Helper()
	ctx := context.Background()
	p := Placement{Profiles: map[string][]string{}, Record: map[string]string{}, Bookings: map[string][]*doorstep.Booking{}}
	nodes := []redis.Cmdable{rdb}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		nodes = nil
		var mu sync.Mutex
		err := cc.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			nodes = append(nodes, c)
			return nil
		})
		if err != nil {
			tb.Fatalf("list cluster masters: %v", err)
		}
	}
	// scan calls each with every key matching pattern and, when value is
	// set, its string value.
	scan := func(pattern string, value bool, each func(key, val string)) {
		for _, n := range nodes {
			iter := n.Scan(ctx, 0, pattern, 1000).Iterator()
			for iter.Next(ctx) {
				key, val := iter.Val(), ""
				if value {
					var err error
					if val, err = n.Get(ctx, key).Result(); err == redis.Nil {
						continue
					} else if err != nil {
						tb.Fatalf("GET %s: %v", key, err)
					}
				}
				each(key, val)
			}
			if err := iter.Err(); err != nil {
				tb.Fatalf("SCAN %s: %v", pattern, err)
			}
		}
	}
	scan("dst:{r:*}:w:*", false, func(key, _ string) {
		region, rest, _ := strings.Cut(strings.TrimPrefix(key, "dst:{r:"), "}:w:")
		if strings.Contains(rest, ":") {
			return // a worker's timeline, version or state, not its profile
		}
		p.Profiles[rest] = append(p.Profiles[rest], region)
	})
	scan("dst:wreg:*", true, func(key, val string) { p.Record[strings.TrimPrefix(key, "dst:wreg:")] = val })
	scan("dst:{r:*}:b:*", true, func(key, val string) {
		b := new(doorstep.Booking)
		if err := json.Unmarshal([]byte(val), b); err != nil {
			tb.Fatalf("booking %s: %v", key, err)
		}
		p.Bookings[b.WorkerID] = append(p.Bookings[b.WorkerID], b)
	})
	for _, rs := range p.Profiles {
		slices.Sort(rs)
	}
	return p
}

// RecordRegion is the region a region record names: the part after its
// last colon (the record may carry a generation before it).
func RecordRegion(record string) string {
	return record[strings.LastIndexByte(record, ':')+1:]
}

// Violations checks the guarantee that a worker is bookable in one region
// only, and returns what breaks it: a worker with profiles in two regions,
// a profile in a region its record does not name, two confirmed bookings
// of one worker that overlap (in any regions), and a booking in a region
// that named (the regions each worker's record named at some point, as
// far as the test knows) does not hold for its worker. named may be nil.
func (p Placement) Violations(named map[string]map[string]bool) []string {
	var out []string
	for id, rs := range p.Profiles {
		if len(rs) > 1 {
			out = append(out, fmt.Sprintf("worker %s has profiles in %d regions %v", id, len(rs), rs))
		} else if rec := RecordRegion(p.Record[id]); rs[0] != rec {
			out = append(out, fmt.Sprintf("worker %s has a profile in %s but its record %q names %s", id, rs[0], p.Record[id], rec))
		}
	}
	for id, bs := range p.Bookings {
		var conf []*doorstep.Booking
		for _, b := range bs {
			if named != nil && len(b.ID) > 16 && !named[id][b.ID[1:16]] {
				out = append(out, fmt.Sprintf("booking %s of worker %s is in a region its record never named", b.ID, id))
			}
			if b.Status == doorstep.StatusConfirmed {
				conf = append(conf, b)
			}
		}
		slices.SortFunc(conf, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
		for i := 1; i < len(conf); i++ {
			if a, b := conf[i-1], conf[i]; b.Start.Before(a.End) {
				out = append(out, fmt.Sprintf("worker %s is booked twice: %s and %s overlap at %s",
					id, a.ID, b.ID, b.Start.Format("15:04")))
			}
		}
	}
	slices.Sort(out)
	return out
}

// Count returns how many of violations contain what, e.g.
// Count(v, "has profiles in") or Count(v, "is booked twice").
func Count(violations []string, what string) int {
	n := 0
	for _, v := range violations {
		if strings.Contains(v, what) {
			n++
		}
	}
	return n
}
