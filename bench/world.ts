import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
  ServiceDiscoveryClient,
} from '@aws-sdk/client-servicediscovery';
import { type AwsDouble, startAwsDouble } from '../local/aws/server.js';
import { type KongDouble, startKongDouble } from '../local/kong/server.js';
import { type SecretsManagerCalls, SecretsManagerJsonClient } from '../shared/aws/secrets-manager.js';
import { mapLimit } from '../shared/concurrency.js';
import { addConsumer } from '../shared/consumers/index.js';
import { KongClient } from '../shared/kong/client.js';
import { DeclarativeKong } from '../shared/kong/declarative.js';
import type { RotationDeps } from '../shared/rotation/deps.js';
import { type RotationEvent, rotateStep } from '../shared/rotation/steps.js';
import { startRotation } from '../shared/rotation-schedule/schedule.js';
import { directoryStateStore } from '../shared/state/index.js';

export const INSTANCE = 'bench';
export const NAMESPACE = 'bench.local';
const ROTATION_FUNCTION = 'meshgate-bench-rotateKeys';
/** Setup calls in flight at once against the AWS double. */
const SETUP_CONCURRENCY = 16;
/** The rotation schedule starts this many RotateSecret calls at once (shared/rotation-schedule/schedule.ts). */
export const ROTATION_CONCURRENCY = 8;

/**
 * The Kong and AWS doubles in the bench process, with a mesh of exposed Cloud Map services and consumer key
 * secrets built through the real SDK, and the rotation core registered as the function Secrets Manager invokes.
 */
export interface World {
  aws: AwsDouble;
  kong: KongDouble;
  sm: SecretsManagerJsonClient;
  cloudMap: ServiceDiscoveryClient;
  namespaceId: string;
  /** Cloud Map service ids by service name. */
  serviceIds: Map<string, string>;
  consumers: string[];
  stateDir: string;
  /** The environment a meshgate process needs to run against these doubles. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface WorldSize {
  services: number;
  consumers: number;
  /** `dbless`: a DB-less Kong double, configured by meshgate through `POST /config` (KONG_MODE=dbless). */
  kongMode?: 'db' | 'dbless';
}

export async function startWorld(size: WorldSize): Promise<World> {
  const [aws, kong] = await Promise.all([startAwsDouble(), startKongDouble({ mode: size.kongMode })]);
  const credentials = { accessKeyId: 'b', secretAccessKey: 'b' };
  // meshgate's own client: the rotation steps below run on this one.
  const sm = new SecretsManagerJsonClient({ region: aws.region, credentials }, { AWS_ENDPOINT_URL: aws.url });
  const cloudMap = new ServiceDiscoveryClient({
    endpoint: aws.url,
    region: aws.region,
    credentials,
    cacheMiddleware: true,
    disableHostPrefix: true,
  });
  const rotationKong =
    size.kongMode === 'dbless'
      ? new DeclarativeKong({ nodes: [kong.url], instance: INSTANCE })
      : new KongClient({ url: kong.url });
  const stateDir = mkdtempSync(join(tmpdir(), 'meshgate-bench-'));
  const rotationDeps: RotationDeps = {
    secretsManager: sm,
    kong: rotationKong,
    instance: INSTANCE,
    alg: 'ES256',
    graceMs: 3_600_000,
    store: directoryStateStore(stateDir, INSTANCE),
  };
  aws.registerFunction(ROTATION_FUNCTION, async (event) => rotateStep(rotationDeps, event as RotationEvent));

  const namespaceId = await createNamespace(cloudMap, NAMESPACE);
  const serviceIds = await exposeServices(cloudMap, namespaceId, size.services);
  const consumers = Array.from({ length: size.consumers }, (_, i) => `consumer-${String(i).padStart(3, '0')}`);
  const rotationLambdaArn = `arn:aws:lambda:${aws.region}:${aws.account}:function:${ROTATION_FUNCTION}`;
  await mapLimit(consumers, SETUP_CONCURRENCY, (username) =>
    addConsumer(sm, {
      username,
      alg: 'ES256',
      rotationLambdaArn,
      publish: { store: rotationDeps.store, graceMs: rotationDeps.graceMs },
    }),
  );
  // One rotation each: AWSCURRENT and AWSPREVIOUS (within the grace period) give two credentials per consumer. One
  // at a time: each step that writes Kong holds the state store's lease, and the AWS double runs the steps inside
  // RotateSecret, so a step that finds the lease taken fails instead of being retried later as AWS would.
  await mapLimit(consumers, 1, (username) => startRotation(sm, username));
  kong.reset();

  const env = {
    ...aws.env(),
    KONG_ADMIN_URL: kong.url,
    KONG_MODE: size.kongMode ?? 'db',
    MESHGATE_INSTANCE: INSTANCE,
    MESHGATE_STATE_DIR: stateDir,
    CLOUDMAP_NAMESPACES: NAMESPACE,
    MESH_NAMES: '',
  };
  return {
    aws,
    kong,
    sm,
    cloudMap,
    namespaceId,
    serviceIds,
    consumers,
    stateDir,
    env,
    async close() {
      sm.destroy();
      cloudMap.destroy();
      rotationKong.close();
      await Promise.all([aws.close(), kong.close()]);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** RotateSecret for each consumer; the AWS double runs the four steps through the registered rotation function. */
export async function rotateAll(sm: SecretsManagerCalls, consumers: readonly string[]): Promise<void> {
  await mapLimit(consumers, ROTATION_CONCURRENCY, (username) => startRotation(sm, username));
}

async function createNamespace(cloudMap: ServiceDiscoveryClient, name: string): Promise<string> {
  const { OperationId } = await cloudMap.send(new CreateHttpNamespaceCommand({ Name: name }));
  const { Operation } = await cloudMap.send(new GetOperationCommand({ OperationId }));
  const id = Operation?.Targets?.NAMESPACE;
  if (!id) throw new Error(`namespace ${name} was not created`);
  return id;
}

export const serviceName = (index: number) => `svc-${String(index).padStart(5, '0')}`;

/** An IPv4 address per (service, instance) that stays unique up to 65,536 services. */
export const instanceAddress = (service: number, instance: number) =>
  `10.${instance}.${Math.floor(service / 256)}.${service % 256}`;

/** `count` services tagged `meshgate:expose`, one instance each: one upstream, target, service and route apiece. */
async function exposeServices(
  cloudMap: ServiceDiscoveryClient,
  namespaceId: string,
  count: number,
): Promise<Map<string, string>> {
  const indexes = Array.from({ length: count }, (_, i) => i);
  const ids = await mapLimit(indexes, SETUP_CONCURRENCY, async (index) => {
    const { Service } = await cloudMap.send(
      new CreateServiceCommand({
        Name: serviceName(index),
        NamespaceId: namespaceId,
        Tags: [{ Key: 'meshgate:expose', Value: 'true' }],
      }),
    );
    const serviceId = Service?.Id ?? '';
    await registerInstance(cloudMap, serviceId, index, 0);
    return serviceId;
  });
  return new Map(indexes.map((index) => [serviceName(index), ids[index] ?? '']));
}

export async function registerInstance(
  cloudMap: ServiceDiscoveryClient,
  serviceId: string,
  service: number,
  instance: number,
): Promise<void> {
  await cloudMap.send(
    new RegisterInstanceCommand({
      ServiceId: serviceId,
      InstanceId: `i-${service}-${instance}`,
      Attributes: { AWS_INSTANCE_IPV4: instanceAddress(service, instance), AWS_INSTANCE_PORT: '8080' },
    }),
  );
}
