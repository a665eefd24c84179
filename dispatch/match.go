package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
)

// pool is the candidates read for one request (each with its region and
// bookings).
//
// A narrow pool (qualifiedCandidates) holds only the workers who are
// qualified and not excluded: the others cannot take the request, and
// narrow counts them by the reason matcher.Evaluate would give
// (ReasonExcluded, ReasonSkills, ReasonCertificates), so that a match on
// the narrow pool answers what a match on the whole one does (matchPool
// adds them back). The workers read and the stopping rule are the same: a
// skipped worker never counts towards it (matcher.CouldServe) nor can it
// hold the best option (matcher.Settled).
//
// A sorted pool (rescuePool) holds the whole pool, which a rescue plan
// moves bookings onto, and beside it the narrow one (qualified), which
// alone is matched and explains an answer, as a narrow pool is.
type pool struct {
	cands []matcher.Candidate
	// qualified holds the workers of a sorted pool who can take the
	// request, in the order read (nil for other pools: see matched).
	qualified []matcher.Candidate
	sorted    bool
	// ids indexes cands by worker id once asked (index, add): a search's
	// pool is most often ranked without it, and a dense city's holds
	// hundreds of workers.
	ids    map[string]int
	narrow *store.Narrow // nil unless narrow: it counts the workers skipped
	// tally is the match of cands so far: an urgent search evaluates the
	// workers of each step to know when it is settled, and match goes on
	// from there instead of evaluating them again.
	tally *matcher.Tally
	// rescuable: matchPool found no option but a worker a rescue plan may
	// free (matcher.Rescuable), and read the whole pool for the plan.
	rescuable bool
	// release ends the rescue plan's turn matchPool took for the pool
	// (Service.rescueTurn) at turnAt: the caller's, once the plan is made
	// (done).
	release func()
	turnAt  time.Time
	// shifts is what a narrow search learnt of the shifts of the workers
	// it read (nil for other pools).
	shifts *shiftsRead
	// holds: some worker read who can take the request has a shift that
	// can hold it (matcher.ShiftCanHold). Without one no rescue plan can
	// free a worker for it, and matchPool does not look for one: where a
	// window no shift holds makes a request unservable, that look was a
	// pass over every qualified worker of the city.
	holds bool
}

func newPool() pool { return pool{} }

// shiftsRead is what a narrow search learnt of the shifts of the workers
// it read, as it read them, while their memory was at hand. Where a
// window no shift holds makes a request unservable, the match and the
// earliest arrival beyond the deadline were each a pass over every
// qualified worker of the city after the search (bench/RESULTS.md, "A
// 422 decided as it is read").
type shiftsRead struct {
	// reasons[i] is the match's verdict on cands[i] when none of its
	// shifts can hold the job (matcher.ShiftVerdict); "" when one can,
	// or when the search did not look (once enough could serve).
	reasons []string
	// beyond holds the earliest arrival beyond the deadline of the
	// workers of cands[:upTo] that reasons rejects: those read while
	// nobody read could serve the request, when an unservable answer is
	// likeliest. The others are added if the answer is one.
	beyond *matcher.Beyond
	upTo   int
}

// drop is the narrow pool's store.Narrow.Drop: a worker none of whose
// shifts can hold job (matcher.ShiftVerdict) and who cannot arrive before
// the earliest arrival beyond the deadline found so far, or at all when
// none is (matcher.Beyond.CannotBeat), changes nothing a narrow pool
// answers. It cannot serve, so it neither counts among who could nor
// holds an option nor a booking a rescue plan might move; it is counted
// rejected by its verdict, as the match would count it (pool.considered);
// and the earliest arrival only gets earlier. Left out, it costs neither a
// candidate nor a place in the order: where a window no shift holds makes
// a request unservable, most of the city's qualified workers are such, and
// making each a candidate had been most of the answer's cost.
func (k *shiftsRead) drop(job schedule.Job) func([]doorstep.Shift, doorstep.Location, schedule.Timeline) string {
	return func(shifts []doorstep.Shift, home doorstep.Location, tl schedule.Timeline) string {
		verdict := matcher.ShiftsVerdict(shifts, job)
		if verdict == "" || !k.beyond.CannotBeatFrom(shifts, home, tl) {
			return ""
		}
		return verdict
	}
}

