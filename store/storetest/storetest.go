// Package storetest runs private redis-server processes for tests: each on
// a free loopback port (never 6379), with its own data directory, stopped
// when the test ends.
//
// The redis-server binary is taken from $DOORSTEP_REDIS_SERVER, else from
// PATH; scripts/test.sh installs it when it is missing.
package storetest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvServer names the environment variable that may hold the path of the
// redis-server binary.
const EnvServer = "DOORSTEP_REDIS_SERVER"

// Timeouts of the harness.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 10 * time.Second
)

// Server is a redis-server process started by RunRedis.
type Server struct {
	// Addr is the server's host:port on loopback.
	Addr string
	// Dir is the server's data directory (RDB and AOF files), kept across
	// Restart.
	Dir string

	tb   testing.TB
	bin  string
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// RunRedis starts a redis-server on a free loopback port with its own
// temporary data directory, waits until it answers PING, and stops it when
// the test ends. args are extra redis-server options ("--appendonly",
// "yes", ...); unless they set them, persistence is off (--save "" and
// --appendonly no). The port, bind address and directory are the
// harness's. A missing redis-server fails the test with a hint.
func RunRedis(tb testing.TB, args ...string) *Server {
	tb.Helper()
	bin, err := serverBinary()
	if err != nil {
		tb.Fatalf("storetest: %v; run scripts/test.sh, which installs redis-server (apt-get install redis-server), or set %s", err, EnvServer)
	}
	s := &Server{tb: tb, bin: bin, Dir: tb.TempDir()}
	if !hasOption(args, "--save") {
		s.args = append(s.args, "--save", "")
	}
	if !hasOption(args, "--appendonly") {
		s.args = append(s.args, "--appendonly", "no")
	}
	s.args = append(s.args, args...)
	// The port is found by binding port 0 and releasing it: another process
	// may take it in between, so a failed start is retried on a new port.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("storetest: %v", err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.start(); lastErr == nil {
			tb.Cleanup(func() {
				if err := s.stop(syscall.SIGTERM); err != nil {
					tb.Errorf("storetest: %v", err)
				}
			})
			return s
		}
	}
	tb.Fatalf("storetest: %v", lastErr)
	return nil
}

// URL is the server's address as a redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Stop shuts the server down gracefully (SIGTERM: with AOF on, what was
// written is flushed). Calls while it is stopped do nothing.
func (s *Server) Stop() {
	s.tb.Helper()
	if err := s.stop(syscall.SIGTERM); err != nil {
		s.tb.Fatalf("storetest: %v", err)
	}
}

// Kill ends the server abruptly (SIGKILL), as a crash or a power cut of
// the process would: only what reached the files survives.
func (s *Server) Kill() {
	s.tb.Helper()
	if err := s.stop(syscall.SIGKILL); err != nil {
		s.tb.Fatalf("storetest: %v", err)
	}
}

// Restart stops the server if it runs and starts it again on the same port
// with the same directory and options, so that it reloads what it
// persisted.
func (s *Server) Restart() {
	s.tb.Helper()
	if err := s.stop(syscall.SIGTERM); err != nil {
		s.tb.Fatalf("storetest: %v", err)
	}
	if err := s.start(); err != nil {
		s.tb.Fatalf("storetest: restart: %v", err)
	}
}

func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	if port == "6379" {
		return errors.New("refusing to run on the default port 6379")
	}
	logFile := filepath.Join(s.Dir, "redis.log")
	argv := append([]string{
		"--port", port,
		"--bind", "127.0.0.1",
		"--dir", s.Dir,
		"--logfile", logFile,
		"--daemonize", "no",
	}, s.args...)
	cmd := exec.Command(s.bin, argv...)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server on %s exited at start: %s", s.Addr, tail(logFile))
		default:
		}
		if ping(s.Addr) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.stop(syscall.SIGKILL)
			return fmt.Errorf("redis-server on %s did not answer PING within %v: %s", s.Addr, startTimeout, tail(logFile))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop signals the server and waits for it to exit.
func (s *Server) stop(sig syscall.Signal) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
		return nil
	case <-time.After(stopTimeout):
	}
	cmd.Process.Kill()
	<-done
	return fmt.Errorf("redis-server on %s ignored %v for %v and was killed", s.Addr, sig, stopTimeout)
}

// ping sends PING in RESP and expects PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

func serverBinary() (string, error) {
	if p := os.Getenv(EnvServer); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvServer, p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("redis-server is not on PATH")
	}
	return p, nil
}

func freePort() (int, error) {
	for range 10 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port != 6379 {
			return port, nil
		}
	}
	return 0, errors.New("find a free port: only 6379 came up")
}

func hasOption(args []string, name string) bool {
	for _, a := range args {
		if a == name {
			return true
		}
	}
	return false
}

// tail returns the end of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return "log: " + s
}
