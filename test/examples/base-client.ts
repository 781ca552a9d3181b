/**
 * A Base page's socket in Node (for base-pages.test.ts and base-cluster.test.ts): a `ws` client
 * on the URL the page uses, every frame it gets fed to a model of the page's `onmessage`
 * (test/fixtures/base/pages.ts), and what the page's code would have thrown kept as errors.
 */
import { connect, eventually, type TestClient } from '../helpers';
import type { Fixture, PageModel, Received } from '../fixtures/base/pages';

export interface PageClient<M extends PageModel> {
  c: TestClient;
  page: M;
  frames: Received[];
  /** What the page's code would have thrown (its console). */
  errors: string[];
  /** Sends a fixture's frame (or any Base frame) as the page does: JSON text. */
  send(f: Fixture | { type: string; [field: string]: unknown }): void;
  /** The first frame (already received or to come) that matches. */
  waitFor(match: (f: Received) => boolean, timeoutMs?: number): Promise<Received>;
}

/** Connects to `url` (ws://…/api/ws?…) as a Base page whose `onmessage` is `page`. */
export async function openBasePage<M extends PageModel>(url: string, page: M): Promise<PageClient<M>> {
  const c = await connect(url);
  const frames: Received[] = [];
  const errors: string[] = [];
  const feed = (data: Received) => {
    frames.push(data);
    try {
      page.receive(data);
    } catch (err) {
      errors.push(`${(err as Error).message} (frame ${JSON.stringify(data).slice(0, 200)})`);
    }
  };
  for (const f of c.frames) feed(f as unknown as Received);
  c.ws.on('message', (data: Buffer) => feed(JSON.parse(data.toString()) as Received));
  return {
    c,
    page,
    frames,
    errors,
    send: (f) => c.send('page' in f ? (f as Fixture).frame : f),
    waitFor: (match, timeoutMs = 3000) =>
      eventually(() => {
        const f = frames.find(match);
        if (!f) throw new Error(`no matching frame yet; got ${frames.map((x) => x.type).join(', ')}`);
        return f;
      }, timeoutMs),
  };
}
