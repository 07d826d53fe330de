import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { type CliApp as App, createApp, functionName } from '../shared/app/context.js';
import { clientSettings } from '../shared/aws/options.js';
import { CommandError, parseCommand } from '../shared/commands/index.js';
import { type Config, loadConfig } from '../shared/config/index.js';
import { addConsumer, republishUnderLease } from '../shared/consumers/index.js';
import { errorMessage, MeshgateError } from '../shared/errors.js';
import { describeResult, desiredKong, keptObjects, runMeshSync } from '../shared/mesh-sync/pipeline.js';
import { formatPlan, planJson, reconcile, toDeckFile } from '../shared/reconcile/index.js';
import { startDueRotations, startRotation, waitForRotation } from '../shared/rotation-schedule/schedule.js';
import { escapeControl } from '../shared/text.js';
import { mintToken } from '../shared/tokens/mint.js';
import { auditCommand, parseSince } from './audit.js';
import { actionOfWords, commandFromArgv, executeOperatorCommand, runOperatorCommand } from './operator.js';

const USAGE = `meshgate: keeps Kong Gateway in step with the AWS service mesh

Usage:
  meshgate plan [--json] [--deck FILE]          what a sync would change now (--deck: write the desired state as a decK file)
  meshgate sync [--dry-run]                     reconcile Kong with the mesh now
  meshgate status [--json]                      freeze, recent runs, drift, consumers' key ages
  meshgate snapshots list [--json]              snapshots taken before each apply, newest first
  meshgate audit [--since DURATION] [--json]    the audit trail (CloudWatch Logs), newest first: time, who, what, run
                                                (default --since 24h)
  meshgate rotate --consumer NAME | --due       start a key rotation (Secrets Manager runs the four steps)
  meshgate rollback sync --to previous|ID [--no-freeze]
                                                put Kong back to a snapshot; freezes automatic sync unless --no-freeze
  meshgate rollback key --consumer NAME         put a consumer's key back to the previous version
  meshgate freeze --reason TEXT                 automatic sync plans and reports but applies nothing
  meshgate resume                               lift the freeze and sync
  meshgate consumer add NAME [--iam-role ARN]   create a consumer's key secret (Kong gets it at the next sync)
  meshgate token --consumer NAME [--ttl SECONDS]
                                                a short-lived token signed with the consumer's current key
  meshgate doctor [--remote]                    check the deployment's prerequisites, one line each (✓/✗ and the fix):
                                                trail, rules, each role's calls, admin token, Admin API (--remote:
                                                as the function reaches it); exits 1 on any ✗

Options:
  --remote        invoke the deployed function instead of reaching Kong from here (needs AWS credentials)
  --stage NAME    the deployed stage for --remote and rotation (default: MESHGATE_STAGE or dev)
  --by NAME       who acts, recorded in audit events (default: $USER)
  -h, --help

Configuration comes from the environment (docs/configuration.md): KONG_ADMIN_URL, MESHGATE_STATE_DIR or
SNAPSHOT_BUCKET, MESH_NAMES, AWS_ENDPOINT_URL, ...`;

class UsageError extends MeshgateError {}

