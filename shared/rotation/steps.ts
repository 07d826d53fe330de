import { isSecretsManagerError } from '../aws/secrets-manager.js';
import {
  consumerIdFor,
  type EnsuredCredentials,
  ensureCredentials,
  removeCredential,
  retireCredentials,
} from '../consumers/credentials.js';
import { RotationError } from '../consumers/errors.js';
import { generateKey, type KeyVersion, kidFor, publicKeyOf } from '../consumers/keys.js';
import type { ConsumerKey } from '../consumers/model.js';
import { publishConsumerKeys, readPublication } from '../consumers/public-keys.js';
import { keyRecordsOf } from '../consumers/registry.js';
import {
  AWSCURRENT,
  AWSPENDING,
  type ConsumerIdentity,
  describeSecret,
  holderOf,
  identityOf,
  type KeyLookup,
  liveKeysOf,
  type PublicKeyVersion,
  readKeyVersion,
  readKeyVersionIfAny,
  type VersionsToStages,
} from '../consumers/secrets.js';
import { errorMessage } from '../errors.js';
import { fencedKong, signalFence } from '../kong/fenced.js';
import { entityId } from '../kong/ownership.js';
import { withLease } from '../state/lease.js';
import type { KeyState } from '../state/store.js';
import { signToken, verifyLikeKong } from '../tokens/jwt.js';
import { type RotationDeps, silentLogger } from './deps.js';

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** A Secrets Manager rotation invocation (reference §3.1). */
export interface RotationEvent {
  Step: RotationStep;
  SecretId: string;
  ClientRequestToken: string;
  RotationToken?: string;
}

export interface StepOutcome {
  step: RotationStep;
  consumer: string;
  kid: string;
  /** `already-current`: the token's version is AWSCURRENT, the rotation finished before (redelivery). */
  status: 'done' | 'already-current' | 'configuration-test';
}

/** Attempts at removing AWSPENDING after a failed step. */
const PENDING_REMOVAL_ATTEMPTS = 5;

/** Lifetime of the probe token testSecret signs. */
const PROBE_TTL_SECONDS = 60;

interface StepContext {
  deps: RotationDeps;
  event: RotationEvent;
  secretArn: string;
  secretName: string;
  consumer: ConsumerIdentity;
  stages: VersionsToStages;
  kid: string;
  /** Epoch ms when this invocation began. */
  started: number;
}

/**
 * Runs one rotation step. Each step is re-entrant: a redelivered step changes nothing, and any step for a token
 * that is already AWSCURRENT returns at once. A failure before AWSCURRENT moves removes the pending credential and
 * the AWSPENDING label (so AWSCURRENT keeps working and the next rotation is not blocked), emits `Key Rotation
 * Failed` and throws a RotationError naming the step and consumer.
 */
/** Steps that write Kong: they hold the state-store lease from their first read to their last write. */
const KONG_WRITING_STEPS: ReadonlySet<RotationStep> = new Set(['setSecret', 'finishSecret']);

