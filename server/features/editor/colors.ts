/**
 * Each user's colour in a document (their caret, selection, name label and dot in the list):
 * people in the same room at the same time get different colours while the palette lasts.
 * A user keeps the colour they were given while they stay; a new one takes their preferred
 * colour (a hash of their id) or the next one nobody present holds. The assignment lives in the
 * store under `editor:<room>:colors`, so every node of a cluster sees one (and it is presence,
 * not data: the durable store keeps it in memory only).
 */
import type { StateStore } from '../../store/store';
import { fnv1a } from './fnv1a';

/** Distinct hues, each dark enough for white label text (contrast at least 5:1, WCAG AA). */
export const PALETTE = ['#c62a2f', '#b34700', '#8a6100', '#1e7a4f', '#0b63b0', '#5b45b8', '#b02a80', '#0b7c70', '#4848c4', '#475467'] as const;

/**
 * How long the colour of someone no longer present stays reserved: covers a user whose sync
 * read the room's presence just before another user joined and took a colour.
 */
export const COLOR_HOLD_MS = 10_000;

/** userId → palette index, and when the user last synced. */
export type ColorEntries = Record<string, { color: number; at: number }>;

const colorsKey = (room: string) => `editor:${room}:colors`;
export const isColorsKey = (key: string) => /^editor:[\w-]+:colors$/.test(key);

/** The palette index a user's id prefers (FNV-1a): the same on every node. */
export function preferredColor(userId: string): number {
  return fnv1a(userId) % PALETTE.length;
}

/**
 * The room's entries with `userId` given a colour: entries of users neither `present` nor seen
 * within COLOR_HOLD_MS are dropped first; past PALETTE.length people, colours repeat.
 */
export function pickColor(entries: ColorEntries, userId: string, present: ReadonlySet<string>, now: number): ColorEntries {
  const kept: ColorEntries = {};
  for (const [id, e] of Object.entries(entries)) if (present.has(id) || e.at > now - COLOR_HOLD_MS) kept[id] = e;
  let color = kept[userId]?.color;
  if (color === undefined) {
    const taken = new Set(Object.values(kept).map((e) => e.color));
    const start = preferredColor(userId);
    const free = PALETTE.map((_, i) => (start + i) % PALETTE.length).find((i) => !taken.has(i));
    color = free ?? start;
  }
  kept[userId] = { color, at: now };
  return kept;
}

/** Assigns (or refreshes) `userId`'s colour in `room`, given who is present; returns it. */
export async function assignColor(store: StateStore, room: string, userId: string, present: Iterable<string>, now = Date.now()): Promise<string> {
  const here = new Set(present);
  const entries = await store.update<ColorEntries>(colorsKey(room), (cur) => pickColor(cur ?? {}, userId, here, now));
  return PALETTE[entries[userId]!.color]!;
}
