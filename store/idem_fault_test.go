package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/internal/faultproxy"
	"github.com/redis/go-redis/v9"
)

// The tests of this file hold Redis up at the worst moment of a booking
// with an Idempotency-Key: while the reservation runs (its reply misses the
// request's deadline, or is lost), and right after it ran (the follow-up
// writes meet a frozen Redis).

// isApply matches a request chunk that runs the reservation script.
func isApply(tb testing.TB) func([]byte) bool {
	sha, head := []byte(applySHA(tb)), applyHead(tb)
	return func(b []byte) bool { return bytes.Contains(b, sha) || bytes.Contains(b, head) }
}

// bookingKeys lists the booking keys in Redis.
func bookingKeys(tb testing.TB, c *redis.Client) []string {
	tb.Helper()
	keys, err := c.Keys(context.Background(), "dst:*:b:*").Result()
	if err != nil {
		tb.Fatalf("KEYS: %v", err)
	}
	slices.Sort(keys)
	return keys
}

// pause makes Redis hold every write command (scripts included) for d,
// from now: the command that is about to be sent runs only then.
func pause(tb testing.TB, c *redis.Client, d time.Duration) {
	if err := c.Do(context.Background(), "CLIENT", "PAUSE", d.Milliseconds(), "WRITE").Err(); err != nil {
		tb.Errorf("CLIENT PAUSE: %v", err)
	}
}

// TestRetryAfter5xxBooksOnce: the reservation is held up past the
// request's deadline (its reply lost too, in one case) and the client is
// answered 503. A client that retries with the same Idempotency-Key gets,
// within a few seconds, the booking made (when the late reservation ran
// before the retry looked) or a clean new one (the retry gave the claim up
// first, and the late reservation was refused): exactly one booking either
// way, and a further retry replays it.
func TestRetryAfter5xxBooksOnce(t *testing.T) {
	rig := newFaultRig(t)
	direct := directClient(t, rig.redis)
	apply := isApply(t)
	series := cleaningAt(faultHome)
	series["window"] = map[string]string{"start": faultNow.Add(6 * time.Hour).Format(time.RFC3339), "end": faultNow.Add(8 * time.Hour).Format(time.RFC3339)}
	series["recurrence"] = map[string]int{"interval_days": 1, "count": 2}
	const late = time.Second // past the request's deadline
	cases := []struct {
		name string
		body map[string]any
		// hold is what happens to the reservation: "pause" holds the script
		// itself (Redis holds it until after the deadline, and drops it
		// with the client's connection: nothing is booked); "late" passes
		// its reply on after the deadline; "lost" loses its reply after the
		// deadline (go-redis has no time left to retry).
		hold string
		// wait before retrying: long enough for a held-up reservation to
		// have run, so the retry must find and replay it; zero retries at
		// once, racing it.
		wait time.Duration
	}{
		{"reservation held up, retry at once", cleaningAt(faultHome), "pause", 0},
		{"reservation held up", cleaningAt(faultHome), "pause", late},
		{"late reply", cleaningAt(faultHome), "late", 0},
		{"lost reply", cleaningAt(faultHome), "lost", late},
		{"late reply of a series", series, "late", late},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := bookingKeys(t, direct)
			var once sync.Once
			rig.proxy.DropReply(faultproxy.Drop{
				Request: func(b []byte) bool {
					if apply(b) && tc.hold == "pause" {
						// Synchronously, before the script reaches Redis.
						once.Do(func() { pause(t, direct, 1200*time.Millisecond) })
					}
					return apply(b)
				},
				Keep: func(b []byte) bool {
					if bytes.HasPrefix(b, []byte("-NOSCRIPT")) || tc.hold == "pause" {
						return true
					}
					// Redis ran the reservation; hold its reply (and the
					// proxy) past the deadline.
					time.Sleep(late)
					return tc.hold == "late"
				},
			})
			key := []string{"Idempotency-Key", fmt.Sprintf("retry-%d", i)}
			first := rig.do(t, "POST", "/v1/bookings", tc.body, key...)
			if first.status < 500 {
				t.Fatalf("first answer %d %s, want a 5xx (the reservation was held up)", first.status, first.body)
			}
			rig.proxy.Heal()
			time.Sleep(tc.wait)
			start := time.Now()
			var got answer
			tries := 0
			for time.Since(start) < 5*time.Second {
				tries++
				got = rig.do(t, "POST", "/v1/bookings", tc.body, key...)
				if got.status == http.StatusCreated {
					break
				}
				if got.status != http.StatusConflict && got.status < 500 {
					t.Fatalf("retry: %d %s", got.status, got.body)
				}
				time.Sleep(100 * time.Millisecond)
			}
			took := time.Since(start)
			t.Logf("%s: first answer %d in %v; the retry got %d after %d tries, %v", tc.name, first.status,
				first.took.Round(time.Millisecond), got.status, tries, took.Round(time.Millisecond))
			if got.status != http.StatusCreated {
				t.Fatalf("retries with the same key for %v: last answer %d %s, want 201 with the booking made", took.Round(time.Millisecond), got.status, got.body)
			}
			after := bookingKeys(t, direct)
			made := slices.DeleteFunc(slices.Clone(after), func(k string) bool { return slices.Contains(before, k) })
			var ids []string
			var out struct {
				ID       string `json:"id"`
				SeriesID string `json:"series_id"`
				Bookings []struct {
					ID string `json:"id"`
				} `json:"bookings"`
			}
			if err := json.Unmarshal(got.body, &out); err != nil {
				t.Fatalf("decode %s: %v", got.body, err)
			}
			if out.ID != "" {
				ids = append(ids, out.ID)
			}
			for _, b := range out.Bookings {
				ids = append(ids, b.ID)
			}
			if len(made) == 0 || len(made) != len(ids) {
				t.Fatalf("%d bookings were made (%v); the retry answered %v", len(made), made, ids)
			}
			for _, id := range ids {
				if !slices.ContainsFunc(made, func(k string) bool { return strings.HasSuffix(k, ":b:"+id) }) {
					t.Errorf("the retry answered booking %s, which is not the one made (%v)", id, made)
				}
			}
			// Replayed: the late reservation ran before the retry looked;
			// else the retry gave the claim up first, the late reservation
			// was refused, and the retry booked cleanly.
			replayed := got.header.Get("Idempotent-Replayed") == "true"
			t.Logf("%s: the retry's answer is replayed: %v", tc.name, replayed)
			if tc.hold != "pause" && !replayed {
				t.Errorf("the retry booked anew instead of replaying the booking made")
			}
			again := rig.do(t, "POST", "/v1/bookings", tc.body, key...)
			if again.status != http.StatusCreated || !bytes.Equal(again.body, got.body) {
				t.Errorf("a further retry: %d %s, want the same answer %s", again.status, again.body, got.body)
			}
			if n := len(bookingKeys(t, direct)); n != len(after) {
				t.Errorf("a further retry made %d more bookings", n-len(after))
			}
		})
	}
}

