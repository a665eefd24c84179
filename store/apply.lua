-- apply.lua: one atomic Change (see Store.Apply). Every check runs before
-- the first write, because Redis has no rollback.
--
-- KEYS: for each pinned worker i = 1..nw: version, timeline, profile
--       (KEYS[3i-2], KEYS[3i-1], KEYS[3i]); then the nc created bookings'
--       keys; then the nu updated bookings' keys; then, for a change without
--       creates, the key of its operation marker; then the region's at-risk
--       index; then the region's audit stream; then the region's event
--       outbox; then the region's change feed (mirror.go); then, for a
--       change made under an idempotency claim, the claim's key in the
--       region.
-- ARGV: nw, nc, nu, marker TTL in ms;
--       per worker: id, expected version;
--       per create: worker index, booking id, start (unix ms), JSON;
--       per update: worker index, booking id, start (unix ms),
--                   "1" when cancelled else "0", JSON;
--       then the audit stream's approximate length bound, and the event
--       fields shared by the change's events: at, key_id, role,
--       request_id, reason (a non-empty reason makes the updates moves,
--       each event naming its booking's own last_change reason when it
--       has one);
--       then the number ne of integrator events and, per event, its field
--       count nf and nf field-value strings (appended to the outbox as
--       they are: see events.go);
--       then the change feed's approximate length bound;
--       then the claim key's TTL in ms (when there is a claim key).
-- Returns {"ok"} or {"applied"} (an earlier run of the same change already
-- wrote it) or a refusal: {"conflict", worker, version},
-- {"exists", booking}, {"missing", booking}, {"notconfirmed", booking,
-- status}, {"stale", booking, stored version}, {"unpinned", worker},
-- {"noworker", worker}, {"burned"} (the claim was given up: a retry
-- resolved it), {"claimed", ids} (the claim already made bookings in this
-- region).
local nw, nc, nu = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local markerTTL = ARGV[4]
local a = 5

local wid, wexp, wpos = {}, {}, {}
for i = 1, nw do
  wid[i], wexp[i] = ARGV[a], ARGV[a + 1]
  wpos[ARGV[a]] = i
  a = a + 2
end
local function ver(i) return KEYS[3 * i - 2] end
local function tl(i) return KEYS[3 * i - 1] end
local function profile(i) return KEYS[3 * i] end

local creates = {}
for j = 1, nc do
  creates[j] = {key = KEYS[3 * nw + j], w = tonumber(ARGV[a]), id = ARGV[a + 1],
    score = ARGV[a + 2], json = ARGV[a + 3]}
  a = a + 4
end
local updates = {}
for j = 1, nu do
  updates[j] = {key = KEYS[3 * nw + nc + j], w = tonumber(ARGV[a]), id = ARGV[a + 1],
    score = ARGV[a + 2], cancel = ARGV[a + 3] == '1', json = ARGV[a + 4]}
  a = a + 5
end
local k = 3 * nw + nc + nu + 1
local marker
if nc == 0 then marker = KEYS[k]; k = k + 1 end
local atrisk, audit, outbox, changes, claim = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
local auditMax, ev = ARGV[a], {at = ARGV[a + 1], key_id = ARGV[a + 2], role = ARGV[a + 3],
  request_id = ARGV[a + 4], reason = ARGV[a + 5]}
a = a + 6
local events = {}
local ne = tonumber(ARGV[a])
a = a + 1
for e = 1, ne do
  local nf = tonumber(ARGV[a])
  events[e] = {unpack(ARGV, a + 1, a + nf)}
  a = a + nf + 1
end
local changesMax = ARGV[a]
local claimTTL = ARGV[a + 1]

-- (1) Already applied? Booking ids are random per attempt, so an existing
-- first booking can only have been written by this very change; it must
-- also hold exactly what this change writes, else the id was reused.
if nc > 0 then
  local cur = redis.call('GET', creates[1].key)
  if cur == creates[1].json then return {'applied'} end
  if cur then return {'exists', creates[1].id} end
elseif marker then
  if redis.call('EXISTS', marker) == 1 then return {'applied'} end
end

-- (1b) The idempotency claim has not been given up, nor used here before.
if claim then
  local used = redis.call('GET', claim)
  if used == '-' then return {'burned'} end
  if used then return {'claimed', used} end
end

-- (2) Every pinned worker is at the version the caller saw.
for i = 1, nw do
  local v = redis.call('GET', ver(i)) or '0'
  if v ~= wexp[i] then return {'conflict', wid[i], v} end
