import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import { mapLimit } from '../concurrency.js';
import { errorMessage } from '../errors.js';
import type { RotationDeps } from '../rotation/deps.js';
import { withLease } from '../state/lease.js';
import type { PublicKeyDocument, PublishedConsumer, PublishedKey } from '../state/public-keys.js';
import type { KeyState, StateStore } from '../state/store.js';
import { compareStrings } from '../translate/desired-state.js';
import { jwkOf } from '../translate/jwks.js';
import { RotationError } from './errors.js';
import {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  holderOf,
  identityOf,
  type KeyLookup,
  listConsumerSecrets,
  MESHGATE_REVOKED,
  type PublicKeyVersion,
  secretsLookup,
  type VersionsToStages,
} from './secrets.js';

/** The labels whose versions the document keeps (a version without one is never live again). */
const PUBLISHED_LABELS = [AWSCURRENT, AWSPENDING, AWSPREVIOUS] as const;
/** Secrets read in parallel when the whole document is republished. */
const READ_CONCURRENCY = 8;

/** What one writer publishes about one consumer: its secret's labels now and the public keys it knows. */
export interface ConsumerPublication {
  consumer: string;
  secretArn: string;
  secretName: string;
  /** VersionIdsToStages as the writer last read (or set) them. */
  stages: VersionsToStages;
  /** Public keys of versions the writer has read; versions already in the document need not be repeated. */
  keys: readonly PublicKeyVersion[];
}

/**
 * The document with one consumer's entry replaced: the versions that still hold a published label, from `keys` or
 * from the entry already there (a version's key never changes, so a writer that moved labels only needs none), the
 * labels as given, the grace end of AWSPREVIOUS, and the JWKS recomputed. Pure.
 */
export function withConsumer(
  document: PublicKeyDocument,
  publication: ConsumerPublication,
  context: { graceMs: number; now: Date; keyState: KeyState },
): PublicKeyDocument {
  return withEntry(document, entryFor(document, publication, context), context);
}

/**
 * The document with `entry` as its consumer's, and the JWKS recomputed. Pure. When the document's JWKS is known to be
 * what a full recompute gives now (see JwksBasis), only this consumer's keys are swapped in it: each rotation publishes
 * twice, and a full recompute walks every consumer and sorts every live key.
 */
function withEntry(
  document: PublicKeyDocument,
  entry: PublishedConsumer,
  context: { now: Date; keyState: KeyState },
): PublicKeyDocument {
  const next = {
    ...document,
    meshgate: { ...document.meshgate, consumers: { ...document.meshgate.consumers, [entry.consumer]: entry } },
  };
  const basis = jwksBases.get(document.meshgate.consumers);
  const now = context.now.getTime();
  const { rollbacks } = context.keyState;
  if (
    !basis ||
    basis.keys !== document.keys ||
    now < basis.validFrom ||
    now >= basis.validUntil ||
    !sameRevocations(basis.rollbacks, rollbacks, entry.consumer)
  ) {
    return withJwks(next, context);
  }
  // Valid now and under the same revocations of every other consumer: the JWKS holds exactly the previous entry's
  // live keys as the basis saw them, and the other consumers' keys as a recompute would find them.
  const span = { validFrom: basis.validFrom, validUntil: basis.validUntil };
  const removed: PublishedKey[] = [];
  const prior = document.meshgate.consumers[entry.consumer];
  if (prior) collectLive(prior, basis.rollbacks[entry.consumer]?.revokeVersionId, now, removed, span);
  const added: PublishedKey[] = [];
  collectLive(entry, rollbacks[entry.consumer]?.revokeVersionId, now, added, span);
  removed.sort(byKid);
  added.sort(byKid);
  const keys = sameKids(added, removed) ? document.keys : replacedJwks(document.keys, removed, added);
  jwksBases.set(next.meshgate.consumers, { keys, rollbacks, ...span });
  return { keys, meshgate: { ...next.meshgate, updatedAt: context.now.toISOString() } };
}

const byKid = (a: { kid: string }, b: { kid: string }) => compareStrings(a.kid, b.kid);

