package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
)

// MaxScenarioBytes bounds the size of a scenario document.
const MaxScenarioBytes = 1 << 20

// Scenario is a what-if simulation: where, who, what demand, which policy,
// and the variants to compare. Zero values of optional fields take the
// defaults documented on each field; ParseScenario fills them in.
type Scenario struct {
	// Name labels the report; "" means "scenario".
	Name string `json:"name,omitempty"`
	// Seed seeds every random draw.
	Seed uint64 `json:"seed"`
	// Start is the beginning of the simulated horizon (RFC 3339). Clock
	// times of shifts and hours of the report are read in its UTC offset.
	Start time.Time `json:"start"`
	// HorizonHours is how long requests arrive; 0 means 24. Normal requests
	// arriving late may be served up to 24 hours after it.
	HorizonHours float64 `json:"horizon_hours,omitempty"`
	// Scale multiplies the roster's counts and the demand; 0 means 1.
	Scale float64 `json:"scale,omitempty"`
	// Replications is how many seeds (Seed, Seed+1, ...) Replicate runs
	// to give each metric a confidence interval; 0 means 1. The CLI's
	// -replications flag replaces it.
	Replications int `json:"replications,omitempty"`
	// Area is the city: where homes and synthetic demand lie when no place
	// is given. Required by synthetic demand.
	Area *Area `json:"area,omitempty"`
	// Travel configures the travel model (geo.Linear, or geo.Table over
	// it).
	Travel Travel `json:"travel,omitzero"`
	// Matching tunes the candidate search and the matcher.
	Matching Matching `json:"matching,omitzero"`
	// Policy is the baseline's dispatch policy; the zero value is insertion.
	Policy Policy `json:"policy,omitzero"`
	// Catalogue replaces the built-in service catalogue (the format of
	// catalogue.json); absent means doorstep.DefaultCatalogue().
	Catalogue json.RawMessage `json:"catalogue,omitempty"`
	// Regions is how the report groups requests and workers by place.
	Regions Regions `json:"regions,omitzero"`
	Roster  Roster  `json:"roster"`
	Demand  Demand  `json:"demand"`
	// Disruptions make the day imperfect: durations that vary,
	// cancellations, no-shows, requests asked again the next day. Absent
	// means a perfect day.
	Disruptions *Disruptions `json:"disruptions,omitempty"`
	// Variants are run side by side on the same demand draw, each changing
	// one thing. None means a single variant, "baseline".
	Variants []Variant `json:"variants,omitempty"`

	catalogue doorstep.Catalogue
	table     *geo.Table // Travel.Table parsed by validate; nil without one
}

// Area is a disc on the map.
type Area struct {
	Center   doorstep.Location `json:"center"`
	RadiusKm float64           `json:"radius_km"`
}

// Travel configures geo.Linear. Zero values take geo's defaults (detour
// 1.3, 25 km/h, 5 minutes of overhead).
type Travel struct {
	Detour   float64 `json:"detour,omitempty"`
	SpeedKmh float64 `json:"speed_kmh,omitempty"`
	// HourSpeedKmh optionally gives a speed for each hour of the day (24
	// entries; 0 means SpeedKmh).
	HourSpeedKmh []float64 `json:"hour_speed_kmh,omitempty"`
	// OverheadMinutes is added to every trip; absent means 5, 0 means none.
	OverheadMinutes *float64 `json:"overhead_minutes,omitempty"`
	// Table optionally holds a travel-time table inline, in
	// geo.ParseTable's CSV ("from_cell,to_cell,minutes,hour\n..." with H3
	// cells of resolution 7); the linear model above answers the trips it
	// is silent on.
	Table string `json:"table,omitempty"`
}

// Matching tunes the candidate search and the matcher's costs.
type Matching struct {
	// Candidates is how many workers that could serve a request
	// (matcher.CouldServe) the search widens to find; 0 means
	// matcher.DefaultWant, the server's default.
	Candidates int `json:"candidates,omitempty"`
	// NormalReachKm bounds the search for normal requests; 0 means
	// matcher.DefaultNormalReachKm.
	NormalReachKm float64 `json:"normal_reach_km,omitempty"`
	// Weights of the soft costs; absent means matcher.DefaultWeights.
	Weights *matcher.Weights `json:"weights,omitempty"`
	// MaxRounds bounds the rounds of one batch assignment; 0 means
	// matcher.DefaultMaxRounds.
	MaxRounds int `json:"max_rounds,omitempty"`
}

