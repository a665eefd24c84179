package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// reloadOnFailure is the hook of every node client of a cluster client: a
// node that refuses connections, times out, or answers that the cluster is
// down, that it is read-only (a demoted master) or that the slot moved
// makes the cluster client reload its slot map at once (ReloadState is
// lazy: one reload in flight, at most one every 200 ms). Without it, after
// a master dies go-redis keeps sending its slots' commands to the dead
// address until its periodic reload, long after a replica took over.
type reloadOnFailure struct{ cc *redis.ClusterClient }

var _ redis.Hook = reloadOnFailure{}

func (h reloadOnFailure) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil && !errors.Is(err, context.Canceled) {
			h.cc.ReloadState(context.Background())
		}
		return conn, err
	}
}

func (h reloadOnFailure) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.check(err)
		return err
	}
}

func (h reloadOnFailure) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.check(err)
		for _, c := range cmds {
			h.check(c.Err())
		}
		return err
	}
}

// check reloads the slot map after an error that says it may be stale.
func (h reloadOnFailure) check(err error) {
	if err != nil && isUnavailable(err) { // redirections included
		h.cc.ReloadState(context.Background())
	}
}

// isRedirect reports whether err is a MOVED or ASK redirection.
func isRedirect(err error) bool {
	return redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK")
}

// pingCluster is Ping on Redis Cluster: the slot map the client knows
// (CLUSTER SHARDS) must cover all 16384 slots, and every master in it must
// answer CLUSTER INFO with cluster_state:ok. A dead master still named in the map (the
// cluster has not failed it over yet, or the client has not reloaded the
// map since) fails it; the failure also asks for a fresh map, so that the
// next probe sees the promoted replica.
func (s *Store) pingCluster(ctx context.Context, cc *redis.ClusterClient) error {
	slots, err := cc.ClusterShards(ctx).Result()
	if err != nil {
		return wrapErr("check redis cluster", err)
	}
	if n := coveredSlots(slots); n != clusterSlots {
		cc.ReloadState(context.Background())
		return fmt.Errorf("check redis cluster: %w: %d of %d slots have a master", errUnavailable(), n, clusterSlots)
	}
	err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		info, err := c.ClusterInfo(ctx).Result()
		if err != nil {
			return fmt.Errorf("node %s: %w", c.Options().Addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("node %s: %w: cluster_state is not ok", c.Options().Addr, errUnavailable())
		}
		return nil
	})
	if err != nil {
		cc.ReloadState(context.Background())
	}
	return wrapErr("check redis cluster", err)
}

// clusterSlots is the number of hash slots of Redis Cluster.
const clusterSlots = 16384

// coveredSlots counts the slots that CLUSTER SHARDS gives a master.
func coveredSlots(shards []redis.ClusterShard) int {
	var seen [clusterSlots]bool
	n := 0
	for _, sh := range shards {
		if !slices.ContainsFunc(sh.Nodes, func(nd redis.Node) bool { return nd.Role == "master" }) {
			continue
		}
		for _, r := range sh.Slots {
			for i := max(r.Start, 0); i <= min(r.End, clusterSlots-1); i++ {
				if !seen[i] {
					seen[i] = true
					n++
				}
			}
		}
	}
	return n
}

// ReplicationError reports a change that the master applied but fewer
// replicas than Config.WaitReplicas acknowledged within Config.WaitTimeout:
// a failover now could lose it, so it is not confirmed. It unwraps to the
// EUNAVAILABLE application error (503): retry with the same
// Idempotency-Key, which finds the change if it survived.
type ReplicationError struct {
	Acked, Want int
	Timeout     time.Duration
}

func (e *ReplicationError) Error() string {
	return fmt.Sprintf("%d of %d replicas acknowledged the write within %v", e.Acked, e.Want, e.Timeout)
}

// Unwrap returns the application error the API answers with.
func (e *ReplicationError) Unwrap() error { return errUnavailable() }

// runDurable runs a script that writes the keys of one slot. With
// Config.WaitReplicas it then sends WAIT on the same connection, in one
// pipeline: WAIT counts the replicas that hold every write of its own
// connection, so on Redis Cluster it must go to the master of the keys'
// slot (MasterForKey), not wherever the cluster client would route a
// keyless command. A stale slot map (MOVED) is reloaded and the pipeline
// sent again, at most a few times; the script is safe to run twice (every
// caller's script recognises its own earlier run).
func (s *Store) runDurable(ctx context.Context, sc *redis.Script, keys []string, args ...any) *redis.Cmd {
	if s.wait.replicas <= 0 {
		return sc.Run(ctx, s.rdb, keys, args...)
	}
	for attempt := 0; ; attempt++ {
		node := s.rdb
		cc, cluster := s.rdb.(*redis.ClusterClient)
		if cluster {
			n, err := cc.MasterForKey(ctx, keys[0])
			if err != nil {
				return errCmd(ctx, err)
			}
			node = n
		}
		ev, acked, err := s.evalWait(ctx, node, sc, keys, args)
		switch {
		case cluster && isRedirect(err) && attempt < DefaultMaxRedirects:
			cc.ReloadState(context.Background())
			select {
			case <-ctx.Done():
				return errCmd(ctx, ctx.Err())
			case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
			}
			continue
		case err != nil:
			return errCmd(ctx, err)
		case acked < s.wait.replicas:
			return errCmd(ctx, &ReplicationError{Acked: acked, Want: s.wait.replicas, Timeout: s.wait.timeout})
		}
		return ev
	}
}

