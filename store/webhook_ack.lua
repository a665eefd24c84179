-- webhook_ack.lua: record the outcome of a delivery attempt, only while
-- the deliverer holds the webhook's lease and the webhook still exists.
-- KEYS: the lease, the webhook's hash. ARGV: holder, "ok" or "fail",
-- skipped events (ok), then field-value pairs to set.
-- Returns 1 when recorded, 0 when the lease or the webhook is gone.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if ARGV[2] == 'ok' then
  redis.call('HINCRBY', KEYS[2], 'delivered', 1)
  if ARGV[3] ~= '0' then redis.call('HINCRBY', KEYS[2], 'skipped', ARGV[3]) end
else
  redis.call('HINCRBY', KEYS[2], 'failures', 1)
  redis.call('HINCRBY', KEYS[2], 'failed_total', 1)
end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
return 1
