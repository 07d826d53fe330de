import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectBackend } from './backed-store.js';

/**
 * Objects in an S3 bucket (SNAPSHOT_BUCKET). Versioning and default encryption are properties of the bucket
 * (serverless.yml), so an overwritten freeze flag or a deleted object can still be recovered.
 */
export class S3Backend implements ObjectBackend {
  readonly location: string;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {
    this.location = `s3://${bucket}`;
  }

  async read(key: string): Promise<string | undefined> {
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await response.Body?.transformToString('utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async write(key: string, body: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
  }

  async remove(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async readVersioned(key: string): Promise<{ body: string; etag: string } | undefined> {
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { body: (await response.Body?.transformToString('utf8')) ?? '', etag: response.ETag ?? '' };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  createIfAbsent(key: string, body: string): Promise<string | undefined> {
    return this.putIf(key, body, { IfNoneMatch: '*' });
  }

  replaceIfMatch(key: string, body: string, etag: string): Promise<string | undefined> {
    return this.putIf(key, body, { IfMatch: etag });
  }

  /** A conditional PutObject; the new ETag, or undefined when the condition no longer holds. */
  private async putIf(
    key: string,
    body: string,
    condition: { IfNoneMatch: '*' } | { IfMatch: string },
  ): Promise<string | undefined> {
    const output = await this.conditional(() =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json',
          ...condition,
        }),
      ),
    );
    return output === undefined ? undefined : (output.ETag ?? '');
  }

  async removeIfMatch(key: string, etag: string): Promise<boolean> {
    const output = await this.conditional(() =>
      this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag })),
    );
    return output !== undefined;
  }

  /**
   * A conditional request that lost: 412 (the precondition no longer holds), 409 (another write raced it) and 404
   * (If-Match on a key that is gone) all mean "someone else changed it", answered as undefined; the caller re-reads.
   */
  private async conditional<T>(send: () => Promise<T>): Promise<T | undefined> {
    try {
      return await send();
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || isMissing(error)) return undefined;
      throw error;
    }
  }
}

function isMissing(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound';
}
