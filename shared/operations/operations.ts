import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import type { Config } from '../config/index.js';
import type { ConsumerSpec } from '../consumers/model.js';
import { MeshgateError } from '../errors.js';
import type { AuditPublisher } from '../events/audit.js';
import type { KongApi } from '../kong/api.js';
import type { KongState } from '../kong/entities.js';
import { fencedKong, signalFence } from '../kong/fenced.js';
import { reconcile, type SyncReport, syncRunSummary } from '../reconcile/index.js';
import { type LeaseContext, type LeaseOptions, withLease } from '../state/lease.js';
import type { FreezeState, RunSummary, StateStore } from '../state/store.js';
import { consumerFor, jwtCredentialFor } from '../translate/consumers.js';
import { type RollbackKeyResult, rollbackKey } from './key-rollback.js';

export class RollbackError extends MeshgateError {}

export interface OperationsDeps {
  kong: KongApi;
  secretsManager: SecretsManagerCalls;
  store: StateStore;
  audit: AuditPublisher;
  /** Asks for a full sync after `resume` (on AWS an async invoke of meshSync; locally a direct run). */
  requestSync(reason: string): Promise<void>;
  /** Consumers and their live keys from Secrets Manager (read under the lease): a rollback never restores keys. */
  readConsumers(): Promise<{ consumers: ConsumerSpec[]; failures: { object: string; reason: string }[] }>;
  /** Lease wait and TTL (tests shorten them). */
  lease?: Pick<LeaseOptions, 'waitMs' | 'ttlMs' | 'pollMs' | 'requestBudgetMs'>;
}

/**
 * Runs an operator's command under the state-store lease, recorded in run history when it starts and when it ends.
 * A sync asked for meanwhile ("pending") is requested after the lease is released.
 */
async function underLease<T>(
  deps: Pick<OperationsDeps, 'store' | 'requestSync' | 'lease'>,
  run: { kind: string; trigger: string },
  work: (lease: Pick<LeaseContext, 'fence' | 'signal'>) => Promise<T>,
  summarize: (result: T, startedAt: Date) => Omit<RunSummary, 'kind' | 'trigger'>,
): Promise<T> {
  const outcome = await withLease(
    deps.store,
    {
      purpose: `${run.kind}:${run.trigger}`,
      onBusy: 'throw',
      onPending: () => deps.requestSync('pending'),
      ...deps.lease,
    },
    async ({ holder, fence, signal }) => {
      const startedAt = new Date();
      const runId = await deps.store.startRun({ ...run, holder });
      try {
        const result = await work({ fence, signal });
        await deps.store.finishRun(runId, { ...run, ...summarize(result, startedAt) });
        return result;
      } catch (error) {
        await deps.store
          .finishRun(runId, {
            ...run,
            outcome: 'failed',
            startedAt: startedAt.toISOString(),
            durationMs: Date.now() - startedAt.getTime(),
            errors: [error instanceof Error ? error.message : String(error)],
          })
          .catch(() => undefined);
        throw error;
      }
    },
  );
  if (!outcome.held) throw new RollbackError(`the state-store lease is held by ${outcome.heldBy.holder}`);
  return outcome.result;
}

/**
 * A snapshot's state with consumers and credentials as Secrets Manager says now: restoring a snapshot restores
 * services, routes, upstreams, targets and plugins, never a key (a revoked key would otherwise come back).
 */
function withCurrentCredentials(state: KongState, consumers: ConsumerSpec[], instance: string): KongState {
  return {
    ...state,
    consumers: consumers.map((spec) => consumerFor(instance, spec)),
    jwts: consumers.flatMap((spec) => spec.keys.map((key) => jwtCredentialFor(instance, spec.username, key))),
  };
}

export type OperationsSettings = Pick<Config, 'MESHGATE_INSTANCE' | 'SYNC_PARALLELISM'>;

export interface SyncRollbackResult {
  restored: string;
  report: SyncReport;
  freeze?: FreezeState;
}

/**
 * Puts Kong back to a snapshot with the same engine as a sync. Sync is frozen first (unless told not to), so a mesh
 * event arriving meanwhile cannot undo the rollback; the engine snapshots the state it replaces, so the rollback can
 * itself be rolled back. A snapshot of a scoped sync is restored with the same scope.
 */