export async function rotateStep(deps: RotationDeps, event: RotationEvent): Promise<StepOutcome> {
  const logger = deps.logger ?? silentLogger;
  const started = Date.now();
  let consumer: string | undefined;
  try {
    if (!KONG_WRITING_STEPS.has(event.Step)) {
      return await runStep(deps, event, started, (name) => {
        consumer = name;
      });
    }
    const leased = await withLease(
      deps.store,
      {
        purpose: `rotation:${event.Step}`,
        onBusy: 'throw',
        onPending: async () => deps.requestSync?.(`pending after rotation ${event.Step}`),
        ...deps.lease,
      },
      async ({ holder, signal }) => {
        // While sync is frozen nothing but the operator's own rollback writes Kong; Secrets Manager retries the
        // rotation later (AWSCURRENT keeps working meanwhile).
        const freeze = await deps.store.getFreeze();
        if (freeze)
          throw new RotationError(`sync is frozen since ${freeze.since} (${freeze.reason}); not writing Kong`);
        const runId = await deps.store.startRun({ kind: 'rotation', trigger: event.Step, holder });
        // A step's few writes stop as soon as the lease can no longer be vouched for (taken over, not renewable).
        const fenced = { ...deps, kong: fencedKong(deps.kong, signalFence(signal)) };
        const outcome = await runStep(fenced, event, started, (name) => {
          consumer = name;
        }).catch(async (error: unknown) => {
          await finishRotationRun(deps, runId, event, started, consumer, 'failed', [errorMessage(error)]);
          throw error;
        });
        await finishRotationRun(
          deps,
          runId,
          event,
          started,
          consumer,
          outcome.status === 'done' ? 'applied' : 'no-changes',
        );
        return outcome;
      },
    );
    if (!leased.held) throw new RotationError('the state-store lease was not granted');
    return leased.result;
  } catch (cause) {
    const error = new RotationError(
      `rotation of consumer ${consumer ?? '(unknown)'} failed in ${event.Step}: ${errorMessage(cause)}`,
      { cause, context: { consumer, step: event.Step, secretId: event.SecretId, versionId: event.ClientRequestToken } },
    );
    logger.error('rotation step failed', { ...error.context, error: error.message });
    await abandonRotation(deps, event);
    await publish(deps, 'Key Rotation Failed', {
      consumer,
      secretId: event.SecretId,
      kid: consumer ? kidFor(consumer, event.ClientRequestToken) : undefined,
      step: event.Step,
      durationMs: Date.now() - started,
      error: error.message,
    });
    throw error;
  }
}

/** Run history for a step that writes Kong: how it ended (a crash leaves it `running`, listed as interrupted). */
async function finishRotationRun(
  deps: RotationDeps,
  runId: string,
  event: RotationEvent,
  started: number,
  consumer: string | undefined,
  outcome: string,
  errors?: string[],
): Promise<void> {
  await deps.store
    .finishRun(runId, {
      kind: 'rotation',
      trigger: `${event.Step}:${consumer ?? event.SecretId}`,
      outcome,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      ...(errors ? { errors } : {}),
    })
    .catch(() => undefined);
}

async function runStep(
  deps: RotationDeps,
  event: RotationEvent,
  started: number,
  named: (consumer: string) => void,
): Promise<StepOutcome> {
  const logger = deps.logger ?? silentLogger;
  {
    const described = await describeSecret(deps.secretsManager, event.SecretId);
    const identity = identityOf(described);
    named(identity.username);
    const context: StepContext = {
      deps,
      event,
      secretArn: described.ARN ?? event.SecretId,
      secretName: described.Name ?? event.SecretId,
      consumer: identity,
      stages: described.VersionIdsToStages ?? {},
      kid: kidFor(identity.username, event.ClientRequestToken),
      started,
    };
    const early = precheck(context, described.RotationEnabled);
    if (early) {
      logger.info('rotation step skipped: the version is already AWSCURRENT', logFields(context));
      // A redelivered finishSecret after a failed publish: the document catches up with the labels.
      if (event.Step === 'finishSecret') await republish(context);
      return early;
    }
    logger.info('rotation step started', logFields(context));
    const status = await STEP_ACTIONS[event.Step](context);
    logger.info('rotation step done', { ...logFields(context), status, durationMs: Date.now() - started });
    return { step: event.Step, consumer: identity.username, kid: context.kid, status };
  }
}

/** The template's pre-checks (reference §3.2); returns an outcome when the rotation already finished. */
function precheck(context: StepContext, rotationEnabled: boolean | undefined): StepOutcome | undefined {
  const { event, stages, secretArn } = context;
  if (rotationEnabled !== true) throw new RotationError(`rotation is not enabled on secret ${secretArn}`);
  const labels = stages[event.ClientRequestToken];
  if (!labels) {
    throw new RotationError(`version ${event.ClientRequestToken} of secret ${secretArn} has no stage for rotation`);
  }
  if (labels.includes(AWSCURRENT)) {
    return { step: event.Step, consumer: context.consumer.username, kid: context.kid, status: 'already-current' };
  }
  if (!labels.includes(AWSPENDING)) {
    throw new RotationError(`version ${event.ClientRequestToken} of secret ${secretArn} is not AWSPENDING`);
  }
  return undefined;
}

