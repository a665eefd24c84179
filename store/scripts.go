package store

import (
	_ "embed"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts. They use only redis.call and cjson, so that they run the
// same on Redis and on miniredis, and they touch only keys of one hash tag
// (one region), so that they run on Redis Cluster.
var (
	//go:embed apply.lua
	applyLua string
	//go:embed profile.lua
	profileLua string
	//go:embed idem_begin.lua
	idemBeginLua string
	//go:embed cas.lua
	casLua string
	//go:embed resolve.lua
	resolveLua string
	//go:embed home.lua
	homeLua string
	//go:embed roster.lua
	rosterLua string
	//go:embed relay.lua
	relayLua string
	//go:embed lease.lua
	leaseLua string
	//go:embed webhook_ack.lua
	webhookAckLua string
)

// scripts holds the loaded scripts of one Store. Script.Run sends EVALSHA
// and falls back to EVAL on NOSCRIPT, so a restarted or new Redis (or a
// cluster node that has not seen the script yet) needs nothing special.
type scripts struct {
	apply     *redis.Script
	profile   *redis.Script
	idemBegin *redis.Script
	cas       *redis.Script
	resolve   *redis.Script
	home      *redis.Script
	roster    *redis.Script
	relay     *redis.Script
	lease     *redis.Script
	whAck     *redis.Script
}

func newScripts() *scripts {
	return &scripts{
		apply:     redis.NewScript(applyLua),
		profile:   redis.NewScript(profileLua),
		idemBegin: redis.NewScript(idemBeginLua),
		cas:       redis.NewScript(casLua),
		resolve:   redis.NewScript(resolveLua),
		home:      redis.NewScript(homeLua),
		roster:    redis.NewScript(rosterLua),
		relay:     redis.NewScript(relayLua),
		lease:     redis.NewScript(leaseLua),
		whAck:     redis.NewScript(webhookAckLua),
	}
}
