import type { KongApi } from '../kong/api.js';
import type { JwtCredential, Plugin } from '../kong/entities.js';
import { KongError } from '../kong/errors.js';
import { entityId, isOwned, ownershipTags } from '../kong/ownership.js';
import { consumerFor, jwtCredentialFor } from '../translate/consumers.js';
import { refreshEdgeJwks } from './edge-jwks.js';
import { RotationError } from './errors.js';
import type { ConsumerSpec } from './model.js';

// One builder for sync and rotation: the translation's, so both write identical entities.
export { consumerFor, jwtCredentialFor };

export function consumerIdFor(instance: string, username: string): string {
  return entityId(instance, 'consumer', username);
}

function sameFields<T extends object>(actual: T, desired: T, fields: (keyof T)[]): boolean {
  return fields.every((field) => JSON.stringify(actual[field]) === JSON.stringify(desired[field]));
}

function refuseUnowned(entity: { id: string; tags: string[] | null }, kind: string, instance: string): void {
  if (!isOwned(entity, instance)) {
    throw new RotationError(
      `ownership conflict: Kong ${kind} ${entity.id} exists but is not managed by meshgate instance '${instance}'`,
      { context: { kind, id: entity.id, instance, conflict: true } },
    );
  }
}

/**
 * Creates with POST (never PUT by id: a PUT would replace an entity that is no longer meshgate's). Kong's 409 (an
 * entity with the same username or key exists) or primary key violation (one with that id, e.g. under another
 * consumer) is an ownership conflict: this one is not ours.
 */
async function createOwned<K extends 'consumer' | 'jwt'>(
  kong: KongApi,
  kind: K,
  entity: Parameters<KongApi['create']>[1] & { id: string },
  label: string,
): Promise<void> {
  try {
    await kong.create(kind, entity as never);
  } catch (error) {
    if (error instanceof KongError && error.isTaken) {
      throw new RotationError(
        `ownership conflict: Kong ${label} ${entity.id} clashes with an entity meshgate does not own (${error.message})`,
        { cause: error, context: { kind: label, id: entity.id, conflict: true } },
      );
    }
    throw error;
  }
}

/**
 * What `ensureCredentials` left in Kong: the consumer's credentials and the edge JWKS plugin (null: none). A writer
 * still holding the state-store lease (no other meshgate writer meanwhile) passes it on to `retireCredentials`
 * instead of reading both again.
 */
export interface EnsuredCredentials {
  writes: number;
  held: JwtCredential[];
  jwksPlugin: Plugin | null;
}

/**
 * Makes Kong hold the consumer and one credential per key of `spec`, writing only what is missing or different
 * (a redelivered step writes nothing): absent ones are created with POST, owned ones that differ replaced by id.
 * Reads the consumer's credentials in one list. Never touches an entity meshgate does not own; one in the way is an
 * ownership conflict.
 */
export async function ensureCredentials(
  kong: KongApi,
  instance: string,
  spec: ConsumerSpec,
): Promise<EnsuredCredentials> {
  let writes = 0;
  const consumer = consumerFor(instance, spec);
  const actualConsumer = await kong.get('consumer', consumer.id);
  if (actualConsumer) refuseUnowned(actualConsumer, 'consumer', instance);
  if (!actualConsumer) {
    await createOwned(kong, 'consumer', consumer, 'consumer');
    writes += 1;
  } else if (!sameFields(actualConsumer, consumer, ['username', 'custom_id', 'tags'])) {
    await kong.update('consumer', consumer);
    writes += 1;
  }
  const held = actualConsumer ? await kong.list('jwt', { consumer: consumer.id }) : [];
  const byId = new Map(held.map((credential) => [credential.id, credential]));
  for (const key of spec.keys) {
    const credential = jwtCredentialFor(instance, spec.username, key);
    const actual = byId.get(credential.id) ?? (await credentialElsewhere(kong, credential));
    if (actual) refuseUnowned(actual, 'jwt credential', instance);
    if (!actual) {
      await createOwned(kong, 'jwt', credential, 'jwt credential');
      writes += 1;
    } else if (!sameFields(actual, credential, ['consumer', 'key', 'secret', 'algorithm', 'rsa_public_key', 'tags'])) {
      await kong.update('jwt', credential);
      writes += 1;
    } else continue;
    byId.set(credential.id, credential);
  }
  const jwksPlugin = await refreshEdgeJwks(kong, instance, { add: spec.keys });
  return { writes, held: [...byId.values()], jwksPlugin };
}

/**
 * A credential the consumer does not hold, looked up by id across consumers: another's in the way is a conflict.
 * Only where a create would replace it (a DB-less node posts its configuration whole); a Kong with a database
 * refuses the create itself (409), which createOwned reports as the same conflict.
 */
async function credentialElsewhere(kong: KongApi, credential: JwtCredential): Promise<JwtCredential | undefined> {
  return kong.refusesDuplicateCreates ? undefined : kong.get('jwt', credential.id);
}

/**
 * Deletes the consumer's meshgate credentials whose kid is not in `keep`; returns the kids retired. `ensured`: what
 * ensureCredentials left in Kong earlier under the same lease, instead of reading it again.
 */
export async function retireCredentials(
  kong: KongApi,
  instance: string,
  username: string,
  keep: ReadonlySet<string>,
  ensured?: EnsuredCredentials,
): Promise<string[]> {
  const consumerId = consumerIdFor(instance, username);
  const owned = ensured
    ? ensured.held.filter((credential) => isOwned(credential, instance))
    : await kong.list('jwt', { consumer: consumerId, tags: ownershipTags(instance) }).catch((error) => {
        // Kong answers 404 for the credentials of a consumer that is gone: nothing to retire.
        if (error instanceof KongError && error.isNotFound) return [];
        throw error;
      });
  const stale = owned.filter((credential) => !keep.has(credential.key));
  if (stale.length === 0) return [];
  for (const credential of stale) await kong.delete('jwt', credential);
  await refreshEdgeJwks(kong, instance, { drop: stale.map((credential) => credential.key) }, ensured?.jwksPlugin);
  return stale.map((credential) => credential.key);
}

/** Deletes the credential of one kid (absent is fine). */
export async function removeCredential(kong: KongApi, instance: string, username: string, kid: string): Promise<void> {
  const credential = await kong.get('jwt', entityId(instance, 'jwt', kid), {
    parent: consumerIdFor(instance, username),
  });
  if (credential) refuseUnowned(credential, 'jwt credential', instance);
  if (credential) await kong.delete('jwt', credential);
  // Also when the credential was already gone: a retried cleanup must still take the kid out of the JWKS.
  await refreshEdgeJwks(kong, instance, { drop: [kid] });
}
