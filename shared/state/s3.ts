import { type PutCondition, S3Error, type S3ObjectClient } from '../aws/s3-objects.js';
import type { ObjectBackend, ObjectBody } from './backed-store.js';

/**
 * Objects in an S3 bucket (SNAPSHOT_BUCKET). Versioning and default encryption are properties of the bucket
 * (serverless.yml), so an overwritten freeze flag or a deleted object can still be recovered.
 */
export class S3Backend implements ObjectBackend {
  readonly location: string;

  constructor(
    private readonly s3: S3ObjectClient,
    private readonly bucket: string,
  ) {
    this.location = `s3://${bucket}`;
  }

  async read(key: string): Promise<string | undefined> {
    return (await this.readVersioned(key))?.body;
  }

  async write(key: string, body: ObjectBody): Promise<void> {
    await this.s3.putObject(this.bucket, key, body);
  }

  async remove(key: string): Promise<void> {
    await this.s3.deleteObject(this.bucket, key);
  }

  async keys(prefix: string): Promise<string[]> {
    return (await this.s3.listKeys(this.bucket, prefix)).sort();
  }

  async readVersioned(key: string): Promise<{ body: string; etag: string } | undefined> {
    try {
      return await this.s3.getObject(this.bucket, key);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  createIfAbsent(key: string, body: ObjectBody): Promise<string | undefined> {
    return this.putIf(key, body, { ifNoneMatch: '*' });
  }

  replaceIfMatch(key: string, body: ObjectBody, etag: string): Promise<string | undefined> {
    return this.putIf(key, body, { ifMatch: etag });
  }

  /** A conditional PutObject; the new ETag, or undefined when the condition no longer holds. */
  private putIf(key: string, body: ObjectBody, condition: PutCondition): Promise<string | undefined> {
    return this.conditional(() => this.s3.putObject(this.bucket, key, body, condition));
  }

  async removeIfMatch(key: string, etag: string): Promise<boolean> {
    const done = await this.conditional(async () => {
      await this.s3.deleteObject(this.bucket, key, etag);
      return true;
    });
    return done === true;
  }

  /**
   * A conditional request that lost: 412 (the precondition no longer holds), 409 (another write raced it) and 404
   * (If-Match on a key that is gone) all mean "someone else changed it", answered as undefined; the caller re-reads.
   */
  private async conditional<T>(send: () => Promise<T>): Promise<T | undefined> {
    try {
      return await send();
    } catch (error) {
      const lost = error instanceof S3Error && /^(PreconditionFailed|ConditionalRequestConflict)$/.test(error.code);
      if (lost || isMissing(error)) return undefined;
      throw error;
    }
  }
}

function isMissing(error: unknown): boolean {
  // `Http404`: an answer without an error document (what the SDK named NotFound); NoSuchBucket stays an error.
  return error instanceof S3Error && (error.code === 'NoSuchKey' || error.code === 'Http404');
}
