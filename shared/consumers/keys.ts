import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { rememberKeyPair } from '../tokens/imported-keys.js';
import * as z from '../zod.js';
import { RotationError } from './errors.js';
import type { ConsumerKey } from './model.js';

export const KEY_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** The JSON value of each version of a consumer's key secret (docs/rotation.md). */
export const KeySecretSchema = z.object({
  kid: z.string().check(z.minLength(1)),
  alg: z.enum(KEY_ALGORITHMS),
  privateKeyPem: z.string().check(z.startsWith('-----BEGIN PRIVATE KEY-----')),
  publicKeyPem: z.string().check(z.startsWith('-----BEGIN PUBLIC KEY-----')),
  createdAt: z.iso.datetime({ offset: true }),
});
export type KeySecret = z.infer<typeof KeySecretSchema>;

/** A key version as read from Secrets Manager: its value with the version id and labels. */
export interface KeyVersion {
  versionId: string;
  stages: string[];
  key: KeySecret;
}

/**
 * The kid of the key a version holds, derived from the version id (the rotation's ClientRequestToken) so a
 * re-run of createSecret, or a cleanup that never saw the value, names the same key.
 */
export function kidFor(username: string, versionId: string): string {
  return `${username}-${versionId.replaceAll('-', '').slice(0, 12)}`;
}

export async function generateKey(
  username: string,
  versionId: string,
  alg: KeyAlgorithm,
  now: Date = new Date(),
): Promise<KeySecret> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const privateKeyPem = await exportPKCS8(privateKey);
  const publicKeyPem = await exportSPKI(publicKey);
  rememberKeyPair(alg, { privateKey, privateKeyPem, publicKey, publicKeyPem });
  return { kid: kidFor(username, versionId), alg, privateKeyPem, publicKeyPem, createdAt: now.toISOString() };
}

/**
 * Parses a version's SecretString. Errors name the secret, version and offending fields, never the value (a JSON
 * parser's message would quote it).
 */
export function parseKeySecret(
  secretString: string | undefined,
  where: { secret: string; versionId?: string },
): KeySecret {
  const context = { secret: where.secret, versionId: where.versionId };
  const label = `secret ${where.secret}${where.versionId ? ` version ${where.versionId}` : ''}`;
  let json: unknown;
  try {
    json = JSON.parse(secretString ?? '');
  } catch {
    throw new RotationError(`${label}: SecretString is not JSON`, { context });
  }
  const result = KeySecretSchema.safeParse(json);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => `${issue.path.join('.') || '(value)'}: ${issue.message}`);
    throw new RotationError(`${label}: not a meshgate key (${fields.join('; ')})`, { context });
  }
  return result.data;
}

/** The public half of a key version, as sync and Kong see it. */
export function publicKeyOf(version: KeyVersion): ConsumerKey {
  const { kid, alg, publicKeyPem, createdAt } = version.key;
  return { kid, alg, publicKeyPem, createdAt, versionId: version.versionId, stages: version.stages };
}
