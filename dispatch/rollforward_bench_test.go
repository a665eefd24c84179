package dispatch_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// commands counts the commands a redis-server has processed (INFO stats),
// the one INFO included: a measure of work that load does not change.
type commands struct{ rdb *redis.Client }

func (c commands) n(tb testing.TB) int64 {
	tb.Helper()
	info, err := c.rdb.Info(tb.Context(), "stats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_commands_processed:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatal("INFO stats: no total_commands_processed")
	return 0
}

// BenchmarkRollForward measures the roll-forward's cost per series on a
// real redis-server: each op is one RollForward pass over `series` series
// of a weekly Tuesday rule whose next occurrence has just entered the
// horizon (ns/series is its time divided by the series it placed one
// occurrence of). Booking those series, and cancelling them after the pass
// so that the workers stay free, is not timed. The baseline, "book", is one
// normal booking of the same request (dispatch.Service.Book): what placing
// one occurrence would cost as an ordinary booking. "idle" is a pass with
// nothing due (the loop's cost between occurrences).
func BenchmarkRollForward(b *testing.B) {
	start := utc(b, "2027-03-20T08:00:00Z")
	due := utc(b, "2027-03-23T07:00:00Z") // Apr 6 enters the 14-day horizon
	var cmds commands
	setup := func(b *testing.B) *env {
		rs := storetest.RunRedis(b)
		cmds = commands{redis.NewClient(&redis.Options{Addr: rs.Addr})}
		b.Cleanup(func() { cmds.rdb.Close() })
		e := openEnv(b, rs.URL(), start, func(c *dispatch.Config) { c.Horizon = 14 * 24 * time.Hour })
		for i := range 40 {
			e.put(b, worker(fmt.Sprintf("w%02d", i), offset(base, float64(i%8)-4, float64(i/8)-2),
				daysOf2027(b, "03-23", "03-30", "04-06", "04-13")))
		}
		return e
	}
	request := func(i int) doorstep.Request {
		r := normal(offset(base, float64(i%10)-5, float64(i/10%10)-5), mins(60), time.Time{}, time.Time{})
		r.Window = berlin9(b, "03-23")
		r.Window.End = r.Window.Start.Add(8 * time.Hour)
		r.CustomerID = fmt.Sprintf("c%d", i)
		return r
	}
	rule := dispatch.Recurrence{RRule: "FREQ=WEEKLY;BYDAY=TU;COUNT=4", TimeZone: "Europe/Berlin"}
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("roll/series=%d", n), func(b *testing.B) {
			e := setup(b)
			b.ReportAllocs()
			placed, sent := 0, int64(0)
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				e.clk.Set(start)
				var made []string
				for j := range n {
					out, err := e.svc.BookSeries(b.Context(), request(j), rule, tenant)
					if err != nil {
						b.Fatalf("BookSeries: %v", err)
					}
					made = append(made, out.SeriesID)
				}
				e.clk.Set(due)
				c0 := cmds.n(b)
				b.StartTimer()
				st, err := e.svc.RollForward(b.Context(), 0)
				b.StopTimer()
				sent += cmds.n(b) - c0 - 1
				if err != nil || st.Series != n {
					b.Fatalf("RollForward: %+v, %v; want %d series", st, err, n)
				}
				placed += st.Placed
				e.clk.Set(start)
				for _, id := range made {
					if _, err := e.svc.CancelSeries(b.Context(), id, tenant); err != nil {
						b.Fatalf("CancelSeries: %v", err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/series")
			b.ReportMetric(float64(placed)/float64(b.N*n), "placed/series")
			b.ReportMetric(float64(sent)/float64(b.N*n), "redis-cmds/series")
		})
	}
	b.Run("book", func(b *testing.B) {
		e := setup(b)
		b.ReportAllocs()
		sent := int64(0)
		b.StopTimer()
		for i := 0; i < b.N; i++ {
			r := request(i % 50)
			r.Window = berlin9(b, "04-06")
			r.Window.End = r.Window.Start.Add(8 * time.Hour)
			e.clk.Set(r.Window.Start.Add(-time.Hour))
			c0 := cmds.n(b)
			b.StartTimer()
			bk, err := e.svc.Book(b.Context(), r, tenant)
			b.StopTimer()
			sent += cmds.n(b) - c0 - 1
			if err != nil {
				b.Fatalf("Book: %v", err)
			}
			if _, err := e.svc.Cancel(b.Context(), bk.Booking.ID, tenant); err != nil {
				b.Fatalf("Cancel: %v", err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/series")
		b.ReportMetric(float64(sent)/float64(b.N), "redis-cmds/series")
	})
	b.Run("idle", func(b *testing.B) {
		e := setup(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.svc.RollForward(b.Context(), 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
