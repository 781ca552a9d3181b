import { Keys } from './keys';

/**
 * The keys and topics of a Redis Cluster: the same names as on one Redis, with hash tags (`{…}`,
 * the part Redis Cluster hashes to a slot) so that what one script or transaction touches lives
 * in one slot:
 * - a channel's topic and history (meta, stream) share `{ch:<channel>}`: the publish script
 *   stamps, appends and SPUBLISHes on one shard, and channels spread over the shards;
 * - user, connection and node topics are tagged by their id, so they spread too;
 * - presence and the node list are pinned under `{reg}`, one slot: the presence scripts read the
 *   node list and every channel's hash a dead node was in. That shard carries every join, leave,
 *   presence query and heartbeat (docs/cluster.md: what it costs);
 * - feature state (`s:`, `l:`) stays untagged: one key per command, spread by key.
 * The prefix holds no brace (REDIS_PREFIX allows none), so the tag is always the one meant here.
 */
export class ClusterKeys extends Keys {
  override channelTopic = (channel: string) => `${this.prefix}t:{ch:${channel}}`;
  override userTopic = (userId: string) => `${this.prefix}t:{u:${userId}}`;
  override connTopic = (connId: string) => `${this.prefix}t:{c:${connId}}`;
  override allTopic = () => `${this.prefix}t:{all}`;
  override controlTopic = () => `${this.prefix}t:{ctl}`;
  override nodeTopic = (node: string) => `${this.prefix}t:{n:${node}}`;

  override historyMeta = (channel: string) => `${this.prefix}h:{ch:${channel}}:meta`;
  override historyStream = (channel: string) => `${this.prefix}h:{ch:${channel}}:log`;

  override presencePrefix = () => `${this.prefix}{reg}p:`;
  override presence = (channel: string) => `${this.prefix}{reg}p:${channel}`;
  override nodePresence = (node: string) => `${this.prefix}{reg}pn:${node}`;
  override nodeReaping = (node: string) => `${this.prefix}{reg}pr:${node}`;
  override nodes = () => `${this.prefix}{reg}nodes`;
  override reapLock = (node: string) => `${this.prefix}{reg}reap:${node}`;
}
