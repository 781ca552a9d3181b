import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RouteOptions, RouteResolver } from './sockets';

export interface Route {
  resolver: RouteResolver;
  options: RouteOptions;
}

/** Socket routes by exact path: `/example/socket?ch=…` → the example feature's resolver. */
export class SocketRouter {
  private readonly routes = new Map<string, Route>();

  private readonly namespaces = new Set<string>();

  add(path: string, resolver: RouteResolver, options: RouteOptions = {}): void {
    if (this.routes.has(path)) throw new Error(`socket route ${path} is already registered`);
    if (options.namespace !== undefined && !/^[\w-]{1,32}$/.test(options.namespace)) throw new Error(`namespace of ${path}: 1-32 letters, digits, _ or -`);
    this.routes.set(path, { resolver, options });
    if (options.namespace) this.namespaces.add(options.namespace);
  }

  /** The namespace a channel belongs to (`ns:…` with `ns` declared by some route), if any. */
  namespaceOf(channel: string): string | undefined {
    const colon = channel.indexOf(':');
    const ns = colon > 0 ? channel.slice(0, colon) : undefined;
    return ns !== undefined && this.namespaces.has(ns) ? ns : undefined;
  }

  match(url: URL): Route | undefined {
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
