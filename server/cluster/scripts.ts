import type { Cluster, Redis } from 'ioredis';

/**
 * Lua scripts: each runs atomically in Redis, which is what keeps offsets, history and live
 * delivery in one order across nodes, and presence counts consistent.
 */
const elsewhere = `
local function elsewhere(hash, user, node, nodes, minScore)
  for _, k in ipairs(redis.call('HKEYS', hash)) do
    local tab = string.find(k, '\\t', 1, true)
    if tab and string.sub(k, tab + 1) == user and string.sub(k, 1, tab - 1) ~= node then
      local score = redis.call('ZSCORE', nodes, string.sub(k, 1, tab - 1))
      if score and tonumber(score) >= minScore then return true end
    end
  end
  return false
end
`;

/**
 * A call sent again must not stamp, store and publish its frames twice: ioredis re-sends a command
 * whose reply was lost with its connection, though Redis may have run it. Each call carries its
 * node (ARGV[6]), the node's process (ARGV[7], random per start) and a sequence number growing
 * with each call (ARGV[8]); the channel's meta hash keeps the last one applied per node
 * (`pub:<node>` → `<process>:<seq>`, read into meta[3]), and a call at or below it answers the
 * channel's last offset and does nothing. A node's calls for one channel reach Redis in the order
 * sent (one connection; on a Redis Cluster one call in flight per channel, OrderedBatches), so a
 * lower one is a re-send. Checked before the epoch: a promoted replica that has the call's frames
 * skips them too.
 */
const applied = `
local mine = ARGV[7] .. ':'
if meta[3] and string.sub(meta[3], 1, #mine) == mine and tonumber(string.sub(meta[3], #mine + 1)) >= tonumber(ARGV[8]) then
  return tonumber(meta[2])
end`;

/** The channel's meta (one read), its epoch, started (ARGV[4]) when it has no history, and last offset. */
const plainEpoch = `
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'seq', 'pub:' .. ARGV[6])
${applied}
local epoch = meta[1] or ARGV[4]
local n = tonumber(meta[2]) or 0`;

/**
 * On a Redis Cluster the epoch also belongs to the master that stamps (its node id, kept in the
 * hash): a replica promoted by a failover may not have received the last frames its master
 * stamped, and handing their offsets out again would give two frames one position. Its first
 * frame starts a new epoch and history afresh (stream ids restart at 1). So does a slot moved to
 * another master.
 */
const ownerEpoch = `
local owner = redis.call('CLUSTER', 'MYID')
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'seq', 'pub:' .. ARGV[6], 'owner')
${applied}
local epoch = meta[1]
local n = tonumber(meta[2]) or 0
if not epoch or meta[4] ~= owner then
  epoch = ARGV[4]
  n = 0
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], 'owner', owner)
end`;

/**
 * Stamps channel frames with (epoch, offset), appends each to the channel's stream and publishes
 * it, once per call (applied). KEYS: meta, stream. ARGV: topic, maxlen, ttl ms, fresh epoch, now
 * ms, node, its process, call sequence, then an envelope head and a frame JSON per frame, in
 * order. → the last offset.
 */
function stampAndPublish(publish: 'PUBLISH' | 'SPUBLISH', epoch = plainEpoch): string {
  return `${epoch}
for i = 9, #ARGV, 2 do
  n = n + 1
  local stamped = '{"offset":"' .. n .. '","epoch":"' .. epoch .. '",' .. string.sub(ARGV[i + 1], 2)
  -- Exact MAXLEN, not '~': approximate trimming keeps whole 100-entry nodes, so "the last N" would
  -- resume from further back on Redis than in memory, and cost up to N + 100 frames per channel.
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], n .. '-0', 't', ARGV[5], 'd', stamped)
  redis.call('${publish}', ARGV[1], ARGV[i] .. stamped)
end
redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', n, 'pub:' .. ARGV[6], ARGV[7] .. ':' .. ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return n`;
}

