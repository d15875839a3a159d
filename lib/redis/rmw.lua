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
-- KEYS[3]  "{t}:s"  hash: string key part in decimal -> the string (only
--                   for a table that keeps strings)
-- ARGV[1]  seq: the batch's sequence number in the session
-- ARGV[2], ARGV[3]  a run of the session's answered seqs (their entries go), "0" "0" for none
-- ARGV[4]  the capacity (decimal, <= 2^31: exact as a Lua number)
-- ARGV[5]  the digits of a value: 16 (64-bit table) or 8 (32-bit)
-- ARGV[6]  milliseconds the session's answers are kept from now, or "" to
--          leave their expiry as it is (the client refreshes it every few
--          minutes, not on every batch)
-- ARGV[7]  prev: the session's batch sent before this one and not answered
--          when this one was sent, or "0": when it has no entry (it was not
--          applied: its EVALSHA failed NOSCRIPT and comes again whole, or a
--          redirection delays it), this batch is refused with an error
--          starting "ORDER", applying nothing, and comes again after it
-- then per operation: op (add | and | or | xor | swap | cas | ins), field,
--          the operand as unpadded hex (not for ins; add's delta: sub is add
--          of the negated delta; cas: the expected value), cas's desired
--          value (cas only), and for a table that keeps strings (KEYS[3]
--          given) n, then n pairs (string part in decimal, string) kept on
--          insert: as few arguments as the operation needs
--
-- Returns the answers joined by ",": per operation the value before, as hex
-- ("1" or "0" for ins: whether the key was new), or "-" when the key was
-- absent and the table held its capacity (that operation changed nothing).
--
-- A bulk operation (madd | mswap | mstore | mins: addMany, a swap of many,
-- storeMany, a set's addMany) is one entry: op, K (its number of keys),
-- the operand for every key as unpadded hex ("" for mins), "each" when K
-- operands (one per key) follow the keys instead, n, the n string pairs of
-- all its keys, then the K fields, then the K operands when "each". It
-- first finds or inserts its keys in order (an inserted key's value 0),
-- stopping at the first that does not fit; only when all are there does it
-- change values, in order (a key given twice changes twice). Its answer:
-- the values before, concatenated (fixed width: no separator; "" for
-- mstore), or for mins one "1"/"0" per key (whether it inserted the key);
-- "-" then one "1"/"0" per key found or inserted before the one that did
-- not fit, when the table was full (no value changed: as locally).
--
-- Exactness: a value is never one Lua number (a double, exact only to 2^53).
-- It is parsed as two 32-bit halves, each exact; sums stay below 2^34. The
-- bit library works on 32-bit integers and answers in [-2^31, 2^31), put
-- back in [0, 2^32) before formatting.

local data, answers, strings = KEYS[1], KEYS[2], KEYS[3]
local seq = ARGV[1]

-- An empty batch (ready() sends one, so the script is loaded before the
-- first operation): it makes the answers hash (a marker field "0": no
-- batch has that seq) and the strings' hash exist, so that no batch names
-- keys of which some exist and some not (refused with TRYAGAIN while the
-- table's Cluster slot is being migrated).
if #ARGV < 8 then
  redis.call('HSET', answers, '0', '')
  if ARGV[6] ~= '' then redis.call('PEXPIRE', answers, ARGV[6]) end
  if strings then redis.call('HSETNX', strings, '', '') end
  return ''
end

-- The reported run of answered batches: their entries go. Done after this
-- batch's own entry is written (or found), so the hash never empties
-- (which would delete it and lose its expiry).
local function forget()
  if ARGV[2] == '0' then return end
  local from, to = tonumber(ARGV[2]), tonumber(ARGV[3])
  if from == to then
    redis.call('HDEL', answers, ARGV[2])
    return
  end
  for s = from, to, 1000 do
    local list = {}
    for q = s, math.min(s + 999, to) do list[#list + 1] = q end
    redis.call('HDEL', answers, unpack(list))
  end
end

-- A second arrival of this batch (its reply was lost and the client sent it
-- again): the first answers, nothing applied again.
local seen = redis.call('HGET', answers, seq)
if seen then
  forget()
  if ARGV[6] ~= '' then redis.call('PEXPIRE', answers, ARGV[6]) end
  return seen
end
-- The batch before it not applied yet: not this one either (order).
if ARGV[7] ~= '0' and redis.call('HEXISTS', answers, ARGV[7]) == 0 then
  return redis.error_reply('ORDER atomic-dict: batch ' .. seq .. ' comes after batch ' .. ARGV[7] .. ', not applied yet')
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

local bulk = nil -- the bulk operations' function, made at the first one (single operations make no closure for it)

local nargs = #ARGV
local i = 8
while i <= nargs do
  -- Bulk operations are answered here; the body below is the single ones'.
  while i <= nargs and string.byte(ARGV[i], 1) == 109 do -- 'm': madd, mswap, mstore, mins
    if bulk == nil then
    -- HSET of many field/value pairs (`pairs` flat), in calls of at most 1000
    -- pairs (unpack's arguments stay well under Lua's C stack limit).
    local function hsetMany(flat)
      for from = 1, #flat, 2000 do
        redis.call('HSET', data, unpack(flat, from, math.min(from + 1999, #flat)))
      end
    end

    -- The bulk operation at ARGV[at]: its answer and the index after it. Each
    -- distinct key is read once and written once.
    bulk = function(at)
      local op, count, operand, each, n = ARGV[at], tonumber(ARGV[at + 1]), ARGV[at + 2], ARGV[at + 3] == 'each', tonumber(ARGV[at + 4])
      local named = {}
      for j = at + 5, at + 4 + 2 * n, 2 do named[ARGV[j]] = ARGV[j + 1] end
      local f0 = at + 5 + 2 * n
      local nexti = f0 + count
      if each then nexti = nexti + count end
      local cur = {} -- field -> its value, as stored or as this operation made it
      local fresh = {} -- the fields inserted, in order
      local flags = {}
      -- The strings of the new keys' string parts.
      local function nameFresh()
        if n == 0 then return end
        for _, field in ipairs(fresh) do
          for part in string.gmatch(field, '[^:]+') do
            if named[part] then redis.call('HSETNX', strings, part, named[part]) end
          end
        end
      end
      local function insertFresh()
        local flat = {}
        for _, field in ipairs(fresh) do
          flat[#flat + 1] = field
          flat[#flat + 1] = ZERO
        end
        hsetMany(flat)
        nameFresh()
      end
      for k = 0, count - 1 do
        local field = ARGV[f0 + k]
        if cur[field] then
          flags[k + 1] = '0'
        else
          local v = redis.call('HGET', data, field)
          if v then
            cur[field] = v
            flags[k + 1] = '0'
          else
            if size == nil then size = redis.call('HLEN', data) end
            if size >= capacity then
              insertFresh()
              return '-' .. table.concat(flags), nexti
            end
            size = size + 1
            cur[field] = ZERO
            fresh[#fresh + 1] = field
            flags[k + 1] = '1'
          end
        end
      end
      if op == 'mins' then
        insertFresh()
        return table.concat(flags), nexti
      end
      local olds = {}
      for k = 0, count - 1 do
        local field = ARGV[f0 + k]
        local hex = operand
        if each then hex = ARGV[f0 + count + k] end
        local old = cur[field]
        if op == 'madd' then
          local ahi, alo = halves(old)
          local bhi, blo = halves(hex)
          local lo = alo + blo
          local carry = 0
          if lo >= TWO32 then lo = lo - TWO32; carry = 1 end
          cur[field] = text((ahi + bhi + carry) % TWO32, lo)
        else
          cur[field] = text(halves(hex))
        end
        if op ~= 'mstore' then olds[k + 1] = old end
      end
      -- Every distinct key once, with its last value; the strings of new keys.
      local flat = {}
      for field, v in pairs(cur) do
        flat[#flat + 1] = field
        flat[#flat + 1] = v
      end
      hsetMany(flat)
      nameFresh()
      return table.concat(olds), nexti
    end


    end
    local answer, after = bulk(i)
    out[#out + 1] = answer
    i = after
  end
  if i > nargs then break end
  local op, field = ARGV[i], ARGV[i + 1]
  local a, b, n = nil, nil, 0
  local j = i + 2 -- the next argument of this operation
  if op ~= 'ins' then a = ARGV[j]; j = j + 1 end
  if op == 'cas' then b = ARGV[j]; j = j + 1 end
  if strings then n = tonumber(ARGV[j]); j = j + 1 end
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
      for k = j, j + 2 * n - 1, 2 do redis.call('HSETNX', strings, ARGV[k], ARGV[k + 1]) end
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
      for k = j, j + 2 * n - 1, 2 do redis.call('HSETNX', strings, ARGV[k], ARGV[k + 1]) end
    end
    out[#out + 1] = old
  end
  i = j + 2 * n
end

local reply = table.concat(out, ',')
redis.call('HSET', answers, seq, reply)
forget()
if ARGV[6] ~= '' then redis.call('PEXPIRE', answers, ARGV[6]) end
return reply
