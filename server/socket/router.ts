import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Handler } from './handler';
import type { Codec } from './codec';
import type { Profile } from './connection';

/** Throw from a route resolver to refuse the upgrade with an HTTP status before any connection exists. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface UpgradeOptions {
  channel: string;
  /** Defaults to an anonymous guest profile keyed by the connection id. */
  profile?: Profile;
  handler: Handler;
  /** Translates another JSON dialect at the edge (see codec.ts); default: wsforge frames. */
  codec?: Codec;
}

/** Decides, from the upgrade request, which channel and handler a connection gets (or refuses it). */
export type RouteResolver = (req: IncomingMessage, url: URL) => UpgradeOptions | Promise<UpgradeOptions>;

/** Socket routes by exact path: `/example/socket?ch=…` → the example feature's resolver. */
export class SocketRouter {
  private readonly routes = new Map<string, RouteResolver>();

  add(path: string, resolver: RouteResolver): void {
    if (this.routes.has(path)) throw new Error(`socket route ${path} is already registered`);
    this.routes.set(path, resolver);
  }

  match(url: URL): RouteResolver | undefined {
    return this.routes.get(url.pathname);
  }

  paths(): string[] {
    return [...this.routes.keys()];
  }
}

/** Answers a refused upgrade with a plain HTTP response and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
