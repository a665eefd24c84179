package store

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Values erased from Redis (EraseCustomer) stay in its append-only files
// until Redis rewrites them: the commands that wrote them are in the files.
// After an erasure the store asks Redis for a rewrite (BGREWRITEAOF). A
// rewrite already running may have taken its snapshot before the erasure,
// so it does not count; Redis refuses a second one until it ends. The
// erasure then leaves a marker (aofDueKey) and RewriteAOFIfDue, which the
// server calls periodically, starts the rewrite once the running one has
// ended. Redis deletes the old files once the new ones are complete.

// aofDueKey marks an erasure whose values may still be in the append-only
// files. Its value is a random token, so that clearing it does not clear
// the marker of a later erasure.
const aofDueKey = keyPrefix + "aof:due"

// ErrRewriteBusy is returned by RewriteAOF when a server is already
// rewriting its append-only file: try again when it has finished.
var ErrRewriteBusy = errors.New("store: an AOF rewrite is already in progress")

// delIfLua deletes KEYS[1] if it still holds ARGV[1].
var delIfLua = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// RewriteAOF asks every Redis server of the store whose AOF is on to
// rewrite its append-only files in the background (BGREWRITEAOF): on Redis
// Cluster every node, replicas included, since each keeps its own files.
// It returns once the rewrites have started (or Redis has scheduled them
// after a running RDB save), not when they end. A server already rewriting
// makes it return ErrRewriteBusy; the embedded store has no files and does
// nothing.
func (s *Store) RewriteAOF(ctx context.Context) error {
	if s.mini != nil {
		return nil
	}
	each := func(ctx context.Context, c redis.Cmdable) error {
		cfg, err := c.ConfigGet(ctx, "appendonly").Result()
		if err != nil {
			return wrapErr("read redis config appendonly", err)
		}
		if cfg["appendonly"] != "yes" {
			return nil
		}
		err = c.BgRewriteAOF(ctx).Err()
		if err != nil && strings.Contains(err.Error(), "already in progress") {
			return ErrRewriteBusy
		}
		return wrapErr("rewrite append-only file", err)
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error { return each(ctx, c) })
	}
	return each(ctx, s.rdb)
}

// rewriteAfterErasure marks that an erasure happened and starts a rewrite.
// pending is true when the rewrite could not start (one was running, or
// Redis refused: see RewriteAOFIfDue); only a failure to leave the marker
// is an error.
func (s *Store) rewriteAfterErasure(ctx context.Context) (pending bool, err error) {
	if s.mini != nil {
		return false, nil
	}
	token := newOpID()
	if err := s.rdb.Set(ctx, aofDueKey, token, 0).Err(); err != nil {
		return true, wrapErr("mark erasure for an AOF rewrite", err)
	}
	if s.RewriteAOF(ctx) != nil {
		return true, nil
	}
	return false, s.clearDue(ctx, token)
}

// RewriteAOFIfDue starts the rewrite an erasure could not start (see
// EraseCustomer) and reports whether it did. ErrRewriteBusy means that a
// rewrite is still running: call again later. The server calls it with its
// periodic privacy sweep.
func (s *Store) RewriteAOFIfDue(ctx context.Context) (bool, error) {
	if s.mini != nil {
		return false, nil
	}
	token, err := s.rdb.Get(ctx, aofDueKey).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, wrapErr("read AOF rewrite marker", err)
	}
	if err := s.RewriteAOF(ctx); err != nil {
		return false, err
	}
	return true, s.clearDue(ctx, token)
}

// clearDue deletes the erasure marker if it still holds token.
func (s *Store) clearDue(ctx context.Context, token string) error {
	return wrapErr("clear AOF rewrite marker", delIfLua.Run(ctx, s.rdb, []string{aofDueKey}, token).Err())
}
