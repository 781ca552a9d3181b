import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

/** What handlers get as `log`: pino's level methods, tagged with the connection and its user. */
export type Log = Pick<Logger, Level | 'isLevelEnabled'> & {
  /** A pino child logger with the connection's tags and `bindings`. */
  child(bindings: Bindings, options?: ChildLoggerOptions): Logger;
};

/**
 * A connection's logger. It holds no pino child logger (some 600 bytes per connection, when most
 * never log a line): each line goes through the service's logger with `{conn, user}` merged in,
 * and a line at a disabled level costs nothing.
 */
export class ConnectionLog implements Log {
  constructor(
    private readonly parent: Logger,
    private readonly conn: { readonly id: string; readonly profile: { readonly id: string } },
  ) {}

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }

  debug(...args: unknown[]): void {
    this.write('debug', args);
  }

  info(...args: unknown[]): void {
    this.write('info', args);
  }

  warn(...args: unknown[]): void {
    this.write('warn', args);
  }

  error(...args: unknown[]): void {
    this.write('error', args);
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  isLevelEnabled(level: string): boolean {
    return this.parent.isLevelEnabled(level);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.parent.child({ ...this.tags(), ...bindings }, options);
  }

  private tags(): { conn: string; user: string } {
    return { conn: this.conn.id, user: this.conn.profile.id };
  }

  /** pino's call forms: (msg, ...args), (obj, msg?, ...args), (err, msg?, ...args). */
  private write(level: Level, [first, ...rest]: unknown[]): void {
    if (!this.parent.isLevelEnabled(level)) return;
    const log = this.parent[level] as (obj: object, ...args: unknown[]) => void;
    if (first instanceof Error) log.call(this.parent, { ...this.tags(), err: first }, ...rest);
    else if (typeof first === 'object' && first !== null) log.call(this.parent, { ...this.tags(), ...first }, ...rest);
    else log.call(this.parent, this.tags(), first, ...rest);
  }
}
