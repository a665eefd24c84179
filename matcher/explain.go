package matcher

import (
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Rejection is one candidate ruled out, with the hard rule that stopped it.
type Rejection struct {
	WorkerID string
	Reason   string
}

// Explanation says why no candidate can serve a request within its class.
type Explanation struct {
	// Deadline is the class deadline that could not be met.
	Deadline time.Time
	// Reason is the most telling rejection (MainReason), or
	// ReasonNoCandidates when there was no candidate at all.
	Reason string
	// Rejected counts the candidates by the rule that stopped them.
	Rejected map[string]int
	// Candidates holds each candidate's rejection, in the pool's order.
	Candidates []Rejection
	// EarliestArrival is the earliest a qualified candidate could arrive
	// were the class deadline lifted (searching a day past it), and
	// EarliestWorker who; both are zero when no candidate could at all.
	EarliestArrival time.Time
	EarliestWorker  string
}

// telling orders the rejection reasons from the most telling (the
// candidate came closest to serving) to the least: a worker on shift who
// could not arrive in time says more than one who could not finish before
// its shift ends, than one booked solid, than a daily cap, than a worker
// off shift, than one without the certificates or skills, than one the
// customer excluded.
var telling = []string{ReasonDeadline, ReasonShiftEnd, ReasonBusy, ReasonCap, ReasonShift,
	ReasonCertificates, ReasonSkills, ReasonExcluded}

// MainReason is the most telling rejection in counts (see Explanation): a
// qualified worker with no shift makes it "shift" however many unqualified
// workers were also near. With no rejection it is "busy": every feasible
// candidate went to other requests.
func MainReason(rej map[string]int) string {
	for _, r := range telling {
		if rej[r] > 0 {
			return r
		}
	}
	return ReasonBusy
}

// ReasonOf is why a request with the given number of candidates and
// their rejections went unserved: ReasonNoCandidates without candidates,
// else MainReason. It is Explanation.Reason, for callers (the simulator)
// that have the counts and need not explain further.
func ReasonOf(rej map[string]int, candidates int) string {
	if candidates == 0 {
		return ReasonNoCandidates
	}
	return MainReason(rej)
}

// Explain says why none of cands can serve req at clock reading now: the
// rule that stopped each candidate, their counts and the most telling of
// them, and the earliest a qualified candidate could arrive beyond the
// class deadline. It is what an unservable answer reports.
func (m *Matcher) Explain(req *doorstep.Request, cands []Candidate, now time.Time, hist History) Explanation {
	ex := Explanation{Deadline: req.Deadline(), Rejected: map[string]int{}}
	job := schedule.JobFor(req, now)
	for i := range cands {
		_, reason := m.Evaluate(req, job, &cands[i], hist)
		if reason == "" {
			continue // feasible: it went to another request (batch, series)
		}
		ex.Rejected[reason]++
		ex.Candidates = append(ex.Candidates, Rejection{WorkerID: cands[i].Worker.ID, Reason: reason})
	}
	ex.Reason = ReasonOf(ex.Rejected, len(cands))
	ex.EarliestArrival, ex.EarliestWorker = m.EarliestBeyond(req, cands, now)
	return ex
}

// EarliestBeyond finds the earliest arrival among qualified candidates
// when the class deadline is lifted (searching a day past it), and whose:
// Explanation.EarliestArrival and EarliestWorker.
func (m *Matcher) EarliestBeyond(req *doorstep.Request, cands []Candidate, now time.Time) (time.Time, string) {
	return m.earliestBeyond(req, cands, now, m.Evaluate)
}

// EarliestBeyondQualified is EarliestBeyond for candidates known to be
// qualified and not excluded (a narrow search's, as Tally.Qualified): it
// does not check them again, which in a dense city was a third of its
// time.
func (m *Matcher) EarliestBeyondQualified(req *doorstep.Request, cands []Candidate, now time.Time) (time.Time, string) {
	return m.earliestBeyond(req, cands, now, m.evaluateQualified)
}

func (m *Matcher) earliestBeyond(req *doorstep.Request, cands []Candidate, now time.Time,
	evaluate func(*doorstep.Request, schedule.Job, *Candidate, History) (Option, string)) (time.Time, string) {
	relaxed := *req
	relaxed.Urgency = doorstep.Normal
	relaxed.Window = nil
	relaxed.RequestedAt = req.Deadline()
	job := schedule.JobFor(&relaxed, now)
	// An appointment's pool is read around its window, not from now.
	job.EarliestStart = schedule.JobFor(req, now).EarliestStart
	var best Option
	found := false
	for i := range cands {
		o, reason := evaluate(&relaxed, job, &cands[i], History{})
		if reason != "" {
			continue
		}
		if !found || o.Slot.Arrival.Before(best.Slot.Arrival) {
			best, found = o, true
		}
	}
	return best.Slot.Arrival, best.WorkerID
}
