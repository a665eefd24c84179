package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testIdempotency(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	ignoreTime := cmpopts.IgnoreFields(IdempotencyRecord{}, "CreatedAt")

	rec, fresh, err := s.BeginIdempotent(ctx, "key-1", "k", "fp1", time.Hour)
	if err != nil || !fresh {
		t.Fatalf("BeginIdempotent(new) = %v, %v, %v; want fresh", rec, fresh, err)
	}
	steps := []struct {
		name  string
		do    func() error
		scope string
		fp    string
		want  *IdempotencyRecord
	}{
		{"pending", nil, "key-1", "fp1", &IdempotencyRecord{Fingerprint: "fp1", Pending: true}},
		{"other scope is another key", nil, "key-2", "fp9", nil},
		{"abort of a pending record frees the key", func() error { return s.AbortIdempotent(ctx, "key-1", "k") }, "key-1", "fp2", nil},
		{"finished", func() error { return s.FinishIdempotent(ctx, "key-1", "k", 201, []byte(`{"id":"b1"}`)) }, "key-1", "fp3",
			&IdempotencyRecord{Fingerprint: "fp2", Status: 201, Body: []byte(`{"id":"b1"}`)}},
		{"abort leaves a finished record", func() error { return s.AbortIdempotent(ctx, "key-1", "k") }, "key-1", "fp3",
			&IdempotencyRecord{Fingerprint: "fp2", Status: 201, Body: []byte(`{"id":"b1"}`)}},
	}
	for _, st := range steps {
		if st.do != nil {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		rec, fresh, err := s.BeginIdempotent(ctx, st.scope, "k", st.fp, time.Hour)
		if err != nil {
			t.Fatalf("%s: BeginIdempotent: %v", st.name, err)
		}
		if st.want == nil {
			if !fresh {
				t.Errorf("%s: BeginIdempotent found %+v, want a fresh key", st.name, rec)
			}
			continue
		}
		if fresh {
			t.Errorf("%s: BeginIdempotent was fresh, want %+v", st.name, st.want)
		}
		if diff := cmp.Diff(rec, st.want, ignoreTime); diff != "" {
			t.Errorf("%s: record (-got +want):\n%s", st.name, diff)
		}
	}
	wantCode(t, "FinishIdempotent(twice)", s.FinishIdempotent(ctx, "key-1", "k", 200, nil), doorstep.ECONFLICT)
	wantCode(t, "FinishIdempotent(unknown)", s.FinishIdempotent(ctx, "key-1", "nope", 200, nil), doorstep.ENOTFOUND)
	if err := s.AbortIdempotent(ctx, "key-1", "nope"); err != nil {
		t.Errorf("AbortIdempotent(unknown): %v", err)
	}
	_, _, err = s.BeginIdempotent(ctx, "key-1", "", "fp", time.Hour)
	wantCode(t, "BeginIdempotent(empty key)", err, doorstep.EINVALID)

	// Records expire, on the embedded store too (within a second there).
	if _, fresh, err := s.BeginIdempotent(ctx, "key-1", "short", "fp", 50*time.Millisecond); err != nil || !fresh {
		t.Fatalf("BeginIdempotent(short) = %v, %v", fresh, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(100 * time.Millisecond)
		_, fresh, err := s.BeginIdempotent(ctx, "key-1", "short", "fp2", time.Hour)
		if err != nil {
			t.Fatalf("BeginIdempotent(short, again): %v", err)
		}
		if fresh {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the idempotency record outlived its TTL by 5 s")
		}
	}
}

func testIdempotencyConcurrent(t *testing.T, open openFunc) {
	const goroutines, rounds = 50, 5
	ctx := context.Background()
	s := open(t).s
	for round := range rounds {
		key := "k" + string(rune('a'+round))
		start := make(chan struct{})
		var fresh atomic.Int32
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				<-start
				_, f, err := s.BeginIdempotent(ctx, "key-1", key, "fp", time.Hour)
				if err != nil {
					t.Errorf("BeginIdempotent: %v", err)
				}
				if f {
					fresh.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if got := fresh.Load(); got != 1 {
			t.Errorf("round %d: %d fresh, want 1", round, got)
		}
	}
}
