/**
 * LNURL-auth (LUD-04) login and bearer sessions (docs/API.md "Authentication
 * (LNURL-auth, LUD-04)"). Challenges and
 * sessions live in the metadata store, so any instance can consume a k1 or check a
 * token. Only the SHA-256 of a token is stored.
 * @module
 */
import { hash } from 'node:crypto';
import type { GetK1Response, LoginRequest, LoginResponse } from '@noah-backup/core/api';
import type { Clock, RandomBytes } from '@noah-backup/core/clock';
import { parseLinkingKey, verifyK1 } from '@noah-backup/core/lnurl';
import { apiError } from '../errors.ts';
import type { MetadataStore, UserRow } from '../stores/metadata.ts';

/** An authenticated request's identity. */
export interface Principal {
  userId: string;
  /** SHA-256 of the bearer token, hex (what logout revokes). */
  tokenHash: string;
}

/** Login, token checks and logout. */
export interface AuthService {
  /** Issues and stores a fresh single-use k1 (`GET /v0/getk1`). */
  issueChallenge(): Promise<GetK1Response>;
  /** Verifies a LUD-04 login and issues a bearer token. Throws HttpError. */
  login(body: LoginRequest): Promise<LoginResponse>;
  /** Resolves an `Authorization` header to a principal. Throws HttpError 401. */
  authenticate(authorization: string | undefined): Promise<Principal>;
  /** Revokes the session. Idempotent. */
  logout(principal: Principal): Promise<void>;
}

/**
 * A second login scheme tried when the LUD-04 signature does not verify (the Noah
 * compatibility profile, src/compat/noah/auth.ts): its own signature check over the same
 * single-use k1, and its own token.
 */
export interface AlternativeLogin {
  verify(k1: string, sig: string, key: string): boolean;
  issue(user: UserRow, now: Date): LoginResponse;
}

/** base64url of 32 bytes: 43 characters, no padding. */
const BEARER_RE = /^Bearer\s+([A-Za-z0-9_-]{43})\s*$/i;
const EPOCH = new Date(0);

/**
 * SHA-256 of a bearer token, hex: the only form in which tokens are stored.
 *
 * @param token - the access token as sent by the client
 * @returns 64 hex characters
 */
export function hashToken(token: string): string {
  // One-shot: no Hash object per request.
  return hash('sha256', token, 'hex');
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Creates the auth service.
 *
 * @param deps.metadata - challenges, users, sessions
 * @param deps.clock - the injected clock
 * @param deps.random - the injected CSPRNG (k1 and tokens)
 * @param deps.k1TtlSec - challenge lifetime (LUD-04 leaves it to the service; default 600)
 * @param deps.tokenTtlSec - access-token lifetime
 * @returns the service
 * @example
 * ```ts
 * const auth = createAuthService({ metadata, clock, random, k1TtlSec: 600, tokenTtlSec: 86400 });
 * const { k1 } = await auth.issueChallenge();
 * ```
 */
export function createAuthService(deps: {
  metadata: MetadataStore;
  clock: Clock;
  random: RandomBytes;
  k1TtlSec: number;
  tokenTtlSec: number;
  /** Tried after a failed LUD-04 verification; default none. */
  alternative?: AlternativeLogin;
}): AuthService {
  const { metadata, clock, random } = deps;
  return {
    async issueChallenge() {
      // LUD-04: k1 is "hex encoded 32 bytes of challenge", single use.
      const k1 = toHex(random(32));
      await metadata.createChallenge(k1, new Date(clock.now().getTime() + deps.k1TtlSec * 1000));
      return { k1, tag: 'login' };
    },

    async login(body) {
      const key = body.key.toLowerCase();
      try {
        parseLinkingKey(key);
      } catch {
        throw apiError('invalid_key');
      }
      const k1 = body.k1.toLowerCase();
      const now = clock.now();
      // The k1 is consumed before the signature is checked: a challenge is single use
      // even when the attempt fails, so a signature cannot be brute-forced against one
      // k1, and two racing logins with one k1 get exactly one `true` (atomic in the store).
      if (!(await metadata.consumeChallenge(k1, now))) throw apiError('invalid_k1');
      // LUD-04: "MUST verify the signature using secp256k1" over the raw k1 bytes.
      if (!verifyK1(k1, body.sig, key)) {
        const alt = deps.alternative;
        if (!alt?.verify(k1, body.sig, key)) throw apiError('invalid_signature');
        return alt.issue(await metadata.upsertUser(key, now), now);
      }
      const user = await metadata.upsertUser(key, now);
      const token = Buffer.from(random(32)).toString('base64url');
      const expiresAt = new Date(now.getTime() + deps.tokenTtlSec * 1000);
      await metadata.createSession(hashToken(token), user.id, expiresAt, now);
      return { access_token: token, token_type: 'Bearer', expires_at: expiresAt.toISOString() };
    },

    async authenticate(authorization) {
      const m = authorization === undefined ? null : BEARER_RE.exec(authorization);
      if (!m) throw apiError('unauthorized');
      const tokenHash = hashToken(m[1]!);
      // Looked up as of the epoch so that an expired (not revoked, not yet pruned)
      // session is still found and can be told apart: `token_expired` tells the client
      // to log in again rather than that its token is wrong.
      const session = await metadata.getSession(tokenHash, EPOCH);
      if (!session) throw apiError('unauthorized');
      if (session.expiresAt.getTime() <= clock.now().getTime()) throw apiError('token_expired');
      return { userId: session.userId, tokenHash };
    },

    async logout(principal) {
      await metadata.revokeSession(principal.tokenHash);
    },
  };
}
