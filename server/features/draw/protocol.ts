import { z } from 'zod';
import { defineProtocol } from '../../socket';
import { drawLimits as L } from './canvas';

const color = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, 'colour must be #rrggbb')
  .transform((c) => c.toLowerCase());
const size = z.number().int().min(L.minSize).max(L.maxSize);
const x = z.number().min(0).max(L.width);
const y = z.number().min(0).max(L.height);
/** Flat `[x0, y0, x1, y1, …]`, every pair inside the canvas. */
const points = (max: number) =>
  z
    .array(z.number())
    .max(2 * max, `at most ${max} points`)
    .refine((p) => p.length % 2 === 0, 'points are x, y pairs')
    .refine((p) => p.every((v, i) => v >= 0 && v <= (i % 2 ? L.height : L.width)), `points must lie in the canvas (0-${L.width} × 0-${L.height})`);
const flat = z.array(z.number());
const entry = z.object({ color: z.string(), size: z.number(), paths: z.array(flat) });
const live = z.object({ key: z.string(), name: z.string(), color: z.string(), size: z.number(), points: flat, updatedAt: z.number() });

/**
 * The whiteboard. A stroke is a client-chosen `id`; while the pointer is down the page sends
 * `segment`s of at most 64 new points (about every 50 ms), the last one with `end: true`.
 * Everyone else sees the stroke grow live; on `end` the server commits it to the canvas.
 */
export const draw = defineProtocol({
  client: {
    /** The canvas for a (re)connecting page: committed ink, strokes in progress, who is here. */
    sync: z.object({}),
    segment: z
      .object({
        id: z.string().regex(/^[\w-]{1,24}$/, 'id: 1-24 letters, digits, _ or -'),
        color,
        size,
        points: points(L.maxSegmentPoints),
        /** Last segment of the stroke (pointer up): commit it. */
        end: z.boolean().optional(),
      })
      .refine((s) => s.end || s.points.length > 0, 'a segment without points must end the stroke'),
    clear: z.object({}),
    /** The pointer over the canvas; pages send at most 20 a second, the server relays at most 25. */
    cursor: z.object({ x, y }),
    /** The pointer left the canvas. */
    'cursor-out': z.object({}),
  },
  server: {
    /** New points of a live stroke; `from` is the index of the first one in the stroke. */
    segment: z.object({ key: z.string(), name: z.string(), color: z.string(), size: z.number(), from: z.number(), points: flat }),
    /** A stroke is finished: `entry` is its final ink, painted on top; `version` is the canvas's new version. */
    commit: z.object({ key: z.string(), version: z.number(), entry }),
    clear: z.object({ version: z.number(), clears: z.number(), by: z.string() }),
    cursor: z.object({ id: z.string(), userId: z.string(), name: z.string(), x: z.number(), y: z.number() }),
    'cursor-gone': z.object({ id: z.string() }),
  },
  replies: {
    sync: z.object({
      /** The store's generation (server/store/generation.ts): another one than before means the server lost its state. */
      generation: z.string(),
      /** This connection's id: the page's own strokes are keyed `<self>:<id>`. */
      self: z.string(),
      /** Who this connection is (its user id and display name). */
      me: z.object({ id: z.string(), name: z.string() }),
      width: z.number(),
      height: z.number(),
      version: z.number(),
      clears: z.number(),
      clearedBy: z.string().optional(),
      entries: z.array(entry),
      live: z.array(live),
      users: z.array(z.object({ id: z.string(), name: z.string() })),
      limits: z.object({ maxSegmentPoints: z.number(), maxStrokePoints: z.number(), minSize: z.number(), maxSize: z.number() }),
    }),
    clear: z.object({ version: z.number() }),
  },
});
export type DrawProtocol = typeof draw;
