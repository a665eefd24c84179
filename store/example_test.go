package store_test

import (
	"context"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store"
)

func ExampleOpenEmbedded() {
	ctx := context.Background()
	s, err := store.OpenEmbedded(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	home := doorstep.Location{Lat: 40.7128, Lng: -74.0060}
	created, err := s.PutWorker(ctx, &doorstep.Worker{ID: "w1", Skills: []string{"plumbing"}, Home: home})
	if err != nil {
		fmt.Println(err)
		return
	}
	w, version, err := s.GetWorker(ctx, "w1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(created, w.ID, version, s.Embedded())
	// Output: true w1 1 true
}

func ExampleStore_Apply() {
	ctx := context.Background()
	s, err := store.OpenEmbedded(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	home := doorstep.Location{Lat: 40.7128, Lng: -74.0060}
	if _, err := s.PutWorker(ctx, &doorstep.Worker{ID: "w1", Skills: []string{"plumbing"}, Home: home}); err != nil {
		fmt.Println(err)
		return
	}
	// Read the candidates around a request, as dispatch does...
	refs, _ := s.WorkerIDsInCells(ctx, []geo.Cell{geo.IndexCell(home)})
	start := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	cands, _ := s.LoadCandidates(ctx, refs, start.Add(-doorstep.MaxDuration), start.Add(24*time.Hour))
	c := cands[0]

	// ...and reserve, pinned to the version that was read.
	region := geo.RegionOf(c.Worker.Home).String()
	booking := func() *doorstep.Booking {
		return &doorstep.Booking{ID: store.NewBookingID(region), WorkerID: c.Worker.ID, Start: start, End: start.Add(time.Hour), Status: doorstep.StatusConfirmed, Location: home}
	}
	first := store.Change{Region: region, Expect: map[string]int64{c.Worker.ID: c.Version}, Create: []*doorstep.Booking{booking()}}
	fmt.Println(s.Apply(ctx, first))
	// A second reservation from the same read loses: the timeline moved on.
	second := store.Change{Region: region, Expect: map[string]int64{c.Worker.ID: c.Version}, Create: []*doorstep.Booking{booking()}}
	fmt.Println(doorstep.ErrorCode(s.Apply(ctx, second)))
	// Output:
	// <nil>
	// conflict
}
