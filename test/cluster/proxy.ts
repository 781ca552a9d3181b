/**
 * A TCP round-robin proxy in front of several nodes, like a load balancer without sticky
 * sessions: each new connection goes to the next backend; one that refuses the connection is
 * skipped. When a backend dies, the connections it carried are cut, so their clients reconnect
 * (through the proxy, to another node). In front of one Redis, it can lose a command's reply
 * (`loseReply`).
 */
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export class RoundRobinProxy {
  /** Backend port each accepted connection was sent to, in order. */
  readonly routed: number[] = [];
  private next = 0;
  private readonly sockets = new Set<Socket>();
  /** Set by `loseReply`: the request it waits for, and what to call once its connection is cut. */
  private trap?: { matches: (request: Buffer) => boolean; cut: () => void };

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

  /**
   * The next request (data from a client) that `matches` is forwarded, then nothing more from the
   * backend reaches that client: once the backend has answered (it ran the request), both sides of
   * the connection are cut, the answer never delivered. Resolves then.
   */
  loseReply(matches: (request: Buffer) => boolean): Promise<void> {
    return new Promise((resolve) => (this.trap = { matches, cut: resolve }));
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
      client.on('data', (request: Buffer) => this.spring(request, client, upstream));
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) this.dial(client, triesLeft - 1);
    });
    // Either side gone: cut the other, as a load balancer does when a backend dies.
    upstream.once('close', () => connected && client.destroy());
    client.once('close', () => upstream.destroy());
  }

  /** After pipe's own 'data' listener forwarded `request`: the backend's answer to it is kept back, then the connection cut. */
  private spring(request: Buffer, client: Socket, upstream: Socket): void {
    const trap = this.trap;
    if (!trap?.matches(request)) return;
    this.trap = undefined;
    upstream.unpipe(client);
    // Answered: the backend ran it. A moment more for any part of the answer still on its way.
    upstream.once('data', () =>
      setTimeout(() => {
        client.destroy();
        upstream.destroy();
        trap.cut();
      }, 50),
    );
    upstream.resume(); // unpipe paused it
  }
}
