package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/store/storetest"
)

// aofArgs run redis-server with AOF on and every file in plain text
// (commands, not a compressed RDB preamble), so that a search of the files
// cannot miss a value.
var aofArgs = []string{"--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--rdbcompression", "no"}

// aofInfo reads the AOF rewrite counters of INFO persistence.
func aofInfo(tb testing.TB, s *Store) (rewrites int, busy bool) {
	tb.Helper()
	info, err := s.rdb.Info(tb.Context(), "persistence").Result()
	if err != nil {
		tb.Fatalf("INFO persistence: %v", err)
	}
	fields := map[string]string{}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	rewrites, _ = strconv.Atoi(fields["aof_rewrites"])
	return rewrites, fields["aof_rewrite_in_progress"] != "0" || fields["aof_rewrite_scheduled"] != "0"
}

// waitRewrite waits (a few seconds at most) until more than after AOF
// rewrites have completed and none is running or scheduled.
func waitRewrite(tb testing.TB, s *Store, after int) bool {
	tb.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n, busy := aofInfo(tb, s); n > after && !busy {
			return true
		}
	}
	return false
}

// aofHolding lists the files under dir that hold any of needles.
func aofHolding(tb testing.TB, dir string, needles []string) []string {
	tb.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted by Redis meanwhile
		}
		if err != nil {
			return err
		}
		for _, n := range needles {
			if strings.Contains(string(data), n) {
				found = append(found, fmt.Sprintf("%s holds %q", filepath.Base(path), n))
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("read the AOF files: %v", err)
	}
	return found
}

// wantGoneFromDisk waits (Redis deletes the old files in the background)
// until no file under dir holds any of needles.
func wantGoneFromDisk(tb testing.TB, dir string, needles []string) {
	tb.Helper()
	if found := waitDisk(tb, dir, needles, func(found []string) bool { return len(found) == 0 }); len(found) > 0 {
		tb.Errorf("erased values are still on disk: %v", found)
	}
}

// waitDisk reads which of needles the files under dir hold until done says
// so, for at most 10 s (a generous bound: Redis writes and deletes its files
// in the background, late on a loaded machine), and returns the last read.
func waitDisk(tb testing.TB, dir string, needles []string, done func(found []string) bool) []string {
	tb.Helper()
	var found []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if found = aofHolding(tb, dir, needles); done(found) {
			break
		}
	}
	return found
}

// aofFixture starts redis-server with AOF on and books, for key-1's
// customer cust-aof-1, a booking at homeA, remembered as its history; it
// returns the store, the server and the values an erasure must take off
// the disk (checked to be there first, which shows that the search works).
func aofFixture(t *testing.T) (*Store, *storetest.Server, []string) {
	srv := storetest.RunRedis(t, aofArgs...)
	s, err := Open(t.Context(), testConfig(srv.URL()))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	const cust = "cust-aof-1"
	w := newWorker("w-1", nycA)
	mustPutWorker(t, s, w)
	b := newBooking(w, t0.Add(time.Hour), time.Hour, homeA)
	b.CustomerID = cust
	mustBook(t, s, b)
	if err := s.SetLastWorker(t.Context(), b.Owner, cust, w.ID); err != nil {
		t.Fatalf("SetLastWorker: %v", err)
	}
	needles := append([]string{cust}, storetest.CoordNeedles(homeA)...)
	// Redis may postpone its write to the AOF file while a background fsync
	// is slow (a loaded machine): wait for it, as wantGoneFromDisk does.
	if found := waitDisk(t, srv.Dir, needles, func(found []string) bool { return len(found) >= len(needles) }); len(found) < len(needles) {
		t.Fatalf("before the erasure the AOF files should hold every value; found only %v", found)
	}
	return s, srv, needles
}

