import type { ControlMessage } from '../socket/registry';

/**
 * What travels between nodes over a wire (Redis pub/sub): a typed envelope, encoded once per
 * publish and decoded once per receiving node.
 *
 *     <header>\n<body>
 *
 * The header is a small JSON object whose first field is the version, `{"v":1,"kind":…}`; JSON
 * never holds a raw newline, so the first `\n` ends it. The body is carried as is: a frame is
 * serialized once by the publishing node (and stamped with its position by Redis, which appends it
 * to the header it is given) and never parsed or re-serialized on the way.
 *
 * | kind         | header fields                | body                              |
 * |--------------|------------------------------|-----------------------------------|
 * | `frame`      | `except` (ids), when any     | the frame                         |
 * | `disconnect` | `code`, `reason`             | empty                             |
 * | `control`    |                              | a ControlMessage, as JSON         |
 *
 * A node drops (and logs once) an envelope of a version it does not know: during a rolling
 * upgrade that changes the format, new nodes send the new version only once every node reads it.
 */
const envelopeVersion = 1;

export type Envelope =
  | { kind: 'frame'; except: readonly string[]; data: string }
  | { kind: 'disconnect'; code: number; reason: string }
  | { kind: 'control'; msg: ControlMessage };

type Header = { v: number; kind: Envelope['kind']; except?: readonly string[]; code?: number; reason?: string };

const plainFrameHead = `{"v":${envelopeVersion},"kind":"frame"}\n`;

/** The header of a frame envelope, newline included: what goes before the (stamped) frame. */
export function frameHead(except: readonly string[]): string {
  return except.length === 0 ? plainFrameHead : `${JSON.stringify({ v: envelopeVersion, kind: 'frame', except })}\n`;
}

export function encodeEnvelope(e: Envelope): string {
  switch (e.kind) {
    case 'frame':
      return frameHead(e.except) + e.data;
    case 'disconnect':
      return `${JSON.stringify({ v: envelopeVersion, kind: 'disconnect', code: e.code, reason: e.reason })}\n`;
    case 'control':
      return `${JSON.stringify({ v: envelopeVersion, kind: 'control' })}\n${JSON.stringify(e.msg)}`;
  }
}

const none: readonly string[] = [];

/** The envelope, or why it cannot be read (malformed, or a version this node does not know). */
export function decodeEnvelope(s: string): Envelope | { error: string } {
  // The common case, a frame for everyone, without parsing a header.
  if (s.startsWith(plainFrameHead)) return { kind: 'frame', except: none, data: s.slice(plainFrameHead.length) };
  const nl = s.indexOf('\n');
  if (nl < 0) return { error: 'no header' };
  let h: Header;
  try {
    h = JSON.parse(s.slice(0, nl)) as Header;
  } catch {
    return { error: 'malformed header' };
  }
  if (h.v !== envelopeVersion) return { error: `envelope version ${String(h.v)} (this node reads ${envelopeVersion})` };
  const body = s.slice(nl + 1);
  switch (h.kind) {
    case 'frame':
      return { kind: 'frame', except: Array.isArray(h.except) ? h.except : none, data: body };
    case 'disconnect':
      return { kind: 'disconnect', code: Number(h.code), reason: String(h.reason ?? '') };
    case 'control':
      try {
        return { kind: 'control', msg: JSON.parse(body) as ControlMessage };
      } catch {
        return { error: 'malformed control message' };
      }
    default:
      return { error: `unknown kind ${String(h.kind)}` };
  }
}
