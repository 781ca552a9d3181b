/**
 * Where features keep shared state (chat history, boards, sheets, documents). In memory on a
 * single node; a Redis implementation lets every node of a cluster see one state.
 * Values must be JSON-serializable.
 */
export interface StateStore {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T): Promise<void>;
  /** Read-modify-write of one key, serialized against other updates of that key. */
  update<T>(key: string, fn: (current: T | undefined) => T): Promise<T>;
  /** Appends to a list, keeping only its last `max` items. */
  append<T>(key: string, item: T, max: number): Promise<void>;
  /** The whole list, oldest first. */
  list<T>(key: string): Promise<T[]>;
  /** Keys starting with a prefix (e.g. every room of a feature). */
  keys(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
