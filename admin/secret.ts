import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Compares a submitted secret (token, API key, signature) with the expected one in constant time.
 * Both are hashed first, so neither the content nor the length of the real one leaks through timing.
 */
export function sameSecret(submitted: string, expected: string): boolean {
  return timingSafeEqual(sha256(submitted), sha256(expected));
}

/** HMAC-SHA256 as base64url: derived values (sessions, CSRF tokens) that reveal nothing of the key. */
export function sign(key: string | Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
