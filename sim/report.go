package sim

import (
	"bytes"
	"encoding/json"
)

// Report is the outcome of a scenario: one VariantReport per variant, in
// the scenario's order. Its JSON form (JSON) is byte-identical for the same
// scenario and seed; wall-clock timings are kept apart in Timing.
type Report struct {
	Scenario     string  `json:"scenario"`
	Seed         uint64  `json:"seed"`
	Scale        float64 `json:"scale"`
	Start        string  `json:"start"`
	HorizonHours float64 `json:"horizon_hours"`
	// Summary is the report in words (Summarize): what each variant did to
	// each promise and what to try next.
	Summary []string `json:"summary"`
	// Trace counts what became of a replayed trace's rows.
	Trace *TraceStats `json:"trace,omitempty"`
	// Replications, in a replicated report (Replicate), names the seeds
	// run; every other figure of the report is of the first of them.
	Replications *Replications   `json:"replications,omitempty"`
	Variants     []VariantReport `json:"variants"`
	// Timing is how long the run took (only with Options.Now); it is not
	// part of the report's JSON.
	Timing *Timing `json:"-"`
}

// VariantReport is the outcome of one variant: totals, then the same
// figures per hour (of the request, or of the work for utilisation and
// fairness) and per region (of the request, or of the worker's home).
type VariantReport struct {
	Name    string  `json:"name"`
	Change  string  `json:"change"`
	Policy  string  `json:"policy"`
	Workers int     `json:"workers"`
	Totals  Metrics `json:"totals"`
	// UnservedByReason counts unserved requests by the reason the
	// server's 422 names (matcher.MainReason: the most telling rule that
	// stopped the candidates; "no_candidates": nobody qualified within
	// reach).
	UnservedByReason map[string]int `json:"unserved_by_reason"`
	// UrgentArrivals is the distribution of served urgent requests'
	// arrival minutes.
	UrgentArrivals Histogram       `json:"urgent_arrival_histogram"`
	Hours          []HourMetrics   `json:"hours"`
	Regions        []RegionMetrics `json:"regions"`
	// Cells are the requests per H3 cell of MapResolution where any came,
	// by cell id: what the report's maps are drawn from.
	Cells []CellMetrics `json:"cells"`
	// Replications, in a replicated report, is each totals field's mean
	// and 95% confidence interval over the seeds, by the field's name.
	Replications map[string]Interval `json:"replications,omitempty"`
	// Differences, in a replicated report and from the second variant on,
	// is each totals field's difference to the first variant, paired by
	// seed, and whether it is significant.
	Differences map[string]Difference `json:"differences,omitempty"`
}