// evalWait sends EVALSHA (EVAL when the node lacks the script) and WAIT in
// one pipeline on node, and returns the script's reply and WAIT's count.
func (s *Store) evalWait(ctx context.Context, node redis.Cmdable, sc *redis.Script, keys []string, args []any) (*redis.Cmd, int, error) {
	run := func(eval bool) (*redis.Cmd, *redis.Cmd) {
		pipe := node.Pipeline()
		var ev *redis.Cmd
		if eval {
			ev = sc.Eval(ctx, pipe, keys, args...)
		} else {
			ev = sc.EvalSha(ctx, pipe, keys, args...)
		}
		w := pipe.Do(ctx, "wait", s.wait.replicas, s.wait.timeout.Milliseconds())
		pipe.Exec(ctx) // the errors are the commands' own
		return ev, w
	}
	ev, w := run(false)
	if redis.HasErrorPrefix(ev.Err(), "NOSCRIPT") {
		ev, w = run(true)
	}
	if err := ev.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return ev, 0, err
	}
	acked, err := w.Int()
	if err != nil {
		return ev, 0, err
	}
	return ev, acked, nil
}

// errCmd is a *redis.Cmd that failed with err.
func errCmd(ctx context.Context, err error) *redis.Cmd {
	c := redis.NewCmd(ctx)
	c.SetErr(err)
	return c
}

// searchRegionKey is the context key of WithSearchRegion.
type searchRegionKey struct{}

// searchScope is what WithSearchRegion records.
type searchScope struct {
	region string
	start  time.Time
}

// WithSearchRegion tells WorkerIDsInCells the region of the request whose
// workers it looks for: that region's cells must be read, while a
// neighbouring region whose master is being failed over may be skipped.
// It also marks when the search began: a store following the change feeds
// (FollowChanges) reads them once for the search, not once a step.
//
// The first search under an idempotency claim (WithClaim), or under a
// customer's history read with the feed (LastWorkerFresh), that read the
// region's feed in the same round trip begins when that read was sent:
// after the request arrived, so it still sees every change answered
// before the request was made, and it reads the feed once less.
func WithSearchRegion(ctx context.Context, region string) context.Context {
	start := time.Now()
	if t, ok := freshFrom(ctx).take(region); ok {
		start = t
	}
	return context.WithValue(ctx, searchRegionKey{}, searchScope{region: region, start: start})
}

// freshRead is a read of a region's change feed made in the round trip of
// another command (an idempotency claim's, a customer's last worker's),
// sent at sent, that left the mirror holding every change of the feed
// committed before then (landFeedAhead): the first search of the request
// in that region is as fresh as it.
type freshRead struct {
	sent   time.Time
	region string
	taken  atomic.Bool
}

// take returns, once, when the feed of region was read (r may be nil):
// the first search is as fresh as that read, which was sent after the
// request arrived, and needs no read of its own. Later searches (after a
// refused Apply, a rescue plan's) read the feeds again.
func (r *freshRead) take(region string) (time.Time, bool) {
	if r == nil || r.sent.IsZero() || region != r.region || !r.taken.CompareAndSwap(false, true) {
		return time.Time{}, false
	}
	return r.sent, true
}

// freshCtxKey is the context key of a freshRead (LastWorkerFresh,
// WithClaim).
type freshCtxKey struct{}

func freshFrom(ctx context.Context) *freshRead {
	r, _ := ctx.Value(freshCtxKey{}).(*freshRead)
	return r
}

// searchRegion is the region WithSearchRegion gave, or "".
func searchRegion(ctx context.Context) string {
	sc, _ := ctx.Value(searchRegionKey{}).(searchScope)
	return sc.region
}

// searchStart is when the search of ctx began (WithSearchRegion), or now.
func searchStart(ctx context.Context) time.Time {
	if sc, ok := ctx.Value(searchRegionKey{}).(searchScope); ok {
		return sc.start
	}
	return time.Now()
}
