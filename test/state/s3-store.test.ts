import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsDouble, startAwsDouble } from '../../local/aws/server.js';
import { type AwsClients, createAwsClients } from '../../shared/aws/clients.js';
import { emptyKongState } from '../../shared/kong/entities.js';
import { SnapshotError, s3StateStore, stateStoreFromConfig } from '../../shared/state/index.js';
import { stateStoreContract } from './contract.js';

let double: AwsDouble;
let clients: AwsClients;
/** The real SDK client, to create buckets (the store itself makes its calls through its own S3 client). */
let sdk: S3Client;
let bucket: string;
let buckets = 0;
const savedEnv = { ...process.env };

beforeAll(async () => {
  double = await startAwsDouble();
  // The SDK reads endpoint and credentials from the environment, as it does on Lambda.
  Object.assign(process.env, double.env());
  clients = createAwsClients(process.env);
  sdk = new S3Client({ region: double.region, forcePathStyle: true });
});
afterAll(async () => {
  clients.s3.destroy();
  sdk.destroy();
  await double.close();
  process.env = savedEnv;
});
beforeEach(async () => {
  bucket = `meshgate-snapshots-${++buckets}`;
  await sdk.send(new CreateBucketCommand({ Bucket: bucket }));
});

describe('S3 state store', () => {
  stateStoreContract(async (instance, retention) => s3StateStore(clients.s3, bucket, instance, retention));

  it('is chosen when SNAPSHOT_BUCKET is set and lays keys out per instance', async () => {
    const store = stateStoreFromConfig(
      { SNAPSHOT_BUCKET: bucket, MESHGATE_STATE_DIR: '/unused', MESHGATE_INSTANCE: 'prod' },
      clients.s3,
    );
    const id = await store.save(emptyKongState(), { trigger: 'schedule' });
    await store.setFreeze({ reason: 'x', by: 'y' });
    await store.recordRun({ kind: 'sync', trigger: 't', outcome: 'applied', startedAt: 'now', durationMs: 1 });
    const writes = double.requests.entries.filter((entry) => entry.method === 'PUT').map((entry) => entry.path);
    expect(writes).toEqual(
      expect.arrayContaining([
        `/${bucket}/prod/snapshots/${id}.json`,
        `/${bucket}/prod/freeze.json`,
        expect.stringMatching(new RegExp(`^/${bucket}/prod/runs/.+\\.json$`)),
      ]),
    );
  });

  it('turns S3 failures into SnapshotErrors naming the bucket', async () => {
    const store = s3StateStore(clients.s3, 'no-such-bucket', 'prod');
    await expect(store.save(emptyKongState(), { trigger: 't' })).rejects.toThrow(SnapshotError);
    await expect(store.list()).rejects.toThrow(/s3:\/\/no-such-bucket/);
  });
});
