import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { App } from '../shared/app/core.js';
import { functionName } from '../shared/app/core.js';
import {
  CommandError,
  type CommandResults,
  describeIssues,
  dispatch,
  type OperatorAction,
  type OperatorCommand,
  parseCommand,
} from '../shared/commands/index.js';
import { invokeRemote } from './remote.js';
import { renderSnapshots, renderStatus } from './render.js';

/** The CLI's options as node:util's parseArgs gives them. */
export type CliFlags = Readonly<Record<string, string | boolean | undefined>>;

/** The CLI words of each operator command: `meshgate rollback key …` is the action `rollback-key`. */
const ACTION_OF_WORDS: Readonly<Record<string, OperatorAction>> = {
  sync: 'sync',
  'rollback sync': 'rollback-sync',
  'rollback key': 'rollback-key',
  freeze: 'freeze',
  resume: 'resume',
  status: 'status',
  'snapshots list': 'snapshots-list',
};

/** Each action's fields from the command line (not yet validated: the union's schema does that). */
const FIELDS_OF_FLAGS: { [A in OperatorAction]: (flags: CliFlags, by: string) => Record<string, unknown> } = {
  sync: (flags) => ({ dryRun: flags['dry-run'] === true, reason: 'cli:sync' }),
  'rollback-sync': (flags, by) => ({ to: flags.to, freeze: flags['no-freeze'] !== true, by }),
  'rollback-key': (flags, by) => ({ consumer: flags.consumer, by }),
  freeze: (flags, by) => ({ reason: flags.reason, by }),
  resume: (_flags, by) => ({ by }),
  status: () => ({}),
  'snapshots-list': () => ({}),
  // No words of its own: `meshgate doctor --remote` sends it.
  ping: () => ({}),
};

/** The option that sets a field, so an error names what the operator typed. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  to: '--to',
  consumer: '--consumer',
  reason: '--reason',
  by: '--by',
  freeze: '--no-freeze',
  dryRun: '--dry-run',
};

/** The operator command the words name (`rollback key`), or undefined when they name none. */
export function actionOfWords(words: readonly string[]): OperatorAction | undefined {
  return ACTION_OF_WORDS[words.slice(0, 2).join(' ')] ?? ACTION_OF_WORDS[words[0] ?? ''];
}

/**
 * The command line as an operator command: the same object the CLI dispatches here or sends to the rollback
 * function with `--remote`. A bad field throws a CommandError naming its option and value.
 */
export function commandFromArgv(action: OperatorAction, flags: CliFlags, by: string): OperatorCommand {
  const raw = { action, ...FIELDS_OF_FLAGS[action](flags, by) };
  try {
    return parseCommand(raw);
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    throw new CommandError(
      describeIssues(error.issues, (field) => FLAG_OF_FIELD[field] ?? field),
      error.issues,
    );
  }
}

export interface OperatorRun {
  remote: boolean;
  json: boolean;
  /** The app, built on first use (a remote command needs only its Lambda client). */
  app: () => App & { clients: { lambda: LambdaClient } };
  stage: string;
  out: (text: string) => void;
  requestSync: (reason: string) => Promise<void>;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Carries out an operator command here, or in the deployed rollback function with `--remote` (the same JSON, the
 * same dispatch, the same result): the CLI's one path for every operator command.
 */
export async function executeOperatorCommand<C extends OperatorCommand>(
  command: C,
  run: Pick<OperatorRun, 'remote' | 'app' | 'stage' | 'requestSync' | 'onProgress'>,
): Promise<CommandResults[C['action']]> {
  if (!run.remote) {
    return dispatch(command, { app: run.app(), requestSync: run.requestSync, onProgress: run.onProgress });
  }
  const result = await invokeRemote(run.app().clients.lambda, functionName(run.stage, 'rollback'), command);
  return result as CommandResults[C['action']];
}

/**
 * Runs an operator command (executeOperatorCommand) and prints its result as text or JSON. Returns the exit code
 * the result calls for.
 */
export async function runOperatorCommand(command: OperatorCommand, run: OperatorRun): Promise<number> {
  const result = await executeOperatorCommand(command, run);
  const render = RENDER[command.action] as (result: unknown) => string;
  run.out(run.json ? JSON.stringify(result, null, 2) : render(result));
  const outcome = (result as { outcome?: unknown } | undefined)?.outcome;
  return command.action === 'sync' && (outcome === 'failed' || outcome === 'rolled-back') ? 1 : 0;
}

const RENDER: { [A in OperatorAction]: (result: CommandResults[A]) => string } = {
  sync: (result) =>
    [
      result.plan.trimEnd(),
      result.description,
      ...(result.snapshotId ? [`snapshot before apply: ${result.snapshotId}`] : []),
    ].join('\n'),
  'rollback-sync': (result) =>
    [
      result.plan.trimEnd(),
      `restored snapshot ${result.restored} (${result.outcome}); the state it replaced is snapshot ${result.snapshotId ?? '(unchanged)'}`,
      result.frozen
        ? `automatic sync is frozen: run 'meshgate resume' when the mesh is fixed`
        : 'automatic sync stays active',
    ].join('\n'),
  'rollback-key': (result) =>
    `${result.consumer}: key ${result.restoredKid} is current again; ${result.revokedKid} is revoked and gone from Kong`,
  freeze: (freeze) => `automatic sync frozen since ${freeze.since} by ${freeze.by}: ${freeze.reason}`,
  resume: ({ wasFrozen }) => (wasFrozen ? 'automatic sync resumed' : 'automatic sync was not frozen'),
  status: renderStatus,
  'snapshots-list': renderSnapshots,
  ping: (ping) => `Kong ${ping.version} (database ${ping.database}) at ${ping.adminUrl}`,
};
