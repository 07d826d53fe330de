import * as z from '../zod.js';

/**
 * The public-key document: every consumer's public keys, published to the state store by the writers that may read
 * private keys (the rotation steps, the rotateKeys schedule, `consumer add`) and by key rollback (which only moves
 * labels), so that meshSync, rollback and readers inside the VPC never need `GetSecretValue` on a consumer secret.
 *
 * Its top-level `keys` is a JWKS (RFC 7517) a verifier can use as is: the keys Kong accepts when it was written
 * (AWSCURRENT, AWSPENDING, AWSPREVIOUS until its grace end). `meshgate` holds what a sync needs beside it: per
 * consumer, the secret, its labels as published, and the public half of each labelled version.
 */

/** One labelled key version of a consumer secret, public half only. */
export const PublishedKeySchema = z.object({
  kid: z.string().check(z.minLength(1)),
  alg: z.enum(['ES256', 'RS256', 'EdDSA']),
  publicKeyPem: z.string().check(z.startsWith('-----BEGIN PUBLIC KEY-----')),
  createdAt: z.string(),
  versionId: z.string().check(z.minLength(1)),
  /** The version's labels when published (AWSCURRENT, AWSPENDING, AWSPREVIOUS). */
  stages: z.array(z.string()),
  /** AWSPREVIOUS only: when its credential leaves Kong (the promotion of AWSCURRENT plus the grace period). */
  graceEndsAt: z.optional(z.string()),
});
export type PublishedKey = z.infer<typeof PublishedKeySchema>;

export const PublishedConsumerSchema = z.object({
  consumer: z.string(),
  secretArn: z.string(),
  secretName: z.string(),
  /** The secret's VersionIdsToStages when published: a listing that disagrees makes the entry stale. */
  versionsToStages: z.record(z.string(), z.array(z.string())),
  keys: z.array(PublishedKeySchema),
  publishedAt: z.string(),
});
export type PublishedConsumer = z.infer<typeof PublishedConsumerSchema>;

/** A JWK as the document carries it: RFC 7517 members (kid, kty, alg, use, and the key's own). */
export const DocumentJwkSchema = z.looseObject({ kid: z.string(), kty: z.string() });

export const PublicKeyDocumentSchema = z.object({
  keys: z.array(DocumentJwkSchema),
  meshgate: z.object({
    instance: z.string(),
    updatedAt: z.string(),
    consumers: z.record(z.string(), PublishedConsumerSchema),
  }),
});
export type PublicKeyDocument = z.infer<typeof PublicKeyDocumentSchema>;

/** The object key of the document under the instance's prefix (`<instance>/jwks.json`). */
export const PUBLIC_KEYS_OBJECT = 'jwks.json';

export function emptyPublicKeyDocument(instance: string): PublicKeyDocument {
  return { keys: [], meshgate: { instance, updatedAt: new Date(0).toISOString(), consumers: {} } };
}

/**
 * The document as UTF-8 JSON, byte for byte what `JSON.stringify` writes, assembled from the bytes of each consumer
 * entry and JWK encoded before (by object identity: a change builds new objects for what it changes and keeps the
 * others), so publishing one consumer's keys encodes only that consumer again. Bytes rather than a string: a string
 * built from a few hundred cached pieces costs ≈ 0.3 ms to flatten and encode at 100 consumers (150 KB), at each of
 * the document's two writes per rotation; concatenating the pieces' bytes is one copy.
 */
export function encodePublicKeys(document: PublicKeyDocument, encoded: WeakMap<object, Buffer>): Buffer {
  const bytesOf = (value: object): Buffer => {
    let bytes = encoded.get(value);
    if (bytes === undefined) {
      bytes = Buffer.from(JSON.stringify(value), 'utf8');
      encoded.set(value, bytes);
    }
    return bytes;
  };
  const pieces: Buffer[] = [Buffer.from('{"keys":[')];
  document.keys.forEach((jwk, index) => {
    if (index > 0) pieces.push(COMMA);
    pieces.push(bytesOf(jwk));
  });
  const { consumers, ...head } = document.meshgate;
  const fields = JSON.stringify(head).slice(1, -1);
  pieces.push(Buffer.from(`],"meshgate":{${fields}${fields ? ',' : ''}"consumers":{`, 'utf8'));
  Object.entries(consumers).forEach(([name, entry], index) => {
    pieces.push(Buffer.from(`${index > 0 ? ',' : ''}${JSON.stringify(name)}:`, 'utf8'), bytesOf(entry));
  });
  pieces.push(Buffer.from('}}}'));
  return Buffer.concat(pieces);
}

const COMMA = Buffer.from(',');
