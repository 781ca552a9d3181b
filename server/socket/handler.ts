import type { z } from 'zod';
import type { Connection } from './connection';
import type { Log } from './log';
import { ErrorCode, SocketError } from './errors';
import type { Message, Ref } from './message';
import type { Protocol, ReplyIn } from './protocol';
import type { SocketService } from './service';

type MaybePromise<T> = T | Promise<T>;

/**
 * What a socket route plugs into the service. `on` handles one validated-as-a-frame message;
 * its return value (or rejection) answers the frame when it carried a `ref`.
 * Frames from one connection reach `on` strictly in order, even when it is async.
 */
export interface Handler {
  on(svc: SocketService, conn: Connection, cmd: string, param: unknown, log: Log, frame: Message): unknown;
  /** Once the connection is in its route channel, before any of its frames is handled. */
  onOpen?(svc: SocketService, conn: Connection, log: Log): MaybePromise<void>;
  /**
   * When a connection that got `onOpen` has closed (still in its channels). One that closed
   * before it got there (while authenticating or joining) gets neither.
   */
  onClose?(svc: SocketService, conn: Connection, log: Log): MaybePromise<void>;
  /** Opt in to binary frames; without it they are refused with `binary_unsupported`. */
  onBinary?(svc: SocketService, conn: Connection, data: Buffer, log: Log): unknown;
}

/** What a typed command function gets besides its param. */
export interface CommandContext {
  /** The frame's channel (the connection's route channel when the client left it out). */
  channel: string;
  ref?: Ref;
  log: Log;
}

export type Commands<P extends Protocol<any, any, any>> = {
  [K in keyof P['client'] & string]: (
    svc: SocketService,
    conn: Connection,
    param: z.output<P['client'][K]>,
    ctx: CommandContext,
  ) => MaybePromise<ReplyIn<P, K>>;
};

export type Hooks = Pick<Handler, 'onOpen' | 'onClose' | 'onBinary'>;

/**
 * Builds a Handler from a protocol: each cmd's param is validated by its schema before the
 * command function sees it, typed. Unknown cmds and invalid params become error frames.
 */
export function defineHandler<P extends Protocol<any, any, any>>(protocol: P, commands: Commands<P>, hooks: Hooks = {}): Handler {
  const schemas = protocol.client as Record<string, z.ZodType>;
  type Fn = (svc: SocketService, conn: Connection, param: unknown, ctx: CommandContext) => unknown;
  const fns = commands as unknown as Record<string, Fn>;
  return {
    ...hooks,
    on(svc, conn, cmd, param, log, frame) {
      const schema = Object.hasOwn(schemas, cmd) ? schemas[cmd] : undefined;
      const fn = Object.hasOwn(fns, cmd) ? fns[cmd] : undefined;
      if (!schema || !fn) throw new SocketError(ErrorCode.unknownCmd, `unknown cmd "${cmd}"`);
      const parsed = schema.safeParse(param);
      if (!parsed.success) throw new SocketError(ErrorCode.invalidParam, describeIssues(cmd, parsed.error));
      return fn(svc, conn, parsed.data, { channel: frame.channel, ref: frame.ref, log });
    },
  };
}

function describeIssues(cmd: string, error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : 'param'}: ${i.message}`);
  return `invalid param for "${cmd}": ${parts.join('; ')}`;
}
