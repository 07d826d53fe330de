/**
 * The whole of meshgate on one machine: the Kong double, the AWS double, and the three functions behind the local
 * EventBridge bus, wired the way AWS wires them (CloudTrail events → serverless.yml rules → handlers; lambda:Invoke
 * and Secrets Manager rotation → the bus). Used by `npm start` (local/start.ts) and the end-to-end tests.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { scopeAwsCredentials } from '../shared/aws/clients.js';
import { SecretsManagerJsonClient } from '../shared/aws/secrets-manager.js';
import { loadRoles } from './aws/iam/roles.js';
import { credentialsForRole } from './aws/identity.js';
import { type AwsDouble, startAwsDouble } from './aws/server.js';
import { createStackResources } from './aws/stack-resources.js';
import { createLocalBus, type DeadLetter, type InvocationRecord, type LocalBus } from './bus/bus.js';
import { connectAwsDouble } from './bus/connect.js';
import { currentFunction } from './bus/identity.js';
import { loadServerlessFunctions } from './bus/rules.js';
import { type KongDouble, startKongDouble } from './kong/server.js';

export const LOCAL_STAGE = 'local';
export const LOCAL_INSTANCE = 'local';
export const LOCAL_MESH = 'shop';
export const ADMIN_TOKEN_SECRET_NAME = 'meshgate/kong-admin-token';
/** The trail meshgate's rules need (management events in the region), created with the stack as an account has it. */
export const LOCAL_TRAIL = 'meshgate-local-trail';

const SERVERLESS_YML = fileURLToPath(new URL('../serverless.yml', import.meta.url));

export interface LocalStackOptions {
  /** Port of the Kong Admin API double (default 0: a free port). */
  kongPort?: number;
  /** Kong's proxy port (the Kong double's proxy); none when unset. */
  proxyPort?: number;
  /** Port of the AWS double (default 0: a free port). */
  awsPort?: number;
  /** Where snapshots and the freeze flag live (default: a fresh temporary folder, removed by close()). */
  stateDir?: string;
  /**
   * Makes the Kong double require this admin token; it is stored in Secrets Manager and meshgate reads it from
   * there (KONG_ADMIN_TOKEN_SECRET_ARN), as deployed. Default: an Admin API without authentication.
   */
  adminToken?: string;
  /**
   * `dbless`: the Kong double runs DB-less and meshgate configures it through `/config` (KONG_MODE=dbless).
   * `konnect`: the Kong double is a Konnect control plane; KONG_ADMIN_URL is its core-entities URL and the admin
   * token (a fresh `kpat_…` one unless given) is the access token, read from Secrets Manager.
   */
  kongMode?: 'db' | 'dbless' | 'konnect';
  /** Powertools log level of the handlers (default INFO); their metrics are not printed unless `metrics`. */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  metrics?: boolean;
  /** Delay before async retry n is n × this (default 10 ms; AWS waits minutes). */
  retryDelayMs?: number;
  onInvoke?: (record: InvocationRecord) => void;
  onDeadLetter?: (deadLetter: DeadLetter) => void;
  /** Extra or overriding environment for the handlers (MESH_NAMES, KEY_GRACE_PERIOD, ...). */
  env?: Record<string, string>;
}

export interface LocalStack {
  kong: KongDouble;
  aws: AwsDouble;
  bus: LocalBus;
  /** The environment meshgate runs with (also set in process.env): export it to drive the stack from a shell. */
  env: Record<string, string>;
  /** Waits for every delivery in flight, stops everything and restores process.env. */
  close(): Promise<void>;
}

let started = false;

