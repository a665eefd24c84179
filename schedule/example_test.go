package schedule_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

func ExamplePlanner_EarliestSlot() {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	hm := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }

	w := &doorstep.Worker{
		ID:     "w1",
		Home:   doorstep.Location{Lat: 48.8566, Lng: 2.3522}, // Paris, Hôtel de Ville
		Shifts: []doorstep.Shift{{Start: hm(8, 0), End: hm(18, 0)}},
	}
	// Booked 09:00-10:00 at the Eiffel Tower.
	tl := schedule.TimelineOf([]*doorstep.Booking{{
		ID: "b1", Start: hm(9, 0), Arrival: hm(9, 0), End: hm(10, 0), Status: doorstep.StatusConfirmed,
		Location: doorstep.Location{Lat: 48.8584, Lng: 2.2945},
	}})
	p := schedule.Planner{Travel: geo.Linear{}}

	// An urgent leak at the Arc de Triomphe, reported at 09:30: the worker
	// finishes at 10:00, then drives over.
	leak := &doorstep.Request{
		Location: doorstep.Location{Lat: 48.8738, Lng: 2.2950},
		Urgency:  doorstep.Urgent, Duration: 45 * time.Minute, RequestedAt: hm(9, 30),
	}
	slot, err := p.EarliestSlot(w, tl, schedule.JobFor(leak, hm(9, 30)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("arrive %s, start %s, end %s, %.1f km in %v\n",
		slot.Arrival.Format("15:04:05"), slot.Start.Format("15:04:05"), slot.End.Format("15:04:05"), slot.DistanceKm, slot.Travel)

	// The same leak in the suburbs, 25 km away, is out of reach for the hour.
	leak.Location = doorstep.Location{Lat: 48.8566 + 25/111.195, Lng: 2.3522}
	_, err = p.EarliestSlot(w, tl, schedule.JobFor(leak, hm(9, 30)))
	fmt.Println(errors.Is(err, schedule.ErrDeadline), err)
	// Output:
	// arrive 10:10:21, start 10:10:21, end 10:55:21, 1.7 km in 10m21s
	// true cannot arrive before the deadline
}
