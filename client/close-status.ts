/**
 * What a page shows when its Socket closes (the Socket's `onClose` arguments): whether it will
 * come back, and a line of text. Shared by the example pages so they all say it the same way.
 */
export function closeStatus(code: number, reason: string, retryInMs?: number): { state: 'closed' | 'reconnecting'; text: string } {
  return retryInMs === undefined
    ? { state: 'closed', text: `closed (${code}${reason ? `: ${reason}` : ''})` }
    : { state: 'reconnecting', text: `reconnecting in ${Math.max(1, Math.ceil(retryInMs / 1000))} s` };
}
