/** Why a connection closed, in words, for the close codes a page can meet. */
const closeReasons: Record<number, string> = {
  1000: 'disconnected',
  1001: 'server restarting',
  1008: 'too many messages',
  1012: 'server restarting',
  4000: 'disconnected by an administrator',
  4001: 'session expired',
  4008: 'connection too slow',
};

/**
 * What a page shows when its Socket closes (the Socket's `onClose` arguments): whether it will
 * come back, and a line of text (the reason in words when the code has one, e.g. 4000
 * "disconnected by an administrator", 1001 "server restarting"). Shared by the example pages
 * so they all say it the same way.
 */
export function closeStatus(code: number, reason: string, retryInMs?: number): { state: 'closed' | 'reconnecting'; text: string } {
  const why = closeReasons[code];
  return retryInMs === undefined
    ? { state: 'closed', text: `${why ? `${why} — ` : ''}closed (${code}${reason ? `: ${reason}` : ''})` }
    : { state: 'reconnecting', text: `${why ? `${why} · ` : ''}reconnecting in ${Math.max(1, Math.ceil(retryInMs / 1000))} s` };
}
