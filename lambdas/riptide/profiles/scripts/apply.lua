-- Apply one chunk of a shard's events to one site's profiles, atomically and exactly once.
--
-- KEYS[1]  the site's high-water mark for this consumer and shard: the stream position of the
--          last event applied. Events at or below it were applied before (a replay or a retry)
--          and change nothing. Every other key is derived from ARGV[1], the site's prefix, and
--          carries the same hash tag, so the script stays within one cluster slot.
-- ARGV[1]  key prefix of the site, e.g. "rt:{shop}:"
-- ARGV[2]  msgpack array of events, in stream order:
--          {position, label, call, userId, anonymousId, previousId, ts_ms, received_ms, values}
-- ARGV[3]  msgpack map attribute -> {rule, options} (riptide.profiles.attributes)
-- ARGV[4]  time to live of anonymous profiles, milliseconds
-- ARGV[5]  most anonymousIds joined to one user
-- ARGV[6]  the last position of the site's previous chunk of the same batch, or "": a chunk
--          runs only after its predecessor, so a failed chunk cannot be skipped over
-- Returns {applied, replayed, profiles written, store commands}.
--
-- Each profile is read at most once and written at most once per call, however many of the
-- chunk's events it takes (coalescing per profile per batch).

local prefix = ARGV[1]
local events = cmsgpack.unpack(ARGV[2])
local spec = cmsgpack.unpack(ARGV[3])
local anon_ttl = tonumber(ARGV[4])
local identity_cap = tonumber(ARGV[5])

local commands = 0
local function call(...)
  commands = commands + 1
  return redis.call(...)
end

local docs = {}      -- profile id -> document, or false when absent
local dirty = {}     -- profile id -> true when it must be written
local removed = {}   -- profile id -> true when it was merged away
local links = {}     -- identity -> profile id it joins, or false
local set_links = {} -- identity -> profile id to write

local function load(pid)
  if docs[pid] == nil then
    local raw = call('GET', prefix .. 'p:' .. pid)
    docs[pid] = raw and cmsgpack.unpack(raw) or false
  end
  return docs[pid]
end

local function doc_for(pid)
  local doc = load(pid)
  if not doc then
    doc = {id = pid, identity = {anonymousIds = {}}}
    if string.sub(pid, 1, 2) == 'u:' then
      doc.identity.userId = string.sub(pid, 3)
    else
      doc.identity.anonymousIds = {string.sub(pid, 3)}
    end
    docs[pid] = doc
    removed[pid] = nil
  end
  return doc
end

local function link_of(identity)
  if links[identity] == nil then
    links[identity] = call('GET', prefix .. 'l:' .. identity) or false
  end
  return links[identity]
end

local function resolve(pid)
  -- follows joins (an alias may chain them); a few hops at most
  for _ = 1, 4 do
    local target = link_of(pid)
    if not target or target == pid then return pid end
    pid = target
  end
  return pid
end

-- Rules: apply(doc, name, value, event, options) and merge(into, from, name, options).
local function decay(score, seconds, half_life)
  return score * math.pow(2, -seconds / half_life)
end

local function add_counts(into, from)
  for label, n in pairs(from) do into[label] = (into[label] or 0) + n end
end

local function prune(buckets, newest, keep)
  for bucket, _ in pairs(buckets) do
    if tonumber(bucket) <= newest - keep then buckets[bucket] = nil end
  end
end

local rules = {}

rules.first = {
  apply = function(doc, name, value, ev)
    local cur = doc[name]
    if value ~= nil and (not cur or ev.ts < cur.t) then doc[name] = {v = value, t = ev.ts} end
  end,
  merge = function(into, from, name)
    if from[name] and (not into[name] or from[name].t < into[name].t) then
      into[name] = from[name]
    end
  end,
}

rules.last = {
  apply = function(doc, name, value, ev)
    local cur = doc[name]
    if value ~= nil and (not cur or ev.ts >= cur.t) then doc[name] = {v = value, t = ev.ts} end
  end,
  merge = function(into, from, name)
    if from[name] and (not into[name] or from[name].t > into[name].t) then
      into[name] = from[name]
    end
  end,
}

