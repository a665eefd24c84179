package storetest_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/store/storetest"
)

// do sends one command in RESP and returns the first line of the answer.
func do(tb testing.TB, addr string, args ...string) (string, error) {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(line, "$") && line != "$-1\r\n" {
		line, err = r.ReadString('\n')
	}
	return strings.TrimSpace(line), err
}

func mustDo(tb testing.TB, addr string, args ...string) string {
	tb.Helper()
	got, err := do(tb, addr, args...)
	if err != nil {
		tb.Fatalf("%v: %v", args, err)
	}
	return got
}

func TestRunRedis(t *testing.T) {
	s := storetest.RunRedis(t)
	if strings.HasSuffix(s.Addr, ":6379") {
		t.Fatalf("Addr = %s, the default port", s.Addr)
	}
	if got, want := s.URL(), "redis://"+s.Addr+"/0"; got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if got := mustDo(t, s.Addr, "CONFIG", "GET", "appendonly"); got != "*2" {
		t.Fatalf("CONFIG GET answered %q", got)
	}
	mustDo(t, s.Addr, "SET", "k", "v")
	if got := mustDo(t, s.Addr, "GET", "k"); got != "v" {
		t.Errorf("GET k = %q, want v", got)
	}

	// Without persistence a restart starts empty, on the same address.
	s.Restart()
	if got := mustDo(t, s.Addr, "GET", "k"); got != "$-1" {
		t.Errorf("after Restart without persistence GET k = %q, want nil", got)
	}

	s.Stop()
	if _, err := do(t, s.Addr, "PING"); err == nil {
		t.Errorf("PING after Stop succeeded")
	}
	s.Stop() // a second Stop does nothing
}

func TestKillRestartKeepsAOF(t *testing.T) {
	s := storetest.RunRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	mustDo(t, s.Addr, "SET", "k", "kept")
	s.Kill()
	if _, err := do(t, s.Addr, "PING"); err == nil {
		t.Fatalf("PING after Kill succeeded")
	}
	s.Restart()
	if got := mustDo(t, s.Addr, "GET", "k"); got != "kept" {
		t.Errorf("after Kill and Restart GET k = %q, want kept", got)
	}
}

func TestServersAreSeparate(t *testing.T) {
	a, b := storetest.RunRedis(t), storetest.RunRedis(t)
	if a.Addr == b.Addr || a.Dir == b.Dir {
		t.Fatalf("two servers share %s / %s", a.Addr, a.Dir)
	}
	mustDo(t, a.Addr, "SET", "k", "a")
	if got := mustDo(t, b.Addr, "GET", "k"); got != "$-1" {
		t.Errorf("server b sees a's key: %q", got)
	}
}
