package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/doorstep-dev/doorstep"
)

// TestFinishComparesWithWhatItWrote: a request that finishes the record
// it began makes its change against the record as it wrote it, without
// reading it first (a round trip a booking); when another changed the
// record since, the change fails, the record is read, and the finish is
// made on what it holds now, keeping the other's change.
func TestFinishComparesWithWhatItWrote(t *testing.T) {
	t.Parallel()
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	rdb := redis.NewClient(&redis.Options{Addr: h.addr})
	t.Cleanup(func() { rdb.Close() })
	var reads atomic.Int64 // GETs the store sends (not those its scripts run)
	s.rdb.AddHook(countGets{&reads})
	gets := func() int { return int(reads.Load()) }
	begin := func(key string) *Claim {
		t.Helper()
		rec, fresh, err := s.BeginIdempotent(ctx, "key-1", key, "fp", IdemOptions{TTL: time.Hour, Lease: time.Hour})
		if err != nil || !fresh {
			t.Fatalf("BeginIdempotent(%s) = fresh %v, %v", key, fresh, err)
		}
		return rec.Claim
	}
	finished := func(key string) idemRecord {
		t.Helper()
		raw, err := rdb.Get(ctx, idemKey("key-1", key)).Result()
		if err != nil {
			t.Fatal(err)
		}
		var r idemRecord
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatal(err)
		}
		if r.Pending || r.Status != 201 || string(r.Body) != "b1" {
			t.Fatalf("record %s after the finish: pending %v, status %d, body %q", key, r.Pending, r.Status, r.Body)
		}
		return r
	}

	c := begin("mine")
	before := gets()
	if err := s.FinishIdempotent(ctx, c, IdemAnswer{Status: 201, Body: []byte("b1")}); err != nil {
		t.Fatal(err)
	}
	if n := gets() - before; n != 0 {
		t.Errorf("finishing the record it began read it %d times, want none", n)
	}
	finished("mine")

	// Another writer moved the lease meanwhile (as a retry's resolve or a
	// takeover would write): the finish reads the record and keeps it.
	c = begin("changed")
	raw := rdb.Get(ctx, idemKey("key-1", "changed")).Val()
	var r idemRecord
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	r.LeaseUntil = r.LeaseUntil.Add(time.Minute).Truncate(time.Second)
	other, _ := json.Marshal(&r)
	if err := rdb.Set(ctx, idemKey("key-1", "changed"), other, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	before = gets()
	if err := s.FinishIdempotent(ctx, c, IdemAnswer{Status: 201, Body: []byte("b1")}); err != nil {
		t.Fatal(err)
	}
	if n := gets() - before; n != 1 {
		t.Errorf("finishing a record changed since read it %d times, want once", n)
	}
	if got := finished("changed"); !got.LeaseUntil.Equal(r.LeaseUntil) {
		t.Errorf("the finish lost the other writer's lease: %v, want %v", got.LeaseUntil, r.LeaseUntil)
	}
	// Finished: finishing again is refused, on the record as it is.
	if err := s.FinishIdempotent(ctx, c, IdemAnswer{Status: 201, Body: []byte("b2")}); err == nil {
		t.Error("a second finish was accepted")
	}
	finished("changed")
	// Its record expired since: the answer is what Redis holds (none),
	// not what the claim last wrote (finished).
	if err := rdb.Del(ctx, idemKey("key-1", "changed")).Err(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "FinishIdempotent(expired since)", s.FinishIdempotent(ctx, c, IdemAnswer{Status: 201}), doorstep.ENOTFOUND)
}

// countGets counts the GET commands a client sends, alone or pipelined.
type countGets struct{ n *atomic.Int64 }

func (countGets) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countGets) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "get" {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h countGets) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if cmd.Name() == "get" {
				h.n.Add(1)
			}
		}
		return next(ctx, cmds)
	}
}

