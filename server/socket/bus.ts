import { createMemoryEngine, MemoryBackend } from '../engine/memory';
import type { Broker, DisconnectTarget, Target, Topic } from './broker';
import { historyDefaults, type History, type HistoryOptions } from './history';
import type { ClusterPresence, Presence } from './presence';
import type { Profile } from './profile';
import type { NodeRegistry } from './registry';
import type { RetryLedger } from './retry-ledger';
import type { RemoteStatus, Status } from './status';

export type { DisconnectTarget, Target, Topic } from './broker';

/**
 * The engine: what the service needs from outside the process, as four seams with their own
 * contracts (in the style of Centrifuge's engine):
 * - `broker` (broker.ts): frames between nodes per channel, user, connection or to all, with
 *   history, positions and recovery;
 * - `presence` (presence.ts): who is in a channel, once per user however many tabs and nodes;
 * - `registry` (registry.ts): which nodes are alive, reaping dead ones, requests between nodes;
 * - `retries` (retry-ledger.ts): retry-safe frames' first answers, for a retry on another node.
 * In memory (server/engine/memory.ts) or over Redis (server/cluster/); test/engine-contract.test.ts
 * runs one suite against each.
 */
export interface Engine {
  readonly broker: Broker;
  readonly presence: ClusterPresence;
  readonly registry: NodeRegistry;
  readonly retries: RetryLedger;
}

/** The node side: what a node does with what the engine hands it (the Hub). */
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

/** What the service and the hub use: the engine's seams behind one object (EngineBus). */
export interface Bus {
  readonly history: History;
  readonly presence: Presence;
  /** None for a node alone: its own Dedupe table is the whole truth. */
  readonly retries?: RetryLedger;
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

/**
 * The one composition of an engine, whichever it is: the broker hands frames to the hub and
 * control messages to the registry, the registry asks the hub for its status and tells it of users
 * gone with a dead node. No engine-specific branch anywhere in the core.
 */
export class EngineBus implements Bus {
  readonly history: History;
  readonly presence: Presence;
  readonly retries?: RetryLedger;
  private delivery?: Delivery;

  constructor(
    readonly engine: Engine,
    /** The only node there is: no other node can see a retry, so none is asked (no round trip before a retry-safe frame). */
    alone = false,
  ) {
    this.history = engine.broker;
    this.presence = engine.presence;
    this.retries = alone ? undefined : engine.retries;
  }

  async start(delivery: Delivery): Promise<void> {
    this.delivery = delivery;
    const { broker, registry } = this.engine;
    await broker.start({
      deliver: delivery.deliver.bind(delivery),
      disconnectLocal: delivery.disconnectLocal.bind(delivery),
      control: (msg) => registry.received(msg),
    });
    await registry.start({ status: () => delivery.status(), userGone: (channel, user) => delivery.userGone(channel, user) });
  }

  publish(target: Target, data: string, except: readonly string[], volatile = false): void {
    this.engine.broker.publish(target, data, except, volatile);
  }

  disconnect(target: DisconnectTarget, code: number, reason: string): void {
    // A connection held here needs no round trip; a user's tabs may be anywhere, this node's included.
    if (target.type === 'conn' && this.delivery?.disconnectLocal(target, code, reason)) return;
    this.engine.broker.disconnect(target, code, reason);
  }

  subscribe(topic: Topic): Promise<void> {
    return this.engine.broker.subscribe(topic);
  }

  unsubscribe(topic: Topic): Promise<void> {
    return this.engine.broker.unsubscribe(topic);
  }

  remoteStatus(timeoutMs: number): Promise<RemoteStatus> {
    return this.engine.registry.remoteStatus(timeoutMs);
  }

  /** Leaves the node list first (others stop counting on it), then stops the broker. */
  async close(): Promise<void> {
    await this.engine.registry.close();
    await this.engine.broker.close();
    this.delivery = undefined;
  }
}

/** The single-process engine: the memory engine on a backend of its own. Publishing is delivering. */
export class LocalBus extends EngineBus {
  private readonly backend: MemoryBackend;

  constructor(history: HistoryOptions = historyDefaults) {
    const backend = new MemoryBackend(history);
    super(createMemoryEngine({ node: 'local', backend }), true);
    this.backend = backend;
  }

  override async close(): Promise<void> {
    await super.close();
    this.backend.close();
  }
}