/**
 * Starts the local stack in this process. Once per process: each handler module builds its configuration and
 * clients from process.env at its first invocation and keeps them (Node caches the module), so a second stack
 * would reach the first one's doubles.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (started) {
    throw new Error('startLocalStack: a local stack was already started in this process (the handlers keep its env)');
  }
  started = true;
  const adminToken =
    options.adminToken ??
    (options.kongMode === 'konnect' ? `kpat_${randomBytes(24).toString('base64url')}` : undefined);
  const kong = await startKongDouble({
    port: options.kongPort ?? 0,
    adminToken,
    mode: options.kongMode,
    ...(options.proxyPort === undefined ? {} : { proxyPort: options.proxyPort }),
  });
  // As on AWS, mesh writes reach the rules only while a trail records them (createTrail below makes one).
  const aws = await startAwsDouble({ port: options.awsPort ?? 0, cloudTrailNeedsTrail: true }).catch(
    async (error: unknown) => {
      await kong.close();
      throw error;
    },
  );
  const ownStateDir = options.stateDir ? undefined : mkdtempSync(join(tmpdir(), 'meshgate-state-'));
  const savedEnv = { ...process.env };
  const env: Record<string, string> = {
    ...aws.env(),
    KONG_ADMIN_URL: kong.adminUrl,
    KONG_MODE: options.kongMode ?? 'db',
    MESHGATE_STATE_DIR: options.stateDir ?? ownStateDir ?? '',
    MESHGATE_STAGE: LOCAL_STAGE,
    MESHGATE_INSTANCE: LOCAL_INSTANCE,
    MESH_NAMES: LOCAL_MESH,
    AUDIT_BUS_NAME: `meshgate-audit-${LOCAL_STAGE}`,
    JWT_ALGORITHM: 'ES256',
    KEY_GRACE_PERIOD: '1h',
    POWERTOOLS_SERVICE_NAME: 'meshgate',
    POWERTOOLS_METRICS_NAMESPACE: 'meshgate',
    POWERTOOLS_LOG_LEVEL: options.logLevel ?? 'INFO',
    POWERTOOLS_METRICS_DISABLED: options.metrics ? 'false' : 'true',
    ...options.env,
  };
  try {
    if (adminToken !== undefined) {
      env.KONG_ADMIN_TOKEN_SECRET_ARN = await storeAdminToken(aws, adminToken);
    }
    await createTrail(aws);
    // The roles as the stage's params resolve with this environment (e.g. MESH_CA_SECRET_ARN → ReadMeshCa).
    aws.iam.setRoles(loadRoles({ stage: LOCAL_STAGE, account: aws.account, region: aws.region, env }).roles);
    // The audit trail a deployed stack has (archive, rule into the audit log group), from serverless.yml.
    await createStackResources(aws.url, { stage: LOCAL_STAGE, account: aws.account, region: aws.region, env });
    // Before any handler runs: each builds its app from the environment at its first invocation and keeps it.
    Object.assign(process.env, env);
    const bus = createLocalBus({
      functions: loadServerlessFunctions(SERVERLESS_YML, { stage: LOCAL_STAGE }),
      retryDelayMs: options.retryDelayMs ?? 10,
      account: aws.account,
      region: aws.region,
      onInvoke: options.onInvoke,
      onDeadLetter: options.onDeadLetter,
    });
    // What GetFunctionConfiguration reports (Lambda's own AWS_* variables are not the function's configuration).
    const disconnect = connectAwsDouble(
      aws,
      bus,
      Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_'))),
    );
    // Each function calls AWS as its role from serverless.yml, and the double enforces it.
    scopeAwsCredentials(() => {
      const running = currentFunction();
      const role = running ? aws.functionRoles[running.name] : undefined;
      return running && role ? { key: role, credentials: credentialsForRole(role, running.deployedName) } : undefined;
    });
    return {
      kong,
      aws,
      bus,
      env,
      async close() {
        disconnect();
        await bus.idle();
        scopeAwsCredentials(undefined);
        await Promise.all([kong.close(), aws.close()]);
        if (ownStateDir) rmSync(ownStateDir, { recursive: true, force: true });
        process.env = savedEnv;
      },
    };
  } catch (error) {
    await Promise.all([kong.close(), aws.close()]);
    if (ownStateDir) rmSync(ownStateDir, { recursive: true, force: true });
    process.env = savedEnv;
    throw error;
  }
}

/**
 * The prerequisite no deploy creates: a multi-region trail logging management events (its default selector), into
 * a bucket of its own. `meshgate doctor` checks it.
 */
async function createTrail(aws: AwsDouble): Promise<void> {
  const settings = {
    endpoint: aws.url,
    region: aws.region,
    credentials: { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' },
  };
  const s3 = new S3Client({ ...settings, forcePathStyle: true });
  const cloudTrail = new CloudTrailClient(settings);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: LOCAL_TRAIL }));
    await cloudTrail.send(
      new CreateTrailCommand({ Name: LOCAL_TRAIL, S3BucketName: LOCAL_TRAIL, IsMultiRegionTrail: true }),
    );
    await cloudTrail.send(new StartLoggingCommand({ Name: LOCAL_TRAIL }));
  } finally {
    s3.destroy();
    cloudTrail.destroy();
  }
}

/** Puts the Kong admin token where the deployed functions find it: a Secrets Manager secret. Returns its ARN. */
async function storeAdminToken(aws: AwsDouble, token: string): Promise<string> {
  const sm = new SecretsManagerJsonClient(
    { region: aws.region, credentials: { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' } },
    { AWS_ENDPOINT_URL: aws.url },
  );
  try {
    const created = await sm.createSecret({ Name: ADMIN_TOKEN_SECRET_NAME, SecretString: token });
    if (!created.ARN) throw new Error(`the AWS double returned no ARN for secret ${ADMIN_TOKEN_SECRET_NAME}`);
    return created.ARN;
  } finally {
    sm.destroy();
  }
}