// Policy names for Policy.Name.
const (
	PolicyInsertion = "insertion"
	PolicyGreedy    = "greedy"
	PolicyBatch     = "batch"
)

// Policy is how requests are dispatched.
type Policy struct {
	// Name is insertion (the default), greedy or batch.
	Name string `json:"name,omitempty"`
	// BatchSeconds is the batch policy's period; 0 means 60.
	BatchSeconds int `json:"batch_seconds,omitempty"`
	// NormalBatchSeconds is the batch policy's period for normal requests,
	// which then wait for a tick of their own so that a batch holds more of
	// them to place together, while urgent requests still go at the next
	// tick of BatchSeconds; 0 means BatchSeconds.
	NormalBatchSeconds int `json:"normal_batch_seconds,omitempty"`
	// Standby sends idle workers of urgent trades to wait where the urgent
	// calls of the coming hour are expected (matcher.PlanStandby, every
	// ten minutes, from the urgent calls of the last 24 hours); the
	// insertion policy only. The server does not send workers anywhere:
	// this models a company whose workers follow such a plan.
	Standby bool `json:"standby,omitempty"`
}

// String is "insertion", "greedy", "batch every 60s" or "batch every 60s,
// normal every 1800s".
func (p Policy) String() string {
	if p.Standby {
		return p.Name + " with standby"
	}
	if p.Name == PolicyBatch {
		if p.NormalBatchSeconds != 0 && p.NormalBatchSeconds != p.BatchSeconds {
			return fmt.Sprintf("batch every %ds, normal every %ds", p.BatchSeconds, p.NormalBatchSeconds)
		}
		return fmt.Sprintf("batch every %ds", p.BatchSeconds)
	}
	return p.Name
}

// Regions groups requests and workers in the report: by the named regions
// (a point belongs to the first that contains it, else to "other"), or,
// when none are named, by the H3 cell of resolution H3Resolution.
type Regions struct {
	// H3Resolution is the cell resolution when no region is named; 0
	// means 5 (about 250 km², a borough).
	H3Resolution int `json:"h3_resolution,omitempty"`
	// Named regions, each a union of discs and H3 cells.
	Named []NamedRegion `json:"named,omitempty"`
}

// NamedRegion is a region of the report: the union of its places (their
// weights are ignored).
type NamedRegion struct {
	Name   string  `json:"name"`
	Places []Place `json:"places"`
}

// Place is a part of the map: a disc (Center and RadiusKm) or an H3 cell.
// Points drawn from it are uniform over it. Weight weighs it against the
// other places of its list; 0 means 1.
type Place struct {
	Center   *doorstep.Location `json:"center,omitempty"`
	RadiusKm float64            `json:"radius_km,omitempty"`
	Cell     string             `json:"cell,omitempty"`
	Weight   float64            `json:"weight,omitempty"`

	cell geo.Cell
}

// Range is a closed interval [lo, hi] written as a two-element array.
type Range []float64

// Roster is the workforce: named shift patterns and groups of workers.
type Roster struct {
	Shifts []ShiftPattern `json:"shifts"`
	Groups []Group        `json:"groups"`
}

// ShiftPattern is a daily shift: clock times "HH:MM" in the scenario's UTC
// offset. An end at or before the start ends the next day.
type ShiftPattern struct {
	Name   string         `json:"name"`
	Start  string         `json:"start"`
	End    string         `json:"end"`
	Breaks []BreakPattern `json:"breaks,omitempty"`
	// UrgentOvertimeMinutes lets an urgent job run that long past the
	// shift's end (doorstep.Shift.UrgentOvertimeMinutes; 0: none).
	UrgentOvertimeMinutes int `json:"urgent_overtime_minutes,omitempty"`

	start, end time.Duration // since midnight; end > start
	breaks     []breakOffsets
}

// BreakPattern is a daily break inside its shift: fixed, from Start to End,
// or flexible, Minutes of idle time anywhere from Earliest to Latest (see
// doorstep.Break); clock times as the shift's.
type BreakPattern struct {
	Start    string `json:"start,omitempty"`
	End      string `json:"end,omitempty"`
	Earliest string `json:"earliest,omitempty"`
	Latest   string `json:"latest,omitempty"`
	Minutes  int    `json:"minutes,omitempty"`
}

