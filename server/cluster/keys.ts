/** Every Redis key and pub/sub channel wsforge uses, in one place, under one prefix. */
export class Keys {
  constructor(readonly prefix: string) {}

  // pub/sub topics
  channelTopic = (channel: string) => `${this.prefix}t:ch:${channel}`;
  userTopic = (userId: string) => `${this.prefix}t:u:${userId}`;
  connTopic = (connId: string) => `${this.prefix}t:c:${connId}`;
  allTopic = () => `${this.prefix}t:all`;
  /** Cluster control requests (status), to every node. */
  controlTopic = () => `${this.prefix}t:ctl`;
  /** Answers to one node. */
  nodeTopic = (node: string) => `${this.prefix}t:n:${node}`;

  // history: a hash {epoch, seq} and a stream of stamped frames per channel
  historyMeta = (channel: string) => `${this.prefix}h:${channel}:meta`;
  historyStream = (channel: string) => `${this.prefix}h:${channel}:log`;
  /** A retry-safe frame's claim and first answer (redis-ledger.ts), by `<user>:<frame id>`. */
  retry = (key: string) => `${this.prefix}r:${key}`;

  // presence: per channel, field "<node>\t<user>" → tabs on that node
  presencePrefix = () => `${this.prefix}p:`;
  presence = (channel: string) => `${this.prefix}p:${channel}`;
  /** Channels a node has presence in, for cleaning up after it dies. */
  nodePresence = (node: string) => `${this.prefix}pn:${node}`;
  /** A dead node's channels not reaped yet (its channel set, moved here when its reap begins). */
  nodeReaping = (node: string) => `${this.prefix}pr:${node}`;
  /** Live nodes: node → last heartbeat (ms). */
  nodes = () => `${this.prefix}nodes`;
  reapLock = (node: string) => `${this.prefix}reap:${node}`;

  // feature state
  value = (key: string) => `${this.prefix}s:${key}`;
  list = (key: string) => `${this.prefix}l:${key}`;
}
