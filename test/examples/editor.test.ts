import { expect } from 'chai';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import * as Y from 'yjs';
import {
  AwarenessRooms,
  awarenessUser,
  decodeAwareness,
  encodeAwareness,
  MAX_AWARENESS_ENTRIES,
  type AwarenessEntry,
} from '../../server/features/editor/awareness';
import { COLOR_HOLD_MS, PALETTE, pickColor, preferredColor } from '../../server/features/editor/colors';
import {
  answerSync,
  checkStateVector,
  checkUpdate,
  COMPACT_MIN_BYTES,
  fromBase64,
  mergeUpdate,
  stateOf,
  textOf,
  toBase64,
  type StoredDoc,
} from '../../server/features/editor/document';
import { docKey } from '../../server/features/editor/handler';
import { editorLimits, MAX_DOC_BYTES } from '../../server/features/editor/limits';
import { SocketError } from '../../server/socket/errors';
import { closeAll, connect, refusedUpgrade, rng, sleep, startApp, eventually, type Frame, type TestApp, type TestClient } from '../helpers';


/** A document with `text` typed into it. */
function docWith(text: string): Y.Doc {
  const doc = new Y.Doc();
  doc.getText('code').insert(0, text);
  return doc;
}

/** Runs fn and returns the SocketError it throws. */
function socketError(fn: () => unknown): SocketError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(SocketError);
    return err as SocketError;
  }
  throw new Error('expected a SocketError');
}

/** Random text that does not compress into runs (each char its own). */
function noise(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + Math.floor(r() * 26));
  return s;
}

