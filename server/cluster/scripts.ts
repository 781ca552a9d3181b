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

/** The channel's epoch, started (ARGV[4]) when it has no history. */
const plainEpoch = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then epoch = ARGV[4]; redis.call('HSET', KEYS[1], 'epoch', epoch) end`;

/**
 * On a Redis Cluster the epoch also belongs to the master that stamps (its node id, kept in the
 * hash): a replica promoted by a failover may not have received the last frames its master
 * stamped, and handing their offsets out again would give two frames one position. Its first
 * frame starts a new epoch and history afresh (stream ids restart at 1). So does a slot moved to
 * another master.
 */
const ownerEpoch = `
local owner = redis.call('CLUSTER', 'MYID')
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'owner')
local epoch = meta[1]
if not epoch or meta[2] ~= owner then
  epoch = ARGV[4]
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'owner', owner)
end`;

/**
 * Stamps channel frames with (epoch, seq), appends each to the channel's stream and publishes it.
 * KEYS: meta, stream. ARGV: topic, maxlen, ttl ms, fresh epoch, now ms, then an envelope head and
 * a frame JSON per frame, in order. → the last offset.
 */
function stampAndPublish(publish: 'PUBLISH' | 'SPUBLISH', epoch = plainEpoch): string {
  return `${epoch}
local n
for i = 6, #ARGV, 2 do
  n = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  local stamped = '{"offset":"' .. n .. '","epoch":"' .. epoch .. '",' .. string.sub(ARGV[i + 1], 2)
  -- Exact MAXLEN, not '~': approximate trimming keeps whole 100-entry nodes, so "the last N" would
  -- resume from further back on Redis than in memory, and cost up to N + 100 frames per channel.
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], n .. '-0', 't', ARGV[5], 'd', stamped)
  redis.call('${publish}', ARGV[1], ARGV[i] .. stamped)
end
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
   * Removes a dead node's presence. KEYS: node's channel set, nodes. ARGV: node,
   * presence key prefix, min live score. → flat list channel, user, name of users now gone.
   */
  wsfReap: {
    numberOfKeys: 2,
    lua: `${elsewhere}
local gone = {}
for _, ch in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local hash = ARGV[2] .. ch
  for _, k in ipairs(redis.call('HKEYS', hash)) do
    local tab = string.find(k, '\\t', 1, true)
    if tab and string.sub(k, 1, tab - 1) == ARGV[1] then
      redis.call('HDEL', hash, k)
      local user = string.sub(k, tab + 1)
      if not elsewhere(hash, user, ARGV[1], KEYS[2], tonumber(ARGV[3])) then
        table.insert(gone, ch)
        table.insert(gone, user)
        table.insert(gone, redis.call('HGET', hash, '#\\t' .. user) or user)
        redis.call('HDEL', hash, '#\\t' .. user)
      end
    end
  end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return gone`,
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
