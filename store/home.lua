-- home.lua: compare-and-set a worker's region record (see home.go).
--
-- KEYS[1] the record dst:wreg:<worker>
-- ARGV[1] the value the caller read ("" when there was none)
-- ARGV[2] the new value "<generation>:<region>"
-- Returns 1 when set, 0 when the record no longer holds ARGV[1].
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