const STEP_ACTIONS: Record<RotationStep, (context: StepContext) => Promise<StepOutcome['status']>> = {
  async createSecret(context) {
    const { deps, event, secretArn, consumer } = context;
    const sm = deps.secretsManager;
    // AWSCURRENT must be readable and a meshgate key before anything else changes.
    const current = await readKeyVersion(sm, secretArn, { stage: AWSCURRENT });
    let pending = await readPending(deps, secretArn, event);
    if (!pending) {
      const key = await generateKey(consumer.username, event.ClientRequestToken, deps.alg, now(deps));
      try {
        await sm.putSecretValue({
          SecretId: secretArn,
          ClientRequestToken: event.ClientRequestToken,
          SecretString: JSON.stringify(key),
          VersionStages: [AWSPENDING],
          RotationToken: event.RotationToken,
        });
        pending = { versionId: event.ClientRequestToken, stages: [AWSPENDING], key };
      } catch (error) {
        // A concurrent delivery of this step stored its key first: that one stands.
        pending = isSecretsManagerError(error, 'ResourceExistsException')
          ? await readPending(deps, secretArn, event)
          : undefined;
        if (!pending) throw error;
      }
    }
    // The pending key's public half is published now (a redelivery publishes it again), so readers of the document
    // know it before any credential for it exists. No lease: it changes no label a sync follows.
    await publishKeys(context, [publicHalf(current), publicHalf(pending)]);
    return 'done';
  },

  async setSecret(context) {
    const { deps, event, secretArn, consumer, stages } = context;
    const sm = deps.secretsManager;
    const published = await publishedKeys(context);
    const currentId = holderOf(stages, AWSCURRENT);
    const [current, pending] = await Promise.all([
      (currentId ? published.get(currentId) : undefined) ??
        readKeyVersion(sm, secretArn, { stage: AWSCURRENT }).then(publicHalf),
      published.get(event.ClientRequestToken) ?? requirePending(deps, secretArn, event).then(publicHalf),
    ]);
    // Under the lease and before Kong: a sync never finds a pending credential whose key the document lacks.
    await publishKeys(context, [current, pending]);
    await ensureCredentials(deps.kong, deps.instance, {
      ...consumer,
      secretArn,
      keys: [current, pending].map((key) => labelled(key, stages)),
    });
    return 'done';
  },

  async testSecret({ deps, event, secretArn, consumer }) {
    const pending = await readPending(deps, secretArn, event);
    // RotateSecret with RotateImmediately=false runs testSecret alone on an empty version: a configuration test.
    if (!pending) return 'configuration-test';
    const at = now(deps);
    const probe = await signToken(pending.key, {
      ttlSeconds: PROBE_TTL_SECONDS,
      claims: { sub: consumer.username },
      now: at,
    });
    const consumerId = consumerIdFor(deps.instance, consumer.username);
    const credential = await verifyLikeKong(probe, (kid) => deps.kong.get('jwt', kid), at);
    if (credential.consumer.id !== consumerId) {
      throw new RotationError(
        `Kong's credential ${credential.key} belongs to consumer ${credential.consumer.id}, not ${consumer.username}`,
      );
    }
    return 'done';
  },

  async finishSecret(context) {
    const { deps, event, secretArn, consumer, stages } = context;
    const sm = deps.secretsManager;
    const published = await publishedKeys(context);
    const pending = published.get(event.ClientRequestToken) ?? publicHalf(await requirePending(deps, secretArn, event));
    if ((await deps.store.readKeyState()).rollbacks[consumer.username]) {
      // Promoting now would fight the recorded rollback: the operator re-runs `rollback key` to finish it first.
      throw new RotationError(`a key rollback of consumer ${consumer.username} is unfinished; re-run rollback key`);
    }
    const currentId = holderOf(stages, AWSCURRENT);
    const current = currentId
      ? (published.get(currentId) ??
        (await readKeyVersionIfAny(sm, secretArn, { versionId: currentId }).then((read) => read && publicHalf(read))))
      : undefined;
    const previousKid = current?.kid;
    const known = current ? [current, pending] : [pending];
    // Kong must hold the new key's credential before it becomes the signing key (setSecret's write may have been
    // undone since: a restore, an operator); and the current one's, which becomes the key in its grace period.
    const ensured = await ensureCredentials(deps.kong, deps.instance, {
      ...consumer,
      secretArn,
      keys: known.map((key) => labelled(key, stages)),
    });
    // Recorded before the label moves: the demoted key's grace period counts from this moment. A record naming a
    // version that never became AWSCURRENT (the move failed) is ignored.
    const keyState = await deps.store.updateKeyState((state) => ({
      ...state,
      promotions: {
        ...state.promotions,
        [consumer.username]: {
          consumer: consumer.username,
          versionId: event.ClientRequestToken,
          kid: pending.kid,
          promotedAt: now(deps).toISOString(),
        },
      },
    }));
    await sm.updateSecretVersionStage({
      SecretId: secretArn,
      VersionStage: AWSCURRENT,
      MoveToVersionId: event.ClientRequestToken,
      RemoveFromVersionId: currentId,
    });
    await clearPendingLabel(context);
    // The labels moved: the document follows (new AWSCURRENT, the demoted key with its grace end) before the old
    // credentials go. Best effort: until it lands the document is stale and syncs keep this consumer as it is.
    const labels = await republish(context, { known, keyState });
    // Still under this step's lease, Kong's credentials and edge JWKS are as ensureCredentials left them.
    const retired = labels ? await retireOldCredentials(context, { stages: labels, known, keyState, ensured }) : [];
    await publish(deps, 'Key Rotated', {
      consumer: consumer.username,
      secretId: secretArn,
      kid: pending.kid,
      previousKid,
      retired,
      step: 'finishSecret',
      durationMs: Date.now() - context.started,
    });
    return 'done';
  },
};

