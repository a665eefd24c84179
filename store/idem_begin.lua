-- idem_begin.lua: return the idempotency record at KEYS[1] if there is one,
-- else store ARGV[1] there for ARGV[2] ms and return nil.
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
