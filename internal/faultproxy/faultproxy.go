// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a server (Doorstep's tests put it between the store
// and a real redis-server): it can stop answering (a partition, a hung
// server), delay every chunk (a slow or overloaded server), refuse
// connections (a server that is down), or lose the reply to one chosen
// request after the server acted on it. Heal returns it to plain
// forwarding without restarting anything on either side.
package faultproxy

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// mode is what the proxy does to traffic.
type mode int

const (
	pass      mode = iota // forward
	blackhole             // accept and read, never forward
	slow                  // forward each chunk after a delay
	down                  // refuse connections
)

// Drop says which reply to lose (see Proxy.DropReply).
type Drop struct {
	// Request matches a chunk the client sends; the next chunk the target
	// answers on that connection is the reply to lose.
	Request func(chunk []byte) bool
	// Keep, if set, matches replies to forward nonetheless (a reply that
	// asks the client to send the request again in another form, such as
	// Redis's -NOSCRIPT); the drop then stays armed.
	Keep func(reply []byte) bool
}

// Proxy forwards TCP connections from Addr to a target address, with the
// faults it is told to inject. Its methods are safe for concurrent use.
type Proxy struct {
	target string
	addr   string
	tb     testing.TB

	mu    sync.Mutex
	mode  mode
	delay time.Duration
	ln    net.Listener // nil while down
	conns map[*conn]bool
	drop  *Drop // armed drop, or nil

	dropped atomic.Int32
	wg      sync.WaitGroup
}

// conn is one client connection and its connection to the target.
type conn struct {
	client, server net.Conn
	once           sync.Once
	closed         chan struct{}
	// dropNext is set when the client sent the request whose reply is to
	// be lost.
	dropNext atomic.Bool
	// tainted is set when bytes were swallowed: the stream is out of
	// step, so Heal closes it.
	tainted atomic.Bool
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.closed)
		c.client.Close()
		c.server.Close()
	})
}

// Start listens on a free loopback port and forwards to target. The proxy
// stops when the test ends.
func Start(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("faultproxy: %v", err)
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), tb: tb, conns: make(map[*conn]bool)}
	p.serve(ln)
	tb.Cleanup(p.close)
	return p
}

// Addr is the address clients connect to. It stays the same across Down
// and Heal.
func (p *Proxy) Addr() string { return p.addr }

// Blackhole makes the proxy accept connections and read what clients send
// but never forward a byte either way, on new and open connections: a
// client sees a server that hangs.
func (p *Proxy) Blackhole() { p.set(blackhole, 0) }

// Slow delays every chunk, both ways, by d, on new and open connections.
func (p *Proxy) Slow(d time.Duration) { p.set(slow, d) }

// Down closes the listener, so that connections are refused, and cuts
// every open connection: the server is gone.
func (p *Proxy) Down() {
	p.mu.Lock()
	p.mode = down
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	p.cut(func(*conn) bool { return true })
}

// Heal returns to plain forwarding: after Down it listens again on the
// same address; connections whose bytes were swallowed are closed, since
// their streams are out of step.
func (p *Proxy) Heal() {
	p.tb.Helper()
	p.mu.Lock()
	wasDown := p.mode == down
	p.mode, p.delay, p.drop = pass, 0, nil
	p.mu.Unlock()
	p.cut(func(c *conn) bool { return c.tainted.Load() })
	if !wasDown {
		return
	}
	// Another process may take the port in between; retry briefly.
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.tb.Fatalf("faultproxy: listen again on %s: %v", p.addr, err)
}

// DropReply arms the proxy to lose one reply: the reply of the target to
// the first request chunk that d.Request matches is swallowed and that
// connection closed, as a network failure after the server acted on the
// request would do. The client may retry on a new connection.
func (p *Proxy) DropReply(d Drop) {
	p.mu.Lock()
	p.drop = &d
	p.mu.Unlock()
}

// Dropped is how many replies DropReply has lost.
func (p *Proxy) Dropped() int { return int(p.dropped.Load()) }

func (p *Proxy) set(m mode, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == down {
		p.tb.Fatalf("faultproxy: Heal before changing the fault of a proxy that is down")
	}
	p.mode, p.delay = m, d
}

func (p *Proxy) state() (mode, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.delay
}

// cut closes the open connections that match.
func (p *Proxy) cut(match func(*conn) bool) {
	p.mu.Lock()
	var cs []*conn
	for c := range p.conns {
		if match(c) {
			cs = append(cs, c)
		}
	}
	p.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
}

func (p *Proxy) close() {
	p.mu.Lock()
	ln := p.ln
	p.ln, p.mode = nil, down
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	p.cut(func(*conn) bool { return true })
	p.wg.Wait()
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.handle(c) })
		}
	})
}

func (p *Proxy) handle(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	c := &conn{client: client, server: server, closed: make(chan struct{})}
	p.mu.Lock()
	if p.mode == down {
		p.mu.Unlock()
		c.close()
		return
	}
	p.conns[c] = true
	p.mu.Unlock()
	defer func() {
		c.close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.pump(c, client, server, true)
	}()
	p.pump(c, server, client, false)
	<-done
}

// pump copies src to dst chunk by chunk, applying the current fault to
// each, until either side fails; then it closes the connection pair.
func (p *Proxy) pump(c *conn, src, dst net.Conn, request bool) {
	defer c.close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.forward(c, dst, buf[:n], request) {
			return
		}
		if err != nil {
			return
		}
	}
}

// forward applies the fault to one chunk and sends what is left of it; it
// reports whether the connection lives on.
func (p *Proxy) forward(c *conn, dst net.Conn, chunk []byte, request bool) bool {
	m, d := p.state()
	switch m {
	case blackhole, down:
		c.tainted.Store(true)
		return true
	case slow:
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.closed:
			t.Stop()
			return false
		}
	}
	if request {
		p.mu.Lock()
		if p.drop != nil && p.drop.Request(chunk) {
			c.dropNext.Store(true)
		}
		p.mu.Unlock()
	} else if c.dropNext.Load() {
		p.mu.Lock()
		lose := p.drop != nil && (p.drop.Keep == nil || !p.drop.Keep(chunk))
		if lose {
			p.drop = nil
		}
		p.mu.Unlock()
		c.dropNext.Store(false)
		if lose {
			p.dropped.Add(1)
			return false
		}
	}
	_, err := dst.Write(chunk)
	return err == nil
}
