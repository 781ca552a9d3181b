import { pino, type Logger } from 'pino';
import type { Broker, BrokerHandler, DisconnectTarget, Target, Topic } from '../socket/broker';
import { historyDefaults, MemoryHistory, type HistoryOptions, type HistoryRead, type Position } from '../socket/history';
import { LocalPresence, type ClusterPresence } from '../socket/presence';
import type { Profile } from '../socket/profile';
import type { ControlMessage, NodeRegistry } from '../socket/registry';
import type { RetryLedger } from '../socket/retry-ledger';
import { MemoryLedger } from './memory-ledger';
import { ClusterRegistry, type Liveness } from './registry';

/**
 * The in-process engine. A MemoryBackend plays the part Redis plays for the Redis engine (topics,
 * history, presence, the node list) for every node attached to it: one node in a process by
 * default (LocalBus), several in the contract suite. Delivery is synchronous and loses nothing, so
 * it needs no gap filling; subscriptions cost nothing (every node is handed every frame and finds
 * its own recipients).
 */
export class MemoryBackend {
  private historyStore: MemoryHistory;
  /** Handlers of the attached nodes that have not crashed, in attach order. */
  private receivers: Array<{ node: string; handler: BrokerHandler }> = [];
  private readonly crashed = new Set<string>();
  /** Last heartbeat of each listed node. */
  readonly beats = new Map<string, number>();
  readonly claims = new Map<string, number>();
  /** Each node's tab counts, as the backend holds them (until flushed; then until written back). */
  readonly presences = new Map<string, LocalPresence>();
  /** The nodes' shared retry ledger. */
  readonly ledger = new MemoryLedger();

  constructor(
    private readonly historyOptions: HistoryOptions = historyDefaults,
    /** A node silent this long is dead to presence (as in Redis, before it is even reaped). */
    readonly nodeTtlMs = Infinity,
  ) {
    this.historyStore = new MemoryHistory(historyOptions);
  }

  get history(): MemoryHistory {
    return this.historyStore;
  }

  attach(node: string, handler: BrokerHandler): void {
    this.detach(node);
    this.receivers = [...this.receivers, { node, handler }];
  }

  detach(node: string): void {
    this.receivers = this.receivers.filter((r) => r.node !== node);
  }

  /** The handlers frames go to (a fresh array on each change: a publish iterates a stable one). */
  handlers(): ReadonlyArray<{ node: string; handler: BrokerHandler }> {
    return this.receivers;
  }

  isCrashed(node: string): boolean {
    return this.crashed.size !== 0 && this.crashed.has(node);
  }

  /** Listed and beating within the TTL. */
  isLive(node: string, now = Date.now()): boolean {
    const beat = this.beats.get(node);
    return beat !== undefined && now - beat < this.nodeTtlMs;
  }

  /**
   * Simulates the node's process dying (for tests): it stops receiving, sending and beating; what
   * it left here (its heartbeat, its presence) stays until another node reaps it.
   */
  crash(node: string): void {
    this.crashed.add(node);
    this.detach(node);
  }

  /** Simulates the backend losing everything, as Redis restarting without persistence (for tests). */
  flush(): void {
    this.historyStore.close();
    this.historyStore = new MemoryHistory(this.historyOptions);
    this.beats.clear();
    this.claims.clear();
    this.presences.clear();
  }

  close(): void {
    this.historyStore.close();
    this.receivers = [];
  }
}

/** A node's broker on a MemoryBackend: publishing is delivering, to every node attached. */
class MemoryBroker implements Broker {
  constructor(
    readonly node: string,
    private readonly backend: MemoryBackend,
  ) {}

  async start(handler: BrokerHandler): Promise<void> {
    this.backend.attach(this.node, handler);
  }

  publish(target: Target, data: string, except: readonly string[], volatile = false): void {
    const b = this.backend;
    if (b.isCrashed(this.node)) return;
    const history = b.history;
    if (target.type === 'channel' && !volatile && history.enabled) data = history.stamp(target.channel, data);
    for (const r of b.handlers()) r.handler.deliver(target, data, except);
  }

  disconnect(target: DisconnectTarget, code: number, reason: string): void {
    if (this.backend.isCrashed(this.node)) return;
    for (const r of this.backend.handlers()) r.handler.disconnectLocal(target, code, reason);
  }

  control(to: string | undefined, msg: ControlMessage): void {
    if (this.backend.isCrashed(this.node)) return;
    // As over a wire: later, not inside the sender's call.
    queueMicrotask(() => {
      for (const r of this.backend.handlers()) if (to === undefined || r.node === to) r.handler.control(msg);
    });
  }

  async subscribe(_topic: Topic): Promise<void> {}
  async unsubscribe(_topic: Topic): Promise<void> {}

  head(channel: string): Promise<Position | undefined> {
    return this.backend.history.head(channel);
  }

  read(channel: string, since?: Position): Promise<HistoryRead> {
    return this.backend.history.read(channel, since);
  }

  async close(): Promise<void> {
    this.backend.detach(this.node);
  }
}

