package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Process is a server the load run started: a redis-server or a doorstep
// serve, on loopback, stopped by Stop.
type Process struct {
	Cmd  *exec.Cmd
	Addr string // host:port it listens on
	dir  string
}

// Stop kills the process and waits for it.
func (p *Process) Stop() {
	if p == nil || p.Cmd.Process == nil {
		return
	}
	p.Cmd.Process.Kill()
	p.Cmd.Wait()
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

// FreeAddr returns a loopback address with a port nobody listens on now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StartRedis starts a private redis-server (bin, "" meaning redis-server
// on PATH) on a free loopback port, persisting nothing, and waits until it
// answers.
func StartRedis(ctx context.Context, bin string) (*Process, error) {
	if bin == "" {
		bin = "redis-server"
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "doorstep-load-redis-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{Cmd: cmd, Addr: addr, dir: dir}
	if err := waitFor(ctx, func() error { _, err := RedisInfo(addr, "memory"); return err }); err != nil {
		p.Stop()
		return nil, fmt.Errorf("redis-server on %s: %w", addr, err)
	}
	return p, nil
}

// StartServer starts `bin serve` on a free loopback port with args (the
// store, limits, ...) and pprof on another, and waits until /readyz
// answers 200. Its log goes to logw.
func StartServer(ctx context.Context, bin string, args []string, logw io.Writer) (srv *Process, pprofAddr string, err error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, "", err
	}
	pprofAddr, err = FreeAddr()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, append([]string{"serve", "-addr", addr, "-pprof-addr", pprofAddr}, args...)...)
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start %s serve: %w", bin, err)
	}
	p := &Process{Cmd: cmd, Addr: addr}
	err = waitFor(ctx, func() error {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	})
	if err != nil {
		p.Stop()
		return nil, "", fmt.Errorf("doorstep serve on %s: %w", addr, err)
	}
	return p, pprofAddr, nil
}

func waitFor(ctx context.Context, ready func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after 30 s: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// RSS is the resident set size of process pid in bytes (Linux).
func RSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// RedisInfo sends INFO section to the Redis at addr (RESP over a plain
// connection: the load generator needs nothing more of a client) and
// returns its fields.
func RedisInfo(addr, section string) (map[string]string, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "*2\r\n$4\r\nINFO\r\n$%d\r\n%s\r\n", len(section), section); err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	head, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(head, "$") {
		return nil, fmt.Errorf("INFO: %q", strings.TrimSpace(head))
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil {
		return nil, fmt.Errorf("INFO: %q", head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	fields := map[string]string{}
	for line := range strings.SplitSeq(string(body), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = v
		}
	}
	return fields, nil
}

// HeapAlloc is the live heap of the Go process serving pprof at addr, after
// a garbage collection (the heap profile's MemStats).
func HeapAlloc(addr string) (int64, error) {
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("heap profile without HeapAlloc")
}

// CPUProfile fetches a CPU profile of d from the pprof server at addr into
// file.
func CPUProfile(ctx context.Context, addr string, d time.Duration, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(1, int(d.Seconds()))), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadAvg is the machine's load average (/proc/loadavg's first three
// fields), "" when unknown.
func LoadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
