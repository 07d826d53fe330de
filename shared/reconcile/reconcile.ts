import { errorMessage } from '../errors.js';
import type { KongApi } from '../kong/api.js';
import { entityKinds, type KongState } from '../kong/entities.js';
import type { RunSummary, StateStore } from '../state/store.js';
import { type ApplyResult, apply, assertOwnership, type ChangeFailure } from './apply.js';
import { type Change, diff, stateKey } from './diff.js';
import { dump, type Scope, scopeState, widenScope } from './dump.js';
import { ReconcileError } from './errors.js';
import { foreignChildren, type HeldParent, holdParents } from './foreign.js';
import { type KeptObject, keepFailed } from './keep.js';
import { isEmptyPlan, type Plan, plan } from './plan.js';

/** `deferred`: another writer held the state-store lease; the run marked "pending" and its holder syncs after it. */
export type SyncOutcome = 'no-changes' | 'applied' | 'planned' | 'rolled-back' | 'failed' | 'deferred';

export interface SyncReport {
  outcome: SyncOutcome;
  trigger: string;
  plan: Plan;
  /** The snapshot saved before the apply; restore it with `rollback sync --to <id>` if Kong is left mixed. */
  snapshotId?: string;
  completed: Change[];
  failed: ChangeFailure[];
  /** Operations that put Kong back to the snapshot after a failed apply. */
  rolledBack: Change[];
  rollbackFailed: ChangeFailure[];
  /** Source objects that failed to read or translate and kept the entities they had in Kong. */
  kept: KeptObject[];
  /** Owned entities not deleted because entities meshgate does not own hang off them. */
  held: HeldParent[];
  /** Creates refused because something not meshgate's holds the id or name (and what depends on them). */
  conflicts: ChangeFailure[];
  /** What went wrong, for 'rolled-back' and 'failed'. */
  error?: ReconcileError;
  durationMs: number;
}

export interface ReconcileOptions {
  instance: string;
  store: StateStore;
  /** What started the run (`schedule`, `cloudmap:RegisterInstance`, `rollback`, ...): recorded with the snapshot. */
  trigger: string;
  /** Plan only. */
  dryRun?: boolean;
  /** Automatic sync is frozen: plan and report, do not apply. */
  frozen?: boolean;
  scope?: Scope;
  /**
   * Source objects that could not be read or translated in this run: their entities in Kong (found by their
   * `meshgate:object` tag) are kept, not deleted.
   */
  keep?: readonly string[];
  /** Writes (and target reads) in flight at once. */
  parallelism?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, change: Change) => void;
  /**
   * The writer's state-store lease: `fence` confirms it is still held (before each apply level and before a
   * restore); `signal` aborts when it can no longer be vouched for. Without it nothing is fenced (dry runs, tests).
   */
  lease?: { fence(): Promise<void>; signal: AbortSignal };
  /**
   * A dump of Kong already under way (`dump` with this run's instance and scope), started by the caller so that it
   * overlaps the mesh read; without it, reconcile dumps first.
   */
  current?: Promise<KongState>;
}

const DEFAULT_PARALLELISM = 10;

/**
 * Makes Kong's owned state equal `desired`: dump → diff → plan → snapshot → apply, restoring the snapshot when the
 * apply fails. A run with nothing to do writes nothing (no snapshot either). Throws ReconcileError only before any
 * Kong write (dump failed, the plan touches unowned entities, snapshot failed); once writing has started, the
 * outcome is in the report.
 */
