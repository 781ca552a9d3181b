/**
 * The seam between the service and its transport to other nodes. The service serializes a
 * frame once and publishes it; the bus hands it to the delivering side of every node that
 * may hold recipients (only this one, in-process). A Redis bus replaces LocalBus without
 * any change to the service or handlers.
 */
export type Target =
  | { type: 'channel'; channel: string }
  | { type: 'all' }
  | { type: 'user'; userId: string }
  | { type: 'conn'; connId: string };

/** What a node does with a published frame: deliver it to its own local connections. */
export interface Delivery {
  deliver(target: Target, data: string, except: readonly string[]): void;
  disconnectLocal(connId: string, code: number, reason: string): boolean;
}

export interface Bus {
  /** Starts delivering published frames to this node's connections. */
  start(delivery: Delivery): Promise<void>;
  publish(target: Target, data: string, except: readonly string[]): void;
  disconnect(connId: string, code: number, reason: string): void;
  /** The node now has members in `channel` (first local member joined). */
  subscribe(channel: string): Promise<void>;
  /** The node has no more members in `channel`. */
  unsubscribe(channel: string): Promise<void>;
  close(): Promise<void>;
}

/** Single-process bus: publishing is delivering. */
export class LocalBus implements Bus {
  private delivery?: Delivery;

  async start(delivery: Delivery): Promise<void> {
    this.delivery = delivery;
  }

  publish(target: Target, data: string, except: readonly string[]): void {
    this.delivery?.deliver(target, data, except);
  }

  disconnect(connId: string, code: number, reason: string): void {
    this.delivery?.disconnectLocal(connId, code, reason);
  }

  async subscribe(): Promise<void> {}
  async unsubscribe(): Promise<void> {}
  async close(): Promise<void> {
    this.delivery = undefined;
  }
}
