-- Delete one profile and the identity links that point to it, atomically.
--
-- KEYS[1]  the profile document
-- ARGV[1]  key prefix of the site (all keys carry the site's hash tag, as KEYS[1] does)
-- ARGV[2]  the profile id
-- Returns the number of keys removed.

local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local doc = cmsgpack.unpack(raw)
local removed = redis.call('DEL', KEYS[1])
local identities = {}
for _, id in ipairs(doc.identity.anonymousIds or {}) do identities[#identities + 1] = 'a:' .. id end
for _, id in ipairs(doc.identity.aliases or {}) do identities[#identities + 1] = 'u:' .. id end
for _, identity in ipairs(identities) do
  local key = ARGV[1] .. 'l:' .. identity
  -- a shared device's anonymous id may since have joined another user: leave that link
  if redis.call('GET', key) == ARGV[2] then removed = removed + redis.call('DEL', key) end
end
return removed
