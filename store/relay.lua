-- relay.lua: copy a tenant's outbox events of one region to the tenant's
-- stream, each once (see events.go). KEYS: the tenant's stream, the
-- tenant's marks (hash: region -> outbox id last copied; "#seq" -> events
-- so far).
-- ARGV: region, stream length bound, then per event, in outbox order: its
-- outbox id, its field count nf, and nf field-value strings.
-- Returns how many events it copied (an event the mark shows copied is
-- skipped).
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local region, bound = ARGV[1], ARGV[2]
local mark = redis.call('HGET', KEYS[2], region)
local mms, mseq
if mark then mms, mseq = parse(mark) end
local copied, a = 0, 3
while a <= #ARGV do
  local id, nf = ARGV[a], tonumber(ARGV[a + 1])
  local ms, seq = parse(id)
  if not mark or ms > mms or (ms == mms and seq > mseq) then
    local n = redis.call('HINCRBY', KEYS[2], '#seq', 1)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', bound, '*', 'seq', tostring(n), unpack(ARGV, a + 2, a + 1 + nf))
    mark, mms, mseq = id, ms, seq
    copied = copied + 1
  end
  a = a + 2 + nf
end
if copied > 0 then redis.call('HSET', KEYS[2], region, mark) end
return copied
