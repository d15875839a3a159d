#!lua
-- atomic-dict on Redis: one host's batch of deltas from a shared-memory
-- table (lib/redis/sync.js, docs/SYNC.md), applied exactly once: only when
-- its sequence number is the one after the host's last applied batch, in
-- the same atomic step as the increments.
--
-- KEYS[1]  "{t}:d"  the totals: the RedisDict layout (field = the key's
--                   parts in decimal joined by ":", value = 16-digit hex)
-- KEYS[2]  "{t}:h"  hash: host -> its last applied seq (decimal);
--                   host .. ":at" -> the time of that batch (ms);
--                   "v" -> the table's version: the last batch's, which is
--                   the larger of the one before + 1 and Redis' clock in
--                   microseconds, so versions keep growing even after Redis
--                   lost data (restarted from an older snapshot, failed over);
--                   "e" -> how many times a batch found that Redis had lost
--                   batches of its host (a "gap"): readers of the totals
--                   then pull them all again
-- KEYS[3]  "{t}:c"  sorted set: field -> the version of its last change
--                   (readers pull what changed since the version they hold)
-- KEYS[4]  "{t}:s"  hash: string key part in decimal -> the string (only
--                   for a table that keeps strings)
-- KEYS[5]  "{t}:f"  hash: field -> a float total in decimal (only for
--                   sources with float rows: a metrics store's)
-- ARGV[1]  the host: 16 hex digits
-- ARGV[2]  seq: the batch's number (decimal, from 1, below 2^53)
-- ARGV[3]  n: string pairs that follow (decimal part, string)
-- then the n pairs, then one argument: per key its field and its delta,
--          all separated by single spaces (one string: a client writes it at
--          once, not two arguments a key); a delta is unpadded hex of its 64
--          bits, two's complement (a decrease is a delta near 2^64), or "x"
--          and a float in decimal, added to the field's float total
--
-- Returns "ok" (applied), "dup" (this batch was the host's last one
-- applied: a re-send, nothing applied again), "old <last>" (an older batch
-- than the host's last: a late copy, nothing applied), or "gap <last>"
-- (applied, but batches between <last> and this one never arrived: Redis
-- lost data it had acknowledged, e.g. restarted without its AOF).
--
-- Every argument, the types of the keys and the float totals to be are
-- checked before the first write: a script that fails half way is not
-- rolled back by Redis, and the batch, not recorded, would come again.

local data, hosts, changes, strings, floats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local host, seq, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if not string.match(host, '^%x+$') or #host ~= 16 then return redis.error_reply('ERR atomic-dict sync: bad host') end
if not seq or seq < 1 or seq ~= math.floor(seq) then return redis.error_reply('ERR atomic-dict sync: bad seq') end
if not n or n < 0 or n ~= math.floor(n) then return redis.error_reply('ERR atomic-dict sync: bad string count') end
local first = 4 + 2 * n
if #ARGV ~= first then return redis.error_reply('ERR atomic-dict sync: odd field/delta list') end
if n > 0 and not strings then return redis.error_reply('ERR atomic-dict sync: strings without their hash') end
local list = {}
for token in string.gmatch(ARGV[first], '[^ ]+') do list[#list + 1] = token end
if #list % 2 ~= 0 then return redis.error_reply('ERR atomic-dict sync: odd field/delta list') end
for i = 1, #list, 2 do
  local d = list[i + 1]
  if string.byte(d, 1) == 120 then -- 'x': a float
    local x = tonumber(string.sub(d, 2))
    if not floats or not x or x ~= x or x == math.huge or x == -math.huge then return redis.error_reply('ERR atomic-dict sync: bad float delta') end
  elseif #d < 1 or #d > 16 or not string.match(d, '^%x+$') then
    return redis.error_reply('ERR atomic-dict sync: bad delta')
  end
end
local function typed(key, want)
  if not key then return true end
  local t = redis.call('TYPE', key)['ok']
  return t == 'none' or t == want
end
if not (typed(data, 'hash') and typed(hosts, 'hash') and typed(changes, 'zset') and typed(strings, 'hash') and typed(floats, 'hash')) then
  return redis.error_reply('WRONGTYPE atomic-dict sync: a key of the table holds another type (written by something else?)')
end

local last = tonumber(redis.call('HGET', hosts, host) or '0')
if seq == last then return 'dup' end
if seq < last then return 'old ' .. last end

local TWO32 = 4294967296

local function halves(hex)
  local len = #hex
  if len <= 8 then return 0, tonumber(hex, 16) end
  return tonumber(string.sub(hex, 1, len - 8), 16), tonumber(string.sub(hex, len - 7), 16)
end

-- 64-bit add modulo 2^64 on 32-bit halves (each exact as a Lua number).
local function add(hex, delta)
  local hi, lo = halves(hex)
  local dhi, dlo = halves(delta)
  lo = lo + dlo
  local carry = 0
  if lo >= TWO32 then
    lo = lo - TWO32
    carry = 1
  end
  hi = (hi + dhi + carry) % TWO32
  return string.format('%08x%08x', hi, lo)
end

-- Float totals to be: all finite, or nothing is written.
for i = 1, #list, 2 do
  if string.byte(list[i + 1], 1) == 120 then
    local total = tonumber(redis.call('HGET', floats, list[i]) or '0')
    local sum = (total or 0) + tonumber(string.sub(list[i + 1], 2))
    if not total or sum ~= sum or sum == math.huge or sum == -math.huge then
      return redis.error_reply('ERR atomic-dict sync: the float total of ' .. list[i] .. ' would not be finite')
    end
  end
end

local time = redis.call('TIME')
local micros = tonumber(time[1]) * 1000000 + tonumber(time[2])
local version = string.format('%.0f', math.max(tonumber(redis.call('HGET', hosts, 'v') or '0') + 1, micros))
redis.call('HSET', hosts, 'v', version)
local written, scored = {}, {}
for i = 1, #list, 2 do
  local field = list[i]
  if string.byte(list[i + 1], 1) == 120 then
    redis.call('HINCRBYFLOAT', floats, field, string.sub(list[i + 1], 2))
  else
    local old = redis.call('HGET', data, field) or '0000000000000000'
    written[#written + 1] = field
    written[#written + 1] = add(old, list[i + 1])
  end
  scored[#scored + 1] = version
  scored[#scored + 1] = field
  if #scored >= 2000 then
    if #written > 0 then redis.call('HSET', data, unpack(written)) end
    redis.call('ZADD', changes, unpack(scored))
    written, scored = {}, {}
  end
end
if #written > 0 then redis.call('HSET', data, unpack(written)) end
if #scored > 0 then redis.call('ZADD', changes, unpack(scored)) end
for i = 4, first - 1, 2 do redis.call('HSETNX', strings, ARGV[i], ARGV[i + 1]) end

redis.call('HSET', hosts, host, ARGV[2], host .. ':at', string.format('%.0f', math.floor(micros / 1000)))
if seq > last + 1 then
  redis.call('HINCRBY', hosts, 'e', 1)
  return 'gap ' .. last
end
return 'ok'