// TestClaimIsOneSet: a claim is one SET NX GET, no script, on a Redis
// that has it (7.0 and later); on one that refuses it as a syntax error
// the store keeps to the script from then on, with the same answers.
func TestClaimIsOneSet(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(fmt.Sprintf("refused=%v", old), func(t *testing.T) {
			h := openRedis(t)
			s, ctx := h.s, t.Context()
			var evals, refused atomic.Int64
			s.rdb.AddHook(countEvals{&evals})
			if old {
				s.rdb.AddHook(refuseSetNXGet{&refused})
			}
			begins := int64(0) // script calls of the claims
			for i, fp := range []string{"fp", "fp", "other"} {
				before := evals.Load()
				rec, fresh, err := s.BeginIdempotent(ctx, "key-1", "k1", fp, IdemOptions{})
				begins += evals.Load() - before
				if err != nil || fresh != (i == 0) || rec == nil {
					t.Fatalf("claim %d: fresh %v, %v; want fresh %v", i, fresh, err, i == 0)
				}
				if i == 0 {
					if err := s.FinishIdempotent(ctx, rec.Claim, IdemAnswer{Status: 201}); err != nil {
						t.Fatal(err)
					}
				}
			}
			evals.Store(begins)
			switch {
			case !old && evals.Load() != 0:
				t.Errorf("three claims made %d script calls, want none", evals.Load())
			case old && (refused.Load() != 1 || evals.Load() < 3 || !s.noSetNXGet.Load()):
				// (A first script call may be an EVALSHA refused, then an EVAL.)
				t.Errorf("an old Redis: SET NX GET sent %d times, script calls %d; want once, and a script each claim", refused.Load(), evals.Load())
			}
		})
	}
}

// refuseSetNXGet answers SET ... NX ... GET as a Redis before 7.0 does.
type refuseSetNXGet struct{ n *atomic.Int64 }

type syntaxError struct{}

func (syntaxError) Error() string { return "ERR syntax error" }
func (syntaxError) RedisError()   {}

func (refuseSetNXGet) DialHook(next redis.DialHook) redis.DialHook { return next }

// refuse answers cmd as an old Redis when it is SET ... GET.
func (h refuseSetNXGet) refuse(cmd redis.Cmder) bool {
	if cmd.Name() == "set" && slices.ContainsFunc(cmd.Args(), func(a any) bool { return a == "get" }) {
		h.n.Add(1)
		cmd.SetErr(syntaxError{})
		return true
	}
	return false
}

func (h refuseSetNXGet) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.refuse(cmd) {
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}

func (h refuseSetNXGet) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		rest := slices.DeleteFunc(slices.Clone(cmds), h.refuse)
		if len(rest) == 0 {
			return syntaxError{}
		}
		return next(ctx, rest)
	}
}

// TestClaimReadsTheCustomersLastWorker: a claim made for a customer reads
// the customer's last worker in its own round trip, and a LastWorker
// under the claim answers from it without another; for another customer
// or tenant it reads Redis, and a last worker this process has not
// written yet is newer than the one read with the claim.
func TestClaimReadsTheCustomersLastWorker(t *testing.T) {
	s, _ := openPair(t)
	ctx := t.Context()
	for _, c := range [][3]string{{"key-1", "c1", "w1"}, {"key-1", "c2", "w2"}, {"key-2", "c1", "w3"}} {
		if err := s.SetLastWorker(ctx, c[0], c[1], c[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	var trips atomic.Int64
	s.rdb.AddHook(countTrips{&trips})
	for i, c := range []struct{ customer, want string }{{"c1", "w1"}, {"c9", ""}} {
		trips.Store(0)
		rec, fresh, err := s.BeginIdempotent(ctx, "key-1", fmt.Sprintf("k%d", i), "fp", IdemOptions{Customer: c.customer})
		if err != nil || !fresh {
			t.Fatalf("BeginIdempotent: fresh %v, %v", fresh, err)
		}
		cctx := WithClaim(ctx, rec.Claim)
		if got, err := s.LastWorker(cctx, "key-1", c.customer); err != nil || got != c.want {
			t.Errorf("LastWorker(%s) under its claim = %q, %v; want %q", c.customer, got, err, c.want)
		}
		if n := trips.Load(); n != 1 {
			t.Errorf("a claim and its customer's last worker took %d round trips, want 1", n)
		}
	}
	rec, _, err := s.BeginIdempotent(ctx, "key-1", "k2", "fp", IdemOptions{Customer: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	cctx := WithClaim(ctx, rec.Claim)
	for _, c := range [][3]string{{"key-1", "c2", "w2"}, {"key-2", "c1", "w3"}} {
		if got, err := s.LastWorker(cctx, c[0], c[1]); err != nil || got != c[2] {
			t.Errorf("LastWorker(%s, %s) under another customer's claim = %q, %v; want %q", c[0], c[1], got, err, c[2])
		}
	}
	if err := s.SetLastWorker(ctx, "key-1", "c1", "w4"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LastWorker(cctx, "key-1", "c1"); err != nil || got != "w4" {
		t.Errorf("LastWorker after a newer SetLastWorker = %q, %v; want w4", got, err)
	}
}
