import type { DescribeSecretResponse, Filter, SecretListEntry } from '@aws-sdk/client-secrets-manager';
import { isSecretsManagerError, type SecretsManagerCalls } from '../aws/secrets-manager.js';
import { paginate } from '../concurrency.js';
import { RotationError } from './errors.js';
import { type KeyVersion, parseKeySecret, publicKeyOf } from './keys.js';
import { CONSUMER_TAG, type ConsumerKey, IAM_ROLE_TAG } from './model.js';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';
/** Marks a version `rollback key` rolled back: no sync or rotation publishes it again. */
export const MESHGATE_REVOKED = 'MESHGATE_REVOKED';

export type VersionsToStages = Record<string, string[]>;

/** The version holding a staging label, if any. */
export function holderOf(stages: VersionsToStages, label: string): string | undefined {
  return Object.keys(stages).find((versionId) => stages[versionId]?.includes(label));
}

/** Who a consumer secret declares, from its tags. */
export interface ConsumerIdentity {
  username: string;
  iamRole?: string;
}

export function identityOf(secret: {
  Name?: string;
  ARN?: string;
  Tags?: { Key?: string; Value?: string }[];
}): ConsumerIdentity {
  const tags = secret.Tags ?? [];
  const username = tags.find((tag) => tag.Key === CONSUMER_TAG)?.Value;
  if (!username) {
    throw new RotationError(`secret ${secret.Name ?? secret.ARN} has no '${CONSUMER_TAG}' tag naming the consumer`, {
      context: { secret: secret.ARN ?? secret.Name },
    });
  }
  const iamRole = tags.find((tag) => tag.Key === IAM_ROLE_TAG)?.Value;
  return iamRole ? { username, iamRole } : { username };
}

export async function describeSecret(sm: SecretsManagerCalls, secretId: string): Promise<DescribeSecretResponse> {
  return sm.describeSecret({ SecretId: secretId });
}

/** The key in one version, by version id and/or stage (both must name the same version). */
export async function readKeyVersion(
  sm: SecretsManagerCalls,
  secretId: string,
  select: { versionId?: string; stage?: string },
): Promise<KeyVersion> {
  const value = await sm.getSecretValue({
    SecretId: secretId,
    VersionId: select.versionId,
    VersionStage: select.stage,
  });
  const versionId = value.VersionId ?? select.versionId ?? '';
  return {
    versionId,
    stages: value.VersionStages ?? [],
    key: parseKeySecret(value.SecretString, { secret: value.Name ?? secretId, versionId }),
  };
}

/** Like readKeyVersion, but a version or label without a value (the empty AWSPENDING version) reads as undefined. */
export async function readKeyVersionIfAny(
  sm: SecretsManagerCalls,
  secretId: string,
  select: { versionId?: string; stage?: string },
): Promise<KeyVersion | undefined> {
  try {
    return await readKeyVersion(sm, secretId, select);
  } catch (error) {
    if (isSecretsManagerError(error, 'ResourceNotFoundException')) return undefined;
    throw error;
  }
}

/** Every secret tagged as a consumer (exact tag key; ListSecrets filters by prefix). */
export async function listConsumerSecrets(sm: SecretsManagerCalls, namePrefix?: string): Promise<SecretListEntry[]> {
  const secrets: SecretListEntry[] = [];
  // Only secrets under CONSUMER_SECRET_PREFIX: the functions may read no others (IAM is scoped to the prefix), so a
  // tagged secret elsewhere would only be an AccessDenied failure on every run.
  const filters = [
    { Key: 'tag-key' as const, Values: [CONSUMER_TAG] },
    ...(namePrefix ? [{ Key: 'name' as const, Values: [namePrefix] }] : []),
  ];
  for (const secret of await listSecrets(sm, filters)) {
    if (!secret.Tags?.some((tag) => tag.Key === CONSUMER_TAG)) continue;
    // The service's name filter ignores case; the IAM scope does not.
    if (namePrefix && !secret.Name?.startsWith(namePrefix)) continue;
    secrets.push(secret);
  }
  return secrets;
}

/** The secret of one consumer, found by its tag. */
export async function findConsumerSecret(sm: SecretsManagerCalls, username: string): Promise<SecretListEntry> {
  const listed = await listSecrets(sm, [
    { Key: 'tag-key', Values: [CONSUMER_TAG] },
    { Key: 'tag-value', Values: [username] },
  ]);
  const matches = listed.filter((secret) =>
    secret.Tags?.some((tag) => tag.Key === CONSUMER_TAG && tag.Value === username),
  );
  if (matches.length !== 1) {
    throw new RotationError(
      matches.length === 0
        ? `no secret is tagged ${CONSUMER_TAG}=${username}`
        : `${matches.length} secrets are tagged ${CONSUMER_TAG}=${username}: ${matches.map((secret) => secret.Name).join(', ')}`,
      { context: { consumer: username } },
    );
  }
  return matches[0]!;
}

