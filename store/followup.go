package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// Follow-ups and feedback live in the region of their booking (the region
// its id names), so that recording a feedback, closing the follow-up and
// counting the rating towards its worker are one script in one slot:
//
//	dst:{r:<region>}:fu:<booking>   follow-up: JSON of doorstep.FollowUp
//	dst:{r:<region>}:fuopen         the region's open follow-ups: sorted set
//	                                (all scores 0) of "<due unix ms, 13
//	                                digits>|<booking id>", so that a range
//	                                by lex is a range by due time
//	dst:{r:<region>}:fb:<worker>    hash of the worker's feedback in the
//	                                region: n (how many) and sum (of the
//	                                ratings), which its rating is made of
func followUpKey(region, bookingID string) string { return regionTag(region) + "fu:" + bookingID }
func openFollowUpsKey(region string) string       { return regionTag(region) + "fuopen" }
func feedbackTallyKey(region, worker string) string {
	return regionTag(region) + "fb:" + worker
}

// dueMember is the open index member of a follow-up.
func dueMember(due time.Time, bookingID string) string {
	return fmt.Sprintf("%013d|%s", due.UnixMilli(), bookingID)
}

// dueBound is the exclusive lex bound of the members due before t.
func dueBound(t time.Time) string { return fmt.Sprintf("(%013d", t.UnixMilli()) }

var dueMemberRE = regexp.MustCompile(`^[0-9]{13}\|[A-Za-z0-9_]{1,128}$`)

// openFollowUpLua creates follow-up KEYS[1] (ARGV[1]) and indexes it as
// open (ARGV[2] in KEYS[2]) unless it exists, which it returns.
var openFollowUpLua = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
return false`)

// OpenFollowUp stores f, open, and indexes it by its due time, atomically;
// when the booking already has a follow-up it changes nothing and returns
// that one with created false (opening twice is one follow-up).
func (s *Store) OpenFollowUp(ctx context.Context, f *doorstep.FollowUp) (*doorstep.FollowUp, bool, error) {
	region, err := RegionOfBooking(f.BookingID)
	if err != nil {
		return nil, false, fmt.Errorf("open follow-up: %w", err)
	}
	f.Status = doorstep.FollowUpOpen
	data, err := json.Marshal(f)
	if err != nil {
		return nil, false, fmt.Errorf("open follow-up %s: %w", f.BookingID, err)
	}
	cur, err := openFollowUpLua.Run(ctx, s.rdb, []string{followUpKey(region, f.BookingID), openFollowUpsKey(region)},
		data, dueMember(f.Due, f.BookingID)).Text()
	if errors.Is(err, redis.Nil) {
		return f, true, nil
	}
	if err != nil {
		return nil, false, wrapErr("open follow-up "+f.BookingID, err)
	}
	old, err := decodeFollowUp(cur)
	return old, false, err
}

// GetFollowUp reads the follow-up of booking id; ENOTFOUND when it has
// none.
func (s *Store) GetFollowUp(ctx context.Context, bookingID string) (*doorstep.FollowUp, error) {
	region, err := RegionOfBooking(bookingID)
	if err != nil {
		return nil, fmt.Errorf("get follow-up: %w", err)
	}
	val, err := s.rdb.Get(ctx, followUpKey(region, bookingID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, notFound("booking %s has no follow-up", bookingID)
	}
	if err != nil {
		return nil, wrapErr("get follow-up "+bookingID, err)
	}
	return decodeFollowUp(val)
}

func decodeFollowUp(val string) (*doorstep.FollowUp, error) {
	var f doorstep.FollowUp
	if err := json.Unmarshal([]byte(val), &f); err != nil {
		return nil, fmt.Errorf("decode follow-up: %w", err)
	}
	return &f, nil
}

// closeFollowUpLua replaces follow-up KEYS[1] from ARGV[1] to ARGV[2],
// takes ARGV[3] off the open index KEYS[2], and counts rating ARGV[4] in
// the worker's tally KEYS[3]; it returns 0 when the follow-up changed
// meanwhile.
var closeFollowUpLua = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('HINCRBY', KEYS[3], 'n', 1)
redis.call('HINCRBY', KEYS[3], 'sum', ARGV[4])
return 1`)

// ErrNoFollowUp is the refusal of a feedback on a booking without a
// follow-up: one that is not completed (or whose records are past the
// retention).
var ErrNoFollowUp = errors.New("no follow-up")

