/** Clients for the cluster tests: the real Socket in Node, recording what it gets, and guest cookies. */
import { WebSocket } from 'ws';
import { Socket } from '../../client';
import type { ServerFrame } from '../../client';
import type { AnyProtocol } from '../../server/socket/protocol';

/** A Socket (the browser client, given ws's WebSocket) that records every frame, open and close. */
export class RecordingSocket {
  readonly frames: Array<ServerFrame<AnyProtocol> & { offset?: string; epoch?: string }> = [];
  /** When each frame arrived (ms since epoch), index for index with `frames`. */
  readonly receivedAt: number[] = [];
  readonly errors: string[] = [];
  /** When each (re)connect opened and each close happened (ms since epoch). */
  readonly openedAt: number[] = [];
  readonly closedAt: number[] = [];
  readonly socket: Socket;

  constructor(url: string) {
    this.socket = new Socket({
      url,
      WebSocket,
      onOpen: () => this.openedAt.push(Date.now()),
      onMessage: (f) => {
        this.frames.push(f);
        this.receivedAt.push(Date.now());
      },
      onError: (service, error) => this.errors.push(`${service}: ${error}`),
      onClose: () => this.closedAt.push(Date.now()),
      // Fixed, quick retries (200 ms, then 400…): a test waits for the reconnect, not for a browser-friendly backoff.
      backoff: { base: 400, cap: 1000, random: () => 0.5 },
    });
  }

  get opens(): number {
    return this.openedAt.length;
  }

  /** Numbers of the example route's `chat` frames `m<n>` in `channel`, in the order received. */
  numbers(channel: string): number[] {
    return this.frames.filter((f) => f.cmd === 'chat' && f.channel === channel).map((f) => Number((f.param as { text: string }).text.slice(1)));
  }

  count(cmd: string): number {
    return this.frames.filter((f) => f.cmd === cmd).length;
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** A signed guest cookie (`wsf_guest=…`) from a node's page: one browser, usable on every node sharing SESSION_SECRET. */
export async function guestCookie(httpUrl: string): Promise<string> {
  const res = await fetch(httpUrl);
  await res.arrayBuffer();
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('wsf_guest='));
  if (!cookie) throw new Error(`${httpUrl} set no guest cookie`);
  return cookie.split(';')[0]!;
}
