-- resolve.lua: settle an idempotency claim in one region, for a retry of
-- a request that ran out of time. KEYS[1]: the claim's key in the region;
-- ARGV[1]: its TTL in ms. If a change under the claim made bookings here,
-- return their ids (comma-separated); else give the claim up here ('-'),
-- so that a late change under it is refused (apply.lua), and return nil.
-- Redis runs scripts of one slot one at a time: either the change ran
-- first and is found, or this did and the change fails.
local v = redis.call('GET', KEYS[1])
if v and v ~= '-' then return v end
if not v then redis.call('SET', KEYS[1], '-', 'PX', ARGV[1]) end
return false
