import type { Profile } from './profile';
import { historyDefaults, MemoryHistory, type History, type HistoryOptions } from './history';
import { LocalPresence, type Presence } from './presence';
import type { RemoteStatus, Status } from './status';

/**
 * The seam between the service and its transport to other nodes (socket.io-adapter's role).
 * The service serializes a frame once and publishes it; the bus hands it to the delivering
 * side of every node that may hold recipients. The bus also owns what must be shared across
 * nodes: channel history (positions are stamped as frames are published, so every node sees
 * the same order) and presence. A Redis bus replaces LocalBus without any change to the
 * service or handlers.
 */
export type Target =
  | { type: 'channel'; channel: string }
  | { type: 'all' }
  | { type: 'user'; userId: string }
  | { type: 'conn'; connId: string };

/** What a node listens to: a channel it has members in, a user or a connection it holds. */
export type Topic = Exclude<Target, { type: 'all' }>;

/** Who a disconnect closes: one connection, or every tab of one user. */
export type DisconnectTarget = Extract<Target, { type: 'conn' } | { type: 'user' }>;

/** The node side of the bus: what a node does with what others publish. */
export interface Delivery {
  readonly node: string;
  deliver(target: Target, data: string, except: readonly string[]): void;
  /** Closes what of `target` lives on this node; returns how many connections that was. */
  disconnectLocal(target: DisconnectTarget, code: number, reason: string): number;
  /** This node's own status, for another node gathering cluster status. */
  status(): Status;
  /** A user left a channel without saying so (their node died): tell the members. */
  userGone(channel: string, user: Profile): void;
}

export interface Bus {
  readonly history: History;
  readonly presence: Presence;
  /** Starts delivering published frames to this node's connections. */
  start(delivery: Delivery): Promise<void>;
  /** `volatile` channel frames (presence) get no position and stay out of history. */
  publish(target: Target, data: string, except: readonly string[], volatile?: boolean): void;
  /** Closes a connection, or every tab of a user, on whichever nodes they are. */
  disconnect(target: DisconnectTarget, code: number, reason: string): void;
  /** This node now holds recipients for `topic` (first local member, tab or connection). */
  subscribe(topic: Topic): Promise<void>;
  /** This node no longer holds recipients for `topic`. */
  unsubscribe(topic: Topic): Promise<void>;
  /** The status of every other live node, gathered within `timeoutMs` (none for one node), and which did not answer. */
  remoteStatus(timeoutMs: number): Promise<RemoteStatus>;
  close(): Promise<void>;
}

/** Single-process bus: publishing is delivering. */
export class LocalBus implements Bus {
  readonly history: MemoryHistory;
  readonly presence = new LocalPresence();
  private delivery?: Delivery;

  constructor(history: HistoryOptions = historyDefaults) {
    this.history = new MemoryHistory(history);
  }

  async start(delivery: Delivery): Promise<void> {
    this.delivery = delivery;
  }

  publish(target: Target, data: string, except: readonly string[], volatile = false): void {
    if (target.type === 'channel' && !volatile && this.history.enabled) data = this.history.stamp(target.channel, data);
    this.delivery?.deliver(target, data, except);
  }

  disconnect(target: DisconnectTarget, code: number, reason: string): void {
    this.delivery?.disconnectLocal(target, code, reason);
  }

  async subscribe(_topic: Topic): Promise<void> {}
  async unsubscribe(_topic: Topic): Promise<void> {}

  async remoteStatus(): Promise<RemoteStatus> {
    return { statuses: [], missing: [] };
  }

  async close(): Promise<void> {
    this.history.close();
    this.delivery = undefined;
  }
}
