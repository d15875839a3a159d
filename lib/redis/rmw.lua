#!lua
-- atomic-dict on Redis: a batch of read-modify-writes on one table, applied
-- in order as one script, so each is atomic: Redis runs a script to its end
-- with no other command in between (docs/REDIS.md). The client puts the
-- operations issued together (in one tick) in one batch; a batch of one is
-- the common case of an awaited call.
--
-- KEYS[1]  "{t}:d"  hash: field = the key's parts in decimal joined by ":",
--                   value = its value as fixed-width lowercase hex (16 or 8 digits)
-- KEYS[2]  "{t}:o:<session>"  hash: seq -> the answers of a batch applied
--                   whose reply the client may not have yet (lib/redis/session.js)
-- KEYS[3]  "{t}:s"  hash: string key part in decimal -> the string
-- ARGV[1]  seq: the batch's sequence number in the session
-- ARGV[2], ARGV[3]  a run of the session's answered seqs (their entries go), "0" "0" for none
-- ARGV[4]  the capacity (decimal, <= 2^31: exact as a Lua number)
-- ARGV[5]  the digits of a value: 16 (64-bit table) or 8 (32-bit)
-- ARGV[6]  milliseconds the session's answers are kept from now, or "" to
--          leave their expiry as it is (the client refreshes it every few
--          minutes, not on every batch)
-- then per operation: op (add | and | or | xor | swap | cas | ins), field,
--          operand as unpadded hex (add's delta: sub is add of the negated
--          delta; cas: the expected value), cas's desired value ("" else),
--          n, then n pairs (string part in decimal, string) kept on insert
--
-- Returns the answers joined by ",": per operation the value before, as hex
-- ("1" or "0" for ins: whether the key was new), or "-" when the key was
-- absent and the table held its capacity (that operation changed nothing).
--
-- Exactness: a value is never one Lua number (a double, exact only to 2^53).
-- It is parsed as two 32-bit halves, each exact; sums stay below 2^34. The
-- bit library works on 32-bit integers and answers in [-2^31, 2^31), put
-- back in [0, 2^32) before formatting.

local data, answers, strings = KEYS[1], KEYS[2], KEYS[3]
local seq = ARGV[1]

-- A second arrival of this batch (its reply was lost and the client sent it
-- again): the first answers, nothing applied again.
local seen = redis.call('HGET', answers, seq)
if seen then return seen end
if ARGV[2] ~= '0' then
  for s = tonumber(ARGV[2]), tonumber(ARGV[3]) do redis.call('HDEL', answers, s) end
end

local capacity, digits = tonumber(ARGV[4]), tonumber(ARGV[5])
local TWO32 = 4294967296
local ZERO = string.rep('0', digits)
local FORMAT = '%08x%08x'
if digits == 8 then FORMAT = '%08x' end

local function halves(hex)
  local n = #hex
  if n <= 8 then return 0, tonumber(hex, 16) end
  return tonumber(string.sub(hex, 1, n - 8), 16), tonumber(string.sub(hex, n - 7), 16)
end

local function u32(x)
  if x < 0 then return x + TWO32 end
  return x
end

local function text(hi, lo)
  if digits == 8 then return string.format(FORMAT, lo) end
  return string.format(FORMAT, hi, lo)
end

local size = nil -- HLEN, read at the first insert (insert-only table: the number of keys)
local out = {}
local i = 7
while i <= #ARGV do
  local op, field, a, b, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  local old = redis.call('HGET', data, field)
  local inserted = false
  if not old then
    if size == nil then size = redis.call('HLEN', data) end
    if size < capacity then
      old = ZERO
      inserted = true
      size = size + 1
    end
  end
  if not old then
    out[#out + 1] = '-'
  elseif op == 'ins' then
    -- A set's add: the key's presence is all; the answer says whether it was new.
    if inserted then
      redis.call('HSET', data, field, '')
      for j = i + 5, i + 4 + 2 * n, 2 do redis.call('HSETNX', strings, ARGV[j], ARGV[j + 1]) end
      out[#out + 1] = '1'
    else
      out[#out + 1] = '0'
    end
  else
    local new
    if op == 'swap' then
      new = text(halves(a))
    elseif op == 'cas' then
      local ehi, elo = halves(a)
      local ohi, olo = halves(old)
      if ehi == ohi and elo == olo then new = text(halves(b)) else new = old end
    else
      local ahi, alo = halves(old)
      local bhi, blo = halves(a)
      local hi, lo
      if op == 'add' then
        lo = alo + blo
        local carry = 0
        if lo >= TWO32 then lo = lo - TWO32; carry = 1 end
        hi = (ahi + bhi + carry) % TWO32 -- drops the carry out of bit 63: wraps at 2^64
      elseif op == 'and' then
        hi, lo = u32(bit.band(ahi, bhi)), u32(bit.band(alo, blo))
      elseif op == 'or' then
        hi, lo = u32(bit.bor(ahi, bhi)), u32(bit.bor(alo, blo))
      elseif op == 'xor' then
        hi, lo = u32(bit.bxor(ahi, bhi)), u32(bit.bxor(alo, blo))
      else
        return redis.error_reply('ERR atomic-dict: unknown operation ' .. tostring(op))
      end
      new = text(hi, lo)
    end
    if inserted or new ~= old then redis.call('HSET', data, field, new) end
    if inserted then
      for j = i + 5, i + 4 + 2 * n, 2 do redis.call('HSETNX', strings, ARGV[j], ARGV[j + 1]) end
    end
    out[#out + 1] = old
  end
  i = i + 5 + 2 * n
end

local reply = table.concat(out, ',')
redis.call('HSET', answers, seq, reply)
if ARGV[6] ~= '' then redis.call('PEXPIRE', answers, ARGV[6]) end
return reply
