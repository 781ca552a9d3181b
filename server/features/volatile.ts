import { isColorsKey } from './editor/colors';
import { isFocusKey } from './sheet/handler';

/**
 * Keys of the built-in examples that describe people, not what they made, and mean nothing
 * after a restart: the durable store keeps them in memory only (docs/examples.md, "What is kept").
 * Today that is the spreadsheet's selections (`sheet:<room>:focus`) and the editor's colours of
 * the people in a room (`editor:<room>:colors`); cursors and awareness are never stored at all.
 * A draw page's stroke in progress (`draw:<room>:live:<id>`) is kept: it is ink others saw,
 * committed by the next `sync`.
 */
export function isVolatileKey(key: string): boolean {
  return isFocusKey(key) || isColorsKey(key);
}