// dropShifts is the narrow pool's store.Narrow.DropShifts: drop for every
// worker with shifts, decided on them once (matcher.ShiftsVerdict, and
// matcher.Beyond.FromHome for the ones with no stops).
func (k *shiftsRead) dropShifts(job schedule.Job) func([]doorstep.Shift) store.ClassDrop {
	return func(shifts []doorstep.Shift) store.ClassDrop {
		verdict := matcher.ShiftsVerdict(shifts, job)
		if verdict == "" {
			return store.ClassDrop{Keep: true} // a shift can hold the job
		}
		r := k.beyond.FromHome(shifts)
		if r.None() {
			return store.ClassDrop{Reason: verdict}
		}
		return store.ClassDrop{AtHome: func(home doorstep.Location) string {
			if r.CannotBeat(home) {
				return verdict
			}
			return ""
		}}
	}
}

// shiftCanHold is serves(w, job) for the worker the pool put last. A
// narrow pool also learns the match's verdict on it and, while nobody
// read could serve the request (nobody), its arrival beyond the deadline.
func (p *pool) shiftCanHold(w *doorstep.Worker, job schedule.Job, serves func(*doorstep.Worker, schedule.Job) bool, nobody bool) bool {
	k := p.shifts
	if k == nil {
		return serves(w, job)
	}
	i := len(p.cands) - 1
	if nobody {
		k.upTo = i + 1
	}
	verdict := matcher.ShiftVerdict(w, job)
	if verdict == "" {
		return true
	}
	k.reasons = append(k.reasons, make([]string, i-len(k.reasons))...)
	k.reasons = append(k.reasons, verdict)
	if nobody {
		k.beyond.Add(&p.cands[i], i)
	}
	return false
}

// earliestBeyond is matcher.EarliestBeyond of the pool's matched
// candidates, from what the search learnt where it can.
func (p *pool) earliestBeyond(m *matcher.Matcher, req *doorstep.Request, now time.Time) (time.Time, string) {
	cands := p.matched()
	if p.narrow == nil { // a whole pool: cands may not be qualified
		return m.EarliestBeyond(req, cands, now)
	}
	k := p.shifts
	if k == nil { // a sorted pool's qualified workers: nothing learnt
		k = &shiftsRead{beyond: m.NewBeyond(req, now)}
	}
	for i := range cands {
		if i < k.upTo && i < len(k.reasons) && k.reasons[i] != "" {
			continue // added as it was read
		}
		k.beyond.Add(&cands[i], i)
	}
	return k.beyond.Earliest()
}

// index returns the position of worker id in p.cands, or -1.
func (p *pool) index(id string) int {
	if p.ids == nil {
		p.ids = make(map[string]int, len(p.cands))
		for i := range p.cands {
			p.ids[p.cands[i].Worker.ID] = i
		}
	}
	if i, ok := p.ids[id]; ok {
		return i
	}
	return -1
}

// region returns the region of worker id of the pool ("" for none). A
// booking asks it once, of the worker it reserves: a look along the pool
// then costs less than the index (index), which it does not build.
func (p *pool) region(id string) string {
	if p.ids != nil {
		if i := p.index(id); i >= 0 {
			return p.cands[i].Region
		}
		return ""
	}
	for i := range p.cands {
		if p.cands[i].Worker.ID == id {
			return p.cands[i].Region
		}
	}
	return ""
}

// grow makes room for n more candidates (a dense city's step loads a
// thousand or more: growing by appends was most of a search's garbage).
func (p *pool) grow(n int) { p.cands = slices.Grow(p.cands, n) }

// add adds a loaded candidate to the pool, unless it is there already (a
// position update moved it between cells while the rings were read).
func (p *pool) add(c store.Candidate) bool {
	if p.index(c.Worker.ID) >= 0 {
		return false
	}
	p.put(c)
	return true
}

// put adds a loaded candidate the pool does not hold.
func (p *pool) put(c store.Candidate) {
	region := c.Region
	if region == "" { // a Store that does not say (a test's in-memory one)
		region = geo.RegionOf(c.Worker.Home).String()
	}
	if p.ids != nil {
		p.ids[c.Worker.ID] = len(p.cands)
	}
	tl := c.Timeline
	if tl == nil {
		tl = schedule.TimelineOf(c.Bookings)
	}
	p.cands = append(p.cands, matcher.Candidate{
		Worker:   c.Worker,
		Timeline: tl,
		Version:  c.Version,
		Region:   region,
		Bookings: c.Bookings,
	})
}

