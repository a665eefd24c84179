package matcher_test

import (
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

func ExampleMatcher_Match() {
	m, err := matcher.New(matcher.Config{}) // straight-line travel, default weights
	if err != nil {
		panic(err)
	}
	now := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)

	// A leaking pipe near Union Square, Manhattan: a plumber must arrive
	// within the hour.
	req := &doorstep.Request{
		Service:     "plumbing",
		Location:    doorstep.Location{Lat: 40.7359, Lng: -73.9911},
		Urgency:     doorstep.Urgent,
		RequestedAt: now,
	}
	if err := doorstep.DefaultCatalogue().Resolve(req); err != nil { // skills, 90 minutes
		panic(err)
	}

	day := []doorstep.Shift{{Start: now.Add(-2 * time.Hour), End: now.Add(10 * time.Hour)}}
	worker := func(id string, lat, lng, rating float64, skills ...string) *doorstep.Worker {
		return &doorstep.Worker{ID: id, Skills: skills, Home: doorstep.Location{Lat: lat, Lng: lng}, Shifts: day, Rating: rating}
	}
	ana := worker("ana", 40.7420, -73.9890, 4.5, "plumbing")               // Flatiron, 0.7 km
	ben := worker("ben", 40.7128, -74.0060, 5.0, "plumbing", "electrical") // City Hall, 2.9 km
	cy := worker("cy", 40.7300, -73.9950, 4.9, "cleaning")                 // no plumbing
	dee := worker("dee", 40.7357, -74.1724, 5.0, "plumbing")               // Newark, 15.3 km
	eve := worker("eve", 40.7380, -73.9850, 5.0, "plumbing")               // next door, but booked
	cands := []matcher.Candidate{
		{Worker: ana}, {Worker: ben}, {Worker: cy}, {Worker: dee},
		{Worker: eve, Timeline: schedule.Timeline{{BookingID: "b1", Arrival: now.Add(-time.Hour),
			Start: now.Add(-time.Hour), End: now.Add(2 * time.Hour), Location: eve.Home}}},
	}

	res := m.Match(req, cands, now, matcher.History{})
	for _, o := range res.Options {
		b := o.Breakdown
		fmt.Printf("%-4s arrives %s  cost %5.1f = travel %4.1f + wait %4.1f + rating %.1f\n",
			o.WorkerID, o.Slot.Arrival.Format("15:04"), o.Cost, b.Travel, b.Wait, b.Rating)
	}
	fmt.Println("considered", res.Considered, "feasible", res.Feasible, "rejected", res.Rejected)
	// Output:
	// ana  arrives 10:07  cost  17.4 = travel  7.2 + wait  7.2 + rating 3.0
	// ben  arrives 10:13  cost  27.9 = travel 13.9 + wait 13.9 + rating 0.0
	// dee  arrives 10:52  cost 105.3 = travel 52.7 + wait 52.7 + rating 0.0
	// considered 5 feasible 3 rejected map[busy:1 skills:1]
}