// TestEraseRewritesAOF: after an erasure, the customer id and the exact
// place are gone from the append-only files on disk, not only from memory.
func TestEraseRewritesAOF(t *testing.T) {
	t.Parallel()
	s, srv, needles := aofFixture(t)
	before, _ := aofInfo(t, s)
	er, err := s.EraseCustomer(t.Context(), "key-1", "cust-aof-1", t0)
	if err != nil || er.Bookings != 1 || er.RewritePending {
		t.Fatalf("EraseCustomer = %+v, %v; want 1 booking, rewrite started", er, err)
	}
	if !waitRewrite(t, s, before) {
		t.Errorf("no AOF rewrite completed after the erasure")
	}
	wantGoneFromDisk(t, srv.Dir, needles)
	if due, err := s.RewriteAOFIfDue(t.Context()); err != nil || due {
		t.Errorf("RewriteAOFIfDue after a started rewrite = %v, %v; want nothing due", due, err)
	}
}

// TestEraseRewritesAOFWhenBusy: an erasure while a rewrite runs (whose
// snapshot predates the erasure) leaves the rewrite due; RewriteAOFIfDue
// starts it once the running one has ended.
func TestEraseRewritesAOFWhenBusy(t *testing.T) {
	t.Parallel()
	s, srv, needles := aofFixture(t)
	ctx := t.Context()
	// A slow rewrite: 20 keys at 50 ms each (rdb-key-save-delay, in µs,
	// slows the rewriting child).
	for i := range 20 {
		if err := s.rdb.Set(ctx, fmt.Sprintf("filler:%d", i), "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.rdb.ConfigSet(ctx, "rdb-key-save-delay", "50000").Err(); err != nil {
		t.Fatalf("CONFIG SET rdb-key-save-delay: %v", err)
	}
	before, _ := aofInfo(t, s)
	if err := s.rdb.BgRewriteAOF(ctx).Err(); err != nil {
		t.Fatalf("BGREWRITEAOF: %v", err)
	}
	if err := s.rdb.ConfigSet(ctx, "rdb-key-save-delay", "0").Err(); err != nil {
		t.Fatal(err)
	}
	er, err := s.EraseCustomer(ctx, "key-1", "cust-aof-1", t0)
	if err != nil || !er.RewritePending {
		t.Fatalf("EraseCustomer during a rewrite = %+v, %v; want the rewrite pending", er, err)
	}
	if err := s.RewriteAOF(ctx); !errors.Is(err, ErrRewriteBusy) {
		t.Errorf("RewriteAOF during a rewrite = %v, want ErrRewriteBusy", err)
	}
	started := false
	for deadline := time.Now().Add(15 * time.Second); !started && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		started, err = s.RewriteAOFIfDue(ctx)
		if err != nil && !errors.Is(err, ErrRewriteBusy) {
			t.Fatalf("RewriteAOFIfDue: %v", err)
		}
	}
	if !started {
		t.Fatal("RewriteAOFIfDue never started the rewrite the erasure left due")
	}
	if !waitRewrite(t, s, before+1) {
		t.Errorf("the second AOF rewrite did not complete")
	}
	wantGoneFromDisk(t, srv.Dir, needles)
	if due, err := s.RewriteAOFIfDue(ctx); err != nil || due {
		t.Errorf("RewriteAOFIfDue again = %v, %v; want nothing due", due, err)
	}
}

// TestRewriteAOFOff: with AOF off, and on the embedded store, RewriteAOF
// and an erasure start no rewrite and leave nothing due.
func TestRewriteAOFOff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		open openFunc
	}{
		{"redis without AOF", openRedis},
		{"embedded", openEmbeddedHarness},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.open(t).s
			if err := s.RewriteAOF(t.Context()); err != nil {
				t.Errorf("RewriteAOF = %v", err)
			}
			er, err := s.EraseCustomer(t.Context(), "key-1", "cust-none", t0)
			if err != nil || er.RewritePending {
				t.Errorf("EraseCustomer = %+v, %v; want nothing pending", er, err)
			}
			if due, err := s.RewriteAOFIfDue(t.Context()); err != nil || due {
				t.Errorf("RewriteAOFIfDue = %v, %v; want nothing due", due, err)
			}
			if !s.Embedded() {
				if n, _ := aofInfo(t, s); n != 0 {
					t.Errorf("%d AOF rewrites with AOF off", n)
				}
			}
		})
	}
}