// matched is what the pool's match evaluates: the workers who can take
// the request for a sorted pool, else every candidate.
func (p *pool) matched() []matcher.Candidate {
	if p.sorted {
		return p.qualified
	}
	return p.cands
}

// planRescue is PlanRescue on p's candidates, once matchPool found a
// worker a plan may free and took a plan's turn for it (reported with the
// time the turn was held so far: Observer.RescueSearched); without one
// it is nil at once, as PlanRescue would answer.
func (s *Service) planRescue(p *pool, req *doorstep.Request, now time.Time, hist matcher.History) *matcher.RescuePlan {
	if !p.rescuable {
		return nil
	}
	rp := s.m.PlanRescue(req, p.cands, now, hist)
	s.cfg.Observer.RescueSearched(req.Urgency, rp != nil, time.Since(p.turnAt))
	return rp
}

// considered adds the workers a narrow pool skipped to res, as a match on
// the whole pool would have counted them.
func (p *pool) considered(res *matcher.Result) {
	if p.narrow == nil {
		return
	}
	t := &p.narrow.Turned
	for _, r := range []struct {
		reason string
		n      int
	}{{matcher.ReasonExcluded, t.Excluded}, {matcher.ReasonSkills, t.Skills}, {matcher.ReasonCertificates, t.Certificates}} {
		if r.n > 0 {
			res.Considered += r.n
			res.Rejected[r.reason] += r.n
		}
	}
	for reason, n := range p.narrow.Dropped {
		res.Considered += n
		res.Rejected[reason] += n
	}
	res.Considered += p.narrow.Outranked
	res.Outranked += p.narrow.Outranked
}

// outrank is the narrow pool's store.Narrow.Outrank for its next step,
// from the options its tally holds (matcher.Tally.Outranks): nil until
// they can outrank anybody. An urgent search in a dense city reads
// thousands of qualified workers to settle its answer, and most of them
// are too far off to make its options; decided from the mirror's lists,
// such a worker costs neither a read of its entry nor a candidate, a
// place in the order and an evaluation (bench/RESULTS.md, "Outranked
// from the lists"). The tally would count it Outranked (its shifts can
// hold the job: the store asks that of DropShifts), and so does
// considered.
func (p *pool) outrank(to doorstep.Location) *store.Outrank {
	km, ok := p.tally.Outranks()
	if !ok {
		return nil
	}
	return &store.Outrank{To: to, Km: km}
}

// dayReach is how far before the earliest and after the latest start the
// bookings of a candidate are read: the daily caps count every booking of
// the slot's working day (a calendar day in the shift's zone, up to 25
// hours long across a DST change), which may have started far longer than
// doorstep.MaxDuration ago; it also covers any booking still under way and
// the stop after the slot.
const dayReach = 25 * time.Hour

// horizon is the span of bookings read with each candidate: from a working
// day before now, or before an appointment's earliest start when that lies
// more than 24 hours ahead (the days in between matter to no slot of the
// job, nor to a booking matcher.PlanRescue moves: matcher.RescueSpan), to
// a working day past the latest start.
func horizon(now time.Time, job schedule.Job) (from, to time.Time) {
	lo, _ := matcher.RescueSpan(job, now)
	return lo.Add(-dayReach), job.LatestStart.Add(dayReach)
}

// candidates reads the workers around req, ring by ring, until enough of
// them could serve it (matcher.CouldServe: qualified, not excluded, on a
// shift that can hold the job within the class) or the class's reach is
// covered. Workers who cannot serve are read too (they explain a 422) but
// do not count: 26 off-shift plumbers next door must not hide the on-shift
// ones a few kilometres away. An urgent search also widens until no worker
// farther out can beat the best option found (matcher.Settled): 26 poorly
// rated neighbours must not hide a better one either.
func (s *Service) candidates(ctx context.Context, req *doorstep.Request, now time.Time) (pool, error) {
	from, to := horizon(now, schedule.JobFor(req, now))
	return s.search(ctx, req, now, from, to, wholePool, nil)
}

