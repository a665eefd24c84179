package main

import (
	"context"
	"time"
	// The IANA time zone database, embedded (about 450 kB): a series'
	// time_zone must resolve on an image without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/doorstep-dev/doorstep/dispatch"
)

// DefaultSeriesRollEvery is how often serve rolls recurring series forward
// unless -series-roll-every says otherwise: an occurrence enters the
// horizon weeks before its day, so a minute's delay costs nothing.
const DefaultSeriesRollEvery = time.Minute

// rollPasses bounds the passes of one tick (each up to
// dispatch.DefaultRollBatch series), so a backlog of failing series cannot
// keep the loop busy.
const rollPasses = 20

// rollLoop places the occurrences of recurring series that the horizon has
// reached (dispatch.Service.RollForward) at start and every period, until
// ctx ends. Any number of servers may run it on one store.
func (m *Main) rollLoop(ctx context.Context, svc *dispatch.Service, period time.Duration) {
	defer close(m.rollDone)
	if period < 0 {
		return
	}
	if period == 0 {
		period = DefaultSeriesRollEvery
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		for range rollPasses {
			st, err := svc.RollForward(ctx, dispatch.DefaultRollBatch)
			if err != nil && ctx.Err() == nil {
				m.Log.Warn("roll recurring series forward", "err", err)
			}
			if st.Placed+st.Missed > 0 {
				m.Log.Info("rolled recurring series forward", "series", st.Series, "placed", st.Placed, "missed", st.Missed)
			}
			if st.Series < dispatch.DefaultRollBatch || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
