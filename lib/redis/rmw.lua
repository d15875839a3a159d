-- atomic-dict on Redis: one read-modify-write on one key of a table, run as
-- one script, so atomic: Redis runs a script to its end with no other
-- command in between (docs/REDIS-DESIGN.md).
--
-- KEYS[1]  the table's hash "{name}:d": field = the encoded key (its parts as
--          fixed-width big-endian bytes), value = the key's value as W bytes,
--          big-endian two's complement (W = 8 for 64-bit tables, 4 for 32-bit)
-- ARGV[1]  the operation: add | and | or | xor | swap | cas
-- ARGV[2]  the encoded key
-- ARGV[3]  the capacity (a decimal integer <= 2^31: exact as a Lua number)
-- ARGV[4]  the operand as W bytes (add's delta; sub is add of -delta, negated
--          by the caller modulo 2^W*8; cas's expected value)
-- ARGV[5]  cas only: the desired value as W bytes
--
-- Returns the value before as W bytes, or the integer -1 when the key is
-- absent and the table holds its capacity (nothing is changed then).
--
-- Exactness: a value never becomes a Lua number (a double, exact only up to
-- 2^53). It travels as bytes; arithmetic is done on its 32-bit halves, read
-- by struct.unpack('>I4'), each in [0, 2^32); every intermediate below stays
-- under 2^34, exact in a double. The bit library works on 32-bit integers
-- (results in [-2^31, 2^31), which struct.pack('>I4') writes as their low 32
-- bits, two's complement). swap/cas compare and copy bytes only.

local data, op, field = KEYS[1], ARGV[1], ARGV[2]
local operand = ARGV[4]
local width = #operand
local TWO32 = 4294967296

local old = redis.call('HGET', data, field)
local inserted = false
if not old then
  -- Insert-only table: HLEN is the number of keys. The check and the HSET
  -- below are in the same script, so concurrent inserts cannot overshoot.
  if redis.call('HLEN', data) >= tonumber(ARGV[3]) then return -1 end
  old = string.rep('\0', width)
  inserted = true
end

local new
if op == 'swap' then
  new = operand
elseif op == 'cas' then
  -- Byte equality is value equality: both sides are W-byte encodings.
  if old == operand then new = ARGV[5] else new = old end
elseif width == 8 then
  local ahi, alo = struct.unpack('>I4>I4', old)
  local bhi, blo = struct.unpack('>I4>I4', operand)
  local hi, lo
  if op == 'add' then
    lo = alo + blo -- < 2^33
    local carry = 0
    if lo >= TWO32 then lo = lo - TWO32; carry = 1 end
    hi = (ahi + bhi + carry) % TWO32 -- < 2^33 + 1 before the modulo: wraps at 2^64
  elseif op == 'and' then
    hi, lo = bit.band(ahi, bhi), bit.band(alo, blo)
  elseif op == 'or' then
    hi, lo = bit.bor(ahi, bhi), bit.bor(alo, blo)
  elseif op == 'xor' then
    hi, lo = bit.bxor(ahi, bhi), bit.bxor(alo, blo)
  else
    return redis.error_reply('ERR atomic-dict: unknown operation ' .. op)
  end
  new = struct.pack('>I4>I4', hi, lo)
else
  local a = struct.unpack('>I4', old)
  local b = struct.unpack('>I4', operand)
  local r
  if op == 'add' then
    r = (a + b) % TWO32 -- < 2^33 before the modulo: wraps at 2^32
  elseif op == 'and' then
    r = bit.band(a, b)
  elseif op == 'or' then
    r = bit.bor(a, b)
  elseif op == 'xor' then
    r = bit.bxor(a, b)
  else
    return redis.error_reply('ERR atomic-dict: unknown operation ' .. op)
  end
  new = struct.pack('>I4', r)
end

if inserted or new ~= old then redis.call('HSET', data, field, new) end
return old
