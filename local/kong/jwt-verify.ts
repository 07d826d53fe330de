import { createHmac, createPublicKey, constants as cryptoConstants, timingSafeEqual, verify } from 'node:crypto';
import { base64url, decodeJwt, decodeProtectedHeader } from 'jose';
import type { Entity } from './schemas/index.js';
import { JWT_ALGORITHMS } from './schemas/jwt-secrets.js';
import type { KongStore } from './store.js';

/**
 * The JWT plugin's token check (kong/plugins/jwt/handler.lua, jwt_parser.lua, reference §8 steps 3-5) against the
 * stored credentials. Synchronous by contract, so signatures are checked with node:crypto (jose decodes).
 */
export type JwtVerification =
  | { ok: true; consumer: { id: string; username: string | null }; key: string }
  | { ok: false; status: number; message: string };

const DIGESTS: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };
/** Raw R‖S signature lengths (JOSE form) per ES algorithm; anything else is a Lua error in Kong (500). */
const ES_SIGNATURE_BYTES: Record<string, number> = { ES256: 64, ES384: 96, ES512: 132 };

const fail = (status: number, message: string): JwtVerification => ({ ok: false, status, message });
const unauthorized = (message: string) => fail(401, message);
const internalError = () => fail(500, 'An unexpected error occurred');

function verifySignature(
  credential: Entity,
  algorithm: string,
  signingInput: Buffer,
  signature: Buffer,
): JwtVerification | undefined {
  const digest = DIGESTS[algorithm.slice(2)] ?? 'sha256';
  if (algorithm.startsWith('HS')) {
    const secret = Buffer.from(String(credential.secret));
    const expected = createHmac(digest, secret).update(signingInput).digest();
    return expected.length === signature.length && timingSafeEqual(expected, signature)
      ? undefined
      : unauthorized('Invalid signature');
  }
  if (typeof credential.rsa_public_key !== 'string') return unauthorized('Invalid key/secret');
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey(credential.rsa_public_key);
  } catch {
    return internalError();
  }
  let valid: boolean;
  if (algorithm === 'EdDSA') valid = verify(null, signingInput, key, signature);
  else if (algorithm.startsWith('ES')) {
    if (signature.length !== ES_SIGNATURE_BYTES[algorithm]) return internalError();
    valid = verify(digest, signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } else if (algorithm.startsWith('PS')) {
    if (signature.length !== 256) return internalError();
    valid = verify(
      digest,
      signingInput,
      { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST },
      signature,
    );
  } else valid = verify(digest, signingInput, key, signature);
  return valid ? undefined : unauthorized('Invalid signature');
}

/** `exp`/`nbf` when present: no leeway, as Kong (`claims_to_verify` = exp, nbf). */
function verifyClaims(claims: Record<string, unknown>, now: number): JwtVerification | undefined {
  for (const claim of ['exp', 'nbf'] as const) {
    const value = claims[claim];
    if (value === undefined) continue;
    if (typeof value !== 'number') return unauthorized(`${claim}: must be a number`);
    if (claim === 'exp' && value <= now) return unauthorized('token expired');
    if (claim === 'nbf' && value > now) return unauthorized('token not valid yet');
  }
  return undefined;
}

const SUPPORTED = new Set<string>(JWT_ALGORITHMS);

export function verifyJwt(store: KongStore, token: string, keyClaimName = 'iss'): JwtVerification {
  const parts = token.split('.');
  if (parts.length !== 3) return unauthorized('Bad token; invalid JSON');
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    claims = decodeJwt(token) as Record<string, unknown>;
  } catch {
    return unauthorized('Bad token; invalid JSON');
  }
  const algorithm = header.alg;
  if (typeof algorithm !== 'string' || !SUPPORTED.has(algorithm)) return unauthorized('Bad token; invalid alg');

  const keyValue = claims[keyClaimName] ?? header[keyClaimName];
  if (keyValue === undefined || keyValue === null) return unauthorized(`No mandatory '${keyClaimName}' in claims`);
  if (keyValue === '') return unauthorized(`Invalid '${keyClaimName}' in claims`);
  const credentials = store.collection('jwt_secrets');
  const credentialId = credentials.idByUnique('key', keyValue);
  const credential = credentialId === undefined ? undefined : credentials.get(credentialId);
  if (!credential) return unauthorized(`No credentials found for given '${keyClaimName}'`);
  if (credential.algorithm !== algorithm) return unauthorized('Invalid algorithm');

  const [encodedHeader = '', encodedClaims = '', encodedSignature = ''] = parts;
  const signingInput = Buffer.from(`${encodedHeader}.${encodedClaims}`);
  const signatureError = verifySignature(
    credential,
    algorithm,
    signingInput,
    Buffer.from(base64url.decode(encodedSignature)),
  );
  if (signatureError) return signatureError;
  const claimsError = verifyClaims(claims, Date.now() / 1000);
  if (claimsError) return claimsError;

  const consumerId = (credential.consumer as { id: string }).id;
  const consumer = store.collection('consumers').get(consumerId);
  if (!consumer) return unauthorized(`Could not find consumer for '${keyClaimName}=${String(keyValue)}'`);
  return {
    ok: true,
    consumer: { id: consumer.id, username: (consumer.username as string | null) ?? null },
    key: String(credential.key),
  };
}
