import type { History } from './history';
import type { ControlMessage } from './registry';

/**
 * The Broker seam (Centrifuge's Broker): moving frames between nodes, per channel, user,
 * connection or to everyone, with channel history, positions and recovery. One of the engine's
 * four seams (bus.ts puts them together): presence is Presence's (presence.ts), liveness and
 * requests between nodes the NodeRegistry's (registry.ts), retry-safe answers the RetryLedger's
 * (retry-ledger.ts).
 *
 * An engine implements it once: server/engine/memory.ts in process, server/cluster/redis-broker.ts
 * over Redis pub/sub. test/engine-contract.test.ts holds every implementation to this contract.
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

/** What a broker hands to its node (the hub, and the registry for control messages). */
export interface BrokerHandler {
  /** A frame for this node's recipients of `target`, serialized once, positions embedded. */
  deliver(target: Target, data: string, except: readonly string[]): void;
  /** Close what of `target` lives on this node; returns how many connections that was. */
  disconnectLocal(target: DisconnectTarget, code: number, reason: string): number;
  /** A control message from another node (the registry's requests and answers). */
  control(msg: ControlMessage): void;
}

export interface Broker extends History {
  /** This node's id: control messages are addressed to it. */
  readonly node: string;

  /**
   * Starts handing what is published to `handler`: once this resolves, frames to `all`, control
   * messages to every node or to this one, and frames of the topics subscribed from then on.
   */
  start(handler: BrokerHandler): Promise<void>;

  /**
   * Publishes a frame (already serialized, never again) to every node that may hold recipients of
   * `target`, this one included; `except` connections are skipped by whichever node holds them.
   *
   * Channel frames that are not `volatile` get the channel's next position (history.ts) embedded
   * and are appended to its history, in one step: every node sees a channel's frames in one order,
   * the order of their offsets, and a frame is in history before any node is handed it.
   * `volatile` frames (presence) get no position and stay out of history; so do all frames when
   * history is off (size 0). Returns at once; a failure is logged, the frame is not retried.
   */
  publish(target: Target, data: string, except: readonly string[], volatile?: boolean): void;

  /** Closes a connection, or every tab of a user, on whichever nodes they are (`disconnectLocal` there). */
  disconnect(target: DisconnectTarget, code: number, reason: string): void;

  /** Sends a control message to one node, or to every node when `to` is undefined (this one included: it ignores its own). */
  control(to: string | undefined, msg: ControlMessage): void;

  /**
   * This node now holds recipients of `topic`. Once this resolves, every frame published to the
   * topic is handed to this node: a channel's frames exactly once and in offset order where
   * history still holds them; when it cannot (the transport lost frames that history no longer
   * has), the channel's members here are handed one `recovery-failed` before the next frame,
   * so their apps resync. A broker may also hand a node frames of topics it did not subscribe
   * (the handler finds no recipient and drops them).
   */
  subscribe(topic: Topic): Promise<void>;

  /** This node no longer holds recipients of `topic`: the broker may stop handing it its frames. */
  unsubscribe(topic: Topic): Promise<void>;

  /** Stops handing anything over and releases the connections (after the registry has left). */
  close(): Promise<void>;
}
