import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Error, S3ObjectClient } from '../../shared/aws/s3-objects.js';
import { useAwsDouble } from '../local/aws/double.js';

// The state store's own S3 calls against the S3 double, beside the real SDK client (which proves the double).
const aws = useAwsDouble();
const Bucket = 'meshgate-state';

function client(maxAttempts?: number): S3ObjectClient {
  const double = aws.double();
  return new S3ObjectClient(
    {
      region: double.region,
      credentials: { accessKeyId: 'meshgate-local', secretAccessKey: 'meshgate-local' },
      ...(maxAttempts ? { maxAttempts } : {}),
    },
    { AWS_ENDPOINT_URL: double.url },
  );
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(S3Error);
    return { code: (error as S3Error).code, status: (error as S3Error).status };
  }
  throw new Error('expected the call to fail');
}

const writes = () => aws.double().requests.entries.filter((entry) => entry.operation === 'PutObject');

describe('S3ObjectClient (the state store S3 calls, without the SDK client)', () => {
  it('reads back what it wrote, with the ETag S3 gave, and what the SDK wrote', async () => {
    await aws.clients().s3.send(new CreateBucketCommand({ Bucket }));
    const s3 = client();
    const etag = await s3.putObject(Bucket, 'prod/a b+c.json', '{"ü":1}');
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await s3.getObject(Bucket, 'prod/a b+c.json')).toEqual({ body: '{"ü":1}', etag });
    const sdkRead = await aws.clients().s3.send(new GetObjectCommand({ Bucket, Key: 'prod/a b+c.json' }));
    expect(await sdkRead.Body?.transformToString()).toBe('{"ü":1}');
    await aws.clients().s3.send(new PutObjectCommand({ Bucket, Key: "prod/it's(1).json", Body: 'sdk' }));
    expect((await s3.getObject(Bucket, "prod/it's(1).json")).body).toBe('sdk');
  });

  it('answers S3 error codes: NoSuchKey, NoSuchBucket, and the conditional writes that lost', async () => {
    await aws.clients().s3.send(new CreateBucketCommand({ Bucket }));
    const s3 = client();
    expect(await failure(s3.getObject(Bucket, 'missing'))).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(await failure(s3.getObject('no-such-bucket', 'k'))).toEqual({ code: 'NoSuchBucket', status: 404 });
    const etag = await s3.putObject(Bucket, 'lease', 'a', { ifNoneMatch: '*' });
    expect(await failure(s3.putObject(Bucket, 'lease', 'b', { ifNoneMatch: '*' }))).toEqual({
      code: 'PreconditionFailed',
      status: 412,
    });
    expect(await failure(s3.putObject(Bucket, 'lease', 'b', { ifMatch: '"0123"' }))).toEqual({
      code: 'PreconditionFailed',
      status: 412,
    });
    const next = await s3.putObject(Bucket, 'lease', 'b', { ifMatch: etag });
    expect(await failure(s3.deleteObject(Bucket, 'lease', etag))).toEqual({ code: 'PreconditionFailed', status: 412 });
    await s3.deleteObject(Bucket, 'lease', next);
    expect(await failure(s3.getObject(Bucket, 'lease'))).toEqual({ code: 'NoSuchKey', status: 404 });
  });

  it('retries 503 SlowDown with backoff, and gives up after its attempts', async () => {
    await aws.clients().s3.send(new CreateBucketCommand({ Bucket }));
    const slowDown = { method: 'PUT', path: `/${Bucket}/k`, status: 503, body: { code: 'SlowDown' } };
    aws.double().faults.inject({ ...slowDown, times: 2 });
    await client().putObject(Bucket, 'k', 'v');
    expect(writes()).toHaveLength(3);

    aws.double().faults.inject({ ...slowDown, times: Infinity });
    expect(await failure(client(2).putObject(Bucket, 'k', 'w'))).toEqual({ code: 'SlowDown', status: 503 });
    expect(writes()).toHaveLength(5);
    aws.double().faults.clear();
    expect((await client().getObject(Bucket, 'k')).body).toBe('v');
  });

  it('never retries an answer that will not change (a lost condition is final)', async () => {
    await aws.clients().s3.send(new CreateBucketCommand({ Bucket }));
    const s3 = client();
    await s3.putObject(Bucket, 'k', 'v');
    await failure(s3.putObject(Bucket, 'k', 'w', { ifNoneMatch: '*' }));
    expect(writes()).toHaveLength(2);
  });

  it('lists every key under a prefix across pages, XML escapes decoded', { timeout: 30_000 }, async () => {
    await aws.clients().s3.send(new CreateBucketCommand({ Bucket }));
    const s3 = client();
    const keys = Array.from({ length: 1003 }, (_, index) => `runs/${String(index).padStart(4, '0')}&<'">.json`);
    for (let start = 0; start < keys.length; start += 50)
      await Promise.all(keys.slice(start, start + 50).map((key) => s3.putObject(Bucket, key, '{}')));
    await s3.putObject(Bucket, 'snapshots/x.json', '{}');

    expect(await s3.listKeys(Bucket, 'runs/')).toEqual(keys);
    const lists = aws.double().requests.entries.filter((entry) => entry.operation === 'ListObjectsV2');
    expect(lists).toHaveLength(2);
  });
});
