package api

import (
	"context"
	"sync"
	"time"
)

// admission bounds the requests served at once (Limits.MaxInFlight) and
// decides how long one that finds every slot taken may wait for one.
//
// The discipline is CoDel's idea as "Fail at Scale" (Maurer, ACM Queue
// 2015) applies it to a server's queue: a queue that has been empty
// within the last BurstWait is a burst, or a pause of the process (a
// collection, a slow Redis reply), which the server drains in that time,
// so a request waits up to BurstWait; a queue that has stood for longer
// is overload, which waiting would only turn into lateness for everyone,
// so a request waits at most QueueWait and is then shed, until no queue
// has stood for BurstWait (enqueue). With a fixed short wait alone, a
// pause of a few tens of milliseconds at 500 bookings a second turned
// away requests the server then had room for (bench/RESULTS.md, "Bursts
// are not overload").
type admission struct {
	slots chan struct{}
	// burst is how long a request may wait while the queue is young,
	// standing how long once it has stood for burst; burst <= standing
	// turns the burst allowance off.
	burst, standing time.Duration
	now             func() time.Time
	// waited, when not nil, is told how long each request that found
	// every slot taken waited, served or not.
	waited func(time.Duration)

	mu      sync.Mutex
	waiting int       // requests waiting for a slot
	emptyAt time.Time // when the queue was last empty (waiting 0)
	stoodAt time.Time // when a request last joined a queue that had stood
}

func newAdmission(slots int, standing, burst time.Duration) *admission {
	return &admission{slots: make(chan struct{}, slots), standing: standing, burst: burst, now: time.Now}
}

// acquire takes a slot, waiting for one as the discipline allows; it
// returns false when none came in time or ctx ended. A true return must
// be paired with release.
func (a *admission) acquire(ctx context.Context) bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	start := a.now()
	wait := a.enqueue(start)
	t := time.NewTimer(wait)
	defer t.Stop()
	ok := false
	select {
	case a.slots <- struct{}{}:
		ok = true
	case <-t.C:
	case <-ctx.Done():
	}
	end := a.now()
	a.dequeue(end)
	if a.waited != nil {
		a.waited(end.Sub(start))
	}
	return ok
}

func (a *admission) release() { <-a.slots }

// enqueue counts a request waiting from now and returns how long it may.
// A queue is young while it formed less than burst ago; and it is a burst
// only if no queue has stood within the last burst either: under
// sustained overload the queue empties now and then as the standing waits
// end together, and a young queue there is the same overload, whose
// requests, each allowed the burst's wait, would queue for it (as CoDel
// leaves its dropping state only after a whole interval below target).
func (a *admission) enqueue(now time.Time) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.waiting == 0 {
		a.emptyAt = now // empty until this request joined it
	}
	a.waiting++
	young := now.Sub(a.emptyAt) < a.burst
	if !young {
		a.stoodAt = now
	}
	if a.burst > a.standing && young && now.Sub(a.stoodAt) >= a.burst {
		return a.burst
	}
	return a.standing
}

// dequeue counts a request that stopped waiting at now, served or not.
func (a *admission) dequeue(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.waiting--
	if a.waiting == 0 {
		a.emptyAt = now
	}
}
