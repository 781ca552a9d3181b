import type { IncomingMessage } from 'node:http';

/**
 * Which browser origins may open sockets (cross-site WebSocket hijacking defence). Requests
 * without an Origin header come from non-browser clients and are not a CSWSH risk.
 */
export class OriginPolicy {
  /**
   * @param allowed exact origins such as `https://app.example.com`, or `*` for any.
   * @param allowLocalhost also accept http(s)://localhost, 127.0.0.1 and [::1] on any port (development).
   */
  constructor(
    private readonly allowed: readonly string[],
    private readonly allowLocalhost: boolean,
  ) {}

  allows(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin) return true;
    if (this.allowed.includes('*') || this.allowed.includes(origin)) return true;
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false;
    }
    if (u.host === req.headers.host) return true;
    return this.allowLocalhost && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  }
}
