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
 * Its timer runs from creation, so time spent queued while disconnected counts too.
 */
export class Request<T = unknown> {
  readonly promise: Promise<T>;
  private resolve!: (value: T) => void;
  private reject!: (error: RequestError) => void;
  private readonly timer: ReturnType<typeof setTimeout>;

  /** `onTimeout` lets the owner forget the ref once no answer can be awaited any more. */
  constructor(
    readonly ref: Ref,
    cmd: string,
    timeout: number,
    onTimeout: () => void,
  ) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.timer = setTimeout(() => {
      onTimeout();
      this.reject(new RequestError('timeout', `no reply to "${cmd}" within ${timeout} ms`));
    }, timeout);
  }

  /** Settles with the answering frame: `reply` resolves with its param, `error` rejects with its code. */
  settle(cmd: string, param: unknown): void {
    clearTimeout(this.timer);
    if (cmd === 'error') {
      const { code, message } = param as { code: string; message: string };
      this.reject(new RequestError(code, message));
    } else {
      this.resolve(param as T);
    }
  }
}
