import type { S3ObjectClient } from '../aws/s3-objects.js';
import type { Config } from '../config/index.js';
import { BackedStateStore, type Retention } from './backed-store.js';
import { DirectoryBackend } from './dir.js';
import { S3Backend } from './s3.js';
import { SnapshotError, type StateStore } from './store.js';

export { BackedStateStore, DEFAULT_RETENTION, type ObjectBackend, type Retention } from './backed-store.js';
export { DirectoryBackend } from './dir.js';
export * from './lease.js';
export * from './public-keys.js';
export { S3Backend } from './s3.js';
export * from './store.js';

export function s3StateStore(s3: S3ObjectClient, bucket: string, instance: string, retention?: Retention): StateStore {
  return new BackedStateStore(new S3Backend(s3, bucket), instance, retention);
}

export function directoryStateStore(directory: string, instance: string, retention?: Retention): StateStore {
  return new BackedStateStore(new DirectoryBackend(directory), instance, retention);
}

/** The store the configuration names: SNAPSHOT_BUCKET on AWS wins over MESHGATE_STATE_DIR. */
export function stateStoreFromConfig(
  config: Pick<Config, 'SNAPSHOT_BUCKET' | 'MESHGATE_STATE_DIR' | 'MESHGATE_INSTANCE'>,
  s3: S3ObjectClient,
): StateStore {
  if (config.SNAPSHOT_BUCKET) return s3StateStore(s3, config.SNAPSHOT_BUCKET, config.MESHGATE_INSTANCE);
  if (config.MESHGATE_STATE_DIR) return directoryStateStore(config.MESHGATE_STATE_DIR, config.MESHGATE_INSTANCE);
  throw new SnapshotError('no state store configured: set SNAPSHOT_BUCKET or MESHGATE_STATE_DIR');
}
