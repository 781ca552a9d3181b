import { ErrorCode, SocketError } from './errors';
import type { Notice } from './notice';

export { noticeLevels, type Notice } from './notice';

/** A frame on the wire, both directions: `{channel, cmd, param, ref?}` as JSON text. */
export interface Message<Cmd extends string = string, Param = unknown> {
  channel: string;
  cmd: Cmd;
  param: Param;
  /** Set by a client to ask for a reply; echoed on the `reply` or `error` frame that answers it. */
  ref?: Ref;
  /**
   * Set by a client to make the frame retry-safe: a frame with an `id` its user already sent
   * within WS_DEDUPE_TTL_MS is not handled again; it gets the first one's answer (docs/protocol.md).
   */
  id?: string;
}
export type Ref = string | number;

/** A user as presence frames name them. */
export interface PresenceUser {
  userId: string;
  name: string;
}

/** `presence-diff`: every join and leave of a channel since the last one, and how many users it has now. */
export interface PresenceDiff {
  joins: PresenceUser[];
  leaves: PresenceUser[];
  count: number;
}

/** Commands the service itself sends; every route's clients may receive them. */
export interface BuiltinServerParams {
  /** A channel's joins and leaves since the last one (names only up to WS_PRESENCE_LIST_MAX users), and its user count. */
  'presence-diff': PresenceDiff;
  'close-connection': { reason: string };
  /** The connection's credential expires soon: send `refresh` with a new token. */
  'token-expiring': { expiresAt: number };
  /** A resume could not replay what was missed: the app should fetch its state again. */
  'recovery-failed': { reason: string };
  error: { code: string; message: string };
  reply: unknown;
  /** Something to show the user as a notice, never as content of the page (the admin's "Send a notice"; docs/protocol.md). */
  notice: Notice;
}

/** Commands the service itself answers, whatever the route's handler: cmd → param (the client Socket sends them typed by this). */
export interface BuiltinClientParams {
  /** With `since`, what was missed after that position is replayed first (or recovery-failed). */
  join: { since?: { epoch: string; offset: string } };
  /** Who is in the channel (cluster-wide, one entry per user). */
  presence: Record<string, never>;
  /** First frame on `authInFirstMessage` routes. */
  auth: { token: string };
  /** A fresh token before the current one expires. */
  refresh: { token: string };
  leave: Record<string, never>;
}
/** What the service replies to each built-in client cmd (docs/protocol.md). */
export interface BuiltinReplies {
  /** `created`: the join created the channel; `recovered`, with `since`: what was missed was replayed. */
  join: { created: boolean; recovered?: boolean };
  /** `removed`: the channel disappeared (this was its last member). */
  leave: { removed: boolean };
  presence: { users: Array<{ id: string; name: string }> };
  auth: { profile: { id: string; name: string }; expiresAt: number | null };
  /** When the new token expires, in ms since the epoch (`null`: never). */
  refresh: { expiresAt: number | null };
}
/** The built-in server cmds, checked against BuiltinServerParams: what no app or admin frame may pose as. */
const builtinServerCmdNames: Record<keyof BuiltinServerParams, true> = { 'presence-diff': true, 'close-connection': true, 'token-expiring': true, 'recovery-failed': true, error: true, reply: true, notice: true };
export const builtinServerCmds: ReadonlySet<string> = new Set(Object.keys(builtinServerCmdNames));
/** The built-in client cmds, checked against BuiltinClientParams: a name added there must be added here. */
const builtinCmds: Record<keyof BuiltinClientParams, true> = { join: true, leave: true, auth: true, refresh: true, presence: true };
export const builtinClientCmds: ReadonlySet<string> = new Set(Object.keys(builtinCmds));

const maxRefLength = 64;
/** Longest frame `id` (retry-safe frames). */
export const maxIdLength = 64;

/**
 * Parses one inbound text frame. Throws SocketError (invalid_json / invalid_frame)
 * with whatever `ref` could be recovered so the error can still be correlated.
 * An empty or missing `channel` is `defaultChannel` (the route channel), whatever the cmd.
 */
export function parseFrame(text: string, defaultChannel: string, maxChannelLength: number): Message {
  const f = parseObject(text, '{channel, cmd, param, ref?}');
  const ref = f.ref;
  const okRef =
    ref === undefined ||
    (typeof ref === 'string' && ref.length <= maxRefLength) ||
    (typeof ref === 'number' && Number.isFinite(ref));
  if (!okRef) throw new FrameError(ErrorCode.invalidFrame, `ref must be a string of at most ${maxRefLength} characters or a number`);
  const safeRef = ref as Ref | undefined;
  if (typeof f.cmd !== 'string' || f.cmd.length === 0 || f.cmd.length > 64) {
    throw new FrameError(ErrorCode.invalidFrame, 'cmd must be a non-empty string of at most 64 characters', safeRef);
  }
  const channel = f.channel === undefined || f.channel === '' ? defaultChannel : f.channel;
  if (typeof channel !== 'string' || channel.length > maxChannelLength) {
    throw new FrameError(ErrorCode.invalidFrame, `channel must be a string of at most ${maxChannelLength} characters`, safeRef);
  }
  const id = f.id;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > maxIdLength)) {
    throw new FrameError(ErrorCode.invalidFrame, `id must be a non-empty string of at most ${maxIdLength} characters`, safeRef);
  }
  const frame: Message = { channel, cmd: f.cmd, param: f.param ?? {}, ref: safeRef };
  if (id !== undefined) frame.id = id;
  return frame;
}

/** JSON text that must be an object (a frame of some dialect, described by `shape` in the error). */
export function parseObject(text: string, shape: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new FrameError(ErrorCode.invalidJson, 'frame is not valid JSON');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new FrameError(ErrorCode.invalidFrame, `frame must be a JSON object ${shape}`);
  }
  return data as Record<string, unknown>;
}

/** A SocketError that happened before a frame could be handled, keeping the ref it carried. */
export class FrameError extends SocketError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly ref?: Ref,
  ) {
    super(code, message);
  }
}

/** Serializes a frame once; the result is what every recipient is sent. */
export function encode(msg: Message): string {
  return JSON.stringify(msg);
}

export function errorFrame(channel: string, code: string, message: string, ref?: Ref): Message<'error', BuiltinServerParams['error']> {
  return ref === undefined ? { channel, cmd: 'error', param: { code, message } } : { channel, cmd: 'error', param: { code, message }, ref };
}
