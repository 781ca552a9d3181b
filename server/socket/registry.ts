import type { Profile } from './profile';
import type { RemoteStatus, Status } from './status';

/**
 * The NodeRegistry seam: which nodes are alive, what happens when one dies, and requests between
 * nodes (cluster status). As in socket.io's cluster adapter, this part is written once
 * (server/engine/registry.ts, over a small Liveness store per engine) and sends through the
 * broker's `control`: an engine provides where heartbeats are kept, not the protocol.
 */
export interface NodeRegistry {
  /**
   * Marks this node alive (now, and every heartbeat), and from then on:
   * - a node whose last heartbeat is older than the node TTL is dead: exactly one live node reaps
   *   it, taking its presence out (ClusterPresence.reap) and calling `handler.userGone` for each
   *   (channel, user) that no live node still has;
   * - when this node finds itself missing from the list (the backend lost its data, or reaped it
   *   while it was cut off), it writes its presence back (ClusterPresence.restore), silently;
   * - it answers other nodes' status requests with `handler.status()`.
   */
  start(handler: RegistryHandler): Promise<void>;
  /** Live nodes (heartbeat within the TTL), this one included once started. */
  live(): Promise<string[]>;
  /**
   * Every other live node's status, gathered within `timeoutMs`; `missing` names the live nodes
   * that did not answer in time. Resolves (never rejects) with none for a node alone.
   */
  remoteStatus(timeoutMs: number): Promise<RemoteStatus>;
  /** A control message the broker received for this node (requests and answers of other nodes). */
  received(msg: ControlMessage): void;
  /** Stops beating and leaves the list at once (a graceful shutdown: nobody waits for the TTL). */
  close(): Promise<void>;
}

/** What the registry asks of its node. */
export interface RegistryHandler {
  /** This node's own status, for another node gathering cluster status. */
  status(): Status;
  /** A user left a channel without saying so (their node died): tell the members. */
  userGone(channel: string, user: Profile): void;
}

/** Requests and answers between nodes, carried by the broker's `control`. */
export type ControlMessage =
  | { type: 'status-request'; id: string; from: string }
  | { type: 'status-response'; id: string; from: string; status: Status };
