import type { ClusterStatus, Sockets } from '../server/socket';
import { adminChannel, adminProtocol, type View } from './protocol';
import { channelSnapshot, connectionSnapshot, overview } from './snapshots';

type LiveView = Exclude<View, { view: 'tap' }>;

/**
 * Pushes each watching admin page its view (counters and tables, one page of rows each) every
 * `intervalMs`. The timer runs only while at least one page watches, and the cluster status is
 * gathered once per tick whatever the number of viewers.
 */
export class LiveStatus {
  private readonly viewers = new Map<string, LiveView>();
  private timer?: NodeJS.Timeout;
  private busy?: Promise<unknown>;

  constructor(
    private readonly svc: Sockets,
    private readonly intervalMs: number,
    private readonly pageSize: number,
  ) {}

  /** Starts (or changes) what `connId` sees, and sends the first snapshot at once. */
  watch(connId: string, view: LiveView): void {
    this.viewers.set(connId, view);
    this.timer ??= setInterval(() => this.tick(), this.intervalMs).unref();
    this.push(connId, view, lazy(() => this.svc.clusterStatus())).catch(() => undefined);
  }

  unwatch(connId: string): void {
    if (!this.viewers.delete(connId) || this.viewers.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    // Cluster status is a round trip over the bus: a tick still waiting for it skips the next.
    if (this.busy) return;
    const status = lazy(() => this.svc.clusterStatus());
    this.busy = Promise.all([...this.viewers].map(([connId, view]) => this.push(connId, view, status))).then(
      () => (this.busy = undefined),
      () => (this.busy = undefined),
    );
  }

  private async push(connId: string, view: LiveView, status: () => Promise<ClusterStatus>): Promise<void> {
    const { svc, pageSize } = this;
    const msg = adminProtocol.message;
    switch (view.view) {
      case 'sockets': {
        const o = overview(await status(), view.channels, view.connections, pageSize);
        // The viewer may have left while other nodes answered.
        if (this.viewers.has(connId)) svc.writeConnection(connId, msg(adminChannel, 'overview', o));
        return;
      }
      case 'channel':
        return svc.writeConnection(connId, msg(adminChannel, 'channel', await channelSnapshot(view.key, view.members, pageSize, status)));
      case 'connection': {
        const snapshot = await connectionSnapshot(svc, view.id, status);
        if (snapshot) svc.writeConnection(connId, msg(adminChannel, 'connection', snapshot));
        return;
      }
    }
  }
}

/** Computes on first call only: a tick whose viewers need no cluster status never asks for it. */
function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