// ErrFeedbackGiven is the refusal of a feedback on a follow-up closed by
// another feedback.
var ErrFeedbackGiven = errors.New("feedback already given")

// RecordFeedback records fb (validated) on booking id's open follow-up at
// now, closing it, and counts its rating towards the worker's tally, in
// one atomic step. A follow-up already closed by the same feedback is
// returned with replay true and nothing changes; by another feedback the
// answer matches ErrFeedbackGiven; a booking without a follow-up
// ErrNoFollowUp (both code ECONFLICT).
func (s *Store) RecordFeedback(ctx context.Context, bookingID string, fb doorstep.Feedback, now time.Time) (f *doorstep.FollowUp, replay bool, err error) {
	region, err := RegionOfBooking(bookingID)
	if err != nil {
		return nil, false, fmt.Errorf("record feedback: %w", err)
	}
	key := followUpKey(region, bookingID)
	for range maxCASAttempts {
		val, err := s.rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return nil, false, conflict(ErrNoFollowUp, "booking %s has no follow-up: feedback is for a completed booking", bookingID)
		}
		if err != nil {
			return nil, false, wrapErr("record feedback on "+bookingID, err)
		}
		f, err := decodeFollowUp(val)
		if err != nil {
			return nil, false, err
		}
		if f.Status == doorstep.FollowUpClosed {
			if f.Feedback != nil && f.Feedback.Rating == fb.Rating && slices.Equal(f.Feedback.Tags, fb.Tags) {
				return f, true, nil
			}
			return nil, false, conflict(ErrFeedbackGiven, "booking %s already has its feedback", bookingID)
		}
		member := dueMember(f.Due, bookingID)
		f.Status, f.ClosedAt, f.Feedback = doorstep.FollowUpClosed, now, &fb
		data, err := json.Marshal(f)
		if err != nil {
			return nil, false, fmt.Errorf("record feedback on %s: %w", bookingID, err)
		}
		n, err := closeFollowUpLua.Run(ctx, s.rdb, []string{key, openFollowUpsKey(region), feedbackTallyKey(region, f.WorkerID)},
			val, data, member, fb.Rating).Int()
		if err != nil {
			return nil, false, wrapErr("record feedback on "+bookingID, err)
		}
		if n == 1 {
			return f, false, nil
		}
	}
	return nil, false, tooBusy("of the follow-up of booking " + bookingID)
}

// conflict is an ECONFLICT *doorstep.Error that also matches sentinel.
func conflict(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %w", sentinel, doorstep.Errorf(doorstep.ECONFLICT, "", format, args...))
}

// FeedbackTally is how many feedbacks a worker has and the sum of their
// ratings, over every region.
type FeedbackTally struct {
	N, Sum int64
}

