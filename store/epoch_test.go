package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// TestEpoch walks one store through the lives the marker must tell apart:
// first start (written), a second server (adopted), a pinned start, a
// FLUSHALL, another server's marker, and the marker restored.
func TestEpoch(t *testing.T) {
	t.Parallel()
	h := openRedis(t)
	s, ctx := h.s, t.Context()

	first, created, err := s.EnsureEpoch(ctx, "")
	if err != nil || !created || first.ID == "" || first.Created.IsZero() {
		t.Fatalf("EnsureEpoch on an empty store = %+v, %v, %v; want a new epoch", first, created, err)
	}
	again, created, err := s.EnsureEpoch(ctx, "")
	if err != nil || created || again != first {
		t.Fatalf("EnsureEpoch again = %+v, %v, %v; want %+v adopted", again, created, err, first)
	}
	if got, _, err := s.EnsureEpoch(ctx, first.ID); err != nil || got != first {
		t.Fatalf("EnsureEpoch pinned to the store's epoch = %+v, %v", got, err)
	}
	if _, _, err := s.EnsureEpoch(ctx, "elsewhere"); !errors.Is(err, ErrStoreReset) {
		t.Fatalf("EnsureEpoch pinned to another epoch = %v, want ErrStoreReset", err)
	}

	logs := new(bytes.Buffer)
	g := NewEpochGuard(s, first.ID, nil, slog.New(slog.NewTextHandler(logs, nil)))
	other := NewEpoch(s.now())
	tests := []struct {
		name  string
		do    func() error
		found string // the epoch the guard must report found; "-" for none reported
	}{
		{"intact", func() error { return nil }, "-"},
		{"flushed", func() error { return s.rdb.FlushAll(ctx).Err() }, ""},
		{"still flushed", func() error { return nil }, ""},
		{"another server's epoch", func() error {
			_, _, err := s.EnsureEpoch(ctx, "")
			other, _ = s.readEpoch(ctx)
			return err
		}, "other"},
		{"restored", func() error { return s.rdb.Set(ctx, epochKey, mustJSON(t, first), 0).Err() }, "-"},
	}
	for _, tt := range tests {
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		err := g.Check(ctx)
		if tt.found == "-" {
			if err != nil || g.Err() != nil {
				t.Errorf("%s: Check = %v, Err = %v; want nil", tt.name, err, g.Err())
			}
			continue
		}
		want := tt.found
		if want == "other" {
			want = other.ID
		}
		var re *ResetError
		if !errors.As(err, &re) || re.Expected != first.ID || re.Found != want || !errors.Is(g.Err(), ErrStoreReset) {
			t.Errorf("%s: Check = %v, want a *ResetError expecting %s and finding %q", tt.name, err, first.ID, want)
		}
		if got := doorstep.ErrorCode(err); got != doorstep.ESTORERESET {
			t.Errorf("%s: error code %q, want %q", tt.name, got, doorstep.ESTORERESET)
		}
	}
	// One error line per change of what was found, one recovery line.
	text := logs.String()
	for _, want := range []string{
		"level=ERROR msg=\"the Redis store was reset or replaced: epoch " + first.ID + " expected, found none; refusing bookings",
		"level=ERROR msg=\"the Redis store was reset or replaced: epoch " + first.ID + " expected, found " + other.ID,
		"level=INFO msg=\"the Redis store holds its epoch again",
	} {
		if strings.Count(text, want) != 1 {
			t.Errorf("the log has %d lines %q, want 1:\n%s", strings.Count(text, want), want, text)
		}
	}
}

// TestEpochRedisDown: an unreachable Redis is an error of Redis, not a
// reset, and leaves the guard's state as it was.
func TestEpochRedisDown(t *testing.T) {
	t.Parallel()
	srv := storetest.RunRedis(t)
	s, err := Open(t.Context(), Config{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e, _, err := s.EnsureEpoch(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	g := NewEpochGuard(s, e.ID, nil, slog.New(slog.DiscardHandler))
	srv.Stop()
	if err := g.Check(t.Context()); doorstep.ErrorCode(err) != doorstep.EUNAVAILABLE || g.Err() != nil {
		t.Errorf("Check with Redis down = %v (Err %v), want unavailable and no reset", err, g.Err())
	}
}

func mustJSON(tb testing.TB, e Epoch) []byte {
	tb.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
