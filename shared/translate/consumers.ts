import { createHash } from 'node:crypto';
import type { ConsumerKey, ConsumerSpec } from '../consumers/model.js';
import { type Consumer, type JwtCredential, normalizeEntity } from '../kong/entities.js';
import { entityId, ownershipTags } from '../kong/ownership.js';
import { objectTag } from './provenance.js';

/** The source object of a consumer and its credentials, as translation and read failures name it. */
export const consumerObject = (username: string) => `consumer:${username}`;

/**
 * Tags of every consumer-side entity: ownership, the source and the source object (rotation writes credentials
 * too, and they must compare equal to the ones a sync wants), sorted so the set compares stably.
 */
function consumerTags(instance: string, username: string): string[] {
  return [...ownershipTags(instance), 'meshgate:source=secretsmanager', objectTag(consumerObject(username))].sort();
}

/** The Kong consumer for a Secrets Manager consumer spec; its natural key is the username. */
export function consumerFor(instance: string, spec: ConsumerSpec): Consumer {
  return normalizeEntity('consumer', {
    id: entityId(instance, 'consumer', spec.username),
    username: spec.username,
    custom_id: spec.iamRole ?? null,
    tags: consumerTags(instance, spec.username),
  });
}

/**
 * Kong's jwt credential requires a `secret` even for asymmetric algorithms, and never uses it for them. It is
 * derived from the kid so desired and actual compare equal; it is not secret material.
 */
function placeholderSecret(kid: string): string {
  return createHash('sha256').update(kid, 'utf8').digest('hex').slice(0, 32);
}

/**
 * The JWT credential for one key of a consumer. Sync and rotation both build credentials here, so the two never
 * disagree on a field. Its natural key is the kid.
 */
export function jwtCredentialFor(instance: string, username: string, key: ConsumerKey): JwtCredential {
  return normalizeEntity('jwt', {
    id: entityId(instance, 'jwt', key.kid),
    consumer: { id: entityId(instance, 'consumer', username) },
    key: key.kid,
    secret: placeholderSecret(key.kid),
    rsa_public_key: key.publicKeyPem,
    algorithm: key.alg,
    tags: consumerTags(instance, username),
  });
}