export async function reconcile(kong: KongApi, desired: KongState, options: ReconcileOptions): Promise<SyncReport> {
  const started = performance.now();
  const parallelism = options.parallelism ?? DEFAULT_PARALLELISM;
  const dumped = await (options.current ??
    dump(kong, { instance: options.instance, scope: options.scope, parallelism, signal: options.signal }));
  // A scoped run that meets an upstream Kong does not have yet widens to the services routing to it (see
  // widenScope); what it adds is read now, so the diff, the snapshot and a restore all cover the widened scope.
  const scope = options.scope ? widenScope(options.scope, dumped, desired) : undefined;
  const dumpOptions = { instance: options.instance, scope, parallelism, signal: options.signal };
  const current =
    scope && scope !== options.scope
      ? mergeStates(dumped, await dump(kong, { ...dumpOptions, scope: { upstreams: [], objects: scope.objects } }))
      : dumped;
  const { state: wanted, kept } = keepFailed(current, desired, options.keep ?? []);
  const diffed = plan(diff(current, scope ? scopeState(wanted, scope) : wanted));
  const { plan: planned, held } = holdParents(diffed, await readForeignChildren(kong, diffed, options));
  const report = (outcome: SyncOutcome, rest: Partial<SyncReport> = {}): SyncReport => ({
    outcome,
    trigger: options.trigger,
    plan: planned,
    completed: [],
    failed: [],
    rolledBack: [],
    rollbackFailed: [],
    kept,
    held,
    conflicts: [],
    ...rest,
    durationMs: Math.round(performance.now() - started),
  });

  assertOwnership(planned, options.instance);
  if (isEmptyPlan(planned)) return report('no-changes');
  if (options.dryRun || options.frozen) return report('planned');

  const snapshotId = await saveSnapshot(options.store, current, { ...options, scope });
  const applyOptions = {
    instance: options.instance,
    parallelism,
    signal: options.signal,
    beforeStage: options.lease?.fence,
  };
  const result = await apply(kong, planned, { ...applyOptions, onProgress: options.onProgress });
  // The lease lost in the middle of a level (its signal aborted the writes) is a fence like one before a level.
  if (result.fenced === undefined && options.lease?.signal.aborted) result.fenced = options.lease.signal.reason;
  const conflicts = result.conflicts;
  const outcome = { snapshotId, completed: result.completed, failed: result.failed, conflicts };
  if (result.fenced !== undefined) {
    // Another writer may hold the lease now: writing on, even to restore, would interleave with it. It reconciles
    // from whatever Kong holds, so the half-applied plan is not left for long.
    return report('failed', { ...outcome, error: fencedError('apply', result, snapshotId) });
  }
  if (result.failed.length === 0 && result.skipped.length === 0) {
    return report('applied', { snapshotId, completed: result.completed, conflicts });
  }

  // Failed writes, or an abort (the caller's signal) between two writes that left the rest not started.
  const applyError =
    result.failed.length > 0
      ? failureError('apply failed', result, snapshotId)
      : new ReconcileError(
          `apply aborted after ${result.completed.length} change(s), ${result.skipped.length} not started: ${errorMessage(options.signal?.reason)}`,
          { context: { snapshotId, completed: result.completed.length, skipped: result.skipped.length } },
        );
  const fenced = await options.lease?.fence().then(
    () => undefined,
    (error: unknown) => error,
  );
  if (fenced !== undefined) {
    return report('failed', {
      ...outcome,
      error: new ReconcileError(`${applyError.message}; not restored: ${errorMessage(fenced)}`, {
        cause: applyError,
        context: { ...applyError.context, fenced: errorMessage(fenced) },
      }),
    });
  }
  // The restore must run even when the run was aborted (a Lambda about to time out): leaving Kong half-applied is
  // the worse outcome. Only the lease stops it: its loss aborts the lease's signal and fails the fence of a level.
  const restoreOptions = { ...applyOptions, signal: options.lease?.signal };
  const restored = await restore(kong, current, { ...dumpOptions, ...restoreOptions });
  if (restored.error) {
    return report('failed', {
      ...outcome,
      rolledBack: restored.completed,
      rollbackFailed: restored.failed,
      error: new ReconcileError(
        `apply failed and restoring snapshot ${snapshotId} failed too: ${errorMessage(restored.error)}`,
        { cause: applyError, context: { ...applyError.context, restoreError: errorMessage(restored.error) } },
      ),
    });
  }
  return report('rolled-back', { ...outcome, rolledBack: restored.completed, error: applyError });
}