// qualifiedCandidates is candidates as a narrow pool (see pool): the
// search reads the same workers and stops at the same step, but keeps only
// those qualified and not excluded. Enough to rank options (Match); a
// rescue plan moves bookings onto workers of any skill, and needs the
// whole pool.
//
// It knows the customer's history, as matchPool does (see search).
func (s *Service) qualifiedCandidates(ctx context.Context, req *doorstep.Request, now time.Time, hist matcher.History) (pool, error) {
	from, to := horizon(now, schedule.JobFor(req, now))
	return s.search(ctx, req, now, from, to, narrowPool, &hist)
}

// rescuePool is candidates as a sorted pool (see pool), for a customer
// with history hist: the whole pool a rescue plan needs, matched as the
// narrow one. Reading the whole pool again and matching it all had been
// most of the cost of a request nobody can serve: the thousands of workers
// of other trades it holds were each evaluated, and again to explain it.
func (s *Service) rescuePool(ctx context.Context, req *doorstep.Request, now time.Time, hist matcher.History) (pool, error) {
	from, to := horizon(now, schedule.JobFor(req, now))
	return s.search(ctx, req, now, from, to, sortedPool, &hist)
}

// candidatesIn is candidates with the bookings read over [from, to].
func (s *Service) candidatesIn(ctx context.Context, req *doorstep.Request, now, from, to time.Time) (pool, error) {
	return s.search(ctx, req, now, from, to, wholePool, nil)
}

// reading is which pool a search reads (see pool).
type reading int

const (
	wholePool  reading = iota // every worker read, every one matched
	narrowPool                // only the workers who can take the request read
	sortedPool                // every worker read, those who can take it matched
)

// search is candidatesIn, as the pool asked for (see pool), for a
// customer with history *hist, or whose history is not known (nil).
// Knowing it, the search matches the pool for it as it goes (pool.match),
// and need not widen for a continuity bonus nobody can earn
// (matcher.Tally.Settled).
func (s *Service) search(ctx context.Context, req *doorstep.Request, now, from, to time.Time, r reading, hist *matcher.History) (pool, error) {
	p, err := s.searchOnce(ctx, req, now, from, to, r, hist, new(store.Seen))
	if errors.Is(err, store.ErrSeenReset) {
		p, err = s.searchOnce(ctx, req, now, from, to, r, hist, store.NewSeenByID())
	}
	return p, err
}

// searchOnce is search, recording the workers it loads in seen.
func (s *Service) searchOnce(ctx context.Context, req *doorstep.Request, now, from, to time.Time, r reading, hist *matcher.History, seen *store.Seen) (pool, error) {
	search := matcher.SearchFor(req, now, s.m.Config().Travel, s.cfg.NormalReachKm)
	// Its own region must answer; a neighbour being failed over may not.
	ctx = store.WithSearchRegion(ctx, geo.RegionOf(req.Location).String())
	p := newPool()
	p.tally = s.m.NewTally(req, now, hist)
	job := schedule.JobFor(req, now)
	var keep store.Keep
	if r != wholePool {
		p.narrow = store.NewNarrow(req)
		p.tally.Qualified()
	}
	if r == narrowPool {
		keep = p.narrow
		p.shifts = &shiftsRead{beyond: s.m.NewBeyond(req, now)}
		p.narrow.Drop = p.shifts.drop(job)
		p.narrow.DropShifts = p.shifts.dropShifts(job)
	}
	p.sorted = r == sortedPool
	could := 0
	// serves is matcher.CouldServe, but for the qualification a narrow
	// pool's keep checked already (a sorted pool's, as it is read).
	serves := matcher.ShiftCanHold
	if p.narrow == nil {
		serves = func(w *doorstep.Worker, _ schedule.Job) bool { return matcher.CouldServe(w, req, now) }
	}
	// need is the ring the next step may end at (matcher.SettleRings):
	// once enough could serve, an urgent search reads only as far as the
	// best option found requires, not the whole doubled step.
	need := 0
	for step, ok := search.First(), true; ok; step, ok = search.Next(step, need) {
		if r == narrowPool {
			p.narrow.Outrank = p.outrank(req.Location)
		}
		// Each worker once (LoadCells): a position update may move one
		// between cells while the rings are read.
		loaded, err := s.st.LoadCells(ctx, seen, search.StepCells(step), from, to, keep)
		if err != nil {
			return pool{}, fmt.Errorf("find workers near request: %w", err)
		}
		p.grow(len(loaded))
		for _, c := range loaded {
			p.put(c)
			if p.sorted {
				if !p.narrow.Keeps(c.Worker) {
					continue
				}
				p.qualified = append(p.qualified, p.cands[len(p.cands)-1])
			}
			// Counted where the planner will start it (a stale report
			// starts the shift from home), not where a cell listed it;
			// and only until enough could serve, all the count decides
			// (an urgent search reads thousands more to settle).
			if could < s.cfg.WantCandidates && p.shiftCanHold(c.Worker, job, serves, could == 0) {
				p.holds = true
				if geo.DistanceKm(c.Worker.PositionAt(now), req.Location) <= search.ReachKm {
					could++
				}
			}
		}
		if could < s.cfg.WantCandidates {
			continue // need stays 0: the next step doubles
		}
		// The cost of the best option so far (matcher.BestCost): each
		// step evaluates only the workers it added, and only when the
		// rule asks (an urgent request).
		if req.Urgency == doorstep.Urgent {
			p.tallyRest()
		}
		if p.tally.Settled(search, step[1]) {
			break
		}
		need = p.tally.SettleRings(search)
	}
	return p, nil
}

