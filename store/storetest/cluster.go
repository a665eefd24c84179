package storetest

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterTimeout bounds how long a new cluster may take to agree on its
// slots.
const clusterTimeout = 20 * time.Second

// RunCluster starts a Redis Cluster of n masters without replicas: n
// RunRedis servers (each on a free port with a free cluster bus port),
// the 16384 slots split evenly between them. It waits until every node
// reports the cluster ok, and the servers stop when the test ends.
// ClusterURL names them for a cluster client.
func RunCluster(tb testing.TB, n int) []*Server {
	tb.Helper()
	ctx := context.Background()
	servers := make([]*Server, n)
	clients := make([]*redis.Client, n)
	buses := make([]string, n)
	for i := range servers {
		bus, err := freePort()
		if err != nil {
			tb.Fatalf("storetest: %v", err)
		}
		buses[i] = strconv.Itoa(bus)
		servers[i] = RunRedis(tb, "--cluster-enabled", "yes", "--cluster-port", buses[i])
		clients[i] = redis.NewClient(&redis.Options{Addr: servers[i].Addr})
		tb.Cleanup(func() { clients[i].Close() })
	}
	per := 16384 / n
	for i, c := range clients {
		lo, hi := i*per, (i+1)*per-1
		if i == n-1 {
			hi = 16383
		}
		if err := c.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			tb.Fatalf("storetest: CLUSTER ADDSLOTSRANGE on %s: %v", servers[i].Addr, err)
		}
	}
	for i, s := range servers[1:] {
		host, port, _ := net.SplitHostPort(s.Addr)
		if err := clients[0].Do(ctx, "cluster", "meet", host, port, buses[i+1]).Err(); err != nil {
			tb.Fatalf("storetest: CLUSTER MEET %s: %v", s.Addr, err)
		}
	}
	deadline := time.Now().Add(clusterTimeout)
	for i, c := range clients {
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)+"\r") {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("storetest: the cluster node %s is not ok after %v: %v %s", servers[i].Addr, clusterTimeout, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return servers
}

// ClusterURL is the redis:// URL of a cluster's servers, as
// redis.ParseClusterURL (and the store's Config with Cluster set) reads it.
func ClusterURL(servers []*Server) string {
	u := "redis://" + servers[0].Addr
	for i, s := range servers[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + s.Addr
	}
	return u
}