export async function rollbackSync(
  deps: OperationsDeps,
  request: { to: string; freeze: boolean; by: string },
  settings: OperationsSettings,
): Promise<SyncRollbackResult> {
  const run = { kind: 'rollback', trigger: `sync:${request.to}` };
  const result = await underLease(
    deps,
    run,
    async (lease) => {
      const startedAt = new Date();
      const snapshot = await deps.store.load(request.to);
      // Frozen under the same lease: no sync that started earlier can apply after this rollback.
      const freeze = request.freeze
        ? await setFreeze(deps, { reason: `rollback to snapshot ${snapshot.meta.id}`, by: request.by })
        : undefined;
      const { consumers, failures } = await deps.readConsumers();
      if (failures.length > 0) {
        throw new RollbackError(
          `rollback to snapshot ${snapshot.meta.id} refused: consumer keys unreadable (${failures
            .map((failure) => `${failure.object}: ${failure.reason}`)
            .join('; ')}); their credentials must follow their secrets`,
          { context: { to: snapshot.meta.id, failures } },
        );
      }
      const report = await reconcile(
        deps.kong,
        withCurrentCredentials(snapshot.state, consumers, settings.MESHGATE_INSTANCE),
        {
          instance: settings.MESHGATE_INSTANCE,
          store: deps.store,
          trigger: `rollback:${snapshot.meta.id}`,
          scope: snapshot.meta.scope,
          parallelism: settings.SYNC_PARALLELISM,
          // The lease's signal stops the writes of a level under way, its fence the levels after.
          signal: lease.signal,
          lease,
        },
      );
      return { snapshot, freeze, report, startedAt };
    },
    ({ report, startedAt }) => {
      const { kind: _kind, trigger: _trigger, ...summary } = syncRunSummary(report, startedAt);
      return summary;
    },
  );
  const { snapshot, freeze, report, startedAt } = result;
  const summary = syncRunSummary(report, startedAt);
  await deps.audit.publish('Rollback Applied', {
    action: 'sync',
    to: snapshot.meta.id,
    by: request.by,
    outcome: report.outcome,
    counts: summary.counts,
    snapshotId: report.snapshotId,
    frozen: freeze !== undefined,
    durationMs: report.durationMs,
    errors: summary.errors ?? [],
  });
  if (report.outcome === 'failed' || report.outcome === 'rolled-back') {
    throw new RollbackError(`rollback to snapshot ${snapshot.meta.id} did not apply: ${report.error?.message}`, {
      cause: report.error,
      context: { to: snapshot.meta.id, outcome: report.outcome, frozen: freeze !== undefined },
    });
  }
  return { restored: snapshot.meta.id, report, freeze };
}

async function setFreeze(
  deps: Pick<OperationsDeps, 'store' | 'audit'>,
  request: { reason: string; by: string },
): Promise<FreezeState> {
  const freeze = await deps.store.setFreeze(request);
  await deps.audit.publish('Sync Frozen', { reason: freeze.reason, by: freeze.by, since: freeze.since });
  return freeze;
}

/**
 * Freezes automatic sync under the lease: a sync that read the mesh before the freeze either applied before it or
 * reads the flag after it, never applies after it.
 */
export async function freezeSync(
  deps: Pick<OperationsDeps, 'store' | 'audit' | 'requestSync' | 'lease'>,
  request: { reason: string; by: string },
): Promise<FreezeState> {
  return underLease(
    deps,
    { kind: 'freeze', trigger: request.by },
    () => setFreeze(deps, request),
    (freeze, startedAt) => ({
      outcome: 'applied',
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      errors: [freeze.reason],
    }),
  );
}

/** Lifts the freeze (under the lease) and then asks for a full sync, which re-applies what the mesh says now. */
export async function resumeSync(deps: OperationsDeps, request: { by: string }): Promise<{ wasFrozen: boolean }> {
  const previous = await underLease(
    deps,
    { kind: 'resume', trigger: request.by },
    async () => {
      const previous = await deps.store.getFreeze();
      await deps.store.clearFreeze();
      return previous;
    },
    (_previous, startedAt) => ({
      outcome: 'applied',
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
    }),
  );
  await deps.audit.publish('Sync Resumed', {
    by: request.by,
    frozenSince: previous?.since,
    frozenFor: previous?.reason,
  });
  // After the release: the sync asked for must be able to take the lease.
  await deps.requestSync('resume');
  return { wasFrozen: previous !== undefined };
}

/**
 * Puts a consumer's key back to the previous version (see rotation's rollbackKey): the rolled-back key is revoked
 * for good, Kong keeps only valid credentials.
 */
export async function rollbackConsumerKey(
  deps: OperationsDeps,
  request: { consumer: string; by: string },
  settings: Pick<Config, 'MESHGATE_INSTANCE'> & Partial<Pick<Config, 'KEY_GRACE_PERIOD'>>,
): Promise<RollbackKeyResult> {
  const started = performance.now();
  const result = await underLease(
    deps,
    { kind: 'rollback', trigger: `key:${request.consumer}` },
    ({ signal, fence }) =>
      // Its writes stop as soon as the lease can no longer be vouched for; a re-run finishes the recorded intent.
      rollbackKey(deps.secretsManager, fencedKong(deps.kong, signalFence(signal)), deps.store, {
        username: request.consumer,
        instance: settings.MESHGATE_INSTANCE,
        by: request.by,
        graceMs: settings.KEY_GRACE_PERIOD,
        fence,
      }),
    (_result, startedAt) => ({
      outcome: 'applied',
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
    }),
  );
  const durationMs = Math.round(performance.now() - started);
  await deps.audit.publish('Rollback Applied', {
    action: 'key',
    consumer: result.consumer,
    restoredKid: result.restoredKid,
    revokedKid: result.revokedKid,
    retired: result.retired,
    resumed: result.resumed,
    by: request.by,
    durationMs,
  });
  return result;
}
