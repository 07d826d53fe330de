import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { useAwsDouble } from './double.js';

const aws = useAwsDouble();
const s3 = () => aws.clients().s3;
const Bucket = 'meshgate-snapshots';

describe('S3', () => {
  it('creates a versioned, encrypted bucket and round-trips objects with metadata', async () => {
    await s3().send(new CreateBucketCommand({ Bucket }));
    await s3().send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await s3().send(
      new PutBucketEncryptionCommand({
        Bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      }),
    );
    const put = await s3().send(
      new PutObjectCommand({
        Bucket,
        Key: 'snapshots/2027/a b.json',
        Body: '{"services":[]}',
        ContentType: 'application/json',
        Metadata: { trigger: 'schedule' },
      }),
    );
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(put.VersionId).toBeTruthy();

    const got = await s3().send(new GetObjectCommand({ Bucket, Key: 'snapshots/2027/a b.json' }));
    expect(await got.Body?.transformToString()).toBe('{"services":[]}');
    expect(got).toMatchObject({ ContentType: 'application/json', ETag: put.ETag, Metadata: { trigger: 'schedule' } });
    const head = await s3().send(new HeadObjectCommand({ Bucket, Key: 'snapshots/2027/a b.json' }));
    expect(head.ContentLength).toBe(15);

    await expect(s3().send(new CreateBucketCommand({ Bucket }))).rejects.toMatchObject({
      name: 'BucketAlreadyOwnedByYou',
    });
  });

  it('answers NoSuchKey for GET and a bare 404 for HEAD, NoSuchBucket for a missing bucket', async () => {
    await s3().send(new CreateBucketCommand({ Bucket }));
    await expect(s3().send(new GetObjectCommand({ Bucket, Key: 'missing' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3().send(new HeadObjectCommand({ Bucket, Key: 'missing' }))).rejects.toMatchObject({
      name: 'NotFound',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3().send(new PutObjectCommand({ Bucket: 'nope', Key: 'k', Body: 'x' }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
    const response = await fetch(`${aws.double().url}/${Bucket}/missing`, { method: 'HEAD' });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('');
  });

  it('lists keys in order with prefix and continuation tokens, and deletes', async () => {
    await s3().send(new CreateBucketCommand({ Bucket }));
    for (const Key of ['b/2', 'a/1', 'b/1', 'b/3', 'c/1'])
      await s3().send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await s3().send(new ListObjectsV2Command({ Bucket, Prefix: 'b/', MaxKeys: 2, ContinuationToken }));
      expect(page.KeyCount).toBe(page.Contents?.length ?? 0);
      keys.push(...(page.Contents ?? []).map((object) => object.Key as string));
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    expect(keys).toEqual(['b/1', 'b/2', 'b/3']);

    await s3().send(new DeleteObjectCommand({ Bucket, Key: 'b/2' }));
    await s3().send(new DeleteObjectCommand({ Bucket, Key: 'never-there' }));
    const all = await s3().send(new ListObjectsV2Command({ Bucket }));
    expect(all.Contents?.map((object) => object.Key)).toEqual(['a/1', 'b/1', 'b/3', 'c/1']);
    expect(all.IsTruncated).toBe(false);
  });
});
