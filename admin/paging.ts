/** What a viewer asks of a long table: a case-insensitive search and where the page starts. */
export interface Query {
  q: string;
  offset: number;
}

/** One page of a table: the server sends only this, never the whole list. */
export interface Page<T> {
  /** Rows matching the search, on every page together. */
  total: number;
  /** First row of this page (moved back when the table shrank under it). */
  offset: number;
  /** Rows per page. */
  size: number;
  rows: T[];
}

/** The rows matching `query.q` (a substring of `text(row)`, ignoring case), `size` of them from `query.offset`. */
export function page<T>(rows: readonly T[], query: Query, size: number, text: (row: T) => string): Page<T> {
  const q = query.q.toLowerCase();
  const matching = q ? rows.filter((row) => text(row).toLowerCase().includes(q)) : rows;
  const lastPage = Math.max(0, Math.floor((matching.length - 1) / size) * size);
  const offset = Math.min(Math.floor(query.offset / size) * size, lastPage);
  return { total: matching.length, offset, size, rows: matching.slice(offset, offset + size) };
}
