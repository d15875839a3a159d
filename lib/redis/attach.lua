#!lua
-- atomic-dict on Redis: make a table's metadata, or check it, atomically
-- (two clients attaching at once agree on one geometry).
--
-- KEYS[1]  the table's metadata hash "{name}:meta"
-- ARGV     field, value, field, value, ... (the geometry, as strings)
--
-- Returns an empty array when the metadata was made or matches, else
-- { field, stored, asked, ... } for every field that differs.

local meta = KEYS[1]
if redis.call('EXISTS', meta) == 0 then
  redis.call('HSET', meta, unpack(ARGV))
  return {}
end
local diff = {}
for i = 1, #ARGV, 2 do
  local stored = redis.call('HGET', meta, ARGV[i])
  if stored ~= ARGV[i + 1] then
    diff[#diff + 1] = ARGV[i]
    diff[#diff + 1] = stored or '(absent)'
    diff[#diff + 1] = ARGV[i + 1]
  end
end
return diff