describe('editor: document logic', () => {
  const max = MAX_DOC_BYTES;

  it('merges updates from concurrent documents into one that holds both', () => {
    const a = docWith('alpha ');
    const b = docWith('beta ');
    let stored = mergeUpdate(undefined, Y.encodeStateAsUpdate(a), max);
    stored = mergeUpdate(stored, Y.encodeStateAsUpdate(b), max);
    const text = textOf(stateOf(stored));
    expect(text).to.have.length('alpha beta '.length);
    expect(text).to.include('alpha ').and.include('beta ');
    // Both peers applying the merged state converge to the same text.
    Y.applyUpdate(a, stateOf(stored));
    Y.applyUpdate(b, stateOf(stored));
    expect(a.getText('code').toString()).to.equal(text);
    expect(b.getText('code').toString()).to.equal(text);
    expect(stored.bytes).to.equal(fromBase64(stored.state).byteLength);
  });

  it('is idempotent: merging an update twice changes nothing', () => {
    const a = docWith('same');
    const once = mergeUpdate(undefined, Y.encodeStateAsUpdate(a), max);
    const twice = mergeUpdate(once, Y.encodeStateAsUpdate(a), max);
    expect(textOf(stateOf(twice))).to.equal('same');
  });

  it('refuses an update that would take the document past its size limit, and keeps the old state', () => {
    const r = rng(1);
    const first = mergeUpdate(undefined, Y.encodeStateAsUpdate(docWith(noise(r, 3000))), 4096);
    const err = socketError(() => mergeUpdate(first, Y.encodeStateAsUpdate(docWith(noise(r, 3000))), 4096));
    expect(err.code).to.equal('doc_too_large');
    expect(err.message).to.match(/the document would be \d+ bytes encoded, over the limit of 4096: change not applied/);
    expect(textOf(stateOf(first))).to.have.length(3000); // pure: `first` is what the store still holds
  });

  it('compacts deleted text away once the encoding has doubled', () => {
    const doc = new Y.Doc();
    const text = doc.getText('code');
    let stored: StoredDoc | undefined;
    let peak = 0;
    doc.on('update', (u: Uint8Array) => {
      stored = mergeUpdate(stored, u, max);
      peak = Math.max(peak, stored.bytes);
    });
    const line = 'const answer = 42; // a line of code, typed and deleted again\n';
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 150; i++) text.insert(text.length, line);
      text.delete(0, text.length);
    }
    text.insert(0, 'kept');
    // Without compaction the encoding would hold all 56 000 deleted characters.
    expect(peak).to.be.below(2 * COMPACT_MIN_BYTES + 4096);
    expect(stored!.bytes).to.be.below(COMPACT_MIN_BYTES);
    expect(textOf(stateOf(stored))).to.equal('kept');
  });

  it('compacts before refusing: a document of mostly deleted text is not too large', () => {
    const doc = docWith('x'.repeat(3000));
    const full = mergeUpdate(undefined, Y.encodeStateAsUpdate(doc), max);
    doc.getText('code').delete(0, 2990);
    const after = mergeUpdate(full, Y.encodeStateAsUpdate(doc), 1024);
    expect(after.bytes).to.be.below(1024);
    expect(textOf(stateOf(after))).to.equal('x'.repeat(10));
  });

  it('answers a state vector with exactly what the client lacks, and its own state vector', () => {
    const server = docWith('shared start\n');
    const client = new Y.Doc();
    Y.applyUpdate(client, Y.encodeStateAsUpdate(server));
    server.getText('code').insert(0, 'server-only\n'); // happened while the client was away
    client.getText('code').insert(client.getText('code').length, 'client-only\n'); // offline edit
    const stored = mergeUpdate(undefined, Y.encodeStateAsUpdate(server), max);

    const { update, stateVector } = answerSync(stored, Y.encodeStateVector(client));
    expect(update.byteLength).to.be.below(Y.encodeStateAsUpdate(server).byteLength); // a diff, not the whole document
    Y.applyUpdate(client, update);
    expect(client.getText('code').toString()).to.equal('server-only\nshared start\nclient-only\n');
    // What the server lacks, computed from its state vector, completes it.
    const missing = Y.encodeStateAsUpdate(client, stateVector);
    const merged = mergeUpdate(stored, missing, max);
    expect(textOf(stateOf(merged))).to.equal('server-only\nshared start\nclient-only\n');
  });

  it('answers an empty room with the empty update', () => {
    const { update, stateVector } = answerSync(undefined, Y.encodeStateVector(new Y.Doc()));
    expect([...update]).to.deep.equal([0, 0]);
    expect([...stateVector]).to.deep.equal([0]);
  });

  it('accepts text updates, deletions included, and refuses anything else', () => {
    const doc = docWith('hello world');
    doc.getText('code').delete(0, 6);
    checkUpdate(Y.encodeStateAsUpdate(doc), 4096);

    expect(socketError(() => checkUpdate(new Uint8Array([5, 200, 3, 1]), 4096)).code).to.equal('invalid_update');
    expect(socketError(() => checkUpdate(Y.encodeStateAsUpdate(docWith('x'.repeat(5000))), 4096)).code).to.equal('update_too_large');
    const map = new Y.Doc();
    map.getMap('other').set('k', 'v');
    expect(socketError(() => checkUpdate(Y.encodeStateAsUpdate(map), 4096)).message).to.match(/may only/);
    const otherText = new Y.Doc();
    otherText.getText('not-code').insert(0, 'x');
    expect(socketError(() => checkUpdate(Y.encodeStateAsUpdate(otherText), 4096)).message).to.equal('update may only change the "code" text');
    const embed = new Y.Doc();
    embed.getText('code').insertEmbed(0, { image: 'x' });
    expect(socketError(() => checkUpdate(Y.encodeStateAsUpdate(embed), 4096)).message).to.equal('update may only insert plain text');
    const nested = new Y.Doc();
    nested.getText('code').insertEmbed(0, new Y.Map());
    expect(socketError(() => checkUpdate(Y.encodeStateAsUpdate(nested), 4096)).code).to.equal('invalid_update');
  });

  it('checks state vectors', () => {
    checkStateVector(Y.encodeStateVector(docWith('x')));
    expect(socketError(() => checkStateVector(new Uint8Array([9, 1]))).code).to.equal('invalid_update');
  });

  it('derives the update limit from the frame limit', () => {
    expect(editorLimits(64 * 1024)).to.deep.equal({ maxUpdateBytes: 48_384, maxDocBytes: MAX_DOC_BYTES });
    expect(editorLimits(16 * 1024 * 1024).maxUpdateBytes).to.equal(MAX_DOC_BYTES);
    // The largest allowed update, base64-encoded, fits a frame of that size with its JSON.
    const frame = JSON.stringify({ channel: `editor:${'r'.repeat(64)}`, cmd: 'update', param: { update: 'A'.repeat(Math.ceil(48_384 / 3) * 4) }, ref: 123456789 });
    expect(Buffer.byteLength(frame)).to.be.at.most(64 * 1024);
  });
});

