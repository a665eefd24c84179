-- roster.lua: add a worker whose profile predates rosters to its region's
-- roster, while the profile is there (IndexRosters, roster.go).
--
-- KEYS[1] the worker's profile, KEYS[2] the region's roster
-- ARGV[1] the worker's id
-- Returns 1 when added or already there, 0 when KEYS[1] is no profile.
local t = redis.call('TYPE', KEYS[1])
if type(t) == 'table' then t = t.ok end
if t ~= 'string' then return 0 end
if string.sub(redis.call('GET', KEYS[1]), 1, 1) ~= '{' then return 0 end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
