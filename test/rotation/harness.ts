import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { credentialsForRole } from '../../local/aws/identity.js';
import { type AwsDouble, type LambdaHandler, startAwsDouble } from '../../local/aws/server.js';
import { type KongDouble, startKongDouble } from '../../local/kong/server.js';
import { SecretsManagerJsonClient } from '../../shared/aws/secrets-manager.js';
import { ensureCredentials, retireCredentials } from '../../shared/consumers/credentials.js';
import type { KeyAlgorithm } from '../../shared/consumers/keys.js';
import { addConsumer, readConsumers } from '../../shared/consumers/registry.js';
import { AWSCURRENT, AWSPENDING, holderOf } from '../../shared/consumers/secrets.js';
import type { AuditDetailType, AuditPublisher } from '../../shared/events/audit.js';
import { KongClient } from '../../shared/kong/client.js';
import type { RotationDeps } from '../../shared/rotation/deps.js';
import { type RotationEvent, rotateStep } from '../../shared/rotation/steps.js';
import { startRotation } from '../../shared/rotation-schedule/schedule.js';
import { directoryStateStore } from '../../shared/state/index.js';
import { mintToken } from '../../shared/tokens/mint.js';
import { TEST_ADMIN_TOKEN } from '../support/secrets.js';

export const FUNCTION_NAME = 'meshgate-local-rotateKeys';
export const INSTANCE = 'test';