/** Every secret ListSecrets finds with these filters, page after page. */
function listSecrets(sm: SecretsManagerCalls, filters: Filter[]): Promise<SecretListEntry[]> {
  return paginate(async (token) => {
    const page = await sm.listSecrets({ Filters: filters, NextToken: token });
    return { items: page.SecretList, nextToken: page.NextToken };
  });
}

/** What the state store knows about a consumer's keys beyond the staging labels. */
export interface KeyRecords {
  /** When the AWSCURRENT version was promoted (finishSecret records it before moving the label). */
  promotion?: { versionId: string; promotedAt: string };
  /** Versions a recorded key rollback revokes: out of Kong from the moment the intent is recorded. */
  revokedVersionIds?: ReadonlySet<string>;
}

/** The public half of one key version: what sync, Kong and the public-key document need. */
export type PublicKeyVersion = Omit<ConsumerKey, 'stages'>;

/** Which label a looked-up version holds: AWSCURRENT must be found; the others may have no value. */
export type KeyRole = 'current' | 'pending' | 'previous';

/**
 * Where liveKeysOf finds a version's public key: Secrets Manager (the rotation function, which may read private
 * keys) or the public-key document (meshSync and rollback, which may not).
 */
export type KeyLookup = (versionId: string, role: KeyRole) => Promise<PublicKeyVersion | undefined>;

/** Reads versions from Secrets Manager (GetSecretValue); only the public half is returned. */
export function secretsLookup(sm: SecretsManagerCalls, secretId: string): KeyLookup {
  return async (versionId, role) => {
    const version =
      role === 'current'
        ? await readKeyVersion(sm, secretId, { versionId })
        : await readKeyVersionIfAny(sm, secretId, { versionId });
    if (!version) return undefined;
    const { stages: _stages, ...key } = publicKeyOf(version);
    return key;
  };
}

/**
 * The keys of a secret that Kong should accept now: AWSCURRENT; AWSPENDING once it has a value (so a sync during a
 * rotation keeps the pending credential); AWSPREVIOUS until `graceMs` after AWSCURRENT was promoted (a rotation
 * finished an hour after it began must not cut off tokens signed a second before). Never a version labelled
 * MESHGATE_REVOKED or named by a recorded key rollback. Only public keys leave this function; `lookup` (or a
 * Secrets Manager client, read with GetSecretValue) says where they come from.
 */
export async function liveKeysOf(
  source: SecretsManagerCalls | KeyLookup,
  secretId: string,
  stages: VersionsToStages,
  options: { graceMs: number; now?: Date } & KeyRecords,
): Promise<ConsumerKey[]> {
  const lookup = typeof source === 'function' ? source : secretsLookup(source, secretId);
  const labelled = holderOf(stages, MESHGATE_REVOKED);
  const isRevoked = (versionId: string | undefined) =>
    versionId !== undefined && (versionId === labelled || options.revokedVersionIds?.has(versionId) === true);
  const intended = [...(options.revokedVersionIds ?? [])];
  const currentId = holderOf(stages, AWSCURRENT);
  if (!currentId || (currentId === labelled && intended.length === 0)) {
    throw new RotationError(`secret ${secretId} has no usable AWSCURRENT version`, { context: { secret: secretId } });
  }
  const pendingId = holderOf(stages, AWSPENDING);
  const previousId = holderOf(stages, AWSPREVIOUS);
  const [current, pending] = await Promise.all([
    // A key rollback recorded but not yet through its labels: the key it restores is the one to publish.
    isRevoked(currentId) ? undefined : lookup(currentId, 'current'),
    pendingId && pendingId !== currentId && !isRevoked(pendingId) ? lookup(pendingId, 'pending') : undefined,
  ]);
  const now = (options.now ?? new Date()).getTime();
  const promotedAt =
    current && options.promotion?.versionId === currentId
      ? Date.parse(options.promotion.promotedAt)
      : Date.parse(current?.createdAt ?? '1970-01-01T00:00:00Z');
  // Mid key-rollback (AWSCURRENT is the revoked key) the previous key is the one being restored: always live.
  const previousInGrace = current === undefined || now - promotedAt < options.graceMs;
  const previous =
    previousId && !isRevoked(previousId) && previousInGrace ? await lookup(previousId, 'previous') : undefined;
  return [previous, current, pending]
    .filter((key): key is PublicKeyVersion => key !== undefined)
    .map((key) => ({ ...key, stages: stages[key.versionId] ?? [] }));
}
