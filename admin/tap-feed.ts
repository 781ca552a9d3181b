import type { Sockets, TapEntry } from '../server/socket';
import { adminChannel, adminProtocol, adminSocketPath, type TapFilter } from './protocol';

interface Viewer {
  filter: TapFilter;
  entries: TapEntry[];
  dropped: number;
}

/**
 * Feeds the tap page. It subscribes to `sockets.tap` only while at least one tap page watches
 * (so traffic costs nothing otherwise), filters entries per viewer, and sends them in batches
 * every `batchMs`, at most `batchMax` a batch: a traffic storm cannot flood an admin's browser.
 * The admin socket's own frames are left out, or the tap would show its own output forever.
 */
export class TapFeed {
  private readonly viewers = new Map<string, Viewer>();
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly svc: Sockets,
    private readonly batchMs: number,
    private readonly batchMax: number,
  ) {}

  watch(connId: string, filter: TapFilter): void {
    this.viewers.set(connId, { filter, entries: [], dropped: 0 });
    this.unsubscribe ??= this.svc.tap.subscribe(this.collect);
    this.timer ??= setInterval(() => this.flush(), this.batchMs).unref();
  }

  unwatch(connId: string): void {
    if (!this.viewers.delete(connId) || this.viewers.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs inside the service's send and receive paths: only filtering and an array push. */
  private readonly collect = (entry: TapEntry): void => {
    if (this.isAdminTraffic(entry)) return;
    for (const v of this.viewers.values()) {
      if (!matches(v.filter, entry)) continue;
      if (v.entries.length < this.batchMax) v.entries.push(entry);
      else v.dropped++;
    }
  };

  private flush(): void {
    for (const [connId, v] of this.viewers) {
      if (v.entries.length === 0 && v.dropped === 0) continue;
      const batch = { entries: v.entries, dropped: v.dropped };
      v.entries = [];
      v.dropped = 0;
      this.svc.writeConnection(connId, adminProtocol.message(adminChannel, 'tap', batch));
    }
  }

  /** Frames from or to an admin socket, and presence updates in the admins' route channel. */
  private isAdminTraffic(entry: TapEntry): boolean {
    if (entry.conn !== undefined) return this.svc.getConnection(entry.conn)?.route === adminSocketPath;
    return entry.channel === adminChannel && entry.cmd === 'presence-diff';
  }
}

/** Each filter that is set must be a substring of the entry's field. */
function matches(f: TapFilter, e: TapEntry): boolean {
  return (!f.channel || e.channel.includes(f.channel)) && (!f.cmd || e.cmd.includes(f.cmd)) && (!f.conn || (e.conn ?? '').includes(f.conn));
}