// Metrics are the service-level figures of a set of requests and workers.
// A share, percentile or ratio without a denominator (no urgent request,
// no job, no shift) is null.
type Metrics struct {
	Requests       int `json:"requests"`
	UrgentRequests int `json:"urgent_requests"`
	// UrgentOnTimeShare is the share of urgent requests a worker reached
	// within 60 minutes (unserved ones count as late).
	UrgentOnTimeShare *float64 `json:"urgent_on_time_share"`
	// UrgentArrivalP50Minutes and P95 are percentiles (linear
	// interpolation) of the minutes from request to arrival, over served
	// urgent requests.
	UrgentArrivalP50Minutes *float64 `json:"urgent_arrival_p50_minutes"`
	UrgentArrivalP95Minutes *float64 `json:"urgent_arrival_p95_minutes"`
	NormalRequests          int      `json:"normal_requests"`
	// NormalWithin24hShare is the share of normal requests started within
	// their promise: an appointment (a request with a window, booked ahead
	// or not) inside its window, any other within 24 hours.
	NormalWithin24hShare *float64 `json:"normal_within_24h_share"`
	Unserved             int      `json:"unserved"`
	// Rescues counts requests (urgent or normal) served by moving normal
	// bookings to make room (the server's matcher.PlanRescue; only the
	// insertion policy makes them), RescueMoves the bookings they moved.
	Rescues     int `json:"rescues"`
	RescueMoves int `json:"rescue_moves"`
	Jobs        int `json:"jobs"`
	// TravelKmPerJob is the great-circle length of each job's inbound trip,
	// averaged over jobs.
	TravelKmPerJob *float64 `json:"travel_km_per_job"`
	// Utilisation is booked service minutes over shift minutes (breaks
	// excluded), within the horizon.
	Utilisation *float64 `json:"utilisation"`
	// FairnessGini is the Gini coefficient of booked service minutes over
	// the workers on shift: 0 is an even spread.
	FairnessGini *float64 `json:"fairness_gini"`
	// Cancelled, NoShows, Overruns and Delayed count the bookings the
	// day's disruptions changed (Disruptions): cancelled by their customer
	// (not jobs), nobody at home, longer than planned, and pushed later by
	// an earlier overrun; Replanned those an earlier overrun moved to
	// another worker (the server's re-plan). CarriedOver counts requests nobody could serve
	// that were asked again the next day, ServedOnRetry those served then
	// (served, not within 24 hours).
	Cancelled     int `json:"cancelled,omitempty"`
	NoShows       int `json:"no_shows,omitempty"`
	Overruns      int `json:"overruns,omitempty"`
	Delayed       int `json:"delayed,omitempty"`
	Replanned     int `json:"replanned,omitempty"`
	CarriedOver   int `json:"carried_over,omitempty"`
	ServedOnRetry int `json:"served_on_retry,omitempty"`
	// StandbyMoves counts the drives of idle workers to standby places
	// (Policy.Standby; totals only) and StandbyKm their great-circle
	// length: driving that is not a job's inbound trip, so not in
	// TravelKmPerJob.
	StandbyMoves int     `json:"standby_moves,omitempty"`
	StandbyKm    float64 `json:"standby_km,omitempty"`
	// OvertimeJobs counts the jobs that ran past the end of the shift they
	// began in (totals only): urgent jobs in the overtime a roster allows
	// (doorstep.Shift.UrgentOvertimeMinutes), and jobs that overran
	// (Disruptions). OvertimeMinutes are the minutes they ran past it:
	// what the overtime costs in paid time.
	OvertimeJobs    int     `json:"overtime_jobs,omitempty"`
	OvertimeMinutes float64 `json:"overtime_minutes,omitempty"`
	// MissesByCause counts the unserved requests by what would have served
	// them (the Cause constants: structural, out_of_reach, shift_end,
	// busy_normal, busy_urgent) and the urgent ones reached late because an
	// earlier job overran (overrun_delay, only with disruptions).
	MissesByCause map[string]int `json:"misses_by_cause,omitempty"`
	// ByService, in a variant's totals, holds the request-side figures of
	// each service (utilisation and fairness are of workers, not
	// services, and are null there).
	ByService map[string]Metrics `json:"by_service,omitempty"`
}

// HourMetrics are the metrics of one hour of the horizon.
type HourMetrics struct {
	Hour  int    `json:"hour"`
	Start string `json:"start"`
	Metrics
}

// RegionMetrics are the metrics of one region.
type RegionMetrics struct {
	Region  string `json:"region"`
	Workers int    `json:"workers"`
	Metrics
}

// MapResolution is the H3 resolution of the report's cells (about
// 5 km² each: a neighbourhood).
const MapResolution = 7

// CellMetrics are the requests of one H3 cell.
type CellMetrics struct {
	Cell              string   `json:"cell"`
	Requests          int      `json:"requests"`
	UrgentRequests    int      `json:"urgent_requests"`
	UrgentOnTimeShare *float64 `json:"urgent_on_time_share"`
	Unserved          int      `json:"unserved"`
}

// Histogram counts values in bins of BinMinutes from 0; Over counts those
// beyond the last bin.
type Histogram struct {
	BinMinutes int   `json:"bin_minutes"`
	Counts     []int `json:"counts"`
	Over       int   `json:"over"`
}

// Timing is the wall-clock cost of a run (timing.json).
type Timing struct {
	Seconds  float64         `json:"seconds"`
	Variants []VariantTiming `json:"variants"`
}

// VariantTiming is the wall-clock cost of one variant.
type VariantTiming struct {
	Name              string  `json:"name"`
	Requests          int     `json:"requests"`
	Seconds           float64 `json:"seconds"`
	SolveSeconds      float64 `json:"solve_seconds"`
	RequestsPerSecond float64 `json:"requests_per_second"`
}

// JSON returns the report as indented JSON ending in a newline: the bytes
// of report.json.
func (r *Report) JSON() ([]byte, error) {
	return indentJSON(r)
}

// JSON returns the timings as indented JSON ending in a newline.
func (t *Timing) JSON() ([]byte, error) {
	return indentJSON(t)
}

func indentJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
