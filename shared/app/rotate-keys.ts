import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clientSettings } from '../aws/options.js';
import { type Config, config as processConfig } from '../config/index.js';
import { EventBridgeAuditPublisher } from '../events/audit.js';
import type { RotationDeps, RotationLogger } from '../rotation/index.js';
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
  const { region } = clientSettings(env);
  const secretsManager = new SecretsManagerClient({ region });
  const audit = new EventBridgeAuditPublisher(
    new EventBridgeClient({ region }),
    config.AUDIT_BUS_NAME,
    config.MESHGATE_INSTANCE,
  );
  return { rotationDeps: rotationDepsFrom(config, secretsManager, kongOnce(config, secretsManager), audit) };
}