/**
 * AWSPENDING may stay on the new AWSCURRENT version (the service tolerates it), but once a rollback moves AWSCURRENT
 * away it would block every later rotation; so it goes now. Best effort: the rotation has already succeeded.
 */
async function clearPendingLabel({ deps, event, secretArn, consumer }: StepContext): Promise<void> {
  try {
    await deps.secretsManager.updateSecretVersionStage({
      SecretId: secretArn,
      VersionStage: AWSPENDING,
      RemoveFromVersionId: event.ClientRequestToken,
    });
  } catch (error) {
    (deps.logger ?? silentLogger).warn('AWSPENDING not removed from the new AWSCURRENT version', {
      consumer: consumer.username,
      error: errorMessage(error),
    });
  }
}

/**
 * After AWSCURRENT moved, the rotation has succeeded: credentials of keys older than AWSPREVIOUS (or past the grace
 * period) go, decided from the labels and key state finishSecret just wrote and read (`known` holds the promoted and
 * the demoted key). A failure here is logged, not thrown; the next sync or rotation retires them.
 */
async function retireOldCredentials(
  { deps, secretArn, consumer }: StepContext,
  after: { stages: VersionsToStages; known: PublicKeyVersion[]; keyState: KeyState; ensured: EnsuredCredentials },
): Promise<string[]> {
  try {
    const byVersion = new Map(after.known.map((key) => [key.versionId, key]));
    const lookup: KeyLookup = async (versionId) => byVersion.get(versionId);
    const live = await liveKeysOf(lookup, secretArn, after.stages, {
      graceMs: deps.graceMs,
      now: now(deps),
      ...keyRecordsOf(after.keyState, consumer.username),
    });
    const keep = new Set(live.map((key) => key.kid));
    return await retireCredentials(deps.kong, deps.instance, consumer.username, keep, after.ensured);
  } catch (error) {
    (deps.logger ?? silentLogger).warn('retiring old credentials failed; the next sync or rotation retires them', {
      consumer: consumer.username,
      error: errorMessage(error),
    });
    return [];
  }
}

