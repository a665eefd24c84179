-- profile.lua: compare-and-set a worker's profile in one region, fenced by
-- the worker's state in that region, and move its position index entries,
-- atomically within the region (see worker.go and home.go).
--
-- KEYS[1] profile, KEYS[2] version, KEYS[3] timeline, KEYS[4] state
--         ("o:<gen>" open or "c:<gen>" closed at generation gen of the
--         worker's region record; absent reads as "o:0"), KEYS[5] the
--         region's roster (sorted set of the ids of the workers whose
--         profile is in the region, all scored 0), then the
--         position index sets of this region: ARGV[5] cells indexing the
--         profile read, then ARGV[6] cells indexing the new one (a worker
--         is indexed under its home and its last reported position), then
--         the region's change feed (mirror.go).
-- ARGV[1] the profile JSON the caller read ("" when there was none)
-- ARGV[2] the new profile JSON ("" deletes the profile)
-- ARGV[3] the worker's index member "<region>/<id>"
-- ARGV[4] "" or a unix ms time: refuse when the timeline holds a booking
--         starting at or after it
-- ARGV[5], ARGV[6] the counts of index cells in KEYS
-- ARGV[7] the fence: "w" writes in a region open at generation ARGV[8];
--         "c" closes the region at ARGV[8] (ARGV[2] is then ""); "o" opens
--         it at ARGV[8], unless it was closed at ARGV[8] or later
-- ARGV[8] the generation
-- ARGV[9] the worker's id (its member in the roster)
-- ARGV[10] every cell indexing the new profile, this region's or not,
--         space-separated ("" when it is deleted), for the change feed
-- ARGV[11] the change feed's approximate length bound
-- Returns {"ok", new version}, {"retry"} when the profile is no longer the
-- one read, {"moved"} when the fence refuses (the worker's region record
-- moved on), {"closed"} when the region was already closed at ARGV[8], or
-- {"busy", count}.
local st = redis.call('GET', KEYS[4]) or 'o:0'
local open, n = string.sub(st, 1, 1) == 'o', tonumber(string.sub(st, 3))
local fence, gen = ARGV[7], tonumber(ARGV[8])
local closed = false -- already closed at gen
if fence == 'w' then
  if not open or n ~= gen then return {'moved'} end
elseif fence == 'c' then
  if n > gen then return {'moved'} end
  closed = n == gen and not open
elseif n > gen or (n == gen and not open) then
  return {'moved'}
end
if not closed and (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then
  return {'retry'}
end
-- Checked even when already closed: a close that kept the worker in the
-- region did not check, and the worker may now be leaving it.
if ARGV[4] ~= '' then
  local c = redis.call('ZCOUNT', KEYS[3], ARGV[4], '+inf')
  if c > 0 then return {'busy', c} end
end
if closed then return {'closed'} end
local nold, nnew = tonumber(ARGV[5]), tonumber(ARGV[6])
for k = 6, 5 + nold do
  redis.call('SREM', KEYS[k], ARGV[3])
end
-- The roster follows the profile in the same step, so a region lists
-- exactly the workers whose profile it holds.
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[5], ARGV[9])
else
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('ZADD', KEYS[5], 0, ARGV[9])
  for k = 6 + nold, 5 + nold + nnew do
    redis.call('SADD', KEYS[k], ARGV[3])
  end
end
if fence == 'c' then
  redis.call('SET', KEYS[4], 'c:' .. ARGV[8])
elseif fence == 'o' then
  redis.call('SET', KEYS[4], 'o:' .. ARGV[8])
end
-- The change feed hears of every version bump in the same step, with the
-- cells that now index the worker.
local v = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[6 + nold + nnew], 'MAXLEN', '~', ARGV[11], '*', 'w', ARGV[9], 'v', v, 'c', ARGV[10])
return {'ok', v}
