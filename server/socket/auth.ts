import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Profile } from './profile';
import { HttpError } from './http-error';

/** Who a verified token says the client is. The profile comes from the token, never from client fields. */
export interface Identity {
  profile: Profile;
  /** When the credential stops being valid (ms since epoch); the connection is closed then unless refreshed. */
  expiresAt?: number;
}

/** Verifies a credential; throws HttpError(401) when it is not acceptable. */
export interface Authenticator {
  verify(token: string): Promise<Identity>;
}

export interface JwtOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** Or a JWKS URL for asymmetric keys (RS256, ES256, EdDSA…). */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

/** JWTs via jose: `sub` is the user id, `name` (or `preferred_username`) the display name. */
export class JwtAuthenticator implements Authenticator {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(private readonly options: JwtOptions) {
    if (options.secret) {
      this.key = new TextEncoder().encode(options.secret);
      this.algorithms = ['HS256'];
    } else if (options.jwksUrl) {
      this.key = createRemoteJWKSet(new URL(options.jwksUrl));
      this.algorithms = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
    } else {
      throw new Error('JwtAuthenticator needs a secret or a jwksUrl');
    }
  }

  async verify(token: string): Promise<Identity> {
    let claims: JWTPayload;
    try {
      const opts = { algorithms: this.algorithms, issuer: this.options.issuer, audience: this.options.audience };
      ({ payload: claims } =
        typeof this.key === 'function' ? await jwtVerify(token, this.key, opts) : await jwtVerify(token, this.key, opts));
    } catch (err) {
      throw new HttpError(401, `invalid token: ${(err as { code?: string }).code ?? 'ERR_JWT_INVALID'}`);
    }
    if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 128) {
      throw new HttpError(401, 'invalid token: a sub claim (1-128 characters) is required');
    }
    const name = [claims.name, claims.preferred_username].find((n): n is string => typeof n === 'string' && n.length > 0);
    return { profile: { id: claims.sub, name: (name ?? claims.sub).slice(0, 64) }, expiresAt: claims.exp ? claims.exp * 1000 : undefined };
  }
}

/** Prefix of the Sec-WebSocket-Protocol entry that carries a token (browsers cannot set headers). */
const bearerProtocol = 'bearer.';
/** The subprotocol the server selects when a client offers a token that way. */
export const wsforgeProtocol = 'wsforge';

/** The token of an upgrade request: `?token=`, `Authorization: Bearer`, or a `bearer.<token>` subprotocol. */
export function tokenFrom(req: IncomingMessage, url: URL): string | undefined {
  const query = url.searchParams.get('token');
  if (query) return query;
  const auth = req.headers.authorization;
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  const protocols = req.headers['sec-websocket-protocol'];
  const offered = protocols?.split(',').map((p) => p.trim()).find((p) => p.startsWith(bearerProtocol));
  return offered?.slice(bearerProtocol.length) || undefined;
}