describe('editor: awareness logic', () => {
  const alice = awarenessUser({ id: 'user-a', name: 'Alice' }, PALETTE[0]);
  const bob = awarenessUser({ id: 'user-b', name: 'Bob' }, PALETTE[1]);

  it('decodes what y-protocols encodes, and encodes what it decodes', () => {
    const aw = new Awareness(new Y.Doc());
    aw.setLocalState({ cursor: null, user: { name: 'x' } });
    const update = encodeAwarenessUpdate(aw, [aw.clientID]);
    const entries = decodeAwareness(update);
    expect(entries).to.deep.equal([{ clientID: aw.clientID, clock: 1, state: { cursor: null, user: { name: 'x' } } }]);
    expect([...encodeAwareness(entries)]).to.deep.equal([...update]);
    aw.destroy();
  });

  it('refuses what is not an awareness update', () => {
    expect(socketError(() => decodeAwareness(new Uint8Array([1, 5]))).code).to.equal('invalid_awareness');
    const tooMany = encodeAwareness(Array.from({ length: MAX_AWARENESS_ENTRIES + 1 }, (_, i) => ({ clientID: i, clock: 0, state: {} })));
    expect(socketError(() => decodeAwareness(tooMany)).message).to.match(/at most 4 client ids/);
    expect(socketError(() => decodeAwareness(encodeAwareness([{ clientID: 1, clock: 0, state: [1] as never }]))).code).to.equal('invalid_awareness');
  });

  it("keeps only the cursor and sets the server's user: no one can pose as someone else", () => {
    const rooms = new AwarenessRooms();
    const cursor = { anchor: { type: null, tname: 'code', item: null, assoc: 0 }, head: { type: { client: 1, clock: 2 }, tname: null, item: { client: 1, clock: 3 }, assoc: -1 } };
    const out = rooms.accept('r', 'conn-a', alice, [{ clientID: 7, clock: 3, state: { cursor, user: { name: 'Bob', color: 'red; x' }, extra: 'x'.repeat(100) } }]);
    expect(out).to.deep.equal([{ clientID: 7, clock: 3, state: { cursor, user: alice } }]);
    expect(alice.color).to.match(/^#[0-9a-f]{6}$/);
    expect(alice.colorLight).to.equal(`${alice.color}33`);
    expect(socketError(() => rooms.accept('r', 'conn-a', alice, [{ clientID: 8, clock: 0, state: { cursor: { anchor: 'x' } } }])).code).to.equal('invalid_awareness');
  });

  it("refuses another user's client id, lets the same user move it to a new connection", () => {
    const rooms = new AwarenessRooms();
    rooms.accept('r', 'conn-a', alice, [{ clientID: 7, clock: 1, state: {} }]);
    const err = socketError(() => rooms.accept('r', 'conn-b', bob, [{ clientID: 7, clock: 2, state: {} }]));
    expect(err.message).to.equal('awareness client id 7 belongs to another user');
    expect(rooms.accept('other-room', 'conn-b', bob, [{ clientID: 7, clock: 2, state: {} }])).to.have.length(1); // rooms are separate
    rooms.accept('r', 'conn-a2', alice, [{ clientID: 7, clock: 2, state: {} }]);
    expect(rooms.release('r', 'conn-a')).to.deep.equal([]);
    expect(rooms.release('r', 'conn-a2')).to.deep.equal([{ clientID: 7, clock: 2, state: null }]);
    expect(rooms.clientIds('r')).to.deep.equal([]);
  });

  it('announces departures in a form y-protocols applies, and a later state of that client is accepted again', () => {
    const rooms = new AwarenessRooms();
    const peerDoc = new Y.Doc();
    const peer = new Awareness(peerDoc);
    peer.setLocalState({ cursor: null }); // clock 1
    const viewer = new Awareness(new Y.Doc());
    const relay = (entries: AwarenessEntry[]) => applyAwarenessUpdate(viewer, encodeAwareness(entries), 'remote');
    relay(rooms.accept('r', 'conn-a', alice, decodeAwareness(encodeAwarenessUpdate(peer, [peer.clientID]))));
    expect(viewer.getStates().get(peer.clientID)).to.deep.equal({ cursor: null, user: alice });

    relay(rooms.release('r', 'conn-a'));
    expect(viewer.getStates().has(peer.clientID)).to.equal(false);

    peer.setLocalState({ cursor: null }); // reconnected: clock 2
    relay(rooms.accept('r', 'conn-a2', alice, decodeAwareness(encodeAwarenessUpdate(peer, [peer.clientID]))));
    expect(viewer.getStates().has(peer.clientID)).to.equal(true);
    peer.destroy();
    viewer.destroy();
  });
});

describe('editor: colours', () => {
  /** User ids that all prefer the same palette entry. */
  const sameColor = (n: number) => {
    const ids: string[] = [];
    for (let i = 0; ids.length < n; i++) if (preferredColor(`u${i}`) === preferredColor('u0')) ids.push(`u${i}`);
    return ids;
  };

  it('gives people present together different colours, even when their ids prefer the same one', () => {
    const [a, b, c] = sameColor(3) as [string, string, string];
    let e = pickColor({}, a, new Set([a]), 0);
    e = pickColor(e, b, new Set([a, b]), 1);
    e = pickColor(e, c, new Set([a, b, c]), 2);
    expect(e[a]!.color).to.equal(preferredColor(a));
    expect(new Set([e[a]!.color, e[b]!.color, e[c]!.color]).size).to.equal(3);
    // A user keeps their colour on every sync while present.
    expect(pickColor(e, b, new Set([a, b, c]), 3)[b]!.color).to.equal(e[b]!.color);
  });

  it('frees the colour of someone who left once COLOR_HOLD_MS has passed, and repeats colours past the palette', () => {
    const [a, b] = sameColor(2) as [string, string];
    const e = pickColor({}, a, new Set([a]), 0);
    expect(pickColor(e, b, new Set([b]), COLOR_HOLD_MS - 1)[b]!.color).to.not.equal(e[a]!.color); // a may be mid-join elsewhere
    const later = pickColor(e, b, new Set([b]), COLOR_HOLD_MS + 1);
    expect(Object.keys(later)).to.deep.equal([b]);
    expect(later[b]!.color).to.equal(preferredColor(b));
    const ids = Array.from({ length: PALETTE.length + 1 }, (_, i) => `p${i}`);
    let all = {};
    for (const id of ids) all = pickColor(all, id, new Set(ids), 0);
    expect(new Set(Object.values(all).map((x) => (x as { color: number }).color)).size).to.equal(PALETTE.length);
  });
});

// ---- over real WebSockets -----------------------------------------------------------------

const REMOTE = 'remote';
/** Like the page: local updates are merged for this long before they go out (the service rate-limits frames). */
const BATCH_MS = 25;

/** A guest cookie, as a browser gets from the page: the socket route takes the name from `?name=` only for signed guests. */
async function guestCookie(t: TestApp): Promise<string> {
  const res = await fetch(t.httpUrl('/examples/editor'));
  const cookie = res.headers.get('set-cookie');
  if (!cookie) throw new Error('the page set no guest cookie');
  return cookie.split(';')[0]!;
}

/**
 * A Node client holding its own Y.Doc and speaking the editor protocol, like the page does:
 * sync on connect, local updates out as `update` requests, remote ones applied.
 */
class Peer {
  readonly doc = new Y.Doc();
  readonly text = this.doc.getText('code');
  /** Answers to our update requests that were errors. */
  readonly refusals: Frame[] = [];
  private readonly acks: Array<Promise<Frame>> = [];
  private pending: Uint8Array[] = [];
  private flushTimer?: NodeJS.Timeout;
  syncReply?: Frame['param'];
  online = false;
  /** Updates sent and not answered yet. */
  private inFlight = 0;
  /** Remote updates applied while some of our own edits were unsent or unanswered: edits that crossed. */
  crossed = 0;

  constructor(readonly client: TestClient) {
    client.ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as Frame;
      if (frame.cmd !== 'update' || frame.ref !== undefined) return;
      if (this.pending.length > 0 || this.inFlight > 0) this.crossed++;
      Y.applyUpdate(this.doc, fromBase64(frame.param.update), REMOTE);
    });
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE && this.online) this.queue(update);
    });
  }

  private queue(update: Uint8Array): void {
    this.pending.push(update);
    this.flushTimer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const updates = this.pending.splice(0);
    if (updates.length > 0) this.sendUpdate(Y.mergeUpdates(updates));
  }

  static async open(t: TestApp, room: string, name: string, doc?: (p: Peer) => void): Promise<Peer> {
    const headers = { Cookie: await guestCookie(t) };
    const peer = new Peer(await connect(t.url(`/examples/editor/socket?room=${room}&name=${name}`), { headers }));
    doc?.(peer); // edits made before syncing: "offline" work
    await peer.sync();
    return peer;
  }

  async sync(): Promise<void> {
    const reply = await this.client.request('', 'sync', { sv: toBase64(Y.encodeStateVector(this.doc)) });
    expect(reply.cmd, JSON.stringify(reply.param)).to.equal('reply');
    this.syncReply = reply.param;
    Y.applyUpdate(this.doc, fromBase64(reply.param.update), REMOTE);
    const missing = Y.encodeStateAsUpdate(this.doc, fromBase64(reply.param.sv));
    if (missing.byteLength > 2) this.sendUpdate(missing);
    this.online = true;
  }

  sendUpdate(update: Uint8Array): void {
    const answer = this.client.request('', 'update', { update: toBase64(update) }, { timeoutMs: 10_000 });
    this.inFlight++;
    this.acks.push(
      answer.then((f) => {
        this.inFlight--;
        if (f.cmd === 'error') this.refusals.push(f);
        return f;
      }),
    );
  }

  /** Every update made so far has been sent and answered. */
  async settled(): Promise<Frame[]> {
    clearTimeout(this.flushTimer);
    this.flush();
    return Promise.all(this.acks);
  }

  get value(): string {
    return this.text.toString();
  }
}

