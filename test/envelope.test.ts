/**
 * The envelope between nodes (server/engine/envelope.ts): every kind survives the wire, and what a
 * node cannot read (another version during a rolling upgrade, a foreign publisher on the prefix)
 * is named, never misread. The wire itself is exercised by the engine contract suite.
 */
import { expect } from 'chai';
import { decodeEnvelope, encodeEnvelope, type Envelope } from '../server/engine/envelope';

describe('envelope between nodes', () => {
  it('carries every kind unchanged, the frame body byte for byte', () => {
    const frame = '{"channel":"ch","cmd":"x","param":{"text":"a\\nb"}}';
    const envelopes: Envelope[] = [
      { kind: 'frame', except: [], data: frame },
      { kind: 'frame', except: ['c1', 'c2'], data: frame },
      { kind: 'disconnect', code: 4000, reason: 'kicked' },
      { kind: 'control', msg: { type: 'status-request', id: 'r1', from: 'n1' } },
    ];
    for (const e of envelopes) expect(decodeEnvelope(encodeEnvelope(e))).to.deep.equal(e);
    // One header line, starting with the version, before the body.
    expect(encodeEnvelope(envelopes[0]!)).to.equal(`{"v":1,"kind":"frame"}\n${frame}`);
  });

  it('names what it cannot read: another version, no or a malformed header, an unknown kind, a malformed control message', () => {
    expect(decodeEnvelope('{"v":2,"kind":"frame"}\n{}')).to.deep.equal({ error: 'envelope version 2 (this node reads 1)' });
    expect(decodeEnvelope('m\tch\t{}')).to.deep.equal({ error: 'no header' });
    expect(decodeEnvelope('{"v":1,\n{}')).to.deep.equal({ error: 'malformed header' });
    expect(decodeEnvelope('{"v":1,"kind":"gossip"}\n{}')).to.deep.equal({ error: 'unknown kind gossip' });
    expect(decodeEnvelope('{"v":1,"kind":"control"}\n{not json')).to.deep.equal({ error: 'malformed control message' });
  });
});
