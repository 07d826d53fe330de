import { request } from 'node:http';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { useAwsDouble } from './double.js';

const aws = useAwsDouble();
const s3 = () => aws.clients().s3;
const Bucket = 'meshgate-state';
const Key = 'prod/lease.json';

async function failure(promise: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const { name, $metadata } = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name, status: $metadata?.httpStatusCode };
  }
  throw new Error('expected the request to fail');
}

describe('S3 conditional writes (IfNoneMatch / IfMatch), as S3 answers them', () => {
  it('If-None-Match: * creates once; the second create is 412 PreconditionFailed and leaves the object', async () => {
    await s3().send(new CreateBucketCommand({ Bucket }));
    const first = await s3().send(new PutObjectCommand({ Bucket, Key, Body: 'a', IfNoneMatch: '*' }));
    expect(first.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await failure(s3().send(new PutObjectCommand({ Bucket, Key, Body: 'b', IfNoneMatch: '*' })))).toEqual({
      name: 'PreconditionFailed',
      status: 412,
    });
    const body = await (await s3().send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString();
    expect(body).toBe('a');
  });

  it('If-Match replaces only the version whose ETag it names; a missing key is 404 NoSuchKey', async () => {
    await s3().send(new CreateBucketCommand({ Bucket }));
    expect(await failure(s3().send(new PutObjectCommand({ Bucket, Key, Body: 'x', IfMatch: '"abc"' })))).toEqual({
      name: 'NoSuchKey',
      status: 404,
    });
    const v1 = await s3().send(new PutObjectCommand({ Bucket, Key, Body: 'v1' }));
    const v2 = await s3().send(new PutObjectCommand({ Bucket, Key, Body: 'v2', IfMatch: v1.ETag }));
    // The first writer's ETag is stale now: its renewal must not overwrite the second writer.
    expect(await failure(s3().send(new PutObjectCommand({ Bucket, Key, Body: 'v3', IfMatch: v1.ETag })))).toEqual({
      name: 'PreconditionFailed',
      status: 412,
    });
    await s3().send(new PutObjectCommand({ Bucket, Key, Body: 'v3', IfMatch: v2.ETag?.replace(/"/g, '') }));
  });

  it('DeleteObject with If-Match deletes only the named version; * needs an object; a gone key is 404', async () => {
    await s3().send(new CreateBucketCommand({ Bucket }));
    const put = await s3().send(new PutObjectCommand({ Bucket, Key, Body: 'held' }));
    expect(await failure(s3().send(new DeleteObjectCommand({ Bucket, Key, IfMatch: '"0000"' })))).toEqual({
      name: 'PreconditionFailed',
      status: 412,
    });
    await s3().send(new DeleteObjectCommand({ Bucket, Key, IfMatch: put.ETag }));
    expect(await failure(s3().send(new DeleteObjectCommand({ Bucket, Key, IfMatch: '*' })))).toEqual({
      name: 'NoSuchKey',
      status: 404,
    });
    // Unconditional deletes of a missing key stay 204, as before.
    await s3().send(new DeleteObjectCommand({ Bucket, Key }));
  });

  it('If-None-Match with an ETag is not implemented on PutObject (501)', async () => {
    await s3().send(new CreateBucketCommand({ Bucket }));
    expect(await failure(s3().send(new PutObjectCommand({ Bucket, Key, Body: 'a', IfNoneMatch: '"abc"' })))).toEqual({
      name: 'NotImplemented',
      status: 501,
    });
  });

  it('a write that lands while a conditional upload is in flight makes that upload 409 ConditionalRequestConflict', async () => {
    await s3().send(new CreateBucketCommand({ Bucket }));
    const v1 = await s3().send(new PutObjectCommand({ Bucket, Key, Body: 'v1' }));
    // Start a conditional upload by hand and hold its body back while another writer replaces the object.
    const url = new URL(`${aws.double().url}/${Bucket}/${Key}`);
    const answer = new Promise<number>((resolve, reject) => {
      const upload = request(
        url,
        {
          method: 'PUT',
          headers: {
            'if-match': String(v1.ETag),
            'content-length': '2',
            authorization: 'AWS4-HMAC-SHA256 Credential=meshgate-local/20260101/us-east-1/s3/aws4_request',
          },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      upload.on('error', reject);
      upload.write('v');
      setTimeout(async () => {
        await s3().send(new PutObjectCommand({ Bucket, Key, Body: 'other' }));
        upload.end('2');
      }, 20);
    });
    // The ETag the upload named was current when it began, so only the race makes it fail.
    expect(await answer).toBe(409);
    const body = await (await s3().send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString();
    expect(body).toBe('other');
  });
});
