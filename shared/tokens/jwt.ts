import { compactVerify, decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { RotationError } from '../consumers/errors.js';
import type { KeySecret } from '../consumers/keys.js';
import type { JwtCredential } from '../kong/entities.js';
import { privateKeyOf, publicKeyOf } from './imported-keys.js';

/** Signs a token with a key: header `alg` and `kid`, claims `kid` (what Kong's `key_claim_name: kid` reads) and `exp`. */
export async function signToken(
  key: KeySecret,
  options: { ttlSeconds: number; claims?: Record<string, unknown>; now?: Date },
): Promise<string> {
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const privateKey = await privateKeyOf(key.privateKeyPem, key.alg);
  return new SignJWT({ ...options.claims, kid: key.kid })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + options.ttlSeconds)
    .sign(privateKey);
}

/**
 * Verifies a token the way Kong's jwt plugin does with `key_claim_name: kid` (reference §8): the `kid` claim (else
 * the header's) selects the credential, the header's alg must equal the credential's algorithm, its public key must
 * verify the signature, and `exp` must be in the future. Returns the credential; throws with Kong's reason.
 */
export async function verifyLikeKong(
  token: string,
  findCredential: (kid: string) => Promise<JwtCredential | undefined>,
  now: Date = new Date(),
): Promise<JwtCredential> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    throw rejected('Bad token; invalid JSON');
  }
  const kid = typeof claims.kid === 'string' ? claims.kid : header.kid;
  if (kid === undefined) throw rejected("No mandatory 'kid' in claims");
  if (kid === '') throw rejected("Invalid 'kid' in claims");
  const credential = await findCredential(kid);
  if (!credential) throw rejected("No credentials found for given 'kid'", kid);
  if (header.alg !== credential.algorithm) throw rejected('Invalid algorithm', kid);
  if (!credential.rsa_public_key) throw rejected('Invalid key/secret', kid);
  try {
    const publicKey = await publicKeyOf(credential.rsa_public_key, credential.algorithm);
    await compactVerify(token, publicKey, { algorithms: [credential.algorithm] });
  } catch {
    throw rejected('Invalid signature', kid);
  }
  if (typeof claims.exp !== 'number' || claims.exp <= Math.floor(now.getTime() / 1000)) {
    throw rejected('token expired', kid);
  }
  return credential;
}

function rejected(reason: string, kid?: string): RotationError {
  return new RotationError(`Kong would reject the token: ${reason}${kid ? ` (kid ${kid})` : ''}`, {
    context: { reason, kid },
  });
}
