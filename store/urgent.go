package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/redis/go-redis/v9"
)

// Urgent demand: the urgent requests of each region, counted by UTC day,
// skill and UTC hour of day, so that the server can learn the urgent
// profile it protects capacity for (dispatch.Service.LearnUrgentProfile).
// A day's counts are a hash dst:{r:<region>}:urg:<YYYY-MM-DD> of fields
// <skill>:<hour>, kept UrgentDays days; the first day anything was counted
// is dst:urg:since (no hash tag: one key for the deployment). The places
// of the latest RecentUrgentKept urgent requests of a region are a list
// dst:{r:<region>}:urg:recent, newest first, kept RecentUrgentTTL after
// the last: where standby plans expect the next calls
// (dispatch.Service.Standby).

// UrgentDays is how many days of urgent counts are kept.
const UrgentDays = 28

const (
	urgentSinceKey   = keyPrefix + "urg:since"
	urgentRegionsKey = keyPrefix + "urg:regions" // the regions counted
)

// RecentUrgentKept is how many of a region's latest urgent requests are
// kept with their place, and RecentUrgentTTL how long after the last.
const (
	RecentUrgentKept = 2000
	RecentUrgentTTL  = 48 * time.Hour
)

func urgentDayKey(region string, day time.Time) string {
	return regionTag(region) + "urg:" + day.UTC().Format(time.DateOnly)
}

func urgentRecentKey(region string) string { return regionTag(region) + "urg:recent" }

// UrgentCall is an urgent request as the urgent demand records it: when,
// where and what it needed.
type UrgentCall struct {
	At           time.Time         `json:"t"`
	Location     doorstep.Location `json:"l"`
	Skills       []string          `json:"s"`
	Certificates []string          `json:"c,omitempty"`
}

// RecordUrgent counts one urgent request of region and keeps its place,
// reduced to the centre of its H3 cell of doorstep.PrivacyResolution,
// among the region's recent ones. It is written behind the caller
// (behind.go), with the other calls of the moment in one round trip:
// UrgentCounts and RecentUrgent write what is pending before they read.
func (s *Store) RecordUrgent(ctx context.Context, region string, call UrgentCall) error {
	if !validRegion(region) || len(call.Skills) == 0 {
		return nil
	}
	call.At = call.At.UTC()
	// A customer's place is kept only as the centre of its privacy cell
	// (as a finished booking's is, RedactFinished): enough for a plan
	// that weighs places by the kilometre.
	call.Location = geo.PrivacyCell(call.Location).Center()
	rec, err := json.Marshal(call)
	if err != nil {
		return fmt.Errorf("store: encode urgent call: %w", err)
	}
	c := pendingUrgent{region: region, call: call, rec: rec}
	if s.writeBehind(func(b *behind) { b.urgent = append(b.urgent, c) }) {
		return nil
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		writeUrgent(ctx, p, []pendingUrgent{c})
		return nil
	})
	return wrapErr("count urgent request", err)
}

// UrgentCounts are the urgent requests of the last days by region and
// skill, per UTC hour of day, and the days they were counted over.
type UrgentCounts struct {
	Days   int
	Counts map[string]map[string][24]int // region -> skill -> hour
}

// UrgentCounts reads the urgent requests of every region counted over the
// last days whole days before now's day (at most UrgentDays), and since
// counting began when that is later: a deployment a day old learns from
// one day.
func (s *Store) UrgentCounts(ctx context.Context, days int, now time.Time) (UrgentCounts, error) {
	s.flushBehind() // what this process counted, first; a failure leaves it out
	days = min(max(days, 1), UrgentDays)
	today := now.UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -days)
	since, err := s.rdb.Get(ctx, urgentSinceKey).Result()
	switch {
	case err == redis.Nil:
		return UrgentCounts{Counts: map[string]map[string][24]int{}}, nil
	case err != nil:
		return UrgentCounts{}, wrapErr("read urgent counts", err)
	}
	if t, err := time.Parse(time.DateOnly, since); err == nil && t.After(first) {
		first = t
	}
	out := UrgentCounts{Days: max(int(today.Sub(first)/(24*time.Hour)), 0), Counts: map[string]map[string][24]int{}}
	if out.Days == 0 {
		return out, nil // nothing whole yet: today is still being counted
	}
	regions, err := s.rdb.SMembers(ctx, urgentRegionsKey).Result()
	if err != nil {
		return UrgentCounts{}, wrapErr("read urgent counts", err)
	}
	type read struct {
		region string
		cmd    *redis.MapStringStringCmd
	}
	var reads []read
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range regions {
			if !validRegion(r) {
				continue
			}
			for d := first; d.Before(today); d = d.AddDate(0, 0, 1) {
				reads = append(reads, read{r, p.HGetAll(ctx, urgentDayKey(r, d))})
			}
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return UrgentCounts{}, wrapErr("read urgent counts", err)
	}
	for _, rd := range reads {
		for field, v := range rd.cmd.Val() {
			i := strings.LastIndexByte(field, ':')
			h, err1 := strconv.Atoi(field[i+1:])
			n, err2 := strconv.Atoi(v)
			if i < 0 || err1 != nil || err2 != nil || h < 0 || h > 23 {
				continue
			}
			bySkill := out.Counts[rd.region]
			if bySkill == nil {
				bySkill = map[string][24]int{}
				out.Counts[rd.region] = bySkill
			}
			c := bySkill[field[:i]]
			c[h] += n
			bySkill[field[:i]] = c
		}
	}
	return out, nil
}

// RecentUrgent returns the urgent requests of region made at or after
// since (of the latest RecentUrgentKept recorded), latest recorded first. A record it cannot read
// is skipped: it only informs a standby plan.
func (s *Store) RecentUrgent(ctx context.Context, region string, since time.Time) ([]UrgentCall, error) {
	if !validRegion(region) {
		return nil, nil
	}
	s.flushBehind() // what this process recorded, first; a failure leaves it out
	raw, err := s.rdb.LRange(ctx, urgentRecentKey(region), 0, RecentUrgentKept-1).Result()
	if err != nil {
		return nil, wrapErr("read recent urgent calls", err)
	}
	out := make([]UrgentCall, 0, len(raw))
	for _, r := range raw {
		var c UrgentCall
		if json.Unmarshal([]byte(r), &c) != nil {
			continue
		}
		if c.At.Before(since) {
			continue // pushed late (another server's clock): not in order
		}
		out = append(out, c)
	}
	return out, nil
}
