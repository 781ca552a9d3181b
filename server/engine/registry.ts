import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Broker } from '../socket/broker';
import type { ClusterPresence } from '../socket/presence';
import type { ControlMessage, NodeRegistry, RegistryHandler } from '../socket/registry';
import type { RemoteStatus, Status } from '../socket/status';

/**
 * Where an engine keeps the nodes' heartbeats (a sorted set in Redis, a map in memory): all the
 * registry needs of it. The protocol on top (when to beat, who reaps, presence written back,
 * status requests) is ClusterRegistry's, the same for every engine.
 */
export interface Liveness {
  /** Records `node`'s heartbeat at `now` (ms); true when the node was not listed before (first beat, or the list was lost). */
  beat(node: string, now: number): Promise<boolean>;
  /** Nodes whose last heartbeat is at or after `since`. */
  live(since: number): Promise<string[]>;
  /** Nodes whose last heartbeat is before `before`. */
  dead(before: number): Promise<string[]>;
  /** Claims the reaping of `node` for `ttlMs`: true for one claimant only. */
  claim(node: string, by: string, ttlMs: number): Promise<boolean>;
  /** Takes `node` off the list. */
  forget(node: string): Promise<void>;
  /** Calls `fn` each time the store is reachable again after losing its connection; returns the unsubscriber. */
  onReconnect(fn: () => void): () => void;
}

export interface RegistryOptions {
  node: string;
  liveness: Liveness;
  presence: ClusterPresence;
  /** Requests and answers go through the broker's control messages. */
  broker: Pick<Broker, 'control'>;
  /** How often this node beats and looks for dead nodes; 0: once, at start (a node alone in its process). */
  heartbeatMs: number;
  /** A node silent this long is dead. */
  nodeTtlMs: number;
  logger: Logger;
}

/** The NodeRegistry of every engine (registry.ts in server/socket/ has the contract). */
export class ClusterRegistry implements NodeRegistry {
  private handler?: RegistryHandler;
  private timer?: NodeJS.Timeout;
  private offReconnect?: () => void;
  private beating?: Promise<void>;
  private again = false;
  /** The backend lost this node's presence, not written back yet (a failed write is retried by the next beat). */
  private presenceLost = false;
  private readonly pending = new Map<string, { statuses: Status[]; expected: number; done: () => void }>();
  private readonly log: Logger;

  constructor(private readonly o: RegistryOptions) {
    this.log = o.logger.child({ registry: o.node });
  }

  async start(handler: RegistryHandler): Promise<void> {
    this.handler = handler;
    await this.beat();
    if (this.o.heartbeatMs > 0) this.timer = setInterval(this.beatNow, this.o.heartbeatMs).unref();
    // Back after a disconnect: alive again at once, and presence written back if the backend lost it.
    this.offReconnect = this.o.liveness.onReconnect(this.beatNow);
  }

  live(): Promise<string[]> {
    return this.o.liveness.live(Date.now() - this.o.nodeTtlMs);
  }

  async remoteStatus(timeoutMs: number): Promise<RemoteStatus> {
    const others = (await this.live()).filter((n) => n !== this.o.node);
    if (others.length === 0) return { statuses: [], missing: [] };
    const id = randomBytes(6).toString('base64url');
    const statuses: Status[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.pending.set(id, { statuses, expected: others.length, done });
      try {
        this.o.broker.control(undefined, { type: 'status-request', id, from: this.o.node });
      } catch (err) {
        this.log.warn({ err }, 'status request failed');
        done();
      }
    });
    this.pending.delete(id);
    const answered = new Set(statuses.map((s) => s.node));
    return { statuses, missing: others.filter((n) => !answered.has(n)) };
  }

  received(msg: ControlMessage): void {
    if (msg.from === this.o.node) return;
    if (msg.type === 'status-request') {
      if (this.handler) this.o.broker.control(msg.from, { type: 'status-response', id: msg.id, from: this.o.node, status: this.handler.status() });
      return;
    }
    const pending = this.pending.get(msg.id);
    if (!pending) return;
    pending.statuses.push(msg.status);
    if (pending.statuses.length >= pending.expected) pending.done();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.offReconnect?.();
    this.handler = undefined;
    await this.o.liveness.forget(this.o.node).catch(() => undefined);
  }

  private readonly beatNow = (): void => {
    if (!this.handler) return;
    void this.beat().catch((err: unknown) => this.log.warn({ err }, 'heartbeat failed'));
  };

  /**
   * One beat at a time. One asked for while another runs (waiting for the backend to come back)
   * follows it at once: the running one may have read the node list before the backend lost it.
   */
  private beat(): Promise<void> {
    if (this.beating) {
      this.again = true;
      return this.beating;
    }
    this.beating = this.beatOnce().finally(() => {
      this.beating = undefined;
      if (this.again) {
        this.again = false;
        this.beatNow();
      }
    });
    return this.beating;
  }

  /**
   * Marks this node alive and reaps nodes whose heartbeat stopped (one reaper each, by claim). A
   * node that finds itself missing from the list lost its presence with it and writes it back.
   */
  private async beatOnce(): Promise<void> {
    const { liveness, presence, node, nodeTtlMs } = this.o;
    const now = Date.now();
    if (await liveness.beat(node, now)) this.presenceLost = true;
    if (this.presenceLost) {
      const entries = await presence.restore();
      this.presenceLost = false;
      if (entries > 0) this.log.info({ entries }, 'this node was missing from the node list (the backend lost its data, or reaped it): presence written back');
    }
    for (const dead of await liveness.dead(now - nodeTtlMs)) {
      if (dead === node || !(await liveness.claim(dead, node, nodeTtlMs))) continue;
      const gone = await presence.reap(dead);
      await liveness.forget(dead);
      this.log.info({ node: dead, users: gone.length }, 'reaped dead node');
      for (const { channel, user } of gone) this.handler?.userGone(channel, user);
    }
  }
}