describe('editor: over WebSockets', () => {
  let t: TestApp;
  beforeEach(async () => (t = await startApp()));
  afterEach(closeAll);

  const stored = async (room: string) => t.app.store.get<StoredDoc>(docKey(room));
  const storedText = async (room: string) => textOf(stateOf(await stored(room)));

  it('answers sync in an empty room with an empty document, the default language, the user and the limits', async () => {
    const peer = await Peer.open(t, 'empty', 'Alice');
    expect(peer.value).to.equal('');
    expect(peer.syncReply).to.include({ language: 'javascript', bytes: 0 });
    expect(peer.syncReply.user).to.include({ name: 'Alice' });
    expect(peer.syncReply.user.color).to.match(/^#[0-9a-f]{6}$/);
    expect(peer.syncReply.limits).to.deep.equal({ maxUpdateBytes: 48_384, maxDocBytes: MAX_DOC_BYTES });
    expect(await stored('empty')).to.equal(undefined); // nothing written by a join
  });

  it('two clients typing concurrently (random inserts and deletes) converge, and a late third gets the text', async function () {
    this.timeout(30_000);
    const a = await Peer.open(t, 'race', 'Alice');
    const b = await Peer.open(t, 'race', 'Bob');
    const r = rng(42);
    const edit = (p: Peer, tag: string) => {
      const len = p.text.length;
      if (len > 20 && r() < 0.35) {
        const at = Math.floor(r() * len);
        p.text.delete(at, Math.min(len - at, 1 + Math.floor(r() * 6)));
      } else {
        p.text.insert(Math.floor(r() * (len + 1)), `${tag}${Math.floor(r() * 100)} `);
      }
    };
    for (let i = 0; i < 600; i++) {
      // Both sides edit in bursts with pauses of random length: edits cross in flight.
      edit(r() < 0.5 ? a : b, r() < 0.5 ? 'a' : 'b');
      if (r() < 0.25) await sleep(Math.floor(r() * 6));
    }
    // A last edit from each, at the same moment, that no delete can remove.
    a.text.insert(0, '<<ALICE-LAST>>');
    b.text.insert(b.text.length, '<<BOB-LAST>>');
    const answers = [...(await a.settled()), ...(await b.settled())];
    // How many batches the 600 edits make depends on the machine's speed; many, either way.
    expect(answers.length).to.be.above(10);
    expect(a.refusals.concat(b.refusals)).to.deep.equal([]);
    expect(a.crossed, 'remote updates Alice applied over her own unconfirmed edits').to.be.above(5);
    expect(b.crossed, 'remote updates Bob applied over his own unconfirmed edits').to.be.above(5);

    await eventually(() => expect(a.value).to.equal(b.value), 5000);
    expect(a.value).to.include('<<ALICE-LAST>>').and.include('<<BOB-LAST>>');
    expect(a.value.length).to.be.above(100);
    expect(await storedText('race')).to.equal(a.value);

    const before = (await stored('race'))!.state;
    const late = await Peer.open(t, 'race', 'Carol');
    expect(late.value).to.equal(a.value);
    expect(late.syncReply.bytes).to.equal((await stored('race'))!.bytes);
    await late.client.sync();
    expect((await stored('race'))!.state).to.equal(before); // the joiner sent nothing: nothing overwritten
  });

  it('a joiner with offline edits merges them in: nobody’s document is overwritten', async () => {
    const a = await Peer.open(t, 'merge', 'Alice');
    a.text.insert(0, 'written by Alice\n');
    await a.settled();
    const b = await Peer.open(t, 'merge', 'Bob', (p) => p.text.insert(0, 'offline work by Bob\n'));
    await b.settled();
    await eventually(() => expect(a.value).to.equal(b.value));
    expect(a.value).to.include('written by Alice\n').and.include('offline work by Bob\n');
    expect(await storedText('merge')).to.equal(a.value);
  });

  it('relays updates only within a room', async () => {
    const a = await Peer.open(t, 'room-1', 'Alice');
    const other = await Peer.open(t, 'room-2', 'Bob');
    const from = other.client.frames.length;
    a.text.insert(0, 'only in room-1');
    await a.settled();
    await other.client.sync();
    expect(other.client.since(from)).to.deep.equal([]);
    expect(other.value).to.equal('');
    expect(await storedText('room-2')).to.equal('');
  });

  it('refuses malformed and foreign updates with clear errors', async () => {
    const c = await connect(t.url('/examples/editor/socket?room=bad-updates'));
    const garbage = await c.request('', 'update', { update: toBase64(new Uint8Array([5, 200, 3, 1])) });
    expect(garbage.param).to.deep.equal({ code: 'invalid_update', message: 'update is not a Yjs update' });
    const notBase64 = await c.request('', 'update', { update: 'not base64!' });
    expect(notBase64.param.code).to.equal('invalid_param');
    const map = new Y.Doc();
    map.getMap('settings').set('evil', true);
    const foreign = await c.request('', 'update', { update: toBase64(Y.encodeStateAsUpdate(map)) });
    expect(foreign.param.code).to.equal('invalid_update');
    const badSv = await c.request('', 'sync', { sv: toBase64(new Uint8Array([9, 1])) });
    expect(badSv.param).to.deep.equal({ code: 'invalid_update', message: 'sv is not a Yjs state vector' });
    expect(await stored('bad-updates')).to.equal(undefined);
  });

  it('refuses an update larger than the frame-derived limit', async () => {
    const small = await startApp({ socket: { maxPayload: 8 * 1024 } });
    const c = await connect(small.url('/examples/editor/socket?room=big'));
    const sync = await c.request('', 'sync', { sv: toBase64(Y.encodeStateVector(new Y.Doc())) });
    expect(sync.param.limits.maxUpdateBytes).to.equal(5376);
    const big = Y.encodeStateAsUpdate(docWith(noise(rng(3), 5600)));
    const answer = await c.request('', 'update', { update: toBase64(big) });
    expect(answer.param.code).to.equal('update_too_large');
    expect(answer.param.message).to.match(/^update is \d+ bytes; at most 5376 fit in one frame$/);
  });

  it('refuses the update that would take the document past MAX_DOC_BYTES; the others never see it', async function () {
    this.timeout(20_000);
    const a = await Peer.open(t, 'full', 'Alice');
    const b = await Peer.open(t, 'full', 'Bob');
    const r = rng(9);
    // 40 000 random letters a chunk: each update fits one frame; seven of them do not fit one document.
    for (let i = 0; i < 7; i++) {
      a.text.insert(a.text.length, noise(r, 40_000));
      await a.settled();
    }
    expect(a.refusals).to.have.length(1);
    expect(a.refusals[0]!.param.code).to.equal('doc_too_large');
    expect(a.refusals[0]!.param.message).to.match(new RegExp(`over the limit of ${MAX_DOC_BYTES}: change not applied$`));
    const kept = await storedText('full');
    expect(kept).to.have.length(240_000);
    await eventually(() => expect(b.value).to.equal(kept));
    expect((await stored('full'))!.bytes).to.be.at.most(MAX_DOC_BYTES);
  });

  it('shares the language: validated, stored, sent to everyone, given to late joiners', async () => {
    const a = await Peer.open(t, 'lang', 'Alice');
    const b = await Peer.open(t, 'lang', 'Bob');
    const bad = await a.client.request('', 'language', { language: 'cobol' });
    expect(bad.param.code).to.equal('invalid_param');
    const ok = await a.client.request('', 'language', { language: 'python' });
    expect(ok.param).to.deep.equal({ language: 'python' });
    const userId = a.syncReply.user.id;
    for (const p of [a, b]) await p.client.waitFor({ cmd: 'language', param: { language: 'python', by: 'Alice', userId } });
    const late = await Peer.open(t, 'lang', 'Carol');
    expect(late.syncReply.language).to.equal('python');
  });

  it('relays cursors with the server-set name, refuses spoofing, and removes them when their owner leaves', async () => {
    const a = await Peer.open(t, 'cursors', 'Alice');
    const b = await Peer.open(t, 'cursors', 'Bob');
    const aw = new Awareness(a.doc);
    aw.setLocalState({ cursor: null, user: { name: 'Mallory', color: 'url(x)' }, secret: 1 });
    a.client.send({ channel: '', cmd: 'awareness', param: { update: toBase64(encodeAwarenessUpdate(aw, [aw.clientID])) } });
    const seen = await b.client.waitFor({ cmd: 'awareness' });
    const [entry] = decodeAwareness(fromBase64(seen.param.update));
    expect(entry).to.deep.equal({ clientID: a.doc.clientID, clock: 1, state: { cursor: null, user: a.syncReply.user } });
    expect(entry!.state!.user).to.include({ name: 'Alice' });

    // Bob may not speak for Alice's client id.
    const spoof = await b.client.request('', 'awareness', { update: toBase64(encodeAwareness([{ clientID: a.doc.clientID, clock: 9, state: {} }])) });
    expect(spoof.param).to.deep.equal({ code: 'invalid_awareness', message: `awareness client id ${a.doc.clientID} belongs to another user` });

    const from = b.client.frames.length;
    await a.client.close();
    const gone = await b.client.next({ cmd: 'awareness' });
    expect(b.client.frames.length).to.be.above(from);
    expect(decodeAwareness(fromBase64(gone.param.update))).to.deep.equal([{ clientID: a.doc.clientID, clock: 1, state: null }]);
    aw.destroy();
  });

  it('gives everyone in a room a different colour however their ids hash (a whole palette of people), and each keeps theirs', async () => {
    const peers: Peer[] = [];
    for (let i = 0; i < PALETTE.length; i++) peers.push(await Peer.open(t, 'colours', `user${i}`));
    const colors = peers.map((p) => p.syncReply.user.color as string);
    expect(new Set(colors).size).to.equal(PALETTE.length);
    for (const c of colors) expect(PALETTE).to.include(c);
    await peers[1]!.sync();
    expect(peers[1]!.syncReply.user.color).to.equal(colors[1]);
  });

  it('keeps a connection to its own room: no joining, reading or writing another document', async () => {
    const c = await connect(t.url('/examples/editor/socket?room=one'));
    const join = await c.request('editor:two', 'join');
    expect(join.cmd).to.equal('error');
    expect(join.param.code).to.equal('forbidden');
    const answer = await c.request('editor:two', 'update', { update: toBase64(Y.encodeStateAsUpdate(docWith('sneaky'))) });
    expect(answer.cmd).to.equal('error');
    expect(await stored('two')).to.equal(undefined);
  });

  it('refuses bad rooms at the upgrade and on the page', async () => {
    const refused = await refusedUpgrade(t.url('/examples/editor/socket?room=no%20spaces'));
    expect(refused.status).to.equal(400);
    expect(refused.body).to.equal('room must be 1-64 letters, digits, _ or -\n');
    const bad = await fetch(t.httpUrl('/examples/editor?room=../etc'));
    expect(bad.status).to.equal(400);
    const page = await fetch(t.httpUrl('/examples/editor?name=%3Cb%3EZo%C3%AB%3C%2Fb%3E'));
    expect(page.status).to.equal(200);
    const body = await page.text();
    expect(body).to.include('data-room="lobby"').and.include('data-name="&lt;b&gt;Zoë&lt;/b&gt;"');
    expect(body).to.include('<script type="module" src="/js/pages/editor.js"></script>');
    expect(body).not.to.include('<b>Zoë');
  });
});
