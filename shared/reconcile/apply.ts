import { mapLimit } from '../concurrency.js';
import type { KongApi } from '../kong/api.js';
import type { AnyEntity, EntityKind } from '../kong/entities.js';
import { KongError } from '../kong/errors.js';
import { isOwned } from '../kong/ownership.js';
import type { Change } from './diff.js';
import { OwnershipConflict, ReconcileError } from './errors.js';
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
  /**
   * Creates refused because something meshgate does not own holds the id or a unique name (and the changes that
   * depend on them): left out and reported; they are not failures and roll nothing back.
   */
  conflicts: ChangeFailure[];
  /** Set when `beforeStage` refused (the writer lost its lease): no write of that stage or after it started. */
  fenced?: unknown;
}

export interface ApplyOptions {
  /** The meshgate instance: every entity written, updated or deleted must carry its ownership tags. */
  instance: string;
  /** Writes in flight at once within a stage. */
  parallelism: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, change: Change) => void;
  /** Runs before each stage; when it throws, the apply stops there (a fence: the writer must still hold its lease). */
  beforeStage?: () => Promise<void>;
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
  const result: ApplyResult = { completed: [], failed: [], skipped: [], conflicts: [] };
  const conflicted = new Set<string>();
  const stopped = () => result.failed.length > 0 || result.fenced !== undefined || options.signal?.aborted === true;
  for (const stage of planned.stages) {
    if (options.beforeStage && !stopped()) {
      await options.beforeStage().catch((error: unknown) => {
        result.fenced = error ?? new Error('fenced');
      });
    }
    // A client that batches writes (DB-less) gets the whole stage at once: one configuration post, not one per slot.
    const limit = kong.batchesWrites ? Math.max(1, stage.changes.length) : options.parallelism;
    await mapLimit(stage.changes, limit, async (change) => {
      if (stopped()) {
        result.skipped.push(change);
        return;
      }
      const parent =
        change.action === 'delete' ? undefined : referencedIds(change.entity).find((id) => conflicted.has(id));
      if (parent !== undefined) {
        conflicted.add(change.id);
        const reason = `it references ${parent}, which could not be created`;
        result.conflicts.push({ change, error: new OwnershipConflict(reason, { context: { id: change.id } }) });
        return;
      }
      try {
        await write(kong, change, options.instance, options.signal);
        result.completed.push(change);
        options.onProgress?.(result.completed.length, total, change);
      } catch (error) {
        if (error instanceof OwnershipConflict) {
          conflicted.add(change.id);
          result.conflicts.push({ change, error });
        } else {
          result.failed.push({ change, error });
        }
      }
    });
  }
  return result;
}

const FOREIGN_KEYS = ['service', 'route', 'upstream', 'consumer'] as const;

/** The ids an entity's foreign keys name. */
export function referencedIds(entity: AnyEntity): string[] {
  const record = entity as Record<string, unknown>;
  return FOREIGN_KEYS.flatMap((field) => {
    const ref = record[field] as { id?: unknown } | null | undefined;
    return typeof ref?.id === 'string' ? [ref.id] : [];
  });
}

/**
 * Creates with POST, never PUT: a PUT by meshgate's deterministic id would overwrite an entity that is no longer
 * meshgate's (tags and settings replaced). When Kong says the id or a unique field is taken (primary key violation,
 * 400 code 3; unique violation, 409 code 5): if the holder is this entity, owned (a create whose response was lost,
 * retried), it is updated; anything else is an OwnershipConflict for this change alone.
 */
async function create(kong: KongApi, change: Change, instance: string, signal?: AbortSignal): Promise<void> {
  const kind: EntityKind = change.kind;
  const entity: AnyEntity = change.entity;
  try {
    await kong.create(kind, entity, signal);
    return;
  } catch (error) {
    if (!(error instanceof KongError && error.isTaken)) throw error;
    const parent = kind === 'target' ? (entity as { upstream: { id: string } }).upstream.id : undefined;
    const holder = await kong.get(kind, entity.id, { parent, signal });
    if (holder && isOwned(holder, instance)) {
      await kong.update(kind, entity, signal);
      return;
    }
    const what = holder
      ? `${kind} ${entity.id} exists without meshgate's tags`
      : `a ${kind} not meshgate's holds a unique field`;
    throw new OwnershipConflict(`cannot create ${kind} ${change.name}: ${what} (${error.message})`, {
      cause: error,
      context: { kind, id: entity.id, name: change.name },
    });
  }
}

async function write(kong: KongApi, change: Change, instance: string, signal?: AbortSignal): Promise<void> {
  const kind: EntityKind = change.kind;
  const entity: AnyEntity = change.entity;
  switch (change.action) {
    case 'create':
      await create(kong, change, instance, signal);
      return;
    case 'update':
      await kong.update(kind, entity, signal);
      return;
    case 'delete':
      await kong.delete(kind, entity, signal);
      return;
  }
}