/**
 * Undoes a failed rotation attempt: AWSPENDING leaves the version whatever else fails (so the next RotateSecret is
 * not refused "A previous rotation isn't complete"), and the pending key's credential leaves Kong under the lease.
 * If Kong or the lease is unavailable the credential stays for now: it belongs to no live stage any more, so the
 * next sync retires it. Reads the secret afresh (the failure may have been the first read) and acts only while the
 * token is AWSPENDING and not AWSCURRENT. Its own failures are logged; the original error stands.
 */
async function abandonRotation(deps: RotationDeps, event: RotationEvent): Promise<void> {
  const logger = deps.logger ?? silentLogger;
  let username: string | undefined;
  try {
    const described = await describeSecret(deps.secretsManager, event.SecretId);
    const labels = described.VersionIdsToStages?.[event.ClientRequestToken] ?? [];
    if (!labels.includes(AWSPENDING) || labels.includes(AWSCURRENT)) return;
    // Removing a label is idempotent, and a label left behind blocks every later rotation: a few attempts, so a
    // Secrets Manager error that failed the step does not also leave AWSPENDING behind.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await deps.secretsManager.updateSecretVersionStage({
          SecretId: described.ARN ?? event.SecretId,
          VersionStage: AWSPENDING,
          RemoveFromVersionId: event.ClientRequestToken,
        });
        break;
      } catch (error) {
        if (attempt >= PENDING_REMOVAL_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
      }
    }
    username = identityOf(described).username;
    // The abandoned version leaves the document with its label (best effort: a sync follows the listed labels).
    const after = (await describeSecret(deps.secretsManager, event.SecretId)).VersionIdsToStages ?? {};
    await publishConsumerKeys(
      deps.store,
      {
        consumer: username,
        secretArn: described.ARN ?? event.SecretId,
        secretName: described.Name ?? event.SecretId,
        stages: after,
        keys: [],
      },
      { graceMs: deps.graceMs, now: now(deps) },
    ).catch((error: unknown) =>
      logger.warn('the public-key document still lists the abandoned version', { error: errorMessage(error) }),
    );
  } catch (error) {
    logger.error(
      'removing AWSPENDING after the failed rotation step failed; remove it by hand if RotateSecret is refused',
      { secretId: event.SecretId, versionId: event.ClientRequestToken, error: errorMessage(error) },
    );
    return;
  }
  const kid = kidFor(username, event.ClientRequestToken);
  try {
    await withLease(
      deps.store,
      {
        purpose: 'rotation:abandon',
        onBusy: 'throw',
        onPending: async () => deps.requestSync?.('pending after an abandoned rotation'),
        ...deps.lease,
      },
      async ({ signal }) => {
        // Frozen: Kong is left alone; the credential belongs to no live stage, so the sync after resume retires it.
        if (await deps.store.getFreeze()) throw new RotationError('sync is frozen');
        // Fenced like the steps: a stalled clean-up whose lease was taken over writes nothing more.
        await removeCredential(fencedKong(deps.kong, signalFence(signal)), deps.instance, username as string, kid);
      },
    );
    logger.info('rotation abandoned: pending credential and AWSPENDING removed', {
      consumer: username,
      kid,
      credentialId: entityId(deps.instance, 'jwt', kid),
    });
  } catch (error) {
    logger.warn('the pending credential stays in Kong until the next sync retires it', {
      consumer: username,
      kid,
      error: errorMessage(error),
    });
  }
}

/**
 * Republishes the consumer from its labels as they are now (best effort: logged, never thrown); returns those labels,
 * or undefined when they could not be read. `known` are the versions the step has read (finishSecret: the promoted
 * and the demoted key), and `keyState` the key state it has just written; without them both are read again.
 */