// redisPID is the process id of the redis-server behind c.
func redisPID(tb testing.TB, c *redis.Client) int {
	tb.Helper()
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		tb.Fatalf("INFO server: %v", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err != nil {
				tb.Fatalf("INFO server: process_id %q", v)
			}
			return pid
		}
	}
	tb.Fatal("INFO server: no process_id")
	return 0
}

// TestNoLate2xxDuringRedisHang freezes redis-server (SIGSTOP) for three
// seconds right after it ran a reservation, while clients keep booking with
// Idempotency-Keys: the request whose booking was just made meets a frozen
// Redis for its follow-up writes, the others in flight meet it anywhere.
// No 2xx may come later than the request deadline plus a generous margin
// (the follow-ups run within the deadline and do not hold the answer), and
// afterwards every booking made has its audit event (written by the
// reservation itself). It logs the latest 2xx.
func TestNoLate2xxDuringRedisHang(t *testing.T) {
	// The goal is 50 ms past the deadline; the margin is generous (a loaded
	// machine under -race delays the client's reading), and still well
	// below what a follow-up write that holds the answer costs: it would
	// wait out the freeze, or a settle timeout of seconds.
	const clients, frozen = 6, 3 * time.Second
	const margin = time.Second
	rig := newFaultRig(t)
	for i := range 12 {
		id := fmt.Sprintf("w-extra-%d", i)
		if a := rig.do(t, "PUT", "/v1/workers/"+id, fixtureWorker(id, faultHome)); a.status != http.StatusCreated {
			t.Fatalf("PUT worker: %d %s", a.status, a.body)
		}
	}
	direct := directClient(t, rig.redis)
	pid := redisPID(t, direct)
	apply := isApply(t)
	var booked atomic.Int32
	var froze atomic.Bool
	thaw := make(chan struct{})
	rig.proxy.DropReply(faultproxy.Drop{
		Request: apply,
		// Called with the reply of a reservation, which Redis has run:
		// freeze Redis then (once enough bookings went through, and this
		// one booked), and pass the reply on.
		Keep: func(reply []byte) bool {
			// {"ok"}: a booking was made (not a refusal after a race).
			made := bytes.Contains(reply, []byte("\r\nok\r\n"))
			if made && booked.Load() >= 10 && froze.CompareAndSwap(false, true) {
				if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
					t.Errorf("SIGSTOP redis-server: %v", err)
				}
				go func() {
					time.Sleep(frozen)
					syscall.Kill(pid, syscall.SIGCONT)
					close(thaw)
				}()
			}
			return true
		},
	})
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })

	var mu sync.Mutex
	var max2xx time.Duration
	statuses := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				a := rig.do(t, "POST", "/v1/bookings", cleaningAt(faultHome), "Idempotency-Key", fmt.Sprintf("hang-%d-%d", c, n))
				mu.Lock()
				statuses[a.status]++
				if a.status/100 == 2 {
					booked.Add(1)
					max2xx = max(max2xx, a.took)
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-thaw:
	case <-time.After(60 * time.Second):
		t.Error("Redis was never frozen: no reservation went through")
	}
	time.Sleep(500 * time.Millisecond) // bookings resume after the thaw
	close(stop)
	wg.Wait()
	limit := api.DefaultRequestTimeout + margin
	t.Logf("Redis frozen %v under %d clients: answers %v; the latest 2xx took %v (deadline %v)", frozen, clients, statuses,
		max2xx.Round(time.Millisecond), api.DefaultRequestTimeout)
	if max2xx > limit {
		t.Errorf("a 2xx took %v, want at most the deadline %v + %v", max2xx.Round(time.Millisecond), api.DefaultRequestTimeout, margin)
	}

	// Every booking has its create event.
	events, err := rig.store.ReadAudit(t.Context(), "", 1000)
	if err != nil {
		t.Fatalf("ReadAudit: %v", err)
	}
	created := map[string]bool{}
	for _, e := range events {
		if e.Action == "create" && e.Result == "ok" {
			created[e.BookingID] = true
		}
	}
	for _, k := range bookingKeys(t, direct) {
		id := k[strings.LastIndex(k, ":b:")+3:]
		if !created[id] {
			t.Errorf("booking %s has no audit event", id)
		}
	}
}

