import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { clientSettings } from '../aws/options.js';
import { S3ObjectClient } from '../aws/s3-objects.js';
import { SecretsManagerJsonClient } from '../aws/secrets-manager.js';
import { type Config, config as processConfig } from '../config/index.js';
import { EventBridgeAuditPublisher } from '../events/audit.js';
import { requestSyncByEvent } from '../events/sync-request.js';
import type { RotationDeps, RotationLogger } from '../rotation/index.js';
import { stateStoreFromConfig } from '../state/index.js';
import { kongOnce, rotationDepsFrom } from './ports.js';

/** What rotateKeys needs: the rotation core's dependencies. */
export interface RotateKeysApp {
  rotationDeps(logger?: RotationLogger): Promise<RotationDeps>;
}

/** rotateKeys' composition root: Secrets Manager (keys, admin token) and EventBridge (audit), nothing of the mesh. */
export function createRotateKeysApp(
  config: Config = processConfig(),
  env: NodeJS.ProcessEnv = process.env,
): RotateKeysApp {
  const { common } = clientSettings(env);
  const secretsManager = new SecretsManagerJsonClient(common, env);
  const eventBridge = new EventBridgeClient(common);
  const audit = new EventBridgeAuditPublisher(eventBridge, config.AUDIT_BUS_NAME, config.MESHGATE_INSTANCE);
  // The state store holds the lease the steps that write Kong take; a step that found it held asks for a sync.
  const store = stateStoreFromConfig(config, new S3ObjectClient(common, env));
  const requestSync = requestSyncByEvent(eventBridge, config.MESHGATE_STAGE);
  return {
    rotationDeps: rotationDepsFrom(config, {
      secretsManager,
      kong: kongOnce(config, secretsManager),
      audit,
      store,
      requestSync,
    }),
  };
}