end

-- (3) New bookings are new; rewritten ones exist, are confirmed and belong
-- to a pinned worker.
for j = 2, nc do
  if redis.call('EXISTS', creates[j].key) == 1 then return {'exists', creates[j].id} end
end
for j = 1, nu do
  local cur = redis.call('GET', updates[j].key)
  if not cur then return {'missing', updates[j].id} end
  local old = cjson.decode(cur)
  if old.status ~= 'confirmed' then return {'notconfirmed', updates[j].id, tostring(old.status)} end
  local oi = wpos[old.worker_id]
  if not oi then return {'unpinned', tostring(old.worker_id)} end
  -- Optimistic lock: the rewrite follows the version stored (a booking
  -- stored before versions is at version 1).
  local have = old.version or 1
  local new = cjson.decode(updates[j].json)
  if new.version ~= have + 1 then return {'stale', updates[j].id, tostring(have)} end
  updates[j].old = oi
  updates[j].atrisk = type(new.at_risk) == 'table'
  if type(new.last_change) == 'table' and type(new.last_change.reason) == 'string' then
    updates[j].reason = new.last_change.reason
  end
  -- A booking left where it is (same worker, same start: marked at risk,
  -- say) reserves no new time, so its worker needs no profile (4).
  updates[j].stays = oi == updates[j].w and tonumber(redis.call('ZSCORE', tl(oi), updates[j].id)) == tonumber(updates[j].score)
end

-- (4) A worker who receives a booking still has a profile.
for j = 1, nc do
  if redis.call('EXISTS', profile(creates[j].w)) == 0 then return {'noworker', wid[creates[j].w]} end
end
for j = 1, nu do
  if not updates[j].cancel and not updates[j].stays and redis.call('EXISTS', profile(updates[j].w)) == 0 then
    return {'noworker', wid[updates[j].w]}
  end
end

-- Write.
local touched = {}
for j = 1, nc do
  local c = creates[j]
  redis.call('SET', c.key, c.json)
  redis.call('ZADD', tl(c.w), c.score, c.id)
  touched[c.w] = true
end
for j = 1, nu do
  local u = updates[j]
  redis.call('SET', u.key, u.json)
  redis.call('ZREM', tl(u.old), u.id)
  touched[u.old] = true
  if not u.cancel then
    redis.call('ZADD', tl(u.w), u.score, u.id)
    touched[u.w] = true
  end
  -- The at-risk index holds the region's confirmed bookings at risk.
  if u.atrisk and not u.cancel then
    redis.call('ZADD', atrisk, u.score, u.id)
  else
    redis.call('ZREM', atrisk, u.id)
  end
end
if marker then redis.call('SET', marker, '1', 'PX', markerTTL) end
-- The audit events of the change, in the same step: a change is never
-- without its record.
local function event(action, id, reason)
  local f = {'at', ev.at, 'key_id', ev.key_id, 'role', ev.role, 'action', action,
    'booking_id', id, 'result', 'ok', 'request_id', ev.request_id}
  if action == 'move' then
    f[#f + 1] = 'reason'
    f[#f + 1] = reason or ev.reason
  end
  redis.call('XADD', audit, 'MAXLEN', '~', auditMax, '*', unpack(f))
end
local created = {}
for j = 1, nc do
  event('create', creates[j].id)
  created[j] = creates[j].id
end
for j = 1, nu do
  local action = 'reschedule'
  if updates[j].cancel then action = 'cancel' elseif ev.reason ~= '' then action = 'move' end
  event(action, updates[j].id, updates[j].reason)
end
-- The integrator events of the change, in the same step and the same
-- slot: a change is never without its events (the relay copies them to
-- their tenants' streams, see events.go). The outbox is never trimmed
-- here: only the relay trims what it has copied.
for e = 1, ne do
  redis.call('XADD', outbox, '*', unpack(events[e]))
end
if claim then redis.call('SET', claim, table.concat(created, ','), 'PX', claimTTL) end
-- Every version bump goes to the region's change feed in the same step,
-- so that a server's mirror of versions and positions (mirror.go) never
-- misses one.
for i = 1, nw do
  if touched[i] then
    local v = redis.call('INCR', ver(i))
    redis.call('XADD', changes, 'MAXLEN', '~', changesMax, '*', 'w', wid[i], 'v', v)
  end
end
return {'ok'}
