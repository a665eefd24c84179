package store

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestAnswerWrittenBehind: an idempotency answer written behind costs
// its request no round trip; this process replays it at once, another
// once it landed, and it lands with the other writes of its batch.
func TestAnswerWrittenBehind(t *testing.T) {
	s, other := openPair(t)
	ctx := t.Context()
	var trips atomic.Int64
	s.rdb.AddHook(countTrips{&trips})
	rec, fresh, err := s.BeginIdempotent(ctx, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
	if err != nil || !fresh {
		t.Fatalf("BeginIdempotent: fresh %v, %v", fresh, err)
	}
	// The batch waits until this process's checks are done: on a slow
	// machine its timer could fire before them.
	s.behind.writing.Lock()
	held := true
	defer func() {
		if held {
			s.behind.writing.Unlock()
		}
	}()
	trips.Store(0)
	a := IdemAnswer{Status: 201, Body: []byte(`{"id":"b1"}`), Bookings: []string{"b1"}}
	if err := s.FinishIdempotentBehind(ctx, rec.Claim, a); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLastWorker(ctx, "key-1", "c1", "w1"); err != nil {
		t.Fatal(err)
	}
	if n := trips.Load(); n != 0 {
		t.Errorf("the answer and a last worker written behind took %d round trips of the request, want 0", n)
	}
	// Neither waits for an answer, nor for a lease: what each replays is
	// what it has at once.
	s.settle, other.settle = time.Nanosecond, time.Nanosecond
	replay := func(st *Store) *IdempotencyRecord {
		t.Helper()
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		got, fresh, err := st.BeginIdempotent(short, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
		if err != nil || fresh {
			t.Fatalf("BeginIdempotent of a used key: fresh %v, %v", fresh, err)
		}
		return got
	}
	if got := replay(s); got.Pending || got.Status != 201 || string(got.Body) != string(a.Body) {
		t.Errorf("this process replays %+v before the answer landed, want the answer", got)
	}
	held = false
	s.behind.writing.Unlock()
	eventually(t, "the answer at another process", func() bool {
		got := replay(other)
		return !got.Pending && got.Status == 201 && string(got.Body) == string(a.Body)
	})
	// The other process can read the answer before its batch has counted
	// it: the batch counts under writing, so take it before the counts.
	s.behind.writing.Lock()
	st := s.BehindStats()
	s.behind.writing.Unlock()
	if st.Batches != 1 || st.Writes != 2 || st.LostAnswers != 0 {
		t.Errorf("BehindStats = %+v, want the answer and the last worker in one batch", st)
	}
}

// TestRetryElsewhereWaitsForTheAnswer: a retry at another process that
// finds the record pending, its answer still on its way, waits a moment
// and replays the answer rather than answering "in progress".
func TestRetryElsewhereWaitsForTheAnswer(t *testing.T) {
	s, other := openPair(t)
	ctx := t.Context()
	other.settle = time.Second // the answer lands well within it
	rec, fresh, err := s.BeginIdempotent(ctx, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
	if err != nil || !fresh {
		t.Fatalf("BeginIdempotent: fresh %v, %v", fresh, err)
	}
	type result struct {
		rec *IdempotencyRecord
		err error
	}
	done := make(chan result, 1)
	go func() {
		// A deadline well short of the lease: without the wait for the
		// answer, the retry would answer "in progress" at once.
		short, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		got, _, err := other.BeginIdempotent(short, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
		done <- result{got, err}
	}()
	time.Sleep(50 * time.Millisecond) // the retry finds the record pending
	a := IdemAnswer{Status: 201, Body: []byte(`{"id":"b1"}`)}
	if err := s.FinishIdempotent(ctx, rec.Claim, a); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.rec.Pending || string(r.rec.Body) != string(a.Body) {
		t.Errorf("the retry at another process got %+v, %v; want the answer", r.rec, r.err)
	}
	// A request truly in progress is still answered so, after the wait.
	if _, fresh, err := s.BeginIdempotent(ctx, "key-1", "k2", "fp", IdemOptions{TTL: time.Hour}); err != nil || !fresh {
		t.Fatalf("BeginIdempotent: fresh %v, %v", fresh, err)
	}
	other.settle = 10 * time.Millisecond
	short, cancel := context.WithTimeout(ctx, time.Second) // shorter than the lease: not waited out
	defer cancel()
	if got, _, err := other.BeginIdempotent(short, "key-1", "k2", "fp", IdemOptions{TTL: time.Hour}); err != nil || !got.Pending || got.LeaseLeft <= 0 {
		t.Errorf("a retry of a request in progress got %+v, %v; want pending", got, err)
	}
}

// TestAnswerBehindThatCannotLand: an answer whose record changed since
// the claim wrote it is finished as FinishIdempotent would, in the writer;
// one whose claim was taken over is lost, counted, and leaves the record
// to its new holder.
func TestAnswerBehindThatCannotLand(t *testing.T) {
	s, _ := openPair(t)
	ctx := t.Context()
	rec, _, err := s.BeginIdempotent(ctx, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The claim's record changes under it (a region recorded, as a
	// booking does): the CAS the batch sends no longer matches.
	k := idemKey("key-1", "k")
	var r idemRecord
	if err := json.Unmarshal([]byte(s.rdb.Get(ctx, k).Val()), &r); err != nil {
		t.Fatal(err)
	}
	r.Regions = []string{"832a10fffffffff"}
	data, _ := json.Marshal(r)
	if err := s.rdb.SetArgs(ctx, k, data, redis.SetArgs{KeepTTL: true}).Err(); err != nil {
		t.Fatal(err)
	}
	a := IdemAnswer{Status: 201, Body: []byte(`{"id":"b1"}`)}
	if err := s.FinishIdempotentBehind(ctx, rec.Claim, a); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	got, _, err := s.BeginIdempotent(ctx, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
	if err != nil || got.Pending || string(got.Body) != string(a.Body) {
		t.Errorf("after a CAS that missed, the record is %+v, %v; want the answer", got, err)
	}
	if st := s.BehindStats(); st.LostAnswers != 0 {
		t.Errorf("LostAnswers = %d, want 0", st.LostAnswers)
	}
	// A claim taken over by a retry before its answer landed: the answer
	// cannot land, is counted, and leaves the new holder's record.
	rec, _, err = s.BeginIdempotent(ctx, "key-1", "k2", "fp", IdemOptions{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishIdempotentBehind(ctx, rec.Claim, IdemAnswer{Status: 201, Body: []byte(`{"id":"b2"}`)}); err != nil {
		t.Fatal(err)
	}
	k2 := idemKey("key-1", "k2")
	if err := json.Unmarshal([]byte(s.rdb.Get(ctx, k2).Val()), &r); err != nil {
		t.Fatal(err)
	}
	r.Token = "another-request"
	data, _ = json.Marshal(r)
	if err := s.rdb.SetArgs(ctx, k2, data, redis.SetArgs{KeepTTL: true}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); !errors.Is(err, ErrClaimLost) {
		t.Errorf("Flush of an answer whose claim was taken over: %v, want ErrClaimLost", err)
	}
	if st := s.BehindStats(); st.LostAnswers != 1 {
		t.Errorf("LostAnswers = %d, want 1", st.LostAnswers)
	}
	if got := s.rdb.Get(ctx, k2).Val(); got != string(data) {
		t.Errorf("the new holder's record became %s", got)
	}
}

// TestCloseWritesTheAnswers: Close writes the answers kept behind.
func TestCloseWritesTheAnswers(t *testing.T) {
	st := openStores(t, 2)
	s, other := st[0], st[1]
	ctx := t.Context()
	rec, _, err := s.BeginIdempotent(ctx, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishIdempotentBehind(ctx, rec.Claim, IdemAnswer{Status: 201, Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	other.settle = time.Millisecond
	got, _, err := other.BeginIdempotent(ctx, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
	if err != nil || got.Pending || string(got.Body) != "x" {
		t.Errorf("after Close another process reads %+v, %v; want the answer", got, err)
	}
}

// TestErasureLandsTheAnswersFirst: an answer naming a customer's booking,
// still kept behind when the customer is erased, lands before the
// erasure looks for such answers, and goes with the rest: no answer
// written behind brings the customer back.
func TestErasureLandsTheAnswersFirst(t *testing.T) {
	s, other := openPair(t)
	ctx := t.Context()
	w := newWorker("w1", nycA)
	mustPutWorker(t, s, w)
	b := newBooking(w, t0.Add(4*time.Hour), time.Hour, nycB)
	b.CustomerID, b.Owner = "c1", "key-1"
	mustBook(t, s, b)
	rec, _, err := s.BeginIdempotent(ctx, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishIdempotentBehind(ctx, rec.Claim, IdemAnswer{Status: 201, Body: []byte("names c1"), Bookings: []string{b.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EraseCustomer(ctx, "key-1", "c1", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	other.settle = time.Nanosecond
	got, fresh, err := other.BeginIdempotent(ctx, "key-1", "k", "fp", IdemOptions{TTL: time.Hour})
	if err != nil || !fresh {
		t.Errorf("after the erasure the key holds %+v (fresh %v, %v); want it gone with the answer", got, fresh, err)
	}
}