async function republish(
  context: StepContext,
  read?: { known: PublicKeyVersion[]; keyState: KeyState },
): Promise<VersionsToStages | undefined> {
  const { deps, secretArn, consumer } = context;
  let stages: VersionsToStages | undefined;
  try {
    stages = (await describeSecret(deps.secretsManager, secretArn)).VersionIdsToStages ?? {};
    const secret = { consumer: consumer.username, secretArn, secretName: context.secretName, stages };
    const publication = read ? { ...secret, keys: read.known } : await readPublication(deps.secretsManager, secret);
    await publishConsumerKeys(deps.store, publication, {
      graceMs: deps.graceMs,
      now: now(deps),
      keyState: read?.keyState,
    });
  } catch (error) {
    (deps.logger ?? silentLogger).warn('public-key document not updated; the rotateKeys schedule republishes it', {
      consumer: consumer.username,
      error: errorMessage(error),
    });
  }
  return stages;
}

/**
 * The consumer's public keys already in the public-key document, by version id (a version's key never changes, so
 * the steps after createSecret need not read the private values again); empty when the entry is for another secret.
 */
async function publishedKeys({ deps, consumer, secretArn }: StepContext): Promise<Map<string, PublicKeyVersion>> {
  const entry = (await deps.store.readPublicKeys())?.meshgate.consumers[consumer.username];
  if (entry?.secretArn !== secretArn) return new Map();
  return new Map(
    entry.keys.map(({ stages: _stages, graceEndsAt: _graceEndsAt, ...key }) => [key.versionId, key] as const),
  );
}

/** A public key with the labels its version has now, as a credential is built from. */
function labelled(key: PublicKeyVersion, stages: VersionsToStages): ConsumerKey {
  return { ...key, stages: stages[key.versionId] ?? [] };
}

/** Publishes the public `keys` with the secret's labels as the step knows them. */
async function publishKeys(context: StepContext, keys: PublicKeyVersion[]): Promise<void> {
  const { deps, secretArn, consumer, stages } = context;
  await publishConsumerKeys(
    deps.store,
    {
      consumer: consumer.username,
      secretArn,
      secretName: context.secretName,
      stages,
      keys,
    },
    { graceMs: deps.graceMs, now: now(deps) },
  );
}

/** A version's public half, without the labels it had when read (the publication carries the labels). */
function publicHalf(version: KeyVersion): PublicKeyVersion {
  const { stages: _stages, ...key } = publicKeyOf(version);
  return key;
}

function readPending(deps: RotationDeps, secretArn: string, event: RotationEvent): Promise<KeyVersion | undefined> {
  return readKeyVersionIfAny(deps.secretsManager, secretArn, {
    versionId: event.ClientRequestToken,
    stage: AWSPENDING,
  });
}

async function requirePending(deps: RotationDeps, secretArn: string, event: RotationEvent): Promise<KeyVersion> {
  const pending = await readPending(deps, secretArn, event);
  if (!pending) {
    throw new RotationError(`the AWSPENDING version ${event.ClientRequestToken} of ${secretArn} has no key yet`);
  }
  return pending;
}

function now(deps: RotationDeps): Date {
  return deps.now?.() ?? new Date();
}

function logFields(context: StepContext): Record<string, unknown> {
  return {
    step: context.event.Step,
    consumer: context.consumer.username,
    kid: context.kid,
    secretId: context.secretArn,
    versionId: context.event.ClientRequestToken,
  };
}

/** Publishes an audit event; a failure to publish is logged and never changes the rotation's outcome. */
async function publish(
  deps: RotationDeps,
  detailType: 'Key Rotated' | 'Key Rotation Failed',
  detail: Record<string, unknown>,
): Promise<void> {
  if (!deps.audit) return;
  try {
    await deps.audit.publish(detailType, detail);
  } catch (error) {
    (deps.logger ?? silentLogger).warn('audit event not published', { detailType, error: errorMessage(error) });
  }
}
