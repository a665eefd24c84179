package store

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Default timeouts and retries. They are set explicitly rather than left to
// go-redis (whose defaults are 5 s timeouts, 3 retries and 5 dial attempts per
// connection) because a dispatch request that waits on a sick Redis for tens
// of seconds helps nobody: Redis on the same network answers in well under a
// millisecond, every command and script here is small, so a call that takes
// half a second means Redis is down, overloaded or partitioned, and the API
// should answer 503 at once so that the client retries (with its
// Idempotency-Key) rather than hang. The worst case of one call with the
// defaults is about (DefaultMaxRetries+1) x (DefaultPoolTimeout or
// DefaultDialTimeout + DefaultWriteTimeout + DefaultReadTimeout), some 6 s;
// a refused connection fails in milliseconds.
const (
	// DefaultDialTimeout bounds connecting to Redis.
	DefaultDialTimeout = time.Second
	// DefaultReadTimeout bounds waiting for one reply.
	DefaultReadTimeout = 500 * time.Millisecond
	// DefaultWriteTimeout bounds writing one command.
	DefaultWriteTimeout = 500 * time.Millisecond
	// DefaultPoolTimeout bounds waiting for a free pooled connection: beyond
	// it the pool is only building a queue.
	DefaultPoolTimeout = time.Second
	// DefaultMaxRetries is how many times a command that failed on the
	// network (EOF, reset, timeout) is retried on a fresh connection. Every
	// write of this package is safe to retry: Apply detects its own earlier
	// success (see Apply), the profile scripts compare-and-set, and
	// BeginIdempotent recognises its own record.
	DefaultMaxRetries = 2
	// DefaultMinRetryBackoff and DefaultMaxRetryBackoff bound the pause
	// before a retry: long enough to let a reset connection be replaced,
	// short enough to stay well inside a request's deadline.
	DefaultMinRetryBackoff = 8 * time.Millisecond
	DefaultMaxRetryBackoff = 128 * time.Millisecond
	// DefaultMaxRedirects bounds, on Redis Cluster, how many times one
	// command follows a MOVED or ASK redirection or is retried on another
	// node after a network error (go-redis counts both in one budget).
	DefaultMaxRedirects = 4
	// DefaultClusterReload is how often a cluster client reloads its slot
	// map when nothing made it reload sooner.
	DefaultClusterReload = 10 * time.Second
	// DefaultWaitTimeout is how long a confirmation waits for
	// Config.WaitReplicas replicas to acknowledge it.
	DefaultWaitTimeout = 100 * time.Millisecond
)

// Config says how to reach Redis. The zero value of every field but URL
// means the default documented on it.
type Config struct {
	// URL locates Redis: redis://[user:password@]host:port[/db],
	// rediss:// for TLS or unix:///path. It is required. With Cluster set
	// it is a seed node, and further seeds may be given as addr=host:port
	// query parameters (go-redis ParseClusterURL). Timeout and retry
	// options in the URL's query are overridden by the fields below.
	URL string
	// Cluster selects Redis Cluster. Keys carry region hash tags, so every
	// atomic step stays within one slot.
	Cluster bool
	// DialTimeout bounds connecting. Zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// ReadTimeout bounds waiting for one reply. Zero means DefaultReadTimeout.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one command. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// PoolTimeout bounds waiting for a free connection. Zero means
	// DefaultPoolTimeout.
	PoolTimeout time.Duration
	// PoolSize is the number of connections per node. Zero means go-redis's
	// default, ten per GOMAXPROCS.
	PoolSize int
	// MaxRetries is how many times a command failed by the network is
	// retried. Zero means DefaultMaxRetries; a negative value disables
	// retries.
	MaxRetries int
	// MinRetryBackoff and MaxRetryBackoff bound the pause before a retry.
	// Zero means DefaultMinRetryBackoff and DefaultMaxRetryBackoff.
	MinRetryBackoff time.Duration
	MaxRetryBackoff time.Duration
	// WaitReplicas, when positive, makes every booking change (Apply) and
	// every Idempotency-Key claim wait, with Redis WAIT on the connection
	// that wrote it, until that many replicas of the master hold it; a
	// change not acknowledged within WaitTimeout is reported unavailable
	// (503) although the master applied it, so that nothing is confirmed
	// that a failover could lose. Zero confirms on the master's word alone.
	// See docs/scaling.md for the latency it costs.
	WaitReplicas int
	// WaitTimeout bounds that wait. Zero means DefaultWaitTimeout; it must
	// be shorter than ReadTimeout.
	WaitTimeout time.Duration

	// hooks are added to the client (and to every node client of a
	// cluster); the tests check every script's keys with one.
	hooks []redis.Hook
}