/** Two dumps of disjoint parts of Kong as one state. Pure. */
function mergeStates(a: KongState, b: KongState): KongState {
  const merged = { ...a };
  for (const kind of entityKinds) {
    const key = stateKey(kind);
    (merged[key] as unknown[]) = [...a[key], ...b[key]];
  }
  return merged;
}

async function readForeignChildren(kong: KongApi, planned: Plan, options: ReconcileOptions) {
  try {
    return await foreignChildren(kong, planned, options.instance, options.signal);
  } catch (error) {
    throw new ReconcileError(`could not check for foreign entities before deleting: ${errorMessage(error)}`, {
      cause: error,
      context: { phase: 'dump', instance: options.instance },
    });
  }
}

async function saveSnapshot(store: StateStore, current: KongState, options: ReconcileOptions): Promise<string> {
  try {
    return await store.save(current, { trigger: options.trigger, scope: options.scope });
  } catch (error) {
    // Without a snapshot a failed apply could not be undone, so nothing is written.
    throw new ReconcileError('could not save the pre-apply snapshot; nothing was applied', {
      cause: error,
      context: { phase: 'snapshot', instance: options.instance },
    });
  }
}

/** What the restore did; `error` is set when Kong could not be brought back to the snapshot. */
interface RestoreResult {
  completed: Change[];
  failed: ChangeFailure[];
  error?: ReconcileError;
}

/** Puts Kong back to `snapshot` with the same engine: re-dump (the failed apply left Kong somewhere in between), diff, apply. */
async function restore(
  kong: KongApi,
  snapshot: KongState,
  options: {
    instance: string;
    scope?: Scope;
    parallelism: number;
    signal?: AbortSignal;
    beforeStage?: () => Promise<void>;
  },
): Promise<RestoreResult> {
  try {
    const now = await dump(kong, options);
    const result = await apply(kong, plan(diff(now, snapshot)), options);
    const error =
      result.fenced !== undefined
        ? fencedError('restore', result)
        : result.failed.length > 0
          ? failureError('restore failed', result)
          : undefined;
    return { completed: result.completed, failed: result.failed, error };
  } catch (error) {
    const reason = error instanceof ReconcileError ? error : new ReconcileError('restore failed', { cause: error });
    return { completed: [], failed: [], error: reason };
  }
}

/** The writer lost its lease before a level: what it wrote, and that it stopped there. */
function fencedError(what: 'apply' | 'restore', result: ApplyResult, snapshotId?: string): ReconcileError {
  return new ReconcileError(
    `${what} stopped after ${result.completed.length} change(s), ${result.skipped.length} not started: ${errorMessage(result.fenced)}`,
    {
      cause: result.fenced,
      context: { snapshotId, completed: result.completed.length, skipped: result.skipped.length, fenced: true },
    },
  );
}

function failureError(what: string, result: ApplyResult, snapshotId?: string): ReconcileError {
  const first = result.failed[0]!;
  return new ReconcileError(
    `${what} at ${first.change.action} ${first.change.kind} ${first.change.name}: ${errorMessage(first.error)}`,
    {
      cause: first.error,
      context: {
        snapshotId,
        completed: result.completed.length,
        skipped: result.skipped.length,
        failed: result.failed.map(({ change, error }) => ({
          action: change.action,
          kind: change.kind,
          id: change.id,
          name: change.name,
          error: errorMessage(error),
        })),
      },
    },
  );
}

/** The run-history record of a sync, for `StateStore.recordRun` and `meshgate status`. */
export function syncRunSummary(report: SyncReport, startedAt: Date): RunSummary {
  return {
    kind: 'sync',
    trigger: report.trigger,
    outcome: report.outcome,
    startedAt: startedAt.toISOString(),
    durationMs: report.durationMs,
    counts: {
      ...report.plan.summary,
      completed: report.completed.length,
      failed: report.failed.length,
      rolledBack: report.rolledBack.length,
      kept: report.kept.length,
      held: report.held.length,
      conflicts: report.conflicts.length,
    },
    snapshotId: report.snapshotId,
    errors: report.error ? [report.error.message] : undefined,
  };
}
