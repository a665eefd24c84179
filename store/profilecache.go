package store

import (
	"sync"

	"github.com/doorstep-dev/doorstep"
)

// profileCacheMax bounds the decoded profiles kept: a large city's roster.
const profileCacheMax = 200_000

// profileCache keeps decoded worker profiles keyed by their exact stored
// JSON, so that loading candidates — which reads hundreds of profiles per
// request, and profiles change rarely — decodes a profile once per change
// rather than once per read. A changed profile is a different string and
// misses. The workers it returns are shared: callers must not modify them
// (the matcher and dispatch only read candidates).
type profileCache struct {
	mu sync.RWMutex
	m  map[string]profileEntry // by worker id
}

type profileEntry struct {
	raw string
	w   *doorstep.Worker
}

// decode returns the worker raw encodes, from the cache when raw is what
// was cached for id.
func (c *profileCache) decode(id, raw string) (*doorstep.Worker, error) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && e.raw == raw {
		return e.w, nil
	}
	w, err := decodeWorker(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= profileCacheMax {
		c.m = make(map[string]profileEntry) // start over rather than track age
	}
	c.m[id] = profileEntry{raw: raw, w: w}
	c.mu.Unlock()
	return w, nil
}