/**
 * A node's presence on a MemoryBackend: its own tab counts (a LocalPresence, which the backend
 * holds for every node), and a user is present while any live node counts them.
 */
class MemoryPresence implements ClusterPresence {
  private readonly here = new LocalPresence();

  constructor(
    private readonly node: string,
    private readonly backend: MemoryBackend,
  ) {
    backend.presences.set(node, this.here);
  }

  async join(channel: string, user: Profile): Promise<boolean> {
    if (this.backend.isCrashed(this.node)) return false;
    return (await this.here.join(channel, user)) && !this.elsewhere(channel, user.id);
  }

  async leave(channel: string, user: Profile): Promise<boolean> {
    if (this.backend.isCrashed(this.node)) return false;
    return (await this.here.leave(channel, user)) && !this.elsewhere(channel, user.id);
  }

  async users(channel: string): Promise<Profile[]> {
    const all = this.counted();
    if (all.length === 1 && all[0] === this.here) return this.here.users(channel);
    const users = new Map<string, Profile>();
    for (const p of all) for (const u of await p.users(channel)) if (!users.has(u.id)) users.set(u.id, u);
    return [...users.values()];
  }

  async count(channel: string): Promise<number> {
    const all = this.counted();
    return all.length === 1 && all[0] === this.here ? this.here.count(channel) : (await this.users(channel)).length;
  }

  async restore(): Promise<number> {
    this.backend.presences.set(this.node, this.here);
    return [...this.here.entries()].length;
  }

  async reap(node: string): Promise<Array<{ channel: string; user: Profile }>> {
    const dead = this.backend.presences.get(node);
    if (!dead) return [];
    this.backend.presences.delete(node);
    const gone: Array<{ channel: string; user: Profile }> = [];
    for (const [channel, user] of dead.entries()) if (!this.anywhere(channel, user.id)) gone.push({ channel, user: { id: user.id, name: user.name } });
    return gone;
  }

  /** The presences that count: this node's (as the backend holds it) and live nodes'. */
  private counted(): LocalPresence[] {
    const now = Date.now();
    const out: LocalPresence[] = [];
    for (const [node, p] of this.backend.presences) if (node === this.node || this.backend.isLive(node, now)) out.push(p);
    return out;
  }

  /** Whether a live node other than this one counts the user in the channel. */
  private elsewhere(channel: string, userId: string): boolean {
    const now = Date.now();
    for (const [node, p] of this.backend.presences) {
      if (node !== this.node && this.backend.isLive(node, now) && p.tabs(channel, userId) > 0) return true;
    }
    return false;
  }

  /** Whether this node or a live one counts the user in the channel. */
  private anywhere(channel: string, userId: string): boolean {
    return this.here.tabs(channel, userId) > 0 || this.elsewhere(channel, userId);
  }
}

/** A node's view of the backend's node list. */
class MemoryLiveness implements Liveness {
  constructor(
    private readonly node: string,
    private readonly backend: MemoryBackend,
  ) {}

  async beat(node: string, now: number): Promise<boolean> {
    if (this.backend.isCrashed(this.node)) return false;
    const missing = !this.backend.beats.has(node);
    this.backend.beats.set(node, now);
    return missing;
  }

  async live(since: number): Promise<string[]> {
    return [...this.backend.beats].filter(([, t]) => t >= since).map(([n]) => n);
  }

  async dead(before: number): Promise<string[]> {
    if (this.backend.isCrashed(this.node)) return [];
    return [...this.backend.beats].filter(([, t]) => t < before).map(([n]) => n);
  }

  async claim(node: string, _by: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    if (this.backend.isCrashed(this.node) || (this.backend.claims.get(node) ?? 0) > now) return false;
    this.backend.claims.set(node, now + ttlMs);
    return true;
  }

  async forget(node: string): Promise<void> {
    this.backend.beats.delete(node);
  }

  onReconnect(): () => void {
    return () => {}; // nothing to lose a connection to
  }
}

export interface MemoryEngineOptions {
  node: string;
  backend: MemoryBackend;
  /** 0 (a node alone in its process): it beats once and never dies. */
  heartbeatMs?: number;
  nodeTtlMs?: number;
  logger?: Logger;
}

/** One node's engine parts on a backend (bus.ts puts them together). */
export function createMemoryEngine(o: MemoryEngineOptions): { broker: Broker; presence: ClusterPresence; registry: NodeRegistry; retries: RetryLedger } {
  const broker = new MemoryBroker(o.node, o.backend);
  const presence = new MemoryPresence(o.node, o.backend);
  const liveness = new MemoryLiveness(o.node, o.backend);
  const registry = new ClusterRegistry({
    node: o.node,
    liveness,
    presence,
    broker,
    heartbeatMs: o.heartbeatMs ?? 0,
    nodeTtlMs: o.nodeTtlMs ?? o.backend.nodeTtlMs,
    logger: o.logger ?? silent,
  });
  return { broker, presence, registry, retries: o.backend.ledger };
}

const silent = pino({ level: 'silent' });
