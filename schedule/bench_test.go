package schedule_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// benchWorker works five days, 08:00-18:00 with a lunch break, and has
// stops booked back to back from the first morning by EarliestSlot itself.
func benchWorker(b *testing.B, p schedule.Planner, stops int) (*doorstep.Worker, schedule.Timeline) {
	return benchWorkerLunch(b, p, stops, func(d int) doorstep.Break {
		return window(clock(12, 0).AddDate(0, 0, d), clock(12, 30).AddDate(0, 0, d))
	})
}

// benchWorkerLunch is benchWorker with the lunch break of day d given.
func benchWorkerLunch(b *testing.B, p schedule.Planner, stops int, lunch func(d int) doorstep.Break) (*doorstep.Worker, schedule.Timeline) {
	b.Helper()
	r := rand.New(rand.NewPCG(51, 52))
	w := worker()
	for d := range 5 {
		w.Shifts = append(w.Shifts, shift(clock(8, 0).AddDate(0, 0, d), clock(18, 0).AddDate(0, 0, d), lunch(d)))
	}
	var tl schedule.Timeline
	for len(tl) < stops {
		job := schedule.Job{Location: pt(r.Float64()*10, r.Float64()*10), Duration: mins(30 + 5*r.IntN(7)),
			NotBefore: clock(7, 0), EarliestStart: clock(7, 0), LatestStart: clock(18, 0).AddDate(0, 0, 4)}
		slot, err := p.EarliestSlot(w, tl, job)
		if err != nil {
			b.Fatalf("cannot book stop %d: %v", len(tl), err)
		}
		tl = tl.Insert(schedule.Stop{BookingID: fmt.Sprint(len(tl)), Arrival: slot.Arrival, Start: slot.Start, End: slot.End, Location: job.Location})
	}
	return w, tl
}

func BenchmarkEarliestSlot(b *testing.B) {
	p := schedule.Planner{Travel: geo.Linear{}}
	// An hour's job anywhere in the week: it goes after the booked stops,
	// so every gap before them is tried.
	job := schedule.Job{Location: pt(5, 5), Duration: time.Hour,
		NotBefore: clock(7, 0), EarliestStart: clock(7, 0), LatestStart: clock(18, 0).AddDate(0, 0, 4)}
	for _, n := range []int{0, 8, 32} {
		b.Run(fmt.Sprintf("stops=%d", n), func(b *testing.B) {
			w, tl := benchWorker(b, p, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.EarliestSlot(w, tl, job); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEarliestSlotFlexibleBreak is BenchmarkEarliestSlot with the
// lunch floating over 11:00-14:00 instead of fixed at 12:00-12:30.
func BenchmarkEarliestSlotFlexibleBreak(b *testing.B) {
	p := schedule.Planner{Travel: geo.Linear{}}
	job := schedule.Job{Location: pt(5, 5), Duration: time.Hour,
		NotBefore: clock(7, 0), EarliestStart: clock(7, 0), LatestStart: clock(18, 0).AddDate(0, 0, 4)}
	for _, n := range []int{0, 8, 32} {
		b.Run(fmt.Sprintf("stops=%d", n), func(b *testing.B) {
			w, tl := benchWorkerLunch(b, p, n, func(d int) doorstep.Break {
				return flexible(clock(11, 0).AddDate(0, 0, d), clock(14, 0).AddDate(0, 0, d), 30)
			})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.EarliestSlot(w, tl, job); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