rules.traits = {
  apply = function(doc, name, value)
    if type(value) ~= 'table' then return end
    local traits = doc[name] or {}
    for key, v in pairs(value) do traits[key] = v end
    doc[name] = traits
  end,
  merge = function(into, from, name)
    if not from[name] then return end
    local traits = into[name] or {}
    for key, v in pairs(from[name]) do
      if traits[key] == nil then traits[key] = v end
    end
    into[name] = traits
  end,
}

local function bump(buckets, bucket, label, n)
  local key = tostring(bucket)
  local counts = buckets[key] or {}
  counts[label] = (counts[label] or 0) + n
  buckets[key] = counts
end

local function prune_counts(c)
  prune(c.hours, c.hour, 24)
  prune(c.days, c.day, 7)
end

rules.counts = {
  apply = function(doc, name, _, ev)
    local c = doc[name] or {total = {}, hours = {}, days = {}, hour = 0, day = 0}
    local hour, day = math.floor(ev.ts / 3600000), math.floor(ev.ts / 86400000)
    c.total[ev.label] = (c.total[ev.label] or 0) + 1
    bump(c.hours, hour, ev.label, 1)
    bump(c.days, day, ev.label, 1)
    c.hour, c.day = math.max(c.hour, hour), math.max(c.day, day)
    prune_counts(c)
    doc[name] = c
  end,
  merge = function(into, from, name)
    local f = from[name]
    if not f then return end
    local c = into[name] or {total = {}, hours = {}, days = {}, hour = 0, day = 0}
    add_counts(c.total, f.total)
    for bucket, counts in pairs(f.hours) do
      for label, n in pairs(counts) do bump(c.hours, bucket, label, n) end
    end
    for bucket, counts in pairs(f.days) do
      for label, n in pairs(counts) do bump(c.days, bucket, label, n) end
    end
    c.hour, c.day = math.max(c.hour, f.hour), math.max(c.day, f.day)
    prune_counts(c)
    into[name] = c
  end,
}

rules.session = {
  apply = function(doc, name, value, ev, options)
    local gap = options.gap_seconds * 1000
    local s = doc[name]
    if s and ev.ts < s.start - gap then return end -- belongs to an earlier session
    if not s or ev.ts - s.last > gap then
      s = {start = ev.ts, last = ev.ts, pages = 0, counts = {}, lastPageAt = 0}
    end
    s.start = math.min(s.start, ev.ts)
    s.last = math.max(s.last, ev.ts)
    s.counts[ev.label] = (s.counts[ev.label] or 0) + 1
    if ev.call == 'page' or ev.call == 'screen' then
      s.pages = s.pages + 1
      local page = value and (value.path or value.screen)
      if page and ev.ts >= s.lastPageAt then s.lastPage, s.lastPageAt = page, ev.ts end
    end
    doc[name] = s
  end,
  merge = function(into, from, name, options)
    local a, b = into[name], from[name]
    if not b then return end
    if not a then into[name] = b return end
    local gap = options.gap_seconds * 1000
    if b.start > a.last + gap then into[name] = b return end
    if a.start > b.last + gap then return end
    a.start, a.last = math.min(a.start, b.start), math.max(a.last, b.last)
    a.pages = a.pages + b.pages
    add_counts(a.counts, b.counts)
    if b.lastPageAt > a.lastPageAt then a.lastPage, a.lastPageAt = b.lastPage, b.lastPageAt end
  end,
}

