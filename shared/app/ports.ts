import type { CloudMapReads } from '../aws/cloud-map-reads.js';
import type { SecretsManagerCalls } from '../aws/secrets-manager.js';
import type { Config } from '../config/index.js';
import type { AuditPublisher } from '../events/audit.js';
import type { ConfiguredKong } from '../kong/admin-token.js';
import { kongClientFromConfig } from '../kong/index.js';
import type { RotationDeps, RotationLogger } from '../rotation/index.js';
import type { StateStore } from '../state/index.js';

// Parts every composition root shares; this module imports no AWS SDK client, so a root that imports it loads only
// the clients it creates itself.

/**
 * The Kong client, created on first use (its admin token is read from Secrets Manager) and kept; a failed token
 * read is retried by the next call.
 */
export function kongOnce(
  config: Config,
  secretsManager: SecretsManagerCalls,
  cloudMap?: CloudMapReads,
): () => Promise<ConfiguredKong> {
  let kong: Promise<ConfiguredKong> | undefined;
  return () => {
    kong ??= kongClientFromConfig(config, secretsManager, cloudMap).catch((error: unknown) => {
      kong = undefined;
      throw error;
    });
    return kong;
  };
}

export function rotationDepsFrom(
  config: Config,
  ports: {
    secretsManager: SecretsManagerCalls;
    kong: () => Promise<ConfiguredKong>;
    audit: AuditPublisher;
    store: StateStore;
    requestSync?: (reason: string) => Promise<void>;
  },
): (logger?: RotationLogger) => Promise<RotationDeps> {
  return async (logger) => ({
    secretsManager: ports.secretsManager,
    kong: await ports.kong(),
    instance: config.MESHGATE_INSTANCE,
    alg: config.JWT_ALGORITHM,
    graceMs: config.KEY_GRACE_PERIOD,
    store: ports.store,
    requestSync: ports.requestSync,
    secretPrefix: config.CONSUMER_SECRET_PREFIX,
    audit: ports.audit,
    logger,
  });
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