// Quote is the answer to a match request: ranked options, reserving nothing.
type Quote struct {
	Request *doorstep.Request
	matcher.Result
	// Rescue is set when the only option needs bookings moved (the
	// plan Book would make): Options then holds that option, Rescue the
	// first move and Moves every move, Rescue first.
	Rescue *Rescue
	Moves  []Rescue
	// Prices holds the price of each option, as Book would fix it (nil
	// for an unpriced service).
	Prices []*doorstep.Price
}

// Quote ranks the workers who can serve req for owner (the API key whose
// customer history it reads, as Book does). It reserves nothing. When none
// can serve it within its class it returns an *doorstep.Error with code
// EUNSERVABLE explaining why.
func (s *Service) Quote(ctx context.Context, req doorstep.Request, owner string) (*Quote, error) {
	if err := s.Prepare(&req); err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	ctx, hist, err := s.historyBefore(ctx, owner, req.CustomerID, geo.RegionOf(req.Location).String())
	if err != nil {
		return nil, err
	}
	p, res, err := s.matchPool(ctx, &req, now, hist)
	if err != nil {
		return nil, err
	}
	defer p.done()
	if len(res.Options) == 0 {
		// A request nobody can serve may still be served by moving
		// bookings; quote it as Book would make it (the moves
		// included).
		if rp := s.planRescue(&p, &req, now, hist); rp != nil {
			res.Options = []matcher.Option{rp.Option}
			moves := rescuesOf(rp)
			return s.priced(&Quote{Request: &req, Result: res, Rescue: &moves[0], Moves: moves}), nil
		}
		return nil, s.unservable(&req, p, &res, now, hist)
	}
	return s.priced(&Quote{Request: &req, Result: res}), nil
}

// poolFor reads what a decision on req for owner needs: the customer's
// history, with the change feed of req's region (historyBefore), then the
// candidates around it.
func (s *Service) poolFor(ctx context.Context, req *doorstep.Request, owner string, now time.Time) (pool, matcher.History, error) {
	ctx, hist, err := s.historyBefore(ctx, owner, req.CustomerID, geo.RegionOf(req.Location).String())
	if err != nil {
		return pool{}, matcher.History{}, err
	}
	p, err := s.candidates(ctx, req, now)
	if err != nil {
		return pool{}, matcher.History{}, err
	}
	return p, hist, nil
}