const OPTIONS = {
  json: { type: 'boolean' },
  deck: { type: 'string' },
  'dry-run': { type: 'boolean' },
  consumer: { type: 'string' },
  due: { type: 'boolean' },
  to: { type: 'string' },
  'no-freeze': { type: 'boolean' },
  reason: { type: 'string' },
  'iam-role': { type: 'string' },
  ttl: { type: 'string' },
  since: { type: 'string' },
  remote: { type: 'boolean' },
  stage: { type: 'string' },
  by: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

interface Invocation {
  words: string[];
  env: NodeJS.ProcessEnv;
  flags: Flags;
  config: Config;
  app: () => App;
  stage: string;
  by: string;
  out: (text: string) => void;
  progress: (text: string) => void;
}

type Command = (invocation: Invocation) => Promise<void>;

/**
 * The operator commands (sync, status, snapshots list, rollback sync|key, freeze, resume): the command line becomes
 * one object of the operator command union, dispatched here or, with `--remote`, sent as is to the deployed rollback
 * function, which parses and dispatches it the same way (cli/operator.ts, shared/commands/).
 */
const operator: Command = async ({ words, flags, config, app, out, progress, stage, by }) => {
  const action = actionOfWords(words);
  if (!action) {
    const use =
      words[0] === 'rollback' ? "'rollback sync --to …' or 'rollback key --consumer …'" : `'${words[0]} list'`;
    throw new UsageError(`unknown ${words[0]} command '${words[1] ?? ''}': use ${use}`);
  }
  const command = commandFromArgv(action, flags, by);
  const exitCode = await runOperatorCommand(command, {
    remote: flags.remote === true,
    json: flags.json === true,
    app,
    stage,
    out,
    // `resume` asks for a sync: here it runs in this process, as the deployed rollback function invokes meshSync.
    requestSync:
      action === 'resume'
        ? async (reason) => {
            const result = await runMeshSync(
              await app().meshSyncDeps(),
              { kind: 'full', reason, dryRun: false },
              config,
            );
            out(describeResult(result));
          }
        : async () => {},
    onProgress: (done, total) => progress(`applied ${done}/${total}`),
  });
  if (exitCode !== 0) process.exitCode = exitCode;
};

const COMMANDS: Record<string, Command> = {
  plan: async ({ flags, config, app, out, stage }) => {
    // Remotely, a plan is the operator command `sync` as a dry run, carried out by the rollback function.
    if (flags.remote) {
      await runOperatorCommand(parseCommand({ action: 'sync', dryRun: true, reason: 'cli:plan' }), {
        remote: true,
        json: flags.json === true,
        app,
        stage,
        out,
        requestSync: async () => {},
      });
      return;
    }
    const deps = await app().meshSyncDeps();
    const desired = await desiredKong(deps, config);
    if (flags.deck) {
      writeFileSync(flags.deck, stringify(toDeckFile(desired.state)));
    }
    const report = await reconcile(deps.kong, desired.state, {
      instance: config.MESHGATE_INSTANCE,
      store: deps.store,
      trigger: 'cli:plan',
      dryRun: true,
      keep: keptObjects(desired.failures),
      parallelism: config.SYNC_PARALLELISM,
    });
    if (flags.json) {
      out(JSON.stringify({ ...planJson(report.plan), leftOut: desired.failures }, null, 2));
      return;
    }
    out(formatPlan(report.plan));
    for (const failure of desired.failures) out(`left out ${failure.object}: ${failure.reason}`);
    if (flags.deck) out(`wrote the desired state as a decK 1.4 file: ${flags.deck}`);
  },

  sync: operator,
  status: operator,
  snapshots: operator,

  audit: async ({ flags, config, env, out }) => {
    try {
      parseSince(flags.since);
    } catch (error) {
      throw new UsageError(errorMessage(error));
    }
    await auditCommand(flags, config, env, out);
  },

  rotate: async ({ flags, config, app, out, stage, env }) => {
    const sm = app().clients.secretsManager;
    const rotationLambdaArn = rotationFunctionArn(config, stage, env);
    if (flags.due) {
      // As the rotateKeys schedule does: the public-key document first (bootstrap, repair), then overdue rotations.
      const published = await republishUnderLease({
        secretsManager: sm,
        store: app().store,
        graceMs: config.KEY_GRACE_PERIOD,
        secretPrefix: config.CONSUMER_SECRET_PREFIX,
      });
      out(`public keys of ${published.published.length} consumer(s) published`);
      for (const failure of published.failures) out(`failed ${failure.object}: ${failure.reason}`);
      if (published.failures.length) process.exitCode = 1;
      const result = await startDueRotations(sm, { rotationLambdaArn });
      // Started, not finished: Secrets Manager runs the steps after it answers (`status` shows how they ended).
      for (const started of result.started) {
        out(`rotation of ${started.consumer} started: new version ${started.versionId}`);
      }
      out(`${result.started.length} rotation(s) started, ${result.notDue} not due`);
      for (const failure of result.failures) out(`failed ${failure.object}: ${failure.reason}`);
      if (result.failures.length) process.exitCode = 1;
      return;
    }
    const consumer = required(flags.consumer, '--consumer NAME (or --due)');
    const started = await startRotation(sm, consumer, { rotationLambdaArn });
    await waitForRotation(sm, started, {
      onWait: () =>
        out(`rotation of ${started.consumer} started (version ${started.versionId}); waiting for its steps`),
    });
    out(`rotated ${started.consumer}: new key version ${started.versionId} is AWSCURRENT`);
  },

  rollback: operator,
  freeze: operator,
  resume: operator,

  consumer: async ({ words, flags, config, app, out, stage, env }) => {
    if (words[1] !== 'add' || !words[2]) throw new UsageError("use 'consumer add NAME [--iam-role ARN]'");
    const created = await addConsumer(app().clients.secretsManager, {
      username: words[2],
      iamRole: flags['iam-role'],
      alg: config.JWT_ALGORITHM,
      rotationLambdaArn: rotationFunctionArn(config, stage, env),
      secretPrefix: config.CONSUMER_SECRET_PREFIX,
      // Its public key goes to the state store's document now: the next sync reads consumers from it.
      publish: { store: app().store, graceMs: config.KEY_GRACE_PERIOD },
    });
    out(`consumer ${words[2]}: key ${created.kid} in ${created.secretArn}; Kong gets it at the next sync`);
  },

  doctor: async ({ flags, config, app, out, stage, env }) => {
    // Loaded here: the CloudTrail and IAM clients serve only this command.
    const [{ runDoctor, renderChecks }, { CloudTrailClient }, { IAMClient }] = await Promise.all([
      import('./doctor.js'),
      import('@aws-sdk/client-cloudtrail'),
      import('@aws-sdk/client-iam'),
    ]);
    const { common } = clientSettings(env);
    const { lambda, eventBridge, secretsManager } = app().clients;
    const checks = await runDoctor(
      { cloudTrail: new CloudTrailClient(common), iam: new IAMClient(common), lambda, eventBridge, secretsManager },
      {
        region: config.AWS_REGION,
        stage,
        remote: flags.remote ?? false,
        // The operator command `ping`: here, or with --remote by the rollback function on its network.
        ping: () =>
          executeOperatorCommand(
            { action: 'ping' },
            {
              remote: flags.remote === true,
              app,
              stage,
              requestSync: async () => {},
            },
          ),
      },
    );
    out(renderChecks(checks));
    if (checks.some((check) => !check.ok)) process.exitCode = 1;
  },

  token: async ({ flags, app, out }) => {
    const consumer = required(flags.consumer, '--consumer NAME');
    const ttlSeconds = Number(flags.ttl ?? 300);
    const minted = await mintToken(app().clients.secretsManager, consumer, { ttlSeconds });
    out(minted.token);
  },
};

function required(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`missing ${what}`);
  return value;
}

