import type { z } from 'zod';
import { builtinClientCmds, type BuiltinServerParams, type Message, type Ref } from './message';

/**
 * One protocol definition gives compile-time types to the server handler and the browser
 * Socket, and runtime validation to the server. Import it on the client with `import type`
 * so zod stays out of the browser bundle.
 */
export type Schemas = Record<string, z.ZodType>;

export interface ProtocolSpec<C extends Schemas, S extends Schemas, R extends Partial<Record<keyof C, z.ZodType>>> {
  /** What clients may send: cmd → schema of its param. */
  client: C;
  /** What the server sends: cmd → schema of its param (types only; outbound frames are not re-validated). */
  server: S;
  /** Optional: cmd → schema of the reply a request with that cmd resolves to. */
  replies?: R;
}

export interface Protocol<C extends Schemas = Schemas, S extends Schemas = Schemas, R extends Partial<Record<keyof C, z.ZodType>> = {}> {
  readonly client: C;
  readonly server: S;
  readonly replies: R;
  /** Builds a typed server frame, e.g. `chat.message(room, 'chat', { text })`. */
  message<K extends keyof S & string>(channel: string, cmd: K, param: z.input<S[K]>): Message<K, z.input<S[K]>>;
}

export function defineProtocol<C extends Schemas, S extends Schemas, R extends Partial<Record<keyof C, z.ZodType>> = {}>(
  spec: ProtocolSpec<C, S, R>,
): Protocol<C, S, R> {
  for (const cmd of Object.keys(spec.client)) {
    if (builtinClientCmds.has(cmd)) throw new Error(`cmd "${cmd}" is built in; choose another name`);
  }
  return {
    client: spec.client,
    server: spec.server,
    replies: (spec.replies ?? {}) as R,
    message: (channel, cmd, param) => ({ channel, cmd, param }),
  };
}

/** Any protocol: what an untyped Socket speaks. */
export type AnyProtocol = Protocol<Record<string, z.ZodType<any, any>>, Record<string, z.ZodType<any, any>>, {}>;

type Cmds<T> = keyof T & string;

/** A frame a client of protocol P may send. */
export type ClientFrame<P extends Protocol<any, any, any>> = {
  [K in Cmds<P['client']>]: { channel: string; cmd: K; param: z.input<P['client'][K]>; ref?: Ref };
}[Cmds<P['client']>];

/** The param type of client cmd K. */
export type ClientParam<P extends Protocol<any, any, any>, K extends Cmds<P['client']>> = z.input<P['client'][K]>;

/** A frame a client of protocol P may receive: the protocol's own frames plus the built-in ones. */
export type ServerFrame<P extends Protocol<any, any, any>> =
  | { [K in Cmds<P['server']>]: Message<K, z.output<P['server'][K]>> }[Cmds<P['server']>]
  | { [K in keyof BuiltinServerParams]: Message<K, BuiltinServerParams[K]> }[keyof BuiltinServerParams];

/** What a request with cmd K resolves to: the reply schema's type, or unknown when none is declared. */
export type ReplyOf<P extends Protocol<any, any, any>, K extends string> = K extends keyof P['replies']
  ? P['replies'][K] extends z.ZodType
    ? z.output<P['replies'][K]>
    : unknown
  : unknown;

/** What a handler for cmd K must return: the reply schema's input type, or anything. */
export type ReplyIn<P extends Protocol<any, any, any>, K extends string> = K extends keyof P['replies']
  ? P['replies'][K] extends z.ZodType
    ? z.input<P['replies'][K]>
    : unknown
  : unknown;