// breakOffsets is a parsed BreakPattern: its range since midnight and its
// length (to - from for a fixed break).
type breakOffsets struct{ from, to, d time.Duration }

// Group is Count workers alike: the same skills, certificates and shift
// patterns (worker k works Shifts[k % len(Shifts)] every day), homes drawn
// from Homes (the area when empty), a rating drawn uniformly from Rating.
type Group struct {
	Name         string   `json:"name"`
	Count        int      `json:"count"`
	Skills       []string `json:"skills"`
	Certificates []string `json:"certificates,omitempty"`
	Shifts       []string `json:"shifts"`
	Homes        []Place  `json:"homes,omitempty"`
	// Rating is the range of ratings, rounded to 0.1; absent means [4, 5].
	Rating               Range `json:"rating,omitempty"`
	MaxJobsPerDay        int   `json:"max_jobs_per_day,omitempty"`
	MaxWorkMinutesPerDay int   `json:"max_work_minutes_per_day,omitempty"`
	// Region labels the workers' region in the report; absent means the
	// region of each home (see Regions). A replay that takes its regions
	// from a trace column needs it to place workers in them.
	Region string `json:"region,omitempty"`

	move *ShiftMove // set by a reshape variant
}

// Demand is where requests come from: a synthetic model or a replayed
// trace (exactly one), and the windows normal requests ask for.
type Demand struct {
	Synthetic *Synthetic `json:"synthetic,omitempty"`
	Replay    *Replay    `json:"replay,omitempty"`
	// Windows gives a share of normal requests a preferred window.
	Windows *Windows `json:"windows,omitempty"`
	// Ahead books a share of normal requests ahead, as appointments on a
	// later day (after Windows, which it overrides for them).
	Ahead *Ahead `json:"ahead,omitempty"`
}

// Ahead makes a Share of normal requests appointments booked ahead: a
// window LeadDays later (whole days, drawn uniformly and rounded, counted
// in the request's calendar days), opening at a clock hour drawn from
// ClockHours (default [8, 16], rounded to 15 minutes) and lasting
// LengthHours (default [2, 2], rounded to 15 minutes). Such a request is
// held to its window (rule appointment_window), not to the 24 hours.
type Ahead struct {
	Share       float64 `json:"share"`
	LeadDays    Range   `json:"lead_days"`
	LengthHours Range   `json:"length_hours,omitempty"`
	ClockHours  Range   `json:"clock_hours,omitempty"`
}

// lead is the longest lead of s's appointments booked ahead (0 without).
func (s *Scenario) lead() time.Duration {
	if a := s.Demand.Ahead; a != nil && len(a.LeadDays) == 2 {
		return time.Duration(math.Ceil(a.LeadDays[1])) * 24 * time.Hour
	}
	return 0
}

// Synthetic is a demand model: Poisson arrivals at RequestsPerHour shaped
// by HourlyProfile, placed in Hotspots (the area when empty), each urgent
// with probability UrgentShare (or its service's own share), the service
// drawn from Services by weight.
type Synthetic struct {
	RequestsPerHour float64 `json:"requests_per_hour"`
	// HourlyProfile weighs the 24 hours of the day (clock hours in the
	// scenario's offset); the rate of hour h is RequestsPerHour *
	// profile[h] / mean(profile). Absent means flat.
	HourlyProfile []float64    `json:"hourly_profile,omitempty"`
	Hotspots      []Place      `json:"hotspots,omitempty"`
	UrgentShare   float64      `json:"urgent_share"`
	Services      []ServiceMix `json:"services"`
}

// ServiceMix is one service of the synthetic demand.
type ServiceMix struct {
	Service string  `json:"service"`
	Weight  float64 `json:"weight"`
	// UrgentShare overrides the demand's urgent share for this service.
	UrgentShare *float64 `json:"urgent_share,omitempty"`
	// DurationMinutes is the range durations are drawn from (rounded to 5
	// minutes); absent means the catalogue's default.
	DurationMinutes Range `json:"duration_minutes,omitempty"`
}

