import { mapLimit } from '../concurrency.js';
import type { KongApi } from '../kong/api.js';
import type { AnyEntity, EntityKind } from '../kong/entities.js';
import { isOwned } from '../kong/ownership.js';
import type { Change } from './diff.js';
import { ReconcileError } from './errors.js';
import { type Plan, planChanges } from './plan.js';

export interface ChangeFailure {
  change: Change;
  error: unknown;
}

export interface ApplyResult {
  /** Changes Kong confirmed, in completion order. */
  completed: Change[];
  /** Changes that failed (after the client's retries); several when parallel writes failed together. */
  failed: ChangeFailure[];
  /** Changes never started because an earlier one failed or the run was aborted. */
  skipped: Change[];
}

export interface ApplyOptions {
  /** The meshgate instance: every entity written, updated or deleted must carry its ownership tags. */
  instance: string;
  /** Writes in flight at once within a stage. */
  parallelism: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, change: Change) => void;
}

/**
 * Second guard behind the tag-filtered dump: refuses, before any write, a plan that would touch an entity this
 * instance does not own or write one without the ownership tags (which would leave it unmanageable).
 */
export function assertOwnership(planned: Plan, instance: string): void {
  const foreign = planChanges(planned).filter(
    (change) => !isOwned(change.entity, instance) || (change.previous && !isOwned(change.previous, instance)),
  );
  if (foreign.length > 0) {
    throw new ReconcileError(
      `plan touches ${foreign.length} entities without the ownership tags of instance '${instance}'`,
      {
        context: {
          instance,
          entities: foreign.slice(0, 20).map(({ action, kind, id, name }) => ({ action, kind, id, name })),
        },
      },
    );
  }
}

/**
 * Applies a plan stage by stage with at most `parallelism` writes in flight. At the first failure (or abort) no new
 * write starts; writes already in flight finish and are reported. Retries are the client's business.
 */
export async function apply(kong: KongApi, planned: Plan, options: ApplyOptions): Promise<ApplyResult> {
  assertOwnership(planned, options.instance);
  const total = planned.summary.total;
  const result: ApplyResult = { completed: [], failed: [], skipped: [] };
  const stopped = () => result.failed.length > 0 || options.signal?.aborted === true;
  for (const stage of planned.stages) {
    // A client that batches writes (DB-less) gets the whole stage at once: one configuration post, not one per slot.
    const limit = kong.batchesWrites ? Math.max(1, stage.changes.length) : options.parallelism;
    await mapLimit(stage.changes, limit, async (change) => {
      if (stopped()) {
        result.skipped.push(change);
        return;
      }
      try {
        await write(kong, change, options.signal);
        result.completed.push(change);
        options.onProgress?.(result.completed.length, total, change);
      } catch (error) {
        result.failed.push({ change, error });
      }
    });
  }
  return result;
}

async function write(kong: KongApi, change: Change, signal?: AbortSignal): Promise<void> {
  const kind: EntityKind = change.kind;
  const entity: AnyEntity = change.entity;
  switch (change.action) {
    // PUT by id: a create whose response was lost is retried safely (targets: the client falls back on 409).
    case 'create':
      await kong.upsert(kind, entity, signal);
      return;
    case 'update':
      await kong.update(kind, entity, signal);
      return;
    case 'delete':
      await kong.delete(kind, entity, signal);
      return;
  }
}