/** The Kong double, the AWS double, clients without retries, and the rotation function registered in the double. */
export interface RotationWorld {
  aws: AwsDouble;
  kongDouble: KongDouble;
  /** meshgate's client, as the operator (the CLI's calls). */
  sm: SecretsManagerJsonClient;
  /** The SDK's client, as the operator: for setup meshgate's client has no call for. */
  sdk: SecretsManagerClient;
  kong: KongClient;
  deps: RotationDeps;
  functionArn: string;
  audit: { detailType: AuditDetailType; detail: Record<string, unknown> }[];
  /** Replaces the function the double invokes; `next` runs the real rotation step. */
  wrapFunction(
    wrapper: (event: RotationEvent, next: (event: RotationEvent) => Promise<unknown>) => Promise<unknown>,
  ): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startRotationWorld(
  options: { graceMs?: number; alg?: KeyAlgorithm } = {},
): Promise<RotationWorld> {
  const aws = await startAwsDouble();
  const kongDouble = await startKongDouble({ adminToken: TEST_ADMIN_TOKEN });
  const operator = { accessKeyId: 'test', secretAccessKey: 'test' };
  const endpoint = { AWS_ENDPOINT_URL: aws.url };
  const sm = new SecretsManagerJsonClient({ region: aws.region, credentials: operator, maxAttempts: 1 }, endpoint);
  const sdk = new SecretsManagerClient({
    endpoint: aws.url,
    region: aws.region,
    credentials: operator,
    maxAttempts: 1,
  });
  // The function calls Secrets Manager as its role (enforced by the double); the test itself is the operator.
  const asRotateKeys = new SecretsManagerJsonClient(
    {
      region: aws.region,
      credentials: credentialsForRole(aws.functionRoles.rotateKeys!, FUNCTION_NAME),
      maxAttempts: 1,
    },
    endpoint,
  );
  const kong = new KongClient({ url: kongDouble.url, token: TEST_ADMIN_TOKEN, retry: { maxAttempts: 1 } });
  const audit: RotationWorld['audit'] = [];
  const publisher: AuditPublisher = {
    publish: async (detailType, detail) => {
      audit.push({ detailType, detail });
    },
  };
  const deps: RotationDeps = {
    secretsManager: asRotateKeys,
    kong,
    instance: INSTANCE,
    alg: options.alg ?? 'ES256',
    graceMs: options.graceMs ?? 3_600_000,
    store: directoryStateStore(mkdtempSync(join(tmpdir(), 'meshgate-rotation-')), INSTANCE),
    audit: publisher,
  };
  const real = (event: RotationEvent) => rotateStep(deps, event);
  const register = (handler: LambdaHandler) => aws.registerFunction(FUNCTION_NAME, handler);
  register(async (event) => real(event as RotationEvent));
  return {
    aws,
    kongDouble,
    sm,
    sdk,
    kong,
    deps,
    functionArn: `arn:aws:lambda:${aws.region}:${aws.account}:function:${FUNCTION_NAME}`,
    audit,
    wrapFunction(wrapper) {
      register(async (event) => wrapper(event as RotationEvent, real));
    },
    reset() {
      aws.reset();
      kongDouble.reset();
      audit.length = 0;
      register(async (event) => real(event as RotationEvent));
    },
    async close() {
      sm.destroy();
      sdk.destroy();
      asRotateKeys.destroy();
      kong.close();
      await Promise.all([aws.close(), kongDouble.close()]);
    },
  };
}

/** Creates a consumer with rotation configured and publishes it to Kong the way sync does. */
export async function addSyncedConsumer(world: RotationWorld, username: string): Promise<void> {
  await addConsumer(world.sm, {
    username,
    alg: world.deps.alg,
    rotationLambdaArn: world.functionArn,
    publish: { store: world.deps.store, graceMs: world.deps.graceMs },
  });
  await syncConsumers(world);
}

/**
 * What meshSync does for consumers: Kong ends up with exactly readConsumers' live credentials, read as meshSync
 * reads them (labels from ListSecrets, public keys from the state store's document).
 */
export async function syncConsumers(world: RotationWorld): Promise<void> {
  const { consumers, failures } = await readConsumers(world.sm, {
    graceMs: world.deps.graceMs,
    keyState: await world.deps.store.readKeyState(),
    publicKeys: { document: await world.deps.store.readPublicKeys() },
  });
  if (failures.length > 0) throw new Error(`readConsumers failures: ${JSON.stringify(failures)}`);
  for (const spec of consumers) {
    await ensureCredentials(world.kong, INSTANCE, spec);
    await retireCredentials(world.kong, INSTANCE, spec.username, new Set(spec.keys.map((key) => key.kid)));
  }
}

export function rotate(world: RotationWorld, username: string) {
  // The daily job's call, as the rotateKeys role: it needs lambda:InvokeFunction on the rotation function too.
  return startRotation(world.deps.secretsManager, username);
}

export async function labels(world: RotationWorld, username: string): Promise<Record<string, string[]>> {
  const described = await world.sdk.send(new DescribeSecretCommand({ SecretId: `meshgate/consumers/${username}` }));
  return described.VersionIdsToStages ?? {};
}

export async function currentVersion(world: RotationWorld, username: string): Promise<string | undefined> {
  return holderOf(await labels(world, username), AWSCURRENT);
}

/** AWSPENDING on a version other than AWSCURRENT's (what blocks the next RotateSecret). */
export async function blockingPending(world: RotationWorld, username: string): Promise<string | undefined> {
  const stages = await labels(world, username);
  const pending = holderOf(stages, AWSPENDING);
  return pending && pending !== holderOf(stages, AWSCURRENT) ? pending : undefined;
}

/** Kong's verdict on a fresh token signed with the consumer's AWSCURRENT key. */
export async function currentTokenVerdict(world: RotationWorld, username: string) {
  const { token, kid } = await mintToken(world.sm, username, { ttlSeconds: 300 });
  return { kid, token, verdict: world.kongDouble.verifyJwt(token, { keyClaimName: 'kid' }) };
}

export async function kongKids(world: RotationWorld, username: string): Promise<string[]> {
  const credentials = await world.kong.list('jwt');
  const consumer = await world.kong.get('consumer', username);
  return credentials
    .filter((credential) => credential.consumer.id === consumer?.id)
    .map((credential) => credential.key)
    .sort();
}

export { RotateSecretCommand, UpdateSecretVersionStageCommand };
