package faultproxy_test

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/internal/faultproxy"
)

// echoServer answers every line with "echo <line>" and counts the lines
// it received.
func echoServer(tb testing.TB) (addr string, lines chan string) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	lines = make(chan string, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					lines <- strings.TrimSpace(line)
					if _, err := c.Write([]byte("echo " + line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), lines
}

// roundTrip sends line on a new connection and returns the reply, waiting
// at most wait.
func roundTrip(addr, line string, wait time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return send(c, line, wait)
}

func send(c net.Conn, line string, wait time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(reply), err
}

func TestFaults(t *testing.T) {
	t.Parallel()
	target, _ := echoServer(t)
	p := faultproxy.Start(t, target)

	if got, err := roundTrip(p.Addr(), "a", time.Second); err != nil || got != "echo a" {
		t.Fatalf("pass: got %q, %v; want echo a", got, err)
	}
	// An open connection is hit by a fault as well as new ones.
	open, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()

	p.Blackhole()
	for _, c := range []net.Conn{open, nil} {
		var err error
		if c == nil {
			_, err = roundTrip(p.Addr(), "b", 200*time.Millisecond)
		} else {
			_, err = send(c, "b", 200*time.Millisecond)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("blackhole: error %v, want a timeout", err)
		}
	}

	p.Slow(150 * time.Millisecond)
	start := time.Now()
	got, err := roundTrip(p.Addr(), "c", 2*time.Second)
	if took := time.Since(start); err != nil || got != "echo c" || took < 300*time.Millisecond {
		t.Errorf("slow: got %q, %v after %v; want echo c after at least 300ms", got, err, took)
	}

	p.Down()
	if _, err := roundTrip(p.Addr(), "d", time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("down: error %v, want connection refused", err)
	}

	p.Heal()
	if got, err := roundTrip(p.Addr(), "e", time.Second); err != nil || got != "echo e" {
		t.Errorf("healed: got %q, %v; want echo e", got, err)
	}
}

func TestDropReply(t *testing.T) {
	t.Parallel()
	target, lines := echoServer(t)
	p := faultproxy.Start(t, target)
	p.DropReply(faultproxy.Drop{
		Request: func(b []byte) bool { return bytes.Contains(b, []byte("book")) },
		Keep:    func(b []byte) bool { return bytes.Contains(b, []byte("again")) },
	})
	if got, err := roundTrip(p.Addr(), "hello", time.Second); err != nil || got != "echo hello" {
		t.Fatalf("unmatched request: got %q, %v", got, err)
	}
	// A kept reply passes and leaves the drop armed.
	if got, err := roundTrip(p.Addr(), "book again", time.Second); err != nil || got != "echo book again" {
		t.Fatalf("kept reply: got %q, %v", got, err)
	}
	if _, err := roundTrip(p.Addr(), "book", time.Second); err == nil {
		t.Fatal("the reply to book arrived; want it lost")
	}
	if got := p.Dropped(); got != 1 {
		t.Errorf("Dropped() = %d, want 1", got)
	}
	// The server did receive the request whose reply was lost.
	var seen []string
	for len(lines) > 0 {
		seen = append(seen, <-lines)
	}
	if want := "hello,book again,book"; strings.Join(seen, ",") != want {
		t.Errorf("server saw %q, want %q", seen, want)
	}
	// Once used, the drop is spent.
	if got, err := roundTrip(p.Addr(), "book", time.Second); err != nil || got != "echo book" {
		t.Errorf("after the drop: got %q, %v", got, err)
	}
}