/** ARN of the deployed rotateKeys, which Secrets Manager invokes for a consumer's rotation. */
function rotationFunctionArn(config: Config, stage: string, env: NodeJS.ProcessEnv): string {
  const account = env.AWS_ACCOUNT_ID;
  if (!account) {
    throw new UsageError(
      'set AWS_ACCOUNT_ID to the account meshgate is deployed in (rotation names the rotateKeys function by ARN)',
    );
  }
  return `arn:aws:lambda:${config.AWS_REGION}:${account}:function:${functionName(stage, 'rotateKeys')}`;
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    // Unknown option or a missing value: node:util says which.
    throw new UsageError(errorMessage(error));
  }
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // Every line printed may quote text from outside (reasons, mesh values, error messages): control characters are
  // escaped, line breaks kept.
  const out = (text: string) => process.stdout.write(`${text.split('\n').map(escapeControl).join('\n')}\n`);
  const progress = (text: string) => {
    if (process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`);
  };
  try {
    const { values: flags, positionals: words } = parseCommandLine(argv);
    const command = words[0] ? COMMANDS[words[0]] : undefined;
    if (flags.help || !command) {
      out(USAGE);
      if (!flags.help && words[0]) throw new UsageError(`unknown command '${words[0]}'`);
      return flags.help ? 0 : 2;
    }
    const config = loadConfig(env);
    let app: App | undefined;
    await command({
      words,
      env,
      flags,
      config,
      app: () => {
        app ??= createApp(config);
        return app;
      },
      stage: flags.stage ?? config.MESHGATE_STAGE,
      by: flags.by ?? env.USER ?? 'cli',
      out,
      progress,
    });
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    return Number(process.exitCode ?? 0);
  } catch (error) {
    process.stderr.write(`meshgate: ${errorMessage(error)}\n`);
    // A command that does not parse (a bad --to, a missing --consumer) is a usage error too.
    return error instanceof UsageError ||
      error instanceof CommandError ||
      (error instanceof Error && error.name === 'TypeError' && 'code' in error)
      ? 2
      : 1;
  }
}

// Run when executed (bin/meshgate.js imports this module); tests import `main` instead.
if (process.argv[1]?.endsWith('meshgate.js') || process.argv[1]?.endsWith('meshgate')) {
  process.exitCode = await main(process.argv.slice(2));
  // The AWS SDK and Kong clients keep sockets alive; the command is done.
  process.exit();
}
