import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config/index.js';
import { MeshgateError } from '../errors.js';
import type { AuditPublisher } from '../events/audit.js';
import type { KongApi } from '../kong/api.js';
import { reconcile, type SyncReport, syncRunSummary } from '../reconcile/index.js';
import { type RollbackKeyResult, rollbackKey } from '../rotation/index.js';
import type { FreezeState, StateStore } from '../snapshots/store.js';

export class RollbackError extends MeshgateError {}

export interface OperationsDeps {
  kong: KongApi;
  secretsManager: SecretsManagerClient;
  store: StateStore;
  audit: AuditPublisher;
  /** Asks for a full sync after `resume` (on AWS an async invoke of meshSync; locally a direct run). */
  requestSync(reason: string): Promise<void>;
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
  const startedAt = new Date();
  const snapshot = await deps.store.load(request.to);
  const freeze = request.freeze
    ? await freezeSync(deps, { reason: `rollback to snapshot ${snapshot.meta.id}`, by: request.by })
    : undefined;
  const report = await reconcile(deps.kong, snapshot.state, {
    instance: settings.MESHGATE_INSTANCE,
    store: deps.store,
    trigger: `rollback:${snapshot.meta.id}`,
    scope: snapshot.meta.scope,
    parallelism: settings.SYNC_PARALLELISM,
  });
  const summary = syncRunSummary(report, startedAt);
  await deps.store.recordRun({ ...summary, kind: 'rollback' });
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

export async function freezeSync(
  deps: Pick<OperationsDeps, 'store' | 'audit'>,
  request: { reason: string; by: string },
): Promise<FreezeState> {
  const freeze = await deps.store.setFreeze(request);
  await deps.audit.publish('Sync Frozen', { reason: freeze.reason, by: freeze.by, since: freeze.since });
  return freeze;
}

/** Lifts the freeze and asks for a full sync, which re-applies what the mesh says now. */
export async function resumeSync(deps: OperationsDeps, request: { by: string }): Promise<{ wasFrozen: boolean }> {
  const previous = await deps.store.getFreeze();
  await deps.store.clearFreeze();
  await deps.audit.publish('Sync Resumed', {
    by: request.by,
    frozenSince: previous?.since,
    frozenFor: previous?.reason,
  });
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
  settings: Pick<Config, 'MESHGATE_INSTANCE'>,
): Promise<RollbackKeyResult> {
  const started = performance.now();
  const result = await rollbackKey(deps.secretsManager, deps.kong, {
    username: request.consumer,
    instance: settings.MESHGATE_INSTANCE,
  });
  const durationMs = Math.round(performance.now() - started);
  await deps.store.recordRun({
    kind: 'rollback',
    trigger: `key:${request.consumer}`,
    outcome: 'applied',
    startedAt: new Date(Date.now() - durationMs).toISOString(),
    durationMs,
  });
  await deps.audit.publish('Rollback Applied', {
    action: 'key',
    consumer: result.consumer,
    restoredKid: result.restoredKid,
    revokedKid: result.revokedKid,
    retired: result.retired,
    by: request.by,
    durationMs,
  });
  return result;
}
