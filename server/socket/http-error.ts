/**
 * Throw from a route resolver to refuse the upgrade with an HTTP status before any connection
 * exists. No imports: code shared with page bundles may throw it.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
