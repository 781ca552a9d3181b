import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * Which proxies in front of wsforge are trusted to say who the client is (TRUST_PROXY): a hop
 * count, or addresses, CIDR ranges and proxy-addr's names (`loopback`, `linklocal`,
 * `uniquelocal`). Unset: nobody; the client is the TCP peer and X-Forwarded-* is never read.
 */
export type TrustProxy = number | string[];

/** Express's `trust proxy` setting and the address function for one TrustProxy value. */
export interface ProxyTrust {
  /** For `app.set('trust proxy', …)`: req.ip, req.secure and req.hostname follow it. */
  readonly setting: (address: string, hop: number) => boolean;
  /** The client's address: the TCP peer, or the nearest untrusted hop of X-Forwarded-For. */
  readonly clientAddress: (req: IncomingMessage) => string;
}

/** Throws (a TypeError from proxy-addr) on an address or range it cannot parse. */
export function proxyTrust(trust: TrustProxy | undefined): ProxyTrust {
  const setting = trust === undefined ? () => false : typeof trust === 'number' ? (_: string, hop: number) => hop < trust : proxyaddr.compile(trust);
  const clientAddress = trust === undefined ? peerAddress : (req: IncomingMessage) => (req.socket.remoteAddress ? proxyaddr(req, setting) : '');
  return { setting, clientAddress };
}

/** The TCP peer's address ('' once the socket is gone): the client, when no proxy is trusted. */
export function peerAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? '';
}
