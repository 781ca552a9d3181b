import type { z } from 'zod';
import { ErrorCode, SocketError } from './errors';
import type { Log } from './log';
import type { Ref } from './message';
import type { Protocol, ReplyIn } from './protocol';
import type { Session } from './session';
import type { Handler, Sockets } from './sockets';

type MaybePromise<T> = T | Promise<T>;

/** What a typed command function gets besides its param. */
export interface CommandContext {
  /** The frame's channel (the connection's route channel when the client left it out). */
  channel: string;
  ref?: Ref;
  log: Log;
}

export type Commands<P extends Protocol<any, any, any>> = {
  [K in keyof P['client'] & string]: (
    sockets: Sockets,
    session: Session,
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
  type Fn = (sockets: Sockets, session: Session, param: unknown, ctx: CommandContext) => unknown;
  const fns = commands as unknown as Record<string, Fn>;
  return {
    ...hooks,
    on(sockets, session, cmd, param, log, frame) {
      const schema = Object.hasOwn(schemas, cmd) ? schemas[cmd] : undefined;
      const fn = Object.hasOwn(fns, cmd) ? fns[cmd] : undefined;
      if (!schema || !fn) throw new SocketError(ErrorCode.unknownCmd, `unknown cmd "${cmd}"`);
      const parsed = schema.safeParse(param);
      if (!parsed.success) throw new SocketError(ErrorCode.invalidParam, describeIssues('param', cmd, parsed.error));
      return fn(sockets, session, parsed.data, { channel: frame.channel, ref: frame.ref, log });
    },
  };
}

/** A schema's first issues in one line, for an `invalid_param` error: `invalid param for "say": text: too long`. */
export function describeIssues(what: string, name: string, error: { issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }> }): string {
  const parts = error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.map(String).join('.') : what}: ${i.message}`);
  return `invalid ${what} for "${name}": ${parts.join('; ')}`;
}