// WorkerFeedback sums worker id's tallies over the regions that ever held
// a worker (a worker whose home moved has feedback in each region it
// served from): one pipelined read per region.
func (s *Store) WorkerFeedback(ctx context.Context, workerID string) (FeedbackTally, error) {
	if err := checkWorkerID(workerID); err != nil {
		return FeedbackTally{}, fmt.Errorf("worker feedback: %w", err)
	}
	regions, err := s.rdb.SMembers(ctx, regionsKey).Result()
	if err != nil {
		return FeedbackTally{}, wrapErr("list regions", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(regions))
	for i, r := range regions {
		cmds[i] = pipe.HMGet(ctx, feedbackTallyKey(r, workerID), "n", "sum")
	}
	if err := execPipe(ctx, pipe); err != nil {
		return FeedbackTally{}, wrapErr("read feedback of "+workerID, err)
	}
	var t FeedbackTally
	for _, c := range cmds {
		v := c.Val()
		for i, dst := range []*int64{&t.N, &t.Sum} {
			if sv, ok := v[i].(string); ok {
				x, err := strconv.ParseInt(sv, 10, 64)
				if err != nil {
					return FeedbackTally{}, fmt.Errorf("feedback of %s: %w", workerID, err)
				}
				*dst += x
			}
		}
	}
	return t, nil
}

// RateWorker sets worker id's rating to rate of its feedback tally
// (WorkerFeedback), read after the profile in each compare-and-set round:
// of concurrent raters, the last to write read every feedback recorded
// before it, so the rating never stays behind a recorded feedback. It
// bumps the worker's version, as every profile change does; a worker
// without a profile (retired) is ENOTFOUND.
func (s *Store) RateWorker(ctx context.Context, id string, rate func(FeedbackTally) float64) error {
	if err := checkWorkerID(id); err != nil {
		return fmt.Errorf("rate worker: %w", err)
	}
	err := s.editWorker(ctx, id, func(cur string) (string, error) {
		w, err := decodeWorker(cur)
		if err != nil {
			return "", err
		}
		t, err := s.WorkerFeedback(ctx, id)
		if err != nil {
			return "", err
		}
		w.Rating = rate(t)
		data, err := json.Marshal(w)
		return string(data), err
	})
	if err != nil {
		return fmt.Errorf("rate worker %s: %w", id, err)
	}
	return nil
}

// FollowUpQuery selects open follow-ups: due before DueBefore (zero: any),
// after the cursor After (a FollowUpPage.Next), at most Limit.
type FollowUpQuery struct {
	DueBefore time.Time
	After     string
	Limit     int
}

// MaxFollowUpPage bounds FollowUpQuery.Limit.
const MaxFollowUpPage = 1000

// FollowUpPage is a page of open follow-ups, by due time then booking id;
// Next, when set, is the cursor of the next page.
type FollowUpPage struct {
	FollowUps []*doorstep.FollowUp
	Next      string
}

// OpenFollowUps pages through the open follow-ups by due time, merging the
// regions' indexes: one ZRANGEBYLEX per region and one GET per follow-up
// listed, pipelined.
func (s *Store) OpenFollowUps(ctx context.Context, q FollowUpQuery) (FollowUpPage, error) {
	if q.Limit < 1 || q.Limit > MaxFollowUpPage {
		return FollowUpPage{}, invalid("limit", "limit must be in [1, %d]", MaxFollowUpPage)
	}
	from, to := "-", "+"
	if q.After != "" {
		if !dueMemberRE.MatchString(q.After) {
			return FollowUpPage{}, invalid("cursor", "not a cursor of this API: pass next_cursor from the previous page as it is")
		}
		from = "(" + q.After
	}
	if !q.DueBefore.IsZero() {
		to = dueBound(q.DueBefore)
	}
	regions, err := s.rdb.SMembers(ctx, regionsKey).Result()
	if err != nil {
		return FollowUpPage{}, wrapErr("list regions", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(regions))
	for i, r := range regions {
		cmds[i] = pipe.ZRangeByLex(ctx, openFollowUpsKey(r), &redis.ZRangeBy{Min: from, Max: to, Count: int64(q.Limit + 1)})
	}
	if err := execPipe(ctx, pipe); err != nil {
		return FollowUpPage{}, wrapErr("read open follow-ups", err)
	}
	type ref struct{ member, region string }
	var refs []ref
	for i, c := range cmds {
		for _, m := range c.Val() {
			refs = append(refs, ref{m, regions[i]})
		}
	}
	slices.SortFunc(refs, func(a, b ref) int { return strings.Compare(a.member, b.member) })
	var page FollowUpPage
	if len(refs) > q.Limit {
		refs = refs[:q.Limit]
		page.Next = refs[len(refs)-1].member
	}
	pipe = s.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(refs))
	for i, r := range refs {
		_, id, _ := strings.Cut(r.member, "|")
		gets[i] = pipe.Get(ctx, followUpKey(r.region, id))
	}
	if err := execPipe(ctx, pipe); err != nil {
		return FollowUpPage{}, wrapErr("read open follow-ups", err)
	}
	page.FollowUps = make([]*doorstep.FollowUp, 0, len(refs))
	for _, g := range gets {
		if g.Err() != nil {
			continue // closed or reduced meanwhile
		}
		f, err := decodeFollowUp(g.Val())
		if err != nil {
			return FollowUpPage{}, err
		}
		if f.Status == doorstep.FollowUpOpen {
			page.FollowUps = append(page.FollowUps, f)
		}
	}
	return page, nil
}

// OverdueFollowUps counts the open follow-ups due before now: one
// ZLEXCOUNT per region (logarithmic in the region's open follow-ups), no
// scan, so a metrics scrape may call it.
func (s *Store) OverdueFollowUps(ctx context.Context, now time.Time) (int64, error) {
	regions, err := s.rdb.SMembers(ctx, regionsKey).Result()
	if err != nil {
		return 0, wrapErr("list regions", err)
	}
	n, err := s.sumPipelined(ctx, regions, func(pipe redis.Pipeliner, r string) *redis.IntCmd {
		return pipe.ZLexCount(ctx, openFollowUpsKey(r), "-", dueBound(now))
	})
	return n, wrapErr("count overdue follow-ups", err)
}
