/**
 * Optional hooks for metrics (see admin/metrics.ts). The service calls them only when an
 * observer is set, so without one the hot path pays a single check.
 */
export interface Observer {
  /** A route handler finished a client cmd without error (async ones: when they settled). */
  handled(cmd: string, seconds: number): void;
  /** An error frame was sent (`code` from ErrorCode or a handler's SocketError), or the WebSocket reported an error. */
  error(code: string): void;
  /** A connection closed with this close code. */
  closed(code: number): void;
}

/** Runs `work` and reports its duration when it succeeds; failures are left to the caller. */
export function timed(observer: Observer, cmd: string, work: () => unknown): unknown {
  const started = performance.now();
  const done = () => observer.handled(cmd, (performance.now() - started) / 1000);
  const result = work();
  if (result instanceof Promise) {
    return result.then((value) => {
      done();
      return value;
    });
  }
  done();
  return result;
}
