-- Decide, for each copy of one site's events, whether it is the one that counts.
--
-- KEYS     one message key per copy (rt:{site}:m:<messageId>), in stream order; all carry the
--          site's hash tag, so the script stays within one cluster slot
-- ARGV[1]  now, epoch milliseconds (the server's clock is not read: scripts must be replayable)
-- ARGV[2]  the window, milliseconds
-- ARGV[3]  how long a claim is kept after the later of its copy's arrival and now, milliseconds
-- ARGV[2+2i], ARGV[3+2i]  copy i's stream position ("shard sequence sub-sequence") and its
--          arrival time in the stream, epoch milliseconds
-- Returns one integer per copy: 1 it counts, 0 it is a duplicate.
--
-- The first copy seen claims the key with its arrival and position. A copy counts if it holds
-- the claim (a replay of the first copy) or arrived a whole window or more after the claimant;
-- any other copy is a duplicate. Two copies of one message in one call: the first claims.

local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local keep = tonumber(ARGV[3])
local counts = {}
for i, key in ipairs(KEYS) do
  local position = ARGV[2 + 2 * i]
  local arrival = tonumber(ARGV[3 + 2 * i])
  local claim = redis.call('GET', key)
  if not claim then
    local expires = string.format('%d', math.max(arrival, now) + keep)
    redis.call('SET', key, ARGV[3 + 2 * i] .. ' ' .. position, 'PXAT', expires)
    counts[i] = 1
  else
    local space = string.find(claim, ' ', 1, true)
    local claimed_arrival = tonumber(string.sub(claim, 1, space - 1))
    if string.sub(claim, space + 1) == position or arrival - claimed_arrival >= window then
      counts[i] = 1
    else
      counts[i] = 0
    end
  end
end
return counts