// validate rejects impossible settings and fills in the defaults.
func (c *Config) validate() error {
	if c.URL == "" {
		return errors.New("redis URL is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("redis URL: %w", err)
	}
	switch u.Scheme {
	case "redis", "rediss":
	case "unix":
		if c.Cluster {
			return errors.New("redis URL: a cluster is not reached through a unix socket")
		}
	default:
		return fmt.Errorf("redis URL: scheme %q is not redis, rediss or unix", u.Scheme)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"dial timeout", &c.DialTimeout, DefaultDialTimeout},
		{"read timeout", &c.ReadTimeout, DefaultReadTimeout},
		{"write timeout", &c.WriteTimeout, DefaultWriteTimeout},
		{"pool timeout", &c.PoolTimeout, DefaultPoolTimeout},
		{"min retry backoff", &c.MinRetryBackoff, DefaultMinRetryBackoff},
		{"max retry backoff", &c.MaxRetryBackoff, DefaultMaxRetryBackoff},
	} {
		switch {
		case *d.v < 0:
			return fmt.Errorf("%s %v is negative", d.name, *d.v)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if c.MinRetryBackoff > c.MaxRetryBackoff {
		return fmt.Errorf("min retry backoff %v exceeds max retry backoff %v", c.MinRetryBackoff, c.MaxRetryBackoff)
	}
	if c.WaitReplicas < 0 {
		return fmt.Errorf("wait replicas %d is negative", c.WaitReplicas)
	}
	switch {
	case c.WaitTimeout < 0:
		return fmt.Errorf("wait timeout %v is negative", c.WaitTimeout)
	case c.WaitTimeout == 0:
		c.WaitTimeout = DefaultWaitTimeout
	}
	if c.WaitReplicas > 0 && c.WaitTimeout >= c.ReadTimeout {
		return fmt.Errorf("wait timeout %v must be shorter than the read timeout %v (the reply to WAIT comes after it)", c.WaitTimeout, c.ReadTimeout)
	}
	if c.PoolSize < 0 {
		return fmt.Errorf("pool size %d is negative", c.PoolSize)
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = -1 // go-redis: -1 disables retries
	case c.MaxRetries > 10:
		return fmt.Errorf("max retries %d exceeds 10", c.MaxRetries)
	}
	return nil
}

// client builds the go-redis client for a validated c.
//
// Besides the timeouts and retries above: ContextTimeoutEnabled makes every
// call honour its context's deadline as well (the HTTP request's), not only
// the socket timeouts; DialerRetries is 1 because go-redis otherwise dials
// five times with 100 ms pauses inside a single command attempt, on top of
// the command retries, which would turn "Redis is down" into a second-long
// stall; maintenance notifications are off (OSS Redis and miniredis do not
// send them, and probing costs a round trip per connection); and
// DisableIdentity skips CLIENT SETINFO, which Redis before 7.2 rejects.
//
// On Redis Cluster (see docs/scaling.md, "Failover"): every command goes to
// the master of its slot (ReadOnly and RouteByLatency off: a booking just
// confirmed must be readable at once, which a lagging replica would deny);
// MaxRedirects is DefaultMaxRedirects; and every node client carries
// reloadOnFailure, which asks for a new slot map as soon as a node refuses a
// connection, times out or answers that the cluster is down or the slot
// moved, rather than waiting for the periodic reload (go-redis's default
// is every 60 s; DefaultClusterReload here, a backstop for topology changes
// that cause no error).
func (c *Config) client() (redis.UniversalClient, error) {
	maint := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if c.Cluster {
		opt, err := redis.ParseClusterURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = c.DialTimeout, c.ReadTimeout, c.WriteTimeout
		opt.PoolTimeout, opt.PoolSize = c.PoolTimeout, c.PoolSize
		opt.MaxRetries, opt.MinRetryBackoff, opt.MaxRetryBackoff = c.MaxRetries, c.MinRetryBackoff, c.MaxRetryBackoff
		opt.ContextTimeoutEnabled, opt.DialerRetries = true, 1
		opt.MaintNotificationsConfig, opt.DisableIdentity = maint, true
		opt.MaxRedirects, opt.ReadOnly, opt.RouteByLatency, opt.RouteRandomly = DefaultMaxRedirects, false, false, false
		opt.ClusterStateReloadInterval = DefaultClusterReload
		cc := redis.NewClusterClient(opt)
		cc.OnNewNode(func(n *redis.Client) {
			n.AddHook(reloadOnFailure{cc})
			for _, h := range c.hooks {
				n.AddHook(h)
			}
		})
		return cc, nil
	}
	opt, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = c.DialTimeout, c.ReadTimeout, c.WriteTimeout
	opt.PoolTimeout, opt.PoolSize = c.PoolTimeout, c.PoolSize
	opt.MaxRetries, opt.MinRetryBackoff, opt.MaxRetryBackoff = c.MaxRetries, c.MinRetryBackoff, c.MaxRetryBackoff
	opt.ContextTimeoutEnabled, opt.DialerRetries = true, 1
	opt.MaintNotificationsConfig, opt.DisableIdentity = maint, true
	rc := redis.NewClient(opt)
	for _, h := range c.hooks {
		rc.AddHook(h)
	}
	return rc, nil
}
