-- relay.lua: copy one outbox event to its tenant's stream, once (see
-- events.go). KEYS: the tenant's stream, the tenant's marks (hash: region
-- -> outbox id last copied; "#seq" -> events so far).
-- ARGV: region, outbox id, stream length bound, then field-value pairs.
-- Returns the new entry's id, or false when the mark shows it copied.
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local mark = redis.call('HGET', KEYS[2], ARGV[1])
if mark then
  local ms, seq = parse(ARGV[2])
  local mms, mseq = parse(mark)
  if ms < mms or (ms == mms and seq <= mseq) then return false end
end
local n = redis.call('HINCRBY', KEYS[2], '#seq', 1)
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'seq', tostring(n), unpack(ARGV, 4))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return id
