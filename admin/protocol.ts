import { z } from 'zod';
import { defineProtocol } from '../server/socket';
import type { ChannelSnapshot, ConnectionSnapshot, Overview, TapBatch } from './snapshots';

/** Where the admin pages' socket is, and the route channel all its connections share. */
export const adminSocketPath = '/admin/sockets/socket';
/** In the `admin` namespace, so no other route's client can join it and read the live status. */
export const adminChannel = 'admin:sockets';

/** Longest search or tap filter text. */
const maxQueryLength = 200;
/** Close reasons travel in the close frame, which RFC 6455 limits to 123 bytes; the service cuts at 120. */
const maxReasonBytes = 120;

const query = z.object({
  q: z.string().trim().max(maxQueryLength).default(''),
  offset: z.number().int().min(0).default(0),
});
const filterText = z.string().trim().max(maxQueryLength).default('');

/** A frame's cmd, within the same bounds as frames from clients. */
export const cmdSchema = z.string().trim().min(1, 'cmd is required').max(64);
export const reasonSchema = z
  .string()
  .trim()
  .refine((s) => new TextEncoder().encode(s).length <= maxReasonBytes, `reason must be at most ${maxReasonBytes} bytes`)
  .default('disconnected by an admin');

/** JSON typed into a form, parsed here so that the error tells what is wrong with it. Empty means `{}`. */
const jsonText = z.string().transform((text, ctx) => {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not valid JSON (${(err as Error).message})` });
    return z.NEVER;
  }
});

/**
 * With `count: true` in `send` or `publish`, how many connections the frame reached, as far as
 * this node can tell: `here` written to on this node, `elsewhere` on other nodes (send: handed to
 * the connection's node through the bus, not confirmed; publish: members there per the cluster
 * status), `missing` live nodes that did not answer the status in time (their members unknown).
 */
const delivery = { here: z.number().optional(), elsewhere: z.number().optional(), missing: z.array(z.string()).optional() };

/** What an admin page watches; the server pushes that view every ADMIN_STATUS_INTERVAL_MS (the tap: every batch). */
const view = z.discriminatedUnion('view', [
  z.object({ view: z.literal('sockets'), channels: query, connections: query }),
  z.object({ view: z.literal('channel'), key: z.string().min(1), members: query }),
  z.object({ view: z.literal('connection'), id: z.string().min(1) }),
  z.object({ view: z.literal('tap'), filter: z.object({ channel: filterText, cmd: filterText, conn: filterText }) }),
]);
export type View = z.output<typeof view>;
export type TapFilter = Extract<View, { view: 'tap' }>['filter'];

/** The admin socket: the pages watch views and act on connections and channels by request/reply. */
export const adminProtocol = defineProtocol({
  client: {
    /** Replaces this connection's view; the first snapshot follows at once. */
    watch: view,
    /** Stops pushes (the tap's pause). */
    unwatch: z.object({}),
    /** Sends one frame to a connection; an empty channel means the connection's route channel. */
    send: z.object({ connId: z.string().min(1), channel: z.string().default(''), cmd: cmdSchema, param: jsonText, count: z.boolean().default(false) }),
    /** Sends one frame to every member of a channel. */
    publish: z.object({ channel: z.string().min(1), cmd: cmdSchema, param: jsonText, count: z.boolean().default(false) }),
    /** Closes a connection with 4000 after a `close-connection` frame carrying the reason. */
    kick: z.object({ connId: z.string().min(1), reason: reasonSchema }),
    /** Closes every connection (every tab) of one user on every node, like `kick`. */
    'kick-user': z.object({ userId: z.string().min(1), reason: reasonSchema }),
  },
  server: {
    overview: z.custom<Overview>(),
    channel: z.custom<ChannelSnapshot>(),
    connection: z.custom<ConnectionSnapshot>(),
    tap: z.custom<TapBatch>(),
  },
  replies: {
    /** `here`: connections written to on this node; `elsewhere`: handed to other nodes (not confirmed); `missing`: nodes that did not answer. */
    send: z.object({ sent: z.literal(true), ...delivery }),
    /** `members`, `here`: members on this node; `elsewhere`: on the other nodes, from the cluster status. */
    publish: z.object({ members: z.number(), ...delivery }),
    kick: z.object({ disconnected: z.number() }),
    'kick-user': z.object({ disconnected: z.number() }),
  },
});
export type AdminProtocol = typeof adminProtocol;