/** Whether two lists in kid order hold the same kids (the same number of times). */
function sameKids(a: readonly { kid: string }[], b: readonly { kid: string }[]): boolean {
  return a.length === b.length && a.every((item, i) => item.kid === b[i]!.kid);
}

/**
 * `jwks` (in kid order) without `removed`'s keys and with `added`'s (each in kid order), found by binary search: one
 * publication costs a copy of the list, not a walk over it. An added key whose kid is there keeps that JWK, as the
 * full recompute does. A kid names one key: the JWKs of a kid two consumers publish are equal, either may go.
 */
function replacedJwks(
  jwks: PublicKeyDocument['keys'],
  removed: readonly PublishedKey[],
  added: readonly PublishedKey[],
): PublicKeyDocument['keys'] {
  const result = jwks.slice();
  for (const { kid } of removed) result.splice(endOfKid(result, kid) - 1, 1);
  for (const key of added) {
    const there = jwks[endOfKid(jwks, key.kid) - 1];
    // After any JWK of the same kid: keys of one entry sharing a kid keep their order, as in the recompute's sort.
    result.splice(endOfKid(result, key.kid), 0, there?.kid === key.kid ? there : jwkOf(key));
  }
  return result;
}

/** The index just after the last of `jwks` (in kid order) whose kid is not after `kid`. */
function endOfKid(jwks: PublicKeyDocument['keys'], kid: string): number {
  let low = 0;
  let high = jwks.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareStrings(jwks[middle]!.kid, kid) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Whether two rollback records revoke the same versions for every consumer but `except`. */
function sameRevocations(a: KeyState['rollbacks'], b: KeyState['rollbacks'], except: string): boolean {
  if (a === b) return true;
  for (const consumer of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (consumer !== except && a[consumer]?.revokeVersionId !== b[consumer]?.revokeVersionId) return false;
  }
  return true;
}

/** The entry `publication` makes of its consumer in `document` (see withConsumer). Pure. */
function entryFor(
  document: PublicKeyDocument,
  publication: ConsumerPublication,
  context: { graceMs: number; now: Date; keyState: KeyState },
): PublishedConsumer {
  const prior = document.meshgate.consumers[publication.consumer];
  // A secret re-created under the same consumer name shares no versions with the one before.
  const known = new Map<string, PublicKeyVersion>();
  if (prior?.secretArn === publication.secretArn) for (const key of prior.keys) known.set(key.versionId, key);
  for (const key of publication.keys) known.set(key.versionId, key);
  const { stages } = publication;
  const currentId = holderOf(stages, AWSCURRENT);
  const current = currentId ? known.get(currentId) : undefined;
  const promotion = context.keyState.promotions[publication.consumer];
  const promotedAt =
    promotion && promotion.versionId === currentId ? promotion.promotedAt : (current?.createdAt ?? undefined);
  const graceEndsAt =
    promotedAt === undefined ? undefined : new Date(Date.parse(promotedAt) + context.graceMs).toISOString();
  const keys: PublishedKey[] = [];
  for (const [versionId, labels] of Object.entries(stages)) {
    const key = known.get(versionId);
    if (!key || !labels.some((label) => (PUBLISHED_LABELS as readonly string[]).includes(label))) continue;
    const { kid, alg, publicKeyPem, createdAt } = key;
    keys.push({
      kid,
      alg,
      publicKeyPem,
      createdAt,
      versionId,
      stages: [...labels].sort(),
      ...(labels.includes(AWSPREVIOUS) && graceEndsAt ? { graceEndsAt } : {}),
    });
  }
  keys.sort((a, b) => compareStrings(a.kid, b.kid));
  return {
    consumer: publication.consumer,
    secretArn: publication.secretArn,
    secretName: publication.secretName,
    versionsToStages: stages,
    keys,
    publishedAt: context.now.toISOString(),
  };
}

/** The document with only the given consumers' entries (the others confirmed gone), JWKS recomputed. Pure. */
export function keepingConsumers(
  document: PublicKeyDocument,
  consumers: ReadonlySet<string>,
  context: { now: Date; keyState: KeyState },
): PublicKeyDocument {
  const kept = Object.fromEntries(
    Object.entries(document.meshgate.consumers).filter(([consumer]) => consumers.has(consumer)),
  );
  return withJwks({ ...document, meshgate: { ...document.meshgate, consumers: kept } }, context);
}

/**
 * The top-level JWKS: every key Kong accepts at `now` (AWSCURRENT, AWSPENDING, AWSPREVIOUS before its grace end),
 * never a revoked one (labelled MESHGATE_REVOKED, or named by a recorded key rollback). Sorted by kid.
 */
function withJwks(document: PublicKeyDocument, context: { now: Date; keyState: KeyState }): PublicKeyDocument {
  const now = context.now.getTime();
  const { rollbacks } = context.keyState;
  const live: PublishedKey[] = [];
  const span = { validFrom: Number.NEGATIVE_INFINITY, validUntil: Number.POSITIVE_INFINITY };
  for (const entry of Object.values(document.meshgate.consumers)) {
    collectLive(entry, rollbacks[entry.consumer]?.revokeVersionId, now, live, span);
  }
  // A kid names one key for good: JWKs already in the document are reused rather than derived again, and when the
  // live keys are the document's (most publications change one consumer's labels, not the JWKS) its list is, so it
  // serializes as before. Compared in kid order: a kid two consumers publish counts twice, and a list read out of
  // order is put in order (withEntry merges into it).
  const known = jwksByKid(document.keys);
  const sorted = live.map((key) => known.get(key.kid) ?? jwkOf(key)).sort(byKid);
  const keys = sameKids(sorted, document.keys) ? document.keys : sorted;
  jwksBases.set(document.meshgate.consumers, { keys, rollbacks, ...span });
  return { keys, meshgate: { ...document.meshgate, updatedAt: context.now.toISOString() } };
}

/**
 * What a JWKS computed in this process is, by the consumers record it was computed over (documents are immutable: a
 * change builds a new record): the full recompute under `rollbacks` at any time in [validFrom, validUntil), from the
 * latest grace end it left out to the earliest one it kept. withEntry updates such a JWKS in place of recomputing it;
 * a document read from the store has none, so a process's first publication recomputes.
 */
interface JwksBasis {
  keys: PublicKeyDocument['keys'];
  rollbacks: KeyState['rollbacks'];
  validFrom: number;
  validUntil: number;
}
const jwksBases = new WeakMap<PublicKeyDocument['meshgate']['consumers'], JwksBasis>();

/**
 * Adds to `live` the entry's keys Kong accepts at `now` (none the rollback revokes), and narrows `span` to the times
 * around `now` when that stays so (its AWSPREVIOUS keys' grace ends: one left out counts from, one kept until).
 */
function collectLive(
  entry: PublishedConsumer,
  revoked: string | undefined,
  now: number,
  live: PublishedKey[],
  span: { validFrom: number; validUntil: number },
): void {
  const { always, untilGraceEnd } = livenessOf(entry);
  for (const key of always) if (key.versionId !== revoked) live.push(key);
  for (const [key, endsAt] of untilGraceEnd) {
    if (key.versionId === revoked) continue;
    if (endsAt > now) {
      live.push(key);
      if (endsAt < span.validUntil) span.validUntil = endsAt;
    } else if (endsAt > span.validFrom) span.validFrom = endsAt;
  }
}

/**
 * An entry's keys Kong accepts whatever the time (AWSCURRENT, AWSPENDING) and those it accepts until their grace end
 * (AWSPREVIOUS), never one labelled MESHGATE_REVOKED; worked out once per entry (entries are immutable: a publication
 * builds a new one), as a full recompute of the JWKS walks every consumer.
 */
const liveness = new WeakMap<
  PublishedConsumer,
  { always: PublishedKey[]; untilGraceEnd: (readonly [PublishedKey, number])[] }
>();
function livenessOf(entry: PublishedConsumer) {
  let known = liveness.get(entry);
  if (!known) {
    known = { always: [], untilGraceEnd: [] };
    for (const key of entry.keys) {
      if (key.stages.includes(MESHGATE_REVOKED)) continue;
      if (key.stages.includes(AWSCURRENT) || key.stages.includes(AWSPENDING)) known.always.push(key);
      else if (key.graceEndsAt !== undefined) known.untilGraceEnd.push([key, Date.parse(key.graceEndsAt)]);
    }
    liveness.set(entry, known);
  }
  return known;
}

/** The document's JWKs by kid, built once per JWKS (documents are immutable: a change builds a new list). */
const jwksIndexes = new WeakMap<PublicKeyDocument['keys'], ReadonlyMap<string, PublicKeyDocument['keys'][number]>>();
function jwksByKid(keys: PublicKeyDocument['keys']): ReadonlyMap<string, PublicKeyDocument['keys'][number]> {
  let index = jwksIndexes.get(keys);
  if (!index) {
    index = new Map(keys.map((jwk) => [jwk.kid, jwk]));
    jwksIndexes.set(keys, index);
  }
  return index;
}

/**
 * Why a consumer's entry cannot stand in for its secret, or undefined when it can: absent, written for another
 * secret, or labels that moved since (AWSCURRENT or AWSPREVIOUS on another version than the listing says). Such a
 * consumer is a read failure: it keeps what it has in Kong until a publisher catches up.
 */
export function staleness(
  entry: PublishedConsumer | undefined,
  secretArn: string,
  stages: VersionsToStages,
): string | undefined {
  if (!entry) return 'its public keys are not in the public-key document (run the rotateKeys schedule to publish)';
  if (entry.secretArn !== secretArn) {
    return `the public-key document was published for secret ${entry.secretArn}, not ${secretArn}`;
  }
  for (const label of [AWSCURRENT, AWSPREVIOUS]) {
    const listed = holderOf(stages, label);
    const published = holderOf(entry.versionsToStages, label);
    if (listed !== published) {
      return `the public-key document has ${label} on version ${published ?? '(none)'}, Secrets Manager on ${listed ?? '(none)'}`;
    }
  }
  return undefined;
}

/**
 * Finds versions in a consumer's entry. AWSCURRENT and an AWSPREVIOUS still in its grace period must be there (a
 * missing one is a read failure, never absence); a missing AWSPENDING is a version createSecret has not filled yet.
 */
export function documentLookup(entry: PublishedConsumer, secretArn: string): KeyLookup {
  const byVersion = new Map(entry.keys.map((key) => [key.versionId, key]));
  return async (versionId, role) => {
    const key = byVersion.get(versionId);
    if (key) {
      const { stages: _stages, graceEndsAt: _graceEndsAt, ...publicKey } = key;
      return publicKey;
    }
    if (role === 'pending') return undefined;
    throw new RotationError(`version ${versionId} of secret ${secretArn} is not in the public-key document`, {
      context: { secret: secretArn, versionId },
    });
  };
}

/**
 * Publishes one consumer's keys (conditional write; a lost race re-applies on the newer document). The caller holds
 * the lease when its labels are the ones Kong is about to follow.
 */
export async function publishConsumerKeys(
  store: StateStore,
  publication: ConsumerPublication,
  options: { graceMs: number; now?: Date; keyState?: KeyState },
): Promise<void> {
  const keyState = options.keyState ?? (await store.readKeyState());
  const now = options.now ?? new Date();
  const context = { ...options, now, keyState };
  await store.updatePublicKeys((document) => {
    const entry = entryFor(document, publication, context);
    // The same entry (but its time), and no recorded key rollback of this consumer whose revoked key the JWKS must
    // drop: nothing new to publish (a step publishing what an earlier one did, a redelivery). The JWKS over every
    // consumer is not worked out again for it: keys whose grace ended leave it at the next publication, as between
    // publications.
    if (!keyState.rollbacks[entry.consumer] && sameEntry(document.meshgate.consumers[entry.consumer], entry)) {
      return document;
    }
    return withEntry(document, entry, context);
  });
}

/** Whether two entries of a consumer publish the same (their publication times aside). */
function sameEntry(before: PublishedConsumer | undefined, after: PublishedConsumer): boolean {
  if (!before) return false;
  const { publishedAt: _before, ...was } = before;
  const { publishedAt: _after, ...is } = after;
  return JSON.stringify(was) === JSON.stringify(is);
}

export interface RepublishResult {
  published: string[];
  /** Consumers whose secret could not be read: their entries stay as they were. */
  failures: { object: string; reason: string }[];
  /** Entries of consumers no longer listed, removed. */
  removed: string[];
}

/**
 * Rebuilds the document from Secrets Manager (the rotateKeys schedule, and after `consumer add` outside meshgate):
 * every consumer secret's labelled versions read with GetSecretValue, their public halves published. A secret that
 * cannot be read keeps its entry; an entry whose consumer a successful listing no longer shows is removed.
 */
export async function republishPublicKeys(
  sm: SecretsManagerCalls,
  store: StateStore,
  options: { graceMs: number; secretPrefix?: string; now?: Date },
): Promise<RepublishResult> {
  const secrets = await listConsumerSecrets(sm, options.secretPrefix);
  const results = await mapLimit(secrets, READ_CONCURRENCY, async (secret) => {
    const object = secret.Name ?? secret.ARN ?? '(unnamed secret)';
    try {
      const { username } = identityOf(secret);
      const secretArn = secret.ARN ?? object;
      const publication = await readPublication(sm, {
        consumer: username,
        secretArn,
        secretName: secret.Name ?? secretArn,
        stages: secret.SecretVersionsToStages ?? {},
      });
      return { publication };
    } catch (error) {
      return { failure: { object, reason: errorMessage(error) }, username: tryUsername(secret) };
    }
  });
  const keyState = await store.readKeyState();
  const now = options.now ?? new Date();
  const listed = new Set<string>();
  for (const result of results) {
    const username = result.publication?.consumer ?? result.username;
    if (username) listed.add(username);
  }
  let removed: string[] = [];
  await store.updatePublicKeys((document) => {
    removed = Object.keys(document.meshgate.consumers).filter((consumer) => !listed.has(consumer));
    let next = keepingConsumers(document, listed, { now, keyState });
    for (const result of results) {
      if (result.publication)
        next = withConsumer(next, result.publication, { graceMs: options.graceMs, now, keyState });
    }
    return next;
  });
  return {
    published: results.flatMap((result) => (result.publication ? [result.publication.consumer] : [])),
    failures: results.flatMap((result) => (result.failure ? [result.failure] : [])),
    removed,
  };
}

/** A consumer's publication read from Secrets Manager: the public half of every version holding a published label. */
export async function readPublication(
  sm: SecretsManagerCalls,
  secret: Omit<ConsumerPublication, 'keys'>,
): Promise<ConsumerPublication> {
  const lookup = secretsLookup(sm, secret.secretArn);
  const keys: PublicKeyVersion[] = [];
  for (const label of PUBLISHED_LABELS) {
    const versionId = holderOf(secret.stages, label);
    const key = versionId ? await lookup(versionId, label === AWSCURRENT ? 'current' : 'pending') : undefined;
    if (key && !keys.some((known) => known.versionId === key.versionId)) keys.push(key);
  }
  return { ...secret, keys };
}

function tryUsername(secret: Parameters<typeof identityOf>[0]): string | undefined {
  try {
    return identityOf(secret).username;
  } catch {
    return undefined;
  }
}

/**
 * The rotateKeys schedule's publish step: republishPublicKeys under the state-store lease, so it never writes labels
 * older than those a rotation step or key rollback (which hold the lease) has just published.
 */
export async function republishUnderLease(
  deps: Pick<RotationDeps, 'secretsManager' | 'store' | 'graceMs' | 'secretPrefix' | 'lease' | 'requestSync' | 'now'>,
): Promise<RepublishResult> {
  const outcome = await withLease(
    deps.store,
    {
      purpose: 'rotation:publish-keys',
      onBusy: 'throw',
      onPending: async () => deps.requestSync?.('pending after the public keys were republished'),
      ...deps.lease,
    },
    () =>
      republishPublicKeys(deps.secretsManager, deps.store, {
        graceMs: deps.graceMs,
        secretPrefix: deps.secretPrefix,
        now: deps.now?.(),
      }),
  );
  if (!outcome.held) throw new RotationError('the state-store lease was not granted');
  return outcome.result;
}
