/**
 * A TCP round-robin proxy in front of several nodes, like a load balancer without sticky
 * sessions: each new connection goes to the next backend; one that refuses the connection is
 * skipped. When a backend dies, the connections it carried are cut, so their clients reconnect
 * (through the proxy, to another node).
 */
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export class RoundRobinProxy {
  /** Backend port each accepted connection was sent to, in order. */
  readonly routed: number[] = [];
  private next = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly backends: number[],
  ) {}

  static async start(backends: number[]): Promise<RoundRobinProxy> {
    const server = createServer();
    const proxy = new RoundRobinProxy(server, backends);
    server.on('connection', (client) => proxy.accept(client));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    this.dial(client, this.backends.length);
  }

  /** Tries backends in turn, starting with the next in the rotation; closes the client when none answers. */
  private dial(client: Socket, triesLeft: number): void {
    if (triesLeft === 0 || client.destroyed) return void client.destroy();
    const port = this.backends[this.next++ % this.backends.length]!;
    const upstream = connect(port, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.once('close', () => this.sockets.delete(upstream));
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.routed.push(port);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) this.dial(client, triesLeft - 1);
    });
    // Either side gone: cut the other, as a load balancer does when a backend dies.
    upstream.once('close', () => connected && client.destroy());
    client.once('close', () => upstream.destroy());
  }
}
