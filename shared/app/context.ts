import { InvocationType, InvokeCommand } from '@aws-sdk/client-lambda';
import { type AwsClients, awsClients } from '../aws/clients.js';
import { type Config, config as processConfig } from '../config/index.js';
import { type AuditPublisher, EventBridgeAuditPublisher } from '../events/audit.js';
import type { KongClient } from '../kong/client.js';
import { kongClientFromConfig } from '../kong/index.js';
import type { OperationsDeps } from '../rollback/operations.js';
import { type RotationDeps, type RotationLogger, readConsumers } from '../rotation/index.js';
import { type StateStore, stateStoreFromConfig } from '../snapshots/index.js';
import { resolveCloudMapService } from '../sources/cloudmap/index.js';
import { createSources, readMesh, readMeshFedBy } from '../sources/index.js';
import { readMeshCa } from '../sources/mesh-ca.js';
import type { MeshSyncDeps } from '../sync/mesh-sync.js';

/**
 * The composition root: configuration, AWS clients and the ports the core needs, built once per process (at cold
 * start for a Lambda) and shared by the handlers and the CLI. The Kong client is created on first use because its
 * admin token is read from Secrets Manager.
 */
export interface App {
  readonly config: Config;
  readonly clients: AwsClients;
  readonly store: StateStore;
  readonly audit: AuditPublisher;
  kong(): Promise<KongClient>;
  meshSyncDeps(): Promise<MeshSyncDeps>;
  operationsDeps(requestSync: (reason: string) => Promise<void>): Promise<OperationsDeps>;
  rotationDeps(logger?: RotationLogger): Promise<RotationDeps>;
}

export function createApp(config: Config = processConfig(), clients: AwsClients = awsClients()): App {
  let kong: Promise<KongClient> | undefined;
  const store = stateStoreFromConfig(config, clients.s3);
  const audit = new EventBridgeAuditPublisher(clients.eventBridge, config.AUDIT_BUS_NAME, config.MESHGATE_INSTANCE);
  const sources = createSources(config, clients);
  const app: App = {
    config,
    clients,
    store,
    audit,
    kong() {
      kong ??= kongClientFromConfig(config, clients.secretsManager).catch((error: unknown) => {
        kong = undefined; // a failed token read is retried by the next invocation
        throw error;
      });
      return kong;
    },
    async meshSyncDeps() {
      return {
        kong: await app.kong(),
        store,
        audit,
        readMesh: (signal) => readMesh(sources, signal),
        readMeshFedBy: (cloudMap, signal) => readMeshFedBy(sources, cloudMap, signal),
        readConsumers: () => readConsumers(clients.secretsManager, { graceMs: config.KEY_GRACE_PERIOD }),
        resolveCloudMapService: (serviceId) => resolveCloudMapService(clients.serviceDiscovery, serviceId),
        ...(config.MESH_CA_SECRET_ARN
          ? { readMeshCa: () => readMeshCa(clients.secretsManager, config.MESH_CA_SECRET_ARN as string) }
          : {}),
      };
    },
    async rotationDeps(logger) {
      return {
        secretsManager: clients.secretsManager,
        kong: await app.kong(),
        instance: config.MESHGATE_INSTANCE,
        alg: config.JWT_ALGORITHM,
        graceMs: config.KEY_GRACE_PERIOD,
        audit,
        logger,
      };
    },
    async operationsDeps(requestSync) {
      return { kong: await app.kong(), secretsManager: clients.secretsManager, store, audit, requestSync };
    },
  };
  return app;
}

/** A value created on first use and kept (a Lambda's app: built at the first invocation, reused by warm ones). */
export function lazy<T>(create: () => T): () => T {
  let value: { created: T } | undefined;
  return () => {
    value ??= { created: create() };
    return value.created;
  };
}

/** Deployed name of one of meshgate's functions, as serverless.yml names it: `meshgate-<stage>-<function>`. */
export function functionName(stage: string, fn: 'meshSync' | 'rotateKeys' | 'rollback'): string {
  return `meshgate-${stage}-${fn}`;
}

/** Asks the deployed meshSync for a full sync, asynchronously (as EventBridge would). */
export function requestSyncByInvoke(clients: AwsClients, stage: string): (reason: string) => Promise<void> {
  return async (reason) => {
    await clients.lambda.send(
      new InvokeCommand({
        FunctionName: functionName(stage, 'meshSync'),
        InvocationType: InvocationType.Event,
        Payload: Buffer.from(JSON.stringify({ action: 'sync', reason })),
      }),
    );
  };
}
