import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3ObjectClient } from '../aws/s3-objects.js';
import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import type { Config } from '../config/index.js';
import { readConsumers } from '../consumers/index.js';
import { type AuditPublisher, EventBridgeAuditPublisher } from '../events/audit.js';
import type { ConfiguredKong } from '../kong/admin-token.js';
import type { MeshSyncDeps } from '../mesh-sync/pipeline.js';
import type { OperationsDeps } from '../operations/operations.js';
import type { RotationDeps, RotationLogger } from '../rotation/index.js';
import { type OperationOutcome, waitForOperation } from '../sources/cloudmap/operations.js';
import { resolveCloudMapService } from '../sources/cloudmap/resolve.js';
import { createSources, readMesh, readMeshFedBy, type SourceClients } from '../sources/index.js';
import { readMeshCa } from '../sources/mesh-ca.js';
import { type StateStore, stateStoreFromConfig } from '../state/index.js';
import { kongOnce, rotationDepsFrom } from './ports.js';

export { functionName, kongOnce, lazy, rotationDepsFrom } from './ports.js';

/**
 * What the handlers and the CLI ask of a composition root: configuration and the ports the core needs. Each
 * function has its own root (shared/app/mesh-sync.ts, rollback.ts, rotate-keys.ts; the CLI's is context.ts) that
 * builds only the AWS clients it calls and passes them to `assembleApp`; this module imports no SDK client.
 */
export interface App {
  readonly config: Config;
  readonly store: StateStore;
  readonly audit: AuditPublisher;
  kong(): Promise<ConfiguredKong>;
  meshSyncDeps(): Promise<MeshSyncDeps>;
  operationsDeps(requestSync: (reason: string) => Promise<void>): Promise<OperationsDeps>;
  rotationDeps(logger?: RotationLogger): Promise<RotationDeps>;
  /** Waits, bounded, until Cloud Map reports a registration's asynchronous operation done. */
  waitForCloudMapOperation(operationId: string): Promise<OperationOutcome>;
}

/** The clients `assembleApp` wires: the state store's, the audit bus's, the keys' and the mesh sources'. */
export interface AppClients extends SourceClients {
  secretsManager: SecretsManagerCalls;
  eventBridge: EventBridgeClient;
  s3: S3ObjectClient;
}

/**
 * `requestSync` asks for a full sync: the rotation steps that find the lease held mark "pending" and, where the
 * holder may be gone, ask for one (the CLI and rollback invoke the deployed meshSync; meshSync itself needs none).
 */
export function assembleApp(config: Config, clients: AppClients, requestSync?: (reason: string) => Promise<void>): App {
  const kong = kongOnce(config, clients.secretsManager, clients.cloudMapReads);
  const store = stateStoreFromConfig(config, clients.s3);
  const audit = new EventBridgeAuditPublisher(clients.eventBridge, config.AUDIT_BUS_NAME, config.MESHGATE_INSTANCE);
  const sources = createSources(config, clients);
  const app: App = {
    config,
    store,
    audit,
    kong,
    async meshSyncDeps() {
      return {
        kong: await kong(),
        store,
        audit,
        readMesh: (signal) => readMesh(sources, signal),
        readMeshFedBy: (cloudMap, signal) => readMeshFedBy(sources, cloudMap, signal),
        // Promotions and key rollbacks in progress decide live keys beside the labels; read with them, under the lease.
        // Public keys come from the state store's public-key document: meshSync and rollback read no private key.
        readConsumers: async () => {
          const [keyState, document] = await Promise.all([store.readKeyState(), store.readPublicKeys()]);
          return readConsumers(clients.secretsManager, {
            graceMs: config.KEY_GRACE_PERIOD,
            secretPrefix: config.CONSUMER_SECRET_PREFIX,
            keyState,
            publicKeys: { document },
          });
        },
        resolveCloudMapService: (serviceId) => resolveCloudMapService(clients.cloudMapReads, serviceId),
        ...(config.MESH_CA_SECRET_ARN
          ? { readMeshCa: () => readMeshCa(clients.secretsManager, config.MESH_CA_SECRET_ARN as string) }
          : {}),
      };
    },
    rotationDeps: rotationDepsFrom(config, {
      secretsManager: clients.secretsManager,
      kong,
      audit,
      store,
      requestSync,
    }),
    waitForCloudMapOperation: (operationId) => waitForOperation(clients.cloudMapReads, operationId),
    async operationsDeps(requestSync) {
      const { readConsumers } = await app.meshSyncDeps();
      return { kong: await kong(), secretsManager: clients.secretsManager, store, audit, requestSync, readConsumers };
    },
  };
  return app;
}