// Windows gives a Share of normal requests a window in which to start:
// it opens StartAfterHours after the request and lasts LengthHours (both
// drawn uniformly, rounded to 15 minutes, and clipped to the 24 hours).
type Windows struct {
	Share           float64 `json:"share"`
	StartAfterHours Range   `json:"start_after_hours"`
	LengthHours     Range   `json:"length_hours"`
	// ClockHours, when given as [from, to], keeps windows opening between
	// those clock hours: a window that would open outside them opens at
	// the next "from" instead (when that is still within the 24 hours).
	ClockHours Range `json:"clock_hours,omitempty"`
}

// Replay reads requests from a CSV trace with a header row. Each row is
// mapped by the first rule whose Where matches it (column name to value,
// case-insensitive; every entry must match), else by Default; rows matching
// a Skip entry, or no rule and no Default, are left out.
type Replay struct {
	// Path is the trace, relative to the scenario file.
	Path string `json:"path"`
	// Columns name the trace's columns; defaults fit the NYC 311 extract.
	TimeColumn string `json:"time_column,omitempty"` // "created"; RFC 3339
	LatColumn  string `json:"lat_column,omitempty"`  // "latitude"
	LngColumn  string `json:"lng_column,omitempty"`  // "longitude"
	// RegionColumn, when set, names the report region of each request
	// (e.g. "borough"), in place of Regions.
	RegionColumn string       `json:"region_column,omitempty"`
	Rules        []ReplayRule `json:"rules"`
	Default      *ReplayRule  `json:"default,omitempty"`
	Skip         []Where      `json:"skip,omitempty"`
	// DedupeMinutes drops a row at the same place, mapped by the same rule,
	// within this many minutes of a kept one (a building-wide outage
	// reported by every tenant needs one visit). 0 keeps every row.
	DedupeMinutes float64 `json:"dedupe_minutes,omitempty"`
}

// Where matches trace rows: column name to value.
type Where map[string]string

// ReplayRule maps matching rows to a service and a class.
type ReplayRule struct {
	Where   Where            `json:"where,omitempty"`
	Service string           `json:"service"`
	Urgency doorstep.Urgency `json:"urgency"`
	// DurationMinutes is the range durations are drawn from; absent means
	// the catalogue's default.
	DurationMinutes Range `json:"duration_minutes,omitempty"`
}

// Variant changes one thing of the baseline; a variant that changes
// nothing is the baseline itself.
type Variant struct {
	Name string `json:"name"`
	// Policy switches the dispatch policy.
	Policy *Policy `json:"policy,omitempty"`
	// ScaleRoster multiplies the count of a group, or of every group with a
	// skill.
	ScaleRoster *ScaleRoster `json:"scale_roster,omitempty"`
	// AddWorkers adds workers like those of a group, homed elsewhere.
	AddWorkers *AddWorkers `json:"add_workers,omitempty"`
	// ScaleUrgent multiplies urgent demand in a range of hours.
	ScaleUrgent *ScaleUrgent `json:"scale_urgent,omitempty"`
	// Reshape changes the roster's shape (shifts, breaks, caps) and the
	// jobs' durations: several changes that apply together.
	Reshape *Reshape `json:"reshape,omitempty"`
}

// Reshape is a set of changes to the roster's shape and the jobs'
// durations, applied together. The workers stay the same people (the same
// homes and ratings); only what they work changes.
type Reshape struct {
	// Shifts adds shift patterns to the roster, or replaces the pattern of
	// the same name (with its breaks: this is how breaks change).
	Shifts []ShiftPattern `json:"shifts,omitempty"`
	// Groups change groups' shifts, move a share of a group to another
	// shift, or change its caps.
	Groups []GroupChange `json:"groups,omitempty"`
	// Durations scale the duration of a service's jobs.
	Durations []DurationChange `json:"durations,omitempty"`
}

// GroupChange changes one group; absent fields keep what the group has.
type GroupChange struct {
	Group string `json:"group"`
	// Shifts replaces the group's shift patterns (worker k works
	// Shifts[k % len(Shifts)], as in Group).
	Shifts []string `json:"shifts,omitempty"`
	// Move moves a share of the group's workers from one of its shifts to
	// another pattern (after Shifts).
	Move *ShiftMove `json:"move,omitempty"`
	// MaxJobsPerDay and MaxWorkMinutesPerDay replace the caps (0: none).
	MaxJobsPerDay        *int `json:"max_jobs_per_day,omitempty"`
	MaxWorkMinutesPerDay *int `json:"max_work_minutes_per_day,omitempty"`
}

