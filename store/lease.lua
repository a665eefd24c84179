-- lease.lua: take or renew (ttl > 0) or give up (ttl 0) a lease.
-- KEYS[1]: the lease; ARGV: holder, ttl in ms. Returns 1 when holder holds
-- it after the call (0 for a give-up).
local v = redis.call('GET', KEYS[1])
if ARGV[2] == '0' then
  if v == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 0
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
