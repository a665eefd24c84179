-- profile.lua: compare-and-set a worker's profile and move its position
-- index entry, atomically within the worker's region (see worker.go).
--
-- KEYS[1] profile, KEYS[2] version, KEYS[3] timeline, then the position
--         index sets of this region that change: the old cell's when
--         ARGV[5] is "1", then the new cell's when ARGV[6] is "1".
-- ARGV[1] the profile JSON the caller read ("" when there was none)
-- ARGV[2] the new profile JSON ("" deletes the profile)
-- ARGV[3] the worker's index member "<region>/<id>"
-- ARGV[4] "" or a unix ms time: refuse when the timeline holds a booking
--         starting at or after it
-- ARGV[5], ARGV[6] see KEYS
-- Returns {"ok", new version}, {"retry"} when the profile is no longer the
-- one read, or {"busy", count}.
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return {'retry'} end
if ARGV[4] ~= '' then
  local n = redis.call('ZCOUNT', KEYS[3], ARGV[4], '+inf')
  if n > 0 then return {'busy', n} end
end
local k = 4
if ARGV[5] == '1' then
  redis.call('SREM', KEYS[k], ARGV[3])
  k = k + 1
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2])
  if ARGV[6] == '1' then redis.call('SADD', KEYS[k], ARGV[3]) end
end
return {'ok', redis.call('INCR', KEYS[2])}