local function keep_recent(items, size)
  table.sort(items, function(x, y) return x.t > y.t end)
  local seen, kept = {}, {}
  for _, item in ipairs(items) do
    if not seen[item.id] and #kept < size then
      seen[item.id] = true
      kept[#kept + 1] = item
    end
  end
  return kept
end

rules.recent = {
  apply = function(doc, name, value, ev, options)
    if type(value) ~= 'table' or value.id == nil then return end
    local items = doc[name] or {}
    local item = {t = ev.ts}
    for key, v in pairs(value) do item[key] = v end
    item.id = tostring(value.id)
    items[#items + 1] = item
    doc[name] = keep_recent(items, options.size)
  end,
  merge = function(into, from, name, options)
    local items = {}
    for _, item in ipairs(into[name] or {}) do items[#items + 1] = item end
    for _, item in ipairs(from[name] or {}) do items[#items + 1] = item end
    into[name] = keep_recent(items, options.size)
  end,
}

local function add_score(scores, key, weight, ts, half_life)
  local cur = scores[key]
  if not cur then
    scores[key] = {s = weight, t = ts}
  elseif ts >= cur.t then
    cur.s, cur.t = decay(cur.s, (ts - cur.t) / 1000, half_life) + weight, ts
  else
    cur.s = cur.s + decay(weight, (cur.t - ts) / 1000, half_life)
  end
end

rules.affinity = {
  apply = function(doc, name, value, ev, options)
    if type(value) ~= 'string' then return end
    local weight = options.weights[ev.label] or 1
    local scores = doc[name] or {}
    add_score(scores, value, weight, ev.ts, options.half_life_seconds)
    doc[name] = scores
  end,
  merge = function(into, from, name, options)
    if not from[name] then return end
    local scores = into[name] or {}
    for key, score in pairs(from[name]) do
      add_score(scores, key, score.s, score.t, options.half_life_seconds)
    end
    into[name] = scores
  end,
}

local function cart_of(doc, name)
  local cart = doc[name] or {items = {}, clearedAt = 0}
  doc[name] = cart
  return cart
end

-- The cart goes by receivedAt, the server's clock when the request arrived: client clocks are
-- corrected only to within seconds, too coarse to tell an add from the order that follows it.
-- Events of one request share it; an order then clears what came with it.
rules.cart = {
  apply = function(doc, name, value, ev)
    local cart = cart_of(doc, name)
    local at = ev.received
    if ev.label == 'Order Completed' then
      if at >= cart.clearedAt then
        cart.clearedAt = at
        for id, item in pairs(cart.items) do
          if item.t <= at then cart.items[id] = nil end
        end
      end
      return
    end
    if type(value) ~= 'table' or value.id == nil or at <= cart.clearedAt then return end
    local id = tostring(value.id)
    local quantity = tonumber(value.quantity) or 1
    local item = cart.items[id] or {quantity = 0}
    if ev.label == 'Product Removed' then quantity = -quantity end
    item.quantity = item.quantity + quantity
    item.price = tonumber(value.price) or item.price
    item.name = value.name or item.name
    item.category = value.category or item.category
    item.t = math.max(item.t or 0, at)
    cart.items[id] = item.quantity > 0 and item or nil
  end,
  merge = function(into, from, name)
    if not from[name] then return end
    local cart = cart_of(into, name)
    cart.clearedAt = math.max(cart.clearedAt, from[name].clearedAt)
    for id, item in pairs(from[name].items) do
      local mine = cart.items[id]
      if mine then
        mine.quantity = mine.quantity + item.quantity
        mine.t = math.max(mine.t, item.t)
      else
        cart.items[id] = item
      end
    end
    for id, item in pairs(cart.items) do
      if item.t <= cart.clearedAt then cart.items[id] = nil end
    end
  end,
}

rules.orders = {
  apply = function(doc, name, value, ev)
    local orders = doc[name] or {count = 0, revenue = 0}
    local revenue = value and tonumber(value.revenue or value.total) or 0
    orders.count = orders.count + 1
    orders.revenue = orders.revenue + revenue
    if value and value.currency then orders.currency = value.currency end
    orders.last = math.max(orders.last or 0, ev.ts)
    doc[name] = orders
  end,
  merge = function(into, from, name)
    local f = from[name]
    if not f then return end
    local orders = into[name] or {count = 0, revenue = 0}
    orders.count, orders.revenue = orders.count + f.count, orders.revenue + f.revenue
    orders.currency = orders.currency or f.currency
    orders.last = math.max(orders.last or 0, f.last or 0)
    into[name] = orders
  end,
}

local attribute_names = {}
for name, attribute in pairs(spec) do
  attribute_names[#attribute_names + 1] = name
  if #attribute.when > 0 then
    attribute.labels = {}
    for _, label in ipairs(attribute.when) do attribute.labels[label] = true end
  end
end
table.sort(attribute_names)

-- Identity joins: idempotent (a second join of the same ids finds the link and does nothing).
local function remember_anonymous(doc, anonymous_id)
  local ids = doc.identity.anonymousIds
  for _, known in ipairs(ids) do
    if known == anonymous_id then return end
  end
  ids[#ids + 1] = anonymous_id
  while #ids > identity_cap do
    local dropped = table.remove(ids, 1)
    if set_links['a:' .. dropped] == doc.id or link_of('a:' .. dropped) == doc.id then
      set_links['a:' .. dropped] = false
    end
  end
end

local function join(source, target)
  -- `source` (an anonymous or aliased id, "a:..." or "u:...") becomes part of profile `target`
  if source == target or resolve(source) == target then return end
  local from = load(source)
  local into = doc_for(target)
  if from and not removed[source] then
    for _, name in ipairs(attribute_names) do
      local attribute = spec[name]
      rules[attribute.rule].merge(into, from, name, attribute.options)
    end
    for _, anonymous_id in ipairs(from.identity.anonymousIds or {}) do
      remember_anonymous(into, anonymous_id)
      set_links['a:' .. anonymous_id] = target
      links['a:' .. anonymous_id] = target
    end
    removed[source] = true
    dirty[source] = nil
    docs[source] = false
  end
  if string.sub(source, 1, 2) == 'a:' then
    remember_anonymous(into, string.sub(source, 3))
  else
    local aliases = into.identity.aliases or {}
    local known = false
    for _, alias in ipairs(aliases) do known = known or alias == string.sub(source, 3) end
    if not known then aliases[#aliases + 1] = string.sub(source, 3) end
    into.identity.aliases = aliases
  end
  links[source] = target
  set_links[source] = target
  dirty[target] = true
end

local high_water = call('GET', KEYS[1]) or ''
if high_water < ARGV[6] then
  return redis.error_reply('GAP the previous chunk of this batch was not applied')
end
local applied, replayed, last_position = 0, 0, high_water

for _, row in ipairs(events) do
  local ev = {
    position = row[1], label = row[2], call = row[3], user = row[4], anonymous = row[5],
    previous = row[6], ts = row[7], received = row[8], values = row[9],
  }
  if ev.position <= high_water then
    replayed = replayed + 1
  else
    local target
    if ev.user then
      target = resolve('u:' .. ev.user)
      if ev.anonymous then join('a:' .. ev.anonymous, target) end
      if ev.previous then
        -- alias: previousId names an anonymous id, or a user's profile when one exists
        join('a:' .. ev.previous, target)
        if load('u:' .. ev.previous) then join('u:' .. ev.previous, target) end
      end
    else
      target = resolve('a:' .. ev.anonymous)
    end
    local doc = doc_for(target)
    for _, name in ipairs(attribute_names) do
      local attribute = spec[name]
      if not attribute.labels or attribute.labels[ev.label] then
        rules[attribute.rule].apply(doc, name, ev.values[name], ev, attribute.options)
      end
    end
    dirty[target] = true
    applied = applied + 1
    last_position = ev.position
  end
end

local written = 0
for pid, _ in pairs(removed) do call('DEL', prefix .. 'p:' .. pid) end
for pid, _ in pairs(dirty) do
  local doc = docs[pid]
  if doc then
    if doc.identity.userId then
      call('SET', prefix .. 'p:' .. pid, cmsgpack.pack(doc))
    else
      call('SET', prefix .. 'p:' .. pid, cmsgpack.pack(doc), 'PX', anon_ttl)
    end
    written = written + 1
  end
end
for identity, target in pairs(set_links) do
  if target then
    call('SET', prefix .. 'l:' .. identity, target)
  else
    call('DEL', prefix .. 'l:' .. identity)
  end
end
if last_position ~= high_water then call('SET', KEYS[1], last_position) end
return {applied, replayed, written, commands}