// ShiftMove moves Share (in (0, 1]) of the group's workers on shift From to
// shift To: the same paid hours at other times when the patterns are as
// long.
type ShiftMove struct {
	From  string  `json:"from"`
	To    string  `json:"to"`
	Share float64 `json:"share"`
}

// DurationChange multiplies the duration of every job of Service by Factor
// (rounded to 5 minutes, at least 5).
type DurationChange struct {
	Service string  `json:"service"`
	Factor  float64 `json:"factor"`
}

// ScaleRoster multiplies the count of Group, or of every group having
// Skill (exactly one of the two), by Factor.
type ScaleRoster struct {
	Group  string  `json:"group,omitempty"`
	Skill  string  `json:"skill,omitempty"`
	Factor float64 `json:"factor"`
}

// AddWorkers adds Count workers like those of group Like, homed in Homes
// (Like's homes when empty).
type AddWorkers struct {
	Like  string  `json:"like"`
	Count int     `json:"count"`
	Homes []Place `json:"homes,omitempty"`
	// Region labels the added workers' region (as Group.Region).
	Region string `json:"region,omitempty"`
}

// ScaleUrgent multiplies the urgent requests arriving between FromHour and
// ToHour (hours since the start) by Factor: below 1, each is kept with
// probability Factor; above, each is copied (Factor-1 times on average),
// the copies moved by up to 15 minutes and 1 km.
type ScaleUrgent struct {
	Factor   float64 `json:"factor"`
	FromHour float64 `json:"from_hour"`
	ToHour   float64 `json:"to_hour"`
}

// ParseScenario decodes a scenario strictly (an unknown field is an error),
// checks it and fills in its defaults. Errors are *doorstep.Error with code
// EINVALID naming the field, e.g. "roster.groups[2].count".
func ParseScenario(data []byte) (*Scenario, error) {
	if len(data) > MaxScenarioBytes {
		return nil, doorstep.Errorf(doorstep.ETOOLARGE, "", "a scenario is at most %d bytes", MaxScenarioBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, doorstep.Errorf(doorstep.EINVALID, "", "unexpected data after the scenario object")
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeError turns a JSON decoding error into an *doorstep.Error naming
// the field where the decoder knows it.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var pe *time.ParseError
	switch {
	case errors.As(err, &te):
		return doorstep.Errorf(doorstep.EINVALID, te.Field, "expected %s, got JSON %s", te.Type, te.Value)
	case errors.As(err, &se):
		return doorstep.Errorf(doorstep.EINVALID, "", "malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &pe):
		return doorstep.Errorf(doorstep.EINVALID, "", "bad time %q: want RFC 3339, e.g. 2025-06-02T00:00:00+02:00", pe.Value)
	}
	return doorstep.Errorf(doorstep.EINVALID, "", "%v", err)
}

// Services returns the catalogue the scenario resolves requests against.
func (s *Scenario) Services() doorstep.Catalogue { return s.catalogue }

// horizon is the length of the arrival horizon.
func (s *Scenario) horizon() time.Duration {
	return time.Duration(s.HorizonHours * float64(time.Hour))
}

// travelModel is the scenario's travel table, or its geo.Linear without
// one.
func (s *Scenario) travelModel() geo.TravelModel {
	if s.table != nil {
		return s.table
	}
	return s.linear()
}

// linear is the scenario's geo.Linear.
func (s *Scenario) linear() geo.Linear {
	m := geo.Linear{Detour: s.Travel.Detour, SpeedKmh: s.Travel.SpeedKmh}
	copy(m.HourSpeedKmh[:], s.Travel.HourSpeedKmh)
	if o := s.Travel.OverheadMinutes; o != nil {
		m.Overhead = time.Duration(*o * float64(time.Minute))
		if *o == 0 {
			m.Overhead = -1 // geo.Linear: negative is none
		}
	}
	return m
}

// variants returns the scenario's variants, or the implicit baseline.
func (s *Scenario) variants() []Variant {
	if len(s.Variants) == 0 {
		return []Variant{{Name: "baseline"}}
	}
	return s.Variants
}