// matchPool reads the candidates of req and matches them: on a narrow pool
// (qualifiedCandidates) when some option exists or no rescue plan can
// exist, else on the whole pool, which a rescue plan needs, read again as
// a sorted pool (rescuePool): the workers who can take req are matched,
// and the answer explained, as on the narrow pool. Either way the result
// is what a match on the whole pool gives. The match is observed once,
// with the time spent evaluating the pool it answers from.
func (s *Service) matchPool(ctx context.Context, req *doorstep.Request, now time.Time, hist matcher.History) (pool, matcher.Result, error) {
	p, err := s.qualifiedCandidates(ctx, req, now, hist)
	if err != nil {
		return pool{}, matcher.Result{}, err
	}
	res := p.match()
	// Nobody can serve it as things are: a rescue plan may, moving
	// bookings of the workers who could onto workers of any skill, which
	// the whole pool holds. When none of the workers who could has a
	// booking to move, no plan exists (matcher.Rescuable), and the narrow
	// pool explains the answer as well as the whole one (unservable).
	if len(res.Options) == 0 && p.holds && s.m.Rescuable(req, p.cands, now) {
		release, err := s.rescueTurn(ctx)
		if err != nil {
			return pool{}, matcher.Result{}, err
		}
		turnAt := time.Now()
		if p, err = s.rescuePool(ctx, req, now, hist); err != nil {
			release()
			return pool{}, matcher.Result{}, err
		}
		res = p.match()
		p.rescuable, p.release, p.turnAt = true, release, turnAt
	}
	p.considered(&res)
	s.cfg.Observer.Matched(req.Urgency, res.Considered, p.tally.Took())
	return p, res, nil
}

// done ends the rescue plan's turn matchPool took for p, if it took one
// and it has not ended.
func (p *pool) done() {
	if p.release != nil {
		p.release()
		p.release = nil
	}
}

// match is the match of every candidate of p for the request and history
// it was searched for (a search that knew the history: see search): the
// search's tally, completed with the candidates it did not evaluate.
func (p *pool) match() matcher.Result {
	p.tallyRest()
	return p.tally.Result()
}

// tallyRest adds the matched candidates not in the tally yet to it,
// with the verdicts the search learnt.
func (p *pool) tallyRest() {
	n := p.tally.Considered()
	var known []string
	if k := p.shifts; k != nil && n < len(k.reasons) {
		known = k.reasons[n:]
	}
	p.tally.AddKnown(p.matched()[n:], known)
}

// unservable explains why nobody can serve req: the counts of each failed
// hard rule (a match's), the most telling of them and, when qualified
// workers exist but are late or busy, the earliest any of them could
// arrive (matcher.EarliestBeyond), as fields of the error and in its
// message. res is the pool's match when the caller has it (matchPool),
// else nil and the pool is matched here.
//
// A narrow pool explains it as the whole one would: the workers it left
// out are counted by the rule they fail (pool.considered), and neither
// the earliest arrival nor the order of the others depends on them.
func (s *Service) unservable(req *doorstep.Request, p pool, res *matcher.Result, now time.Time, hist matcher.History) error {
	s.cfg.Observer.Unservable(req.Urgency, req.Rule())
	cands := p.matched()
	if res == nil {
		r := s.m.Match(req, cands, now, hist)
		p.considered(&r)
		res = &r
	}
	ex := matcher.Explanation{Deadline: req.Deadline(), Rejected: res.Rejected, Reason: matcher.ReasonOf(res.Rejected, res.Considered)}
	if ex.Rejected == nil {
		ex.Rejected = map[string]int{}
	}
	ex.EarliestArrival, ex.EarliestWorker = p.earliestBeyond(s.m, req, now)
	n := res.Considered
	var why []string
	for _, r := range sortedKeys(ex.Rejected) {
		why = append(why, fmt.Sprintf("%s: %d", r, ex.Rejected[r]))
	}
	msg := fmt.Sprintf("no worker can serve this %s request within its service level (%s, deadline %s)",
		req.Urgency, req.Rule(), ex.Deadline.Format(time.RFC3339))
	if n == 0 {
		msg += "; no worker within reach"
	} else {
		msg += "; candidates rejected by rule: " + strings.Join(why, ", ")
	}
	if !ex.EarliestArrival.IsZero() {
		msg += fmt.Sprintf("; the earliest a qualified worker (%s) could arrive is %s", ex.EarliestWorker, ex.EarliestArrival.Format(time.RFC3339))
	}
	if req.Rule() == doorstep.RuleAppointment {
		msg += "; if this window was offered as a slot, the workers' days have changed since: ask for slots again"
	}
	e := doorstep.Errorf(doorstep.EUNSERVABLE, "", "%s", msg)
	e.Rejected, e.Reason, e.EarliestArrival, e.Rule = ex.Rejected, ex.Reason, ex.EarliestArrival, req.Rule()
	return e
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