export const scripts = {
  /** Channel frames on one Redis (stampAndPublish). */
  wsfPublish: { numberOfKeys: 2, lua: stampAndPublish('PUBLISH') },
  /** Channel frames on a Redis Cluster: SPUBLISH to the shard, and a new epoch whenever another master stamps (ownerEpoch). */
  wsfSPublish: { numberOfKeys: 2, lua: stampAndPublish('SPUBLISH', ownerEpoch) },
  /** Envelopes on one shard channel, in order. KEYS: the shard channel (for routing only). ARGV: the envelopes. */
  wsfSPublishAll: {
    numberOfKeys: 1,
    lua: `
for i = 1, #ARGV do redis.call('SPUBLISH', KEYS[1], ARGV[i]) end
return #ARGV`,
  },
  /**
   * KEYS: presence hash, node's channel set, nodes. ARGV: node, user, name, channel, the user's
   * tabs on the node now, min live score. → 1 if first anywhere. Counts are set, not incremented:
   * the node's own count is the truth, so one Redis lost (restarted empty) is right again at once.
   * The user's name lives in the same hash under "#\t<user>" ("#" is no node id).
   */
  wsfPresenceJoin: {
    numberOfKeys: 3,
    lua: `${elsewhere}
redis.call('HSET', KEYS[1], '#\\t' .. ARGV[2], ARGV[3], ARGV[1] .. '\\t' .. ARGV[2], ARGV[5])
redis.call('SADD', KEYS[2], ARGV[4])
if tonumber(ARGV[5]) > 1 then return 0 end
if elsewhere(KEYS[1], ARGV[2], ARGV[1], KEYS[3], tonumber(ARGV[6])) then return 0 end
return 1`,
  },
  /**
   * KEYS: presence hash, node's channel set, nodes. ARGV: node, user, channel, the user's tabs
   * left on the node, min live score. → 1 if that was the last anywhere. Forgets the name then,
   * and the channel in the node's set once the node has nobody left in it, so neither grows with
   * users or channels long gone.
   */
  wsfPresenceLeave: {
    numberOfKeys: 3,
    lua: `${elsewhere}
local f = ARGV[1] .. '\\t' .. ARGV[2]
if tonumber(ARGV[4]) > 0 then
  redis.call('HSET', KEYS[1], f, ARGV[4])
  redis.call('SADD', KEYS[2], ARGV[3])
  return 0
end
redis.call('HDEL', KEYS[1], f)
local mine = ARGV[1] .. '\\t'
local left = false
for _, k in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(k, 1, #mine) == mine then left = true; break end
end
if not left then redis.call('SREM', KEYS[2], ARGV[3]) end
if elsewhere(KEYS[1], ARGV[2], ARGV[1], KEYS[3], tonumber(ARGV[5])) then return 0 end
redis.call('HDEL', KEYS[1], '#\\t' .. ARGV[2])
return 1`,
  },
  /**
   * Takes part of a dead node's presence out; the caller calls again until it is all out, so that
   * no call holds Redis long. A call takes at most ARGV[4] users, and reads no further channel once
   * the users taken and the entries read (each channel's hash is read whole) make ARGV[4]. KEYS:
   * node's channel set, its channels left to reap (the set is moved there by the first call: what
   * the node joins if it comes back meanwhile stays apart), nodes. ARGV: node, presence key
   * prefix, min live score, batch. → 1 once the node is reaped (it is then off the node list: back,
   * it writes its presence again), else 0; then channel, user, name of each user now gone. Each
   * field is taken out by one call, so each gone user is in one answer, however many nodes reap at
   * once. A node not listed (reaped already) or listed live (back before its reap began): 1, nothing done.
   */
  wsfReap: {
    numberOfKeys: 3,
    lua: `
local node, minScore, budget = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 0 then
  local score = redis.call('ZSCORE', KEYS[3], node)
  if not score or tonumber(score) >= minScore then return {1} end
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('ZREM', KEYS[3], node)
    return {1}
  end
  redis.call('RENAME', KEYS[1], KEYS[2])
end
local out = {0}
local live = {}
local mine = #node + 2
while budget > 0 do
  local ch = redis.call('SPOP', KEYS[2])
  if not ch then break end
  local hash = ARGV[2] .. ch
  local fields = redis.call('HKEYS', hash)
  local present = {}
  local dead = {}
  for _, k in ipairs(fields) do
    local tab = string.find(k, '\\t', 1, true)
    if tab then
      local n = string.sub(k, 1, tab - 1)
      if n == node then
        table.insert(dead, k)
      elseif n ~= '#' then
        if live[n] == nil then
          local s = redis.call('ZSCORE', KEYS[3], n)
          live[n] = s ~= false and tonumber(s) >= minScore
        end
        if live[n] then present[string.sub(k, tab + 1)] = true end
      end
    end
  end
  local take = math.min(#dead, budget)
  for i = 1, take do
    local user = string.sub(dead[i], mine)
    redis.call('HDEL', hash, dead[i])
    if not present[user] then
      table.insert(out, ch)
      table.insert(out, user)
      table.insert(out, redis.call('HGET', hash, '#\\t' .. user) or user)
      redis.call('HDEL', hash, '#\\t' .. user)
    end
  end
  if take < #dead then redis.call('SADD', KEYS[2], ch) end
  -- Reading a channel's hash counts too (read once a channel and call, where it was once a user).
  budget = budget - take - #fields - 1
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[3], node)
  out[1] = 1
end
return out`,
  },
  /** Compare-and-set of a versioned value. KEYS: value hash. ARGV: expected version ('' = absent), data. → 1 on success. */
  wsfCas: {
    numberOfKeys: 1,
    lua: `
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', (tonumber(v) or 0) + 1, 'd', ARGV[2])
return 1`,
  },
  /** KEYS: list. ARGV: item, max. */
  wsfAppend: {
    numberOfKeys: 1,
    lua: `
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
return 1`,
  },
} as const;

type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;
/** A connection to one Redis, or the client of a Redis Cluster (which sends each command to its key's shard). */
export type RedisClient = Redis | Cluster;
export type ScriptedRedis<R extends RedisClient = Redis> = R & Record<keyof typeof scripts, ScriptFn>;

/** Registers the scripts on a connection (ioredis loads them with EVALSHA, falling back to EVAL). */
export function withScripts<R extends RedisClient>(redis: R): ScriptedRedis<R> {
  for (const [name, def] of Object.entries(scripts)) redis.defineCommand(name, def);
  return redis as ScriptedRedis<R>;
}
