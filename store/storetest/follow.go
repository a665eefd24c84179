package storetest

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// Follower is a store that can follow its change feeds (store.Store), as
// this package sees it without importing the store, whose own tests use
// it.
type Follower interface {
	FollowChanges(ctx context.Context, every time.Duration, log *slog.Logger)
	Mirroring() bool
}

// Follow has s follow its change feeds, reading them every every, until
// the test ends, as serve does, and waits until its mirror serves
// searches (WaitMirroring).
func Follow(tb testing.TB, s Follower, every time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.FollowChanges(ctx, every, nil)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	WaitMirroring(tb, s)
}

// WaitMirroring waits until s's mirror serves searches, failing the test
// after 10 s.
func WaitMirroring(tb testing.TB, s Follower) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); !s.Mirroring(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("the store's mirror did not load its regions within 10 s")
		}
	}
}
