// Package sim runs what-if simulations of a dispatch day: requests arrive
// (drawn from a synthetic demand model or replayed from a real trace), a
// policy places them on workers through the production matcher and
// schedule code, workers travel, serve and move on, and the outcome is
// reported as service-level figures per variant, per hour and per region
// (DESIGN.md section 7).
//
// A Scenario (JSON, see ParseScenario) describes the area, the roster, the
// demand, the policy, a seed and variants that each change one thing. Run
// simulates every variant on the same demand draw and returns a Report;
// Charts and WriteHTML render it.
//
// The package is deterministic: the simulated clock is the event time, every
// random draw comes from a math/rand/v2 PCG seeded from the scenario's seed
// (one stream per purpose, so that a variant changing the roster keeps the
// same demand), and the report of a scenario and seed is byte-identical from
// run to run. It does no I/O of its own: a replayed trace is read through
// Options.Open, and wall-clock timings are taken only through Options.Now.
//
// # The policies
//
//   - insertion: each request, on arrival, is matched against the qualified
//     workers around it (matcher.Match) and the best option is booked; an
//     search around it widens, as the server's does, until
//     Matching.Candidates (default matcher.DefaultWant) workers that could
//     serve (matcher.CouldServe) are found or the reach ends; a request
//     (urgent or normal) nobody can serve is rescued when moving one or
//     two bookings inside their promises makes room (normal ones; for an
//     urgent request, urgent ones too, reached within their hour)
//     (matcher.PlanRescue); else it is unserved with the reason the
//     server's 422 names (matcher.ReasonOf). This is what POST /v1/bookings
//     does, through the same functions (a test books the same requests
//     through both and compares); the report counts the rescues and the
//     bookings they moved (totals.rescues, totals.rescue_moves). A normal
//     job is priced for the urgent capacity it takes (matcher's protection
//     term) under the urgent profile the scenario implies (urgent rates of
//     the demand model per worker on duty, by hour of day and skill).
//   - greedy: each request, on arrival, goes to the nearest qualified worker
//     who is idle now (neither travelling to nor serving a job), at that
//     worker's earliest feasible slot (it knows no urgent profile, so no
//     urgent-capacity protection); when no idle worker can take it, to the
//     nearest busy one that can. The baseline of most dispatch desks.
//   - batch: arrivals are buffered and every BatchSeconds the buffer is
//     assigned optimally (matcher.BatchItems, then matcher.Assign), and
//     each request the assignment could not place is then booked as the
//     insertion policy books it, rescue included, urgent ones first: what
//     POST /v1/assign with "commit": true does. With
//     NormalBatchSeconds normal requests wait for a tick of that longer
//     period, so that their batches hold more of them, while urgent ones
//     still go at the next tick.
//
// Every policy books through the same hard rules: a request that cannot be
// placed within its class (arrival within the hour for urgent requests,
// start within 24 hours and inside the window for normal ones) is reported
// unserved, never placed late. A shift pattern may allow urgent overtime
// (ShiftPattern.UrgentOvertimeMinutes, doorstep.Shift.UrgentOvertimeMinutes):
// an urgent job begun by the shift's end may then run that long past it,
// and the report counts such jobs and their minutes past the end
// (totals.overtime_jobs, totals.overtime_minutes).
package sim
