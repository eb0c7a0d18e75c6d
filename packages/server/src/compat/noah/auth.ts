/**
 * Logins and bearer tokens of Noah's app (docs/API.md "Noah compatibility"): the login
 * scheme tried after LUD-04 (its signature over the Bitcoin signed-message hash of the
 * k1, src/compat/noah/signature.ts; the user is its public key, as for an imported Noah
 * user) and the resolution of its HS256 tokens to a principal.
 * @module
 */
import type { Clock } from '@noah-backup/core/clock';
import type { NoahCompatConfig } from '../../config/noah.ts';
import { apiError } from '../../errors.ts';
import type { AlternativeLogin, Principal } from '../../services/auth.ts';
import type { MetadataStore } from '../../stores/metadata.ts';
import { looksLikeJwt, mintJwt, verifyJwt } from './jwt.ts';
import { verifySignedMessage } from './signature.ts';

/** Users whose id is remembered by public key (ids never change). */
const MAX_CACHED_USERS = 10_000;
const COMPRESSED_KEY = /^0[23][0-9a-f]{64}$/;

/**
 * The login scheme of Noah's app, for `createAuthService({ alternative })`.
 *
 * @param config - the profile's settings (secret, token lifetime)
 * @returns the scheme
 */
export function noahLogin(config: NoahCompatConfig): AlternativeLogin {
  return {
    verify: (k1, sig, key) => verifySignedMessage(k1, sig, key),
    issue(user, now) {
      const t = mintJwt(config.jwtSecret, user.pubkey, now, config.tokenTtlSec);
      return {
        access_token: t.token,
        token_type: 'Bearer',
        expires_at: t.expiresAt.toISOString(),
        expires_in_seconds: t.expiresInSec,
      };
    },
  };
}

/** Resolves the `Authorization` header of a request of Noah's app. */
export type NoahAuthenticate = (authorization: string | undefined) => Promise<Principal>;

/**
 * Builds the token check of the Noah routes: `Bearer <JWT>` only; a valid token's
 * subject is the user's public key, created here at first sight (a token minted by a
 * Noah server sharing the secret is as good as one minted here).
 *
 * @param deps - the profile's settings, the metadata store and the clock
 * @returns the check; throws 401 `unauthorized` (no or bad token) or `token_expired`
 */
export function noahAuthenticator(deps: {
  config: NoahCompatConfig;
  metadata: MetadataStore;
  clock: Clock;
}): NoahAuthenticate {
  const ids = new Map<string, string>();
  return async (authorization) => {
    const m = authorization === undefined ? null : /^Bearer (\S+)$/.exec(authorization);
    if (!m || !looksLikeJwt(m[1]!)) throw apiError('unauthorized');
    const now = deps.clock.now();
    const r = verifyJwt(deps.config.jwtSecret, m[1]!, now);
    if ('refused' in r) throw apiError(r.refused === 'expired' ? 'token_expired' : 'unauthorized');
    const pubkey = r.sub.toLowerCase();
    if (!COMPRESSED_KEY.test(pubkey)) throw apiError('unauthorized');
    let userId = ids.get(pubkey);
    if (userId === undefined) {
      userId = (await deps.metadata.upsertUser(pubkey, now)).id;
      if (ids.size >= MAX_CACHED_USERS) ids.delete(ids.keys().next().value!);
      ids.set(pubkey, userId);
    }
    // Stateless tokens: nothing to revoke, so no session hash.
    return { userId, tokenHash: '' };
  };
}
