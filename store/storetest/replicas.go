package storetest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// ClusterNodeTimeout is the cluster-node-timeout of RunReplicated's nodes,
// in milliseconds: a master unreachable for this long is failed over to its
// replica, about one to two seconds later (the replica's election delay).
const ClusterNodeTimeout = 1500

// Cluster is a Redis Cluster with one replica per master, started by
// RunReplicated. Masters and Replicas are as they were at start
// (Replicas[i] replicates Masters[i]); after a failover ask MasterOf.
type Cluster struct {
	Masters  []*Server
	Replicas []*Server
	tb       testing.TB
}

// RunReplicated starts a Redis Cluster of n masters, each with one
// replica, as production runs it: the 16384 slots split evenly between the
// masters, cluster-node-timeout ClusterNodeTimeout, replicas that may take
// over whatever their lag (cluster-replica-validity-factor 0), and
// cluster-require-full-coverage no, so that the slots of the other masters
// keep serving while one master is failed over. args are extra
// redis-server options for every node. It waits until every node reports
// the cluster ok with every replica attached; the servers stop when the
// test ends.
func RunReplicated(tb testing.TB, n int, args ...string) *Cluster {
	tb.Helper()
	ctx := context.Background()
	opts := append([]string{
		"--cluster-enabled", "yes",
		"--cluster-node-timeout", strconv.Itoa(ClusterNodeTimeout),
		"--cluster-replica-validity-factor", "0",
		"--cluster-require-full-coverage", "no",
	}, args...)
	c := &Cluster{tb: tb}
	var all []*Server
	for i := range 2 * n {
		bus, err := freePort()
		if err != nil {
			tb.Fatalf("storetest: %v", err)
		}
		s := RunRedis(tb, append(opts, "--cluster-port", strconv.Itoa(bus))...)
		all = append(all, s)
		if i < n {
			c.Masters = append(c.Masters, s)
		} else {
			c.Replicas = append(c.Replicas, s)
		}
	}
	per := 16384 / n
	for i, m := range c.Masters {
		lo, hi := i*per, (i+1)*per-1
		if i == n-1 {
			hi = 16383
		}
		withClient(tb, m.Addr, func(cl *redis.Client) {
			if err := cl.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
				tb.Fatalf("storetest: CLUSTER ADDSLOTSRANGE on %s: %v", m.Addr, err)
			}
		})
	}
	withClient(tb, all[0].Addr, func(cl *redis.Client) {
		for _, s := range all[1:] {
			host, port, _ := net.SplitHostPort(s.Addr)
			if err := cl.Do(ctx, "cluster", "meet", host, port, busPort(tb, s)).Err(); err != nil {
				tb.Fatalf("storetest: CLUSTER MEET %s: %v", s.Addr, err)
			}
		}
	})
	deadline := time.Now().Add(clusterTimeout)
	for i, r := range c.Replicas {
		id := nodeID(tb, c.Masters[i].Addr)
		withClient(tb, r.Addr, func(cl *redis.Client) {
			for {
				// The replica must have heard of its master first.
				err := cl.ClusterReplicate(ctx, id).Err()
				if err == nil {
					return
				}
				if time.Now().After(deadline) {
					tb.Fatalf("storetest: CLUSTER REPLICATE on %s: %v", r.Addr, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
	c.WaitHealthy(clusterTimeout)
	return c
}

// busPort is the cluster bus port a server was started with.
func busPort(tb testing.TB, s *Server) string {
	for i, a := range s.args {
		if a == "--cluster-port" && i+1 < len(s.args) {
			return s.args[i+1]
		}
	}
	tb.Fatalf("storetest: %s has no --cluster-port", s.Addr)
	return ""
}

// withClient runs f with a plain client of addr.
func withClient(tb testing.TB, addr string, f func(*redis.Client)) {
	cl := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1})
	defer cl.Close()
	f(cl)
}

// nodeID is the cluster node id of the server at addr.
func nodeID(tb testing.TB, addr string) string {
	var id string
	withClient(tb, addr, func(cl *redis.Client) {
		var err error
		id, err = cl.Do(context.Background(), "cluster", "myid").Text()
		if err != nil {
			tb.Fatalf("storetest: CLUSTER MYID on %s: %v", addr, err)
		}
	})
	return id
}

// URL names every node of the cluster for a cluster client.
func (c *Cluster) URL() string {
	return ClusterURL(append(append([]*Server{}, c.Masters...), c.Replicas...))
}

// Nodes are all the servers, masters first.
func (c *Cluster) Nodes() []*Server { return append(append([]*Server{}, c.Masters...), c.Replicas...) }

// live are the nodes whose process runs and answers PING.
func (c *Cluster) live() []*Server {
	var out []*Server
	for _, s := range c.Nodes() {
		s.mu.Lock()
		running := s.cmd != nil
		s.mu.Unlock()
		if running && ping(s.Addr) == nil {
			out = append(out, s)
		}
	}
	return out
}

// server is the node listening on addr, or nil.
func (c *Cluster) server(addr string) *Server {
	for _, s := range c.Nodes() {
		if s.Addr == addr {
			return s
		}
	}
	return nil
}

// MasterOf is the node that serves key's slot now, as a live node's CLUSTER
// SLOTS says.
func (c *Cluster) MasterOf(key string) *Server {
	c.tb.Helper()
	slot, err := c.slots()
	if err != nil {
		c.tb.Fatalf("storetest: %v", err)
	}
	s := c.server(slot.master(Slot(key)))
	if s == nil {
		c.tb.Fatalf("storetest: no node serves the slot of %q", key)
	}
	return s
}

// ReplicaOf is a replica of master now, as the master's INFO replication
// says, or nil when it has none.
func (c *Cluster) ReplicaOf(master *Server) *Server {
	c.tb.Helper()
	var info string
	withClient(c.tb, master.Addr, func(cl *redis.Client) {
		info, _ = cl.Info(context.Background(), "replication").Result()
	})
	for _, line := range strings.Split(info, "\r\n") {
		if !strings.HasPrefix(line, "slave0:") {
			continue
		}
		var ip, port string
		for _, f := range strings.Split(strings.TrimPrefix(line, "slave0:"), ",") {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "ip":
				ip = v
			case "port":
				port = v
			}
		}
		return c.server(net.JoinHostPort(ip, port))
	}
	return nil
}

// slotMap maps each slot to its master's address.
type slotMap [16384]string

func (m *slotMap) master(slot int) string { return m[slot] }

// slots reads CLUSTER SHARDS from the first live node that answers.
func (c *Cluster) slots() (*slotMap, error) {
	var lastErr error = fmt.Errorf("no live node")
	for _, s := range c.live() {
		var shards []redis.ClusterShard
		withClient(c.tb, s.Addr, func(cl *redis.Client) {
			shards, lastErr = cl.ClusterShards(context.Background()).Result()
		})
		if lastErr != nil {
			continue
		}
		var m slotMap
		for _, sh := range shards {
			i := slices.IndexFunc(sh.Nodes, func(n redis.Node) bool { return n.Role == "master" })
			if i < 0 {
				continue
			}
			addr := net.JoinHostPort(sh.Nodes[i].IP, strconv.FormatInt(sh.Nodes[i].Port, 10))
			for _, r := range sh.Slots {
				for k := r.Start; k <= r.End; k++ {
					m[k] = addr
				}
			}
		}
		return &m, nil
	}
	return nil, lastErr
}

// Healthy reports whether every live node says cluster_state:ok and every
// slot is served by a live master, with why not.
func (c *Cluster) Healthy() (bool, string) {
	live := c.live()
	alive := map[string]bool{}
	for _, s := range live {
		alive[s.Addr] = true
	}
	for _, s := range live {
		var info string
		var err error
		withClient(c.tb, s.Addr, func(cl *redis.Client) {
			info, err = cl.ClusterInfo(context.Background()).Result()
		})
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			return false, fmt.Sprintf("node %s: cluster state not ok (%v)", s.Addr, err)
		}
	}
	m, err := c.slots()
	if err != nil {
		return false, err.Error()
	}
	for i, a := range m {
		if !alive[a] {
			return false, fmt.Sprintf("slot %d is served by %q, not a live node", i, a)
		}
	}
	return true, ""
}

// WaitHealthy waits until Healthy, at most timeout, and returns how long
// it took; beyond timeout it fails the test.
func (c *Cluster) WaitHealthy(timeout time.Duration) time.Duration {
	c.tb.Helper()
	start := time.Now()
	for {
		ok, why := c.Healthy()
		if ok && c.replicasAttached() {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			c.tb.Fatalf("storetest: the cluster is not healthy after %v: %s", timeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// replicasAttached reports whether every replica that runs has finished
// its sync with its master (master_link_status:up).
func (c *Cluster) replicasAttached() bool {
	for _, s := range c.live() {
		var info string
		withClient(c.tb, s.Addr, func(cl *redis.Client) {
			info, _ = cl.Info(context.Background(), "replication").Result()
		})
		if strings.Contains(info, "role:slave") && !strings.Contains(info, "master_link_status:up") {
			return false
		}
	}
	return true
}

// Pause stops the server's process (SIGSTOP) without closing its
// connections, as a host that freezes would; Resume lets it go on.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.cmd.Process.Signal(sig)
	}
}

// Cities are candidate homes far apart, each in its own region, for tests
// that spread regions over a cluster's masters (OnePerMaster).
var Cities = []doorstep.Location{
	{Lat: 40.73, Lng: -73.99},  // New York
	{Lat: 42.36, Lng: -71.06},  // Boston
	{Lat: 39.95, Lng: -75.17},  // Philadelphia
	{Lat: 41.88, Lng: -87.63},  // Chicago
	{Lat: 34.05, Lng: -118.24}, // Los Angeles
	{Lat: 47.61, Lng: -122.33}, // Seattle
	{Lat: 29.76, Lng: -95.37},  // Houston
	{Lat: 51.51, Lng: -0.13},   // London
	{Lat: 48.86, Lng: 2.35},    // Paris
	{Lat: 52.52, Lng: 13.40},   // Berlin
	{Lat: 35.68, Lng: 139.69},  // Tokyo
	{Lat: -33.87, Lng: 151.21}, // Sydney
}

// OnePerMaster picks from cities one per master of c, in the masters'
// order: the i-th is a city whose key (key(city), e.g. its region's hash
// tag) Masters[i] serves. It fails the test if some master gets none.
func (c *Cluster) OnePerMaster(cities []doorstep.Location, key func(doorstep.Location) string) []doorstep.Location {
	c.tb.Helper()
	out := make([]doorstep.Location, len(c.Masters))
	found := make([]bool, len(c.Masters))
	for _, loc := range cities {
		m := c.MasterOf(key(loc))
		for i, mst := range c.Masters {
			if m == mst && !found[i] {
				out[i], found[i] = loc, true
			}
		}
	}
	for i, f := range found {
		if !f {
			c.tb.Fatalf("storetest: no candidate city lies in a slot of master %s", c.Masters[i].Addr)
		}
	}
	return out
}
