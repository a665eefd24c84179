package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

// dropProxy forwards TCP connections to a Redis, except that, once armed, it
// swallows the reply to the next script run (EVAL or EVALSHA, a NOSCRIPT
// error aside) and closes that client connection, as a network failure
// after Redis ran the script would. go-redis then retries the command on a
// fresh connection.
type dropProxy struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
	evals  atomic.Int32 // script commands seen
	drops  atomic.Int32 // replies swallowed
	wg     sync.WaitGroup
}

// startDropProxy listens on a free loopback port and forwards to target.
func startDropProxy(tb testing.TB, target string) *dropProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxy: %v", err)
	}
	p := &dropProxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	tb.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *dropProxy) Addr() string { return p.ln.Addr().String() }

func (p *dropProxy) serve() {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		conns.Go(func() { p.handle(c) })
	}
}

func (p *dropProxy) handle(c net.Conn) {
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	var closeOnce sync.Once
	closeBoth := func() { closeOnce.Do(func() { c.Close(); u.Close() }) }
	defer closeBoth()
	var dropNext atomic.Bool // the next reply on this connection answers a script
	done := make(chan struct{})
	go func() { // client -> Redis
		defer close(done)
		defer closeBoth()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if bytes.Contains(bytes.ToLower(buf[:n]), []byte("eval")) {
					p.evals.Add(1)
					if p.armed.Load() {
						dropNext.Store(true)
					}
				}
				if _, werr := u.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for { // Redis -> client
		n, err := u.Read(buf)
		if n > 0 {
			if dropNext.Load() && !bytes.HasPrefix(buf[:n], []byte("-NOSCRIPT")) && p.armed.CompareAndSwap(true, false) {
				p.drops.Add(1)
				closeBoth()
				break
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	closeBoth()
	<-done
}

// testLostReply runs Apply through a proxy that loses the reply of the
// script after Redis ran it: go-redis retries, the script sees its own
// booking, and exactly one booking results.
func testLostReply(t *testing.T, open openFunc) {
	ctx := context.Background()
	h := open(t)
	if h.addr == "" {
		t.Skip("needs one Redis address (a cluster has several; its failover is TestClusterFailover)")
	}
	proxy := startDropProxy(t, h.addr)
	s, err := Open(ctx, Config{URL: "redis://" + proxy.Addr(), MaxRetries: 2})
	if err != nil {
		t.Fatalf("Open through the proxy: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	w := newWorker("w1", nycA)
	v := mustPutWorker(t, s, w)
	region := regionOfLoc(nycA)

	b := newBooking(w, t0, time.Hour, nycB)
	proxy.armed.Store(true)
	evals := proxy.evals.Load()
	if err := s.Apply(ctx, Change{Region: region, Expect: map[string]int64{"w1": v}, Create: []*doorstep.Booking{b}}); err != nil {
		t.Fatalf("Apply with a lost reply: %v", err)
	}
	if got := proxy.drops.Load(); got != 1 {
		t.Fatalf("the proxy dropped %d replies, want 1", got)
	}
	if got := proxy.evals.Load() - evals; got < 2 {
		t.Errorf("the script was sent %d times, want a retry", got)
	}
	bs, err := h.s.WorkerBookings(ctx, "w1", t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("WorkerBookings: %v", err)
	}
	if diff := cmp.Diff(bookingIDs(bs), []string{b.ID}); diff != "" {
		t.Errorf("timeline (-got +want):\n%s", diff)
	}
	if got := mustVersion(t, h.s, "w1"); got != v+1 {
		t.Errorf("version = %d, want %d", got, v+1)
	}

	// A cancellation (a change without creates) survives a lost reply too.
	c := *b
	c.Touch(t0, doorstep.ChangeCancel)
	c.Status = doorstep.StatusCancelled
	proxy.armed.Store(true)
	if err := s.Apply(ctx, Change{Region: region, Expect: map[string]int64{"w1": v + 1}, Update: []*doorstep.Booking{&c}}); err != nil {
		t.Fatalf("cancel with a lost reply: %v", err)
	}
	if got := proxy.drops.Load(); got != 2 {
		t.Fatalf("the proxy dropped %d replies, want 2", got)
	}
	if got := mustVersion(t, h.s, "w1"); got != v+2 {
		t.Errorf("version after cancel = %d, want %d", got, v+2)
	}

	// Without retries the lost reply surfaces as unavailability, and the
	// booking was nevertheless made: re-running the same change reports
	// success without booking twice.
	s0, err := Open(ctx, Config{URL: "redis://" + proxy.Addr(), MaxRetries: -1})
	if err != nil {
		t.Fatalf("Open without retries: %v", err)
	}
	t.Cleanup(func() { s0.Close() })
	b2 := newBooking(w, t0.Add(3*time.Hour), time.Hour, nycB)
	ch := Change{Region: region, Expect: map[string]int64{"w1": v + 2}, Create: []*doorstep.Booking{b2}}
	proxy.armed.Store(true)
	err = s0.Apply(ctx, ch)
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		t.Logf("Apply without retries: %v", err)
	}
	wantCode(t, "Apply without retries, reply lost", err, doorstep.EUNAVAILABLE)
	if err := s0.Apply(ctx, ch); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if got := mustVersion(t, h.s, "w1"); got != v+3 {
		t.Errorf("version after a lost reply and a re-run = %d, want %d", got, v+3)
	}
}
