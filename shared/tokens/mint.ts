import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import { RotationError } from '../consumers/errors.js';
import { AWSCURRENT, findConsumerSecret, readKeyVersion } from '../consumers/secrets.js';
import { signToken } from './jwt.js';

/** Longest lifetime `meshgate token` mints: the default grace period, so a retired key's tokens have expired. */
const MAX_TTL_SECONDS = 3600;

/**
 * A short-lived token for a consumer, signed with its AWSCURRENT key (`meshgate token --consumer NAME`). The
 * private key stays in this process.
 */
export async function mintToken(
  sm: SecretsManagerCalls,
  username: string,
  options: { ttlSeconds: number; now?: Date },
): Promise<{ token: string; kid: string; expiresAt: string }> {
  if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 1 || options.ttlSeconds > MAX_TTL_SECONDS) {
    throw new RotationError(`ttlSeconds must be an integer from 1 to ${MAX_TTL_SECONDS}, got ${options.ttlSeconds}`);
  }
  const secret = await findConsumerSecret(sm, username);
  const current = await readKeyVersion(sm, secret.ARN ?? secret.Name ?? '', { stage: AWSCURRENT });
  const now = options.now ?? new Date();
  const token = await signToken(current.key, { ttlSeconds: options.ttlSeconds, claims: { sub: username }, now });
  const expiresAt = new Date((Math.floor(now.getTime() / 1000) + options.ttlSeconds) * 1000).toISOString();
  return { token, kid: current.key.kid, expiresAt };
}
