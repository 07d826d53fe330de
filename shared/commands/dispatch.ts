import type { App } from '../app/core.js';
import { describeResult, leftOut, type ObjectFailure, runMeshSync } from '../mesh-sync/pipeline.js';
import type { RollbackKeyResult } from '../operations/key-rollback.js';
import { freezeSync, resumeSync, rollbackConsumerKey, rollbackSync } from '../operations/operations.js';
import { type KongPing, pingKong } from '../operations/ping.js';
import { collectStatus, type StatusReport } from '../operations/status.js';
import { formatPlan, type PlanSummary } from '../reconcile/index.js';
import type { FreezeState, SnapshotMeta } from '../state/store.js';
import { escapeControl } from '../text.js';
import type { CommandOf, OperatorAction, OperatorCommand } from './schema.js';

/**
 * What a command needs besides its own fields: the entry point's app, how `resume` asks for a sync (the rollback
 * function invokes the deployed meshSync; the CLI runs one in its own process), and progress for a local sync.
 */
export interface CommandContext {
  app: App;
  requestSync(reason: string): Promise<void>;
  onProgress?: (done: number, total: number) => void;
}

/** Left-out objects listed in a sync's result at most; the rest are counted (the result is a Lambda response). */
const LEFT_OUT_LISTED = 100;

export interface SyncCommandResult {
  outcome: string;
  trigger: string;
  dryRun: boolean;
  frozen: boolean;
  summary: PlanSummary;
  /** The snapshot saved before the apply (`rollback sync --to <id>` restores it). */
  snapshotId?: string;
  /** Objects that could not be read or translated and had nothing in Kong to keep (at most 100 listed). */
  leftOut: ObjectFailure[];
  leftOutTotal: number;
  /** Objects that failed but kept what they had in Kong. */
  kept: string[];
  /** The plan as decK prints it. */
  plan: string;
  /** One line: the outcome, counts, what was left out or kept, the error. */
  description: string;
}

export interface RollbackSyncCommandResult {
  restored: string;
  outcome: string;
  summary: PlanSummary;
  /** The snapshot of the state the rollback replaced: rolling back to it undoes the rollback. */
  snapshotId?: string;
  frozen: boolean;
  plan: string;
}

/** Each action's result: plain JSON, the same whether dispatched in the CLI's process or in the rollback function. */
export interface CommandResults {
  sync: SyncCommandResult;
  'rollback-sync': RollbackSyncCommandResult;
  'rollback-key': RollbackKeyResult;
  freeze: FreezeState;
  resume: { wasFrozen: boolean };
  status: StatusReport;
  'snapshots-list': SnapshotMeta[];
  ping: KongPing;
}

export type CommandResult<A extends OperatorAction = OperatorAction> = CommandResults[A];

type Handlers = {
  [A in OperatorAction]: (command: CommandOf<A>, context: CommandContext) => Promise<CommandResults[A]>;
};

// A new command joins by a member of OperatorCommandSchema, its result in CommandResults and its handler here (the
// compiler refuses a union member without one), then its argv and rendering in cli/operator.ts.
const HANDLERS: Handlers = {
  async sync(command, { app, onProgress }) {
    // The reason is the invoker's text; it is recorded and printed (`meshgate status`), so no terminal escapes.
    const trigger = {
      kind: 'full' as const,
      reason: escapeControl(command.reason ?? 'manual'),
      dryRun: command.dryRun,
    };
    const result = await runMeshSync(await app.meshSyncDeps(), trigger, app.config, { onProgress });
    const dropped = leftOut(result.failures, result.kept);
    return {
      outcome: result.report.outcome,
      trigger: result.report.trigger,
      dryRun: command.dryRun,
      frozen: result.frozen,
      summary: result.report.plan.summary,
      snapshotId: result.report.snapshotId,
      leftOut: dropped.slice(0, LEFT_OUT_LISTED).map(({ object, reason }) => ({ object, reason })),
      leftOutTotal: dropped.length,
      kept: result.kept.map(({ object }) => object),
      plan: formatPlan(result.report.plan),
      description: describeResult(result),
    };
  },

  async 'rollback-sync'(command, { app, requestSync }) {
    const result = await rollbackSync(await app.operationsDeps(requestSync), command, app.config);
    return {
      restored: result.restored,
      outcome: result.report.outcome,
      summary: result.report.plan.summary,
      snapshotId: result.report.snapshotId,
      frozen: result.freeze !== undefined,
      plan: formatPlan(result.report.plan),
    };
  },

  async 'rollback-key'(command, { app, requestSync }) {
    return rollbackConsumerKey(
      await app.operationsDeps(requestSync),
      { consumer: command.consumer, by: command.by },
      app.config,
    );
  },

  async freeze(command, { app, requestSync }) {
    return freezeSync(await app.operationsDeps(requestSync), command);
  },

  async resume(command, { app, requestSync }) {
    return resumeSync(await app.operationsDeps(requestSync), command);
  },

  async status(_command, { app }) {
    return collectStatus(await app.meshSyncDeps(), app.config);
  },

  async 'snapshots-list'(_command, { app }) {
    return app.store.list();
  },

  async ping(_command, { app }) {
    return pingKong(await app.kong(), app.config);
  },
};

/**
 * Carries out an operator's command: the one path for the CLI's local mode and the rollback function (which the
 * CLI's `--remote` invokes with the same JSON).
 */
export async function dispatch<C extends OperatorCommand>(
  command: C,
  context: CommandContext,
): Promise<CommandResults[C['action']]> {
  const handler = HANDLERS[command.action] as (
    command: C,
    context: CommandContext,
  ) => Promise<CommandResults[C['action']]>;
  return handler(command, context);
}
