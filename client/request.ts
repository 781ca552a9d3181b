import type { Ref } from '../server/socket/message';

/** Why a request failed: the server's error `code` (e.g. `invalid_param`) or `timeout`. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/**
 * One frame sent with a `ref`, waiting for the single `reply` or `error` frame that echoes it.
 * Its timer runs from creation, so time spent queued while disconnected counts too; unless the
 * request is retry-safe (`retry`): then its owner arms the timer only while the frame is out on
 * an open connection, and disarms it when that connection drops (the frame is sent again).
 */
export class Request<T = unknown> {
  readonly promise: Promise<T>;
  /** The frame as sent, for a retry-safe request (sent again, same `ref` and `id`, after a reconnect). */
  text?: string;
  private resolve!: (value: T) => void;
  private reject!: (error: RequestError) => void;
  private timer?: ReturnType<typeof setTimeout>;
  private done = false;

  /** `onTimeout` lets the owner forget the ref once no answer can be awaited any more. */
  constructor(
    readonly ref: Ref,
    private readonly cmd: string,
    private readonly timeout: number,
    private readonly onTimeout: () => void,
    readonly retry = false,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (!retry) this.arm();
  }

  /** Starts the timer, unless it runs already. */
  arm(): void {
    if (this.done || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.onTimeout();
      this.fail('timeout', `no reply to "${this.cmd}" within ${this.timeout} ms`);
    }, this.timeout);
  }

  /** Stops the timer: the frame is waiting for a connection again. */
  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Settles with the answering frame: `reply` resolves with its param, `error` rejects with its code. */
  settle(cmd: string, param: unknown): void {
    if (cmd === 'error') {
      const { code, message } = param as { code: string; message: string };
      this.fail(code, message);
    } else {
      this.disarm();
      this.done = true;
      this.resolve(param as T);
    }
  }

  /** Rejects with `code` (e.g. `disconnected` when the socket closed for good). */
  fail(code: string, message: string): void {
    this.disarm();
    this.done = true;
    this.reject(new RequestError(code, message));
  }
}
