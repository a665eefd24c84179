package store_test

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/google/go-cmp/cmp"
)

// TestDurableBookingsSurviveKill is the durability test: 1,000
// bookings confirmed by dispatch.Book on a redis-server with appendonly
// yes and appendfsync always, then kill -9 and a restart from the same
// directory: every booking reads back confirmed, as it was answered, and
// each worker's timeline holds exactly its bookings.
func TestDurableBookingsSurviveKill(t *testing.T) {
	t.Parallel()
	const (
		workers   = 50
		perWorker = 20 // 20 half-hour jobs fit a day's shift with room to spare
		bookers   = 8  // concurrent callers of Book, each with its own workers
	)
	ctx := t.Context()
	rs := storetest.RunRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	st, err := store.Open(ctx, store.Config{URL: rs.URL()})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := st.Persistence(ctx)
	if err != nil || !p.Durable() {
		t.Fatalf("Persistence() = %v, %v; want durable", p, err)
	}
	// Workers lie 5 km apart, each in its own index cell; with one wanted
	// candidate a request at a worker's home reads only that worker, so
	// the test measures Redis and not the matcher.
	svc, err := dispatch.New(dispatch.Config{Store: st, Now: func() time.Time { return faultNow }, WantCandidates: 1})
	if err != nil {
		t.Fatalf("dispatch.New: %v", err)
	}
	homes := make([]doorstep.Location, workers)
	for i := range homes {
		homes[i] = gridPoint(faultHome, 5*float64(i/10), 5*float64(i%10))
		w := fixtureWorker(workerName(i), homes[i])
		w.Shifts = []doorstep.Shift{{Start: faultNow, End: faultNow.Add(24 * time.Hour)}}
		if _, _, err := svc.PutWorker(ctx, w); err != nil {
			t.Fatalf("PutWorker: %v", err)
		}
	}

	start := time.Now()
	booked := make([][]*doorstep.Booking, workers) // per worker
	var wg sync.WaitGroup
	errs := make(chan error, bookers)
	for g := range bookers {
		wg.Go(func() {
			for i := g; i < workers; i += bookers {
				for range perWorker {
					req := doorstep.Request{Service: "cleaning", Urgency: doorstep.Normal, Location: homes[i], Duration: 30 * time.Minute}
					b, err := svc.Book(ctx, req, "key-1")
					if err != nil {
						errs <- fmt.Errorf("book at %s's home: %w", workerName(i), err)
						return
					}
					if b.Booking.WorkerID != workerName(i) {
						errs <- fmt.Errorf("a request at %s's home went to %s", workerName(i), b.Booking.WorkerID)
						return
					}
					booked[i] = append(booked[i], b.Booking)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d bookings confirmed in %v", workers*perWorker, time.Since(start).Round(time.Millisecond))

	rs.Kill()
	rs.Restart()

	// The same store, whose connections died with the server, reads
	// everything back after the restart.
	n := 0
	for i, want := range booked {
		got, err := st.WorkerBookings(ctx, workerName(i), faultNow, faultNow.Add(48*time.Hour))
		if err != nil {
			t.Fatalf("WorkerBookings(%s) after the restart: %v", workerName(i), err)
		}
		if diff := cmp.Diff(bookingIDs(got), sortedIDs(want)); diff != "" {
			t.Errorf("%s's timeline after kill -9 (-got +want):\n%s", workerName(i), diff)
		}
		for _, b := range want {
			got, err := st.GetBooking(ctx, b.ID)
			if err != nil {
				t.Fatalf("GetBooking(%s) after the restart: %v", b.ID, err)
			}
			if diff := cmp.Diff(got, b); diff != "" {
				t.Errorf("booking %s after kill -9 (-got +want):\n%s", b.ID, diff)
			}
			if got.Status != doorstep.StatusConfirmed {
				t.Errorf("booking %s is %s after kill -9", b.ID, got.Status)
			}
			n++
		}
	}
	if n != workers*perWorker {
		t.Errorf("checked %d bookings, want %d", n, workers*perWorker)
	}
}

func workerName(i int) string { return fmt.Sprintf("w%02d", i) }

// bookingIDs lists the ids of bs, in their order (a timeline's is by start).
func bookingIDs(bs []*doorstep.Booking) []string {
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	return ids
}

// sortedIDs lists the ids of bs by start, as a timeline holds them.
func sortedIDs(bs []*doorstep.Booking) []string {
	bs = slices.Clone(bs)
	slices.SortFunc(bs, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
	return bookingIDs(bs)
}

// gridPoint is the point northKm north and eastKm east of l.
func gridPoint(l doorstep.Location, northKm, eastKm float64) doorstep.Location {
	const kmPerDegree = 2 * math.Pi * 6371.0088 / 360
	return doorstep.Location{
		Lat: l.Lat + northKm/kmPerDegree,
		Lng: l.Lng + eastKm/(kmPerDegree*math.Cos(l.Lat*math.Pi/180)),
	}
}
