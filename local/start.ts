/**
 * `npm start`: the demo scenario on the local stack (local/demo/scenario.ts), then exit.
 * `npm start -- --serve`: the local stack stays up for the AWS CLI, decK, curl and `npx meshgate` until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import type { InvocationRecord } from './bus/bus.js';
import { DemoFailure, runDemo } from './demo/scenario.js';
import { type LocalStack, startLocalStack } from './stack.js';
import { startTokenFunction } from './token-function.js';

const USAGE = `Usage:
  npm start [-- --kong-port P --aws-port P --kong-mode db|dbless|konnect --verbose]
                                                          the demo scenario on free ports (default), then exit
  npm start -- --serve [--kong-port 8001] [--aws-port 4566] [--proxy-port 8000] [--kong-mode db|dbless|konnect]
                       [--state-dir DIR] [--mesh-names shop] [--verbose]
                                                          keep the stack up until Ctrl-C`;

const { values } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    'kong-port': { type: 'string' },
    'aws-port': { type: 'string' },
    'proxy-port': { type: 'string' },
    'state-dir': { type: 'string' },
    'mesh-names': { type: 'string' },
    'kong-mode': { type: 'string', default: 'db' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

// The SDK's notice about future Node versions says nothing about meshgate; keep the story readable.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function port(flag: 'kong-port' | 'aws-port' | 'proxy-port', fallback: number): number {
  const raw = values[flag];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`--${flag} must be an integer from 0 to 65535, got '${raw}'\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

function kongMode(): 'db' | 'dbless' | 'konnect' {
  const mode = values['kong-mode'];
  if (mode === 'db' || mode === 'dbless' || mode === 'konnect') return mode;
  console.error(`--kong-mode must be db, dbless or konnect, got '${mode}'\n${USAGE}`);
  process.exit(2);
}

if (values.serve) {
  await serve();
} else {
  await demo();
}

async function demo(): Promise<void> {
  try {
    await runDemo({
      kongPort: port('kong-port', 0),
      awsPort: port('aws-port', 0),
      kongMode: kongMode(),
      verbose: values.verbose,
    });
    process.exit(0);
  } catch (error) {
    const message = error instanceof DemoFailure ? error.message : error instanceof Error ? error.stack : String(error);
    console.error(`\nDEMO FAILED: ${message}`);
    process.exit(1);
  }
}

async function serve(): Promise<void> {
  const stack = await startLocalStack({
    kongPort: port('kong-port', 8001),
    awsPort: port('aws-port', 4566),
    kongMode: kongMode(),
    proxyPort: port('proxy-port', 8000),
    stateDir: values['state-dir'],
    logLevel: values.verbose ? 'INFO' : 'WARN',
    metrics: values.verbose,
    env: values['mesh-names'] ? { MESH_NAMES: values['mesh-names'] } : {},
    onInvoke: (record) => console.log(describeInvocation(record)),
    onDeadLetter: (letter) =>
      console.error(`dead letter (${letter.destination ?? 'dropped'}): ${letter.function}: ${letter.error}`),
  });
  // The token function behind its function URL (AWS_IAM, SigV4 against the double's role-bound credentials).
  const tokenUrl = await startTokenFunction(stack);
  printServeHelp(stack, tokenUrl.url);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`\n${signal}: stopping the local stack`);
      void Promise.all([tokenUrl.close(), stack.close()]).then(() => process.exit(0));
    });
  }
}

function describeInvocation(record: InvocationRecord): string {
  const via = record.rule ?? 'invoke';
  const attempt = record.attempt > 1 ? ` (attempt ${record.attempt})` : '';
  if (record.outcome === 'error') return `${record.function} ← ${via}${attempt}: error ${record.error}`;
  const result = record.result as
    | { outcome?: string; trigger?: string; status?: string; summary?: Record<string, number> }
    | undefined;
  const summary = result?.summary
    ? ` created ${result.summary.creating}, updated ${result.summary.updating}, deleted ${result.summary.deleting}`
    : '';
  const outcome = result?.outcome ?? result?.status ?? 'ok';
  return `${record.function} ← ${via}${attempt}: ${outcome}${result?.trigger ? ` [${result.trigger}]` : ''}${summary}`;
}

function printServeHelp(stack: LocalStack, tokenUrl: string): void {
  const { env } = stack;
  const exports = Object.entries(env)
    .filter(([name]) => !name.startsWith('POWERTOOLS_'))
    .map(([name, value]) => `  export ${name}=${value}`);
  console.log(`meshgate local stack is up (stage ${env.MESHGATE_STAGE}, instance ${env.MESHGATE_INSTANCE})
  Kong Admin API double   ${stack.kong.adminUrl}${env.KONG_MODE === 'konnect' ? '   (Konnect control plane; Authorization: Bearer <the admin-token secret>)' : ''}
  AWS double              ${stack.aws.url}   App Mesh, Cloud Map, Secrets Manager, EventBridge, CloudWatch Logs, CloudTrail, IAM, S3, Lambda
  Kong proxy double       ${stack.kong.proxy?.url ?? '(off)'}   routes as Kong 3.9 does; JWKS at /.well-known/jwks.json
  token function URL      ${tokenUrl}   POST, SigV4 (service lambda) with role-bound credentials
  state (snapshots, freeze) ${env.MESHGATE_STATE_DIR}
  meshgate reads the mesh(es) ${env.MESH_NAMES} (--mesh-names) and every Cloud Map namespace

Environment for another shell:
${exports.join('\n')}

Drive it (App Mesh / Cloud Map writes reach meshSync as CloudTrail events, as on AWS):
  aws --endpoint-url ${stack.aws.url} appmesh create-mesh --mesh-name ${env.MESH_NAMES?.split(',')[0] ?? 'shop'}
  aws --endpoint-url ${stack.aws.url} servicediscovery list-services
  curl -s ${stack.kong.adminUrl}/services
  deck dump --kong-addr ${stack.kong.url} -o kong.yaml   (decK ≥ 1.28: deck gateway dump --kong-addr …)
  npx meshgate status        npx meshgate plan        npx meshgate consumer add alice
  npx serverless invoke local -f meshSync --path events/manual-sync.json   (see docs/local-stack.md)

Each function run is printed below. Ctrl-C stops the stack.`);
}
