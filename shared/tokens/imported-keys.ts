import { createHash } from 'node:crypto';
import { importPKCS8, importSPKI } from 'jose';

/**
 * Keys imported from PEM in this process. An import costs ≈ 0.25 ms of CPU (SPKI) to ≈ 0.6 ms (PKCS #8, ES256), and
 * the same keys come back: issueToken signs with a consumer's current key at each call, and a rotation's testSecret
 * signs and verifies with the pair its createSecret generated moments before (`rememberKeyPair`; on Lambda, in the
 * same warm container). Keyed by a hash of kind, algorithm and PEM, so a PEM names exactly one key whatever its kid;
 * bounded, oldest out first. A failed import is not kept.
 */
const MAX_KEYS = 64;

/** What jose imports keys as (Web Crypto's CryptoKey). */
type ImportedKey = Awaited<ReturnType<typeof importPKCS8>>;
const imported = new Map<string, Promise<ImportedKey>>();

type Kind = 'private' | 'public';

function cacheKey(kind: Kind, alg: string, pem: string): string {
  return createHash('sha256').update(`${kind}\n${alg}\n${pem}`).digest('base64');
}

function remember(key: string, value: Promise<ImportedKey>): Promise<ImportedKey> {
  if (imported.size >= MAX_KEYS) imported.delete(imported.keys().next().value as string);
  imported.set(key, value);
  value.catch(() => {
    if (imported.get(key) === value) imported.delete(key);
  });
  return value;
}

function importedKey(kind: Kind, pem: string, alg: string): Promise<ImportedKey> {
  const key = cacheKey(kind, alg, pem);
  return imported.get(key) ?? remember(key, kind === 'private' ? importPKCS8(pem, alg) : importSPKI(pem, alg));
}

/** The private key a PKCS #8 PEM holds, for signing with `alg`. */
export function privateKeyOf(pem: string, alg: string): Promise<ImportedKey> {
  return importedKey('private', pem, alg);
}

/** The public key an SPKI PEM holds, for verifying with `alg`. */
export function publicKeyOf(pem: string, alg: string): Promise<ImportedKey> {
  return importedKey('public', pem, alg);
}

/** A pair just generated and exported: later signing and verifying with its PEMs need no import. */
export function rememberKeyPair(
  alg: string,
  pair: { privateKey: ImportedKey; privateKeyPem: string; publicKey: ImportedKey; publicKeyPem: string },
): void {
  remember(cacheKey('private', alg, pair.privateKeyPem), Promise.resolve(pair.privateKey));
  remember(cacheKey('public', alg, pair.publicKeyPem), Promise.resolve(pair.publicKey));
}