// TestBookingAuditedAtomically looks into Redis the moment the reply of a
// reservation leaves it: the booking's audit event is already there. A
// booking is never without its event, whatever happens to the server that
// made it afterwards (kill -9, a hang, a lost connection).
func TestBookingAuditedAtomically(t *testing.T) {
	t.Parallel()
	rig := newFaultRig(t)
	direct := directClient(t, rig.redis)
	var seen atomic.Int32
	rig.proxy.DropReply(faultproxy.Drop{
		Request: isApply(t),
		Keep: func([]byte) bool {
			seen.Add(1)
			keys := bookingKeys(t, direct)
			audited := 0
			streams, err := direct.Keys(context.Background(), "dst:*audit").Result()
			if err != nil {
				t.Errorf("KEYS: %v", err)
			}
			for _, s := range streams {
				msgs, err := direct.XRange(context.Background(), s, "-", "+").Result()
				if err != nil {
					t.Errorf("XRANGE %s: %v", s, err)
				}
				for _, m := range msgs {
					if m.Values["action"] == "create" && m.Values["result"] == "ok" {
						audited++
					}
				}
			}
			if audited != len(keys) {
				t.Errorf("when the reservation's reply left Redis: %d bookings, %d create events", len(keys), audited)
			}
			return true
		},
	})
	for range 3 {
		if a := rig.do(t, "POST", "/v1/bookings", cleaningAt(faultHome)); a.status != http.StatusCreated {
			t.Fatalf("booking: %d %s", a.status, a.body)
		}
	}
	if seen.Load() < 3 { // and a -NOSCRIPT, the first time
		t.Errorf("saw %d reservation replies, want 3", seen.Load())
	}
}
