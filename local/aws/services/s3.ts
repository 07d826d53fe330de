import { createHash } from 'node:crypto';
import { type AwsRequest, type AwsResponse, AwsServiceError, type AwsServiceModule } from '../protocol.js';

/**
 * S3 (REST-XML, path-style), enough for snapshots: buckets, objects, ListObjectsV2 in key order with prefix and
 * continuation, and the versioning / encryption settings a snapshot bucket is created with (accepted and kept).
 */
interface StoredObject {
  body: Buffer;
  etag: string;
  lastModified: Date;
  contentType: string;
  metadata: Record<string, string>;
  versionId?: string;
}

/** When each key was last written or deleted (`performance.now()`), to detect a write racing a conditional one. */
type WriteTimes = Map<string, number>;

interface Bucket {
  objects: Map<string, StoredObject>;
  changedAt: WriteTimes;
  /** Keys in code-unit order (S3's byte order for ASCII keys), kept sorted on insert so a listing page is a binary search plus a slice. */
  keys: string[];
  versioning?: string;
  encryption?: string;
}

const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';
const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** S3 as the other services of the double see it: CloudTrail checks a trail's bucket exists. */
export interface S3Service extends AwsServiceModule {
  hasBucket(name: string): boolean;
}

export function createS3Service(): S3Service {
  const buckets = new Map<string, Bucket>();

  function bucketNamed(name: string): Bucket {
    const bucket = buckets.get(name);
    if (!bucket) {
      throw new AwsServiceError('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: name });
    }
    return bucket;
  }

  function objectAt(bucket: Bucket, key: string): StoredObject {
    const object = bucket.objects.get(key);
    if (!object) throw new AwsServiceError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
    return object;
  }

  const operations: Record<string, (request: AwsRequest, bucketName: string, key: string) => AwsResponse> = {
    CreateBucket(_request, name) {
      if (buckets.has(name)) {
        throw new AwsServiceError(
          'BucketAlreadyOwnedByYou',
          'Your previous request to create the named bucket succeeded and you already own it.',
          409,
          { BucketName: name },
        );
      }
      buckets.set(name, { objects: new Map(), changedAt: new Map(), keys: [] });
      return { status: 200, headers: { location: `/${name}` } };
    },
    HeadBucket(_request, name) {
      bucketNamed(name);
      return { status: 200 };
    },
    PutBucketVersioning(request, name) {
      bucketNamed(name).versioning = /<Status>(\w+)<\/Status>/.exec(request.body.toString('utf8'))?.[1] ?? 'Suspended';
      return { status: 200 };
    },
    GetBucketVersioning(_request, name) {
      const status = bucketNamed(name).versioning;
      return xml(
        `<VersioningConfiguration xmlns="${S3_XMLNS}">${status ? `<Status>${status}</Status>` : ''}</VersioningConfiguration>`,
      );
    },
    PutBucketEncryption(request, name) {
      bucketNamed(name).encryption = request.body.toString('utf8');
      return { status: 200 };
    },
    PutObject(request, name, key) {
      const bucket = bucketNamed(name);
      checkWritePreconditions(request, bucket, key, 'PutObject');
      const body = decodeBody(request);
      const object: StoredObject = {
        body,
        etag: `"${createHash('md5').update(body).digest('hex')}"`,
        lastModified: new Date(Math.floor(Date.now() / 1000) * 1000),
        contentType: header(request, 'content-type') ?? 'binary/octet-stream',
        metadata: Object.fromEntries(
          Object.entries(request.headers)
            .filter(([name]) => name.startsWith('x-amz-meta-'))
            .map(([name, value]) => [name, String(value)]),
        ),
        ...(bucket.versioning === 'Enabled' ? { versionId: crypto.randomUUID() } : {}),
      };
      if (!bucket.objects.has(key)) bucket.keys.splice(lowerBound(bucket.keys, key), 0, key);
      bucket.objects.set(key, object);
      bucket.changedAt.set(key, performance.now());
      return {
        status: 200,
        headers: { etag: object.etag, ...(object.versionId ? { 'x-amz-version-id': object.versionId } : {}) },
      };
    },
    GetObject(_request, name, key) {
      const object = objectAt(bucketNamed(name), key);
      return { status: 200, headers: objectHeaders(object), body: object.body };
    },
    HeadObject(_request, name, key) {
      const object = objectAt(bucketNamed(name), key);
      return { status: 200, headers: objectHeaders(object) };
    },
    DeleteObject(request, name, key) {
      const bucket = bucketNamed(name);
      checkWritePreconditions(request, bucket, key, 'DeleteObject');
      if (bucket.objects.delete(key)) {
        bucket.keys.splice(lowerBound(bucket.keys, key), 1);
        bucket.changedAt.set(key, performance.now());
      }
      return { status: 204 };
    },
    ListObjectsV2(request, name) {
      return listObjects(name, bucketNamed(name), request.query);
    },
  };

  const service: AwsServiceModule = {
    signingName: 's3',
    protocol: 'rest-xml',
    operationOf: (request) => operationOf(request),
    iamCall(request) {
      const operation = operationOf(request);
      if (!operation) return undefined;
      const { bucket, key } = addressOf(request.path);
      const versioned = request.query.has('versionId');
      return {
        action: `s3:${IAM_ACTIONS[operation] ?? operation}${versioned && /^(Get|Delete)Object$/.test(operation) ? 'Version' : ''}`,
        resources: key ? [`arn:aws:s3:::${bucket}/${key}`] : [`arn:aws:s3:::${bucket}`],
      };
    },
    reset: () => buckets.clear(),
    async handle(request) {
      const operation = operationOf(request);
      const handler = operation ? operations[operation] : undefined;
      if (!operation || !handler) {
        throw new AwsServiceError('NotImplemented', `The double serves no S3 ${request.method} ${request.path}`, 501);
      }
      const { bucket, key } = addressOf(request.path);
      try {
        return handler(request, bucket, key);
      } catch (error) {
        // HEAD answers carry no body: S3 reports the status alone and the SDK names the error by it.
        if (request.method === 'HEAD' && error instanceof AwsServiceError) return { status: error.status };
        throw error;
      }
    },
  };
  return Object.assign(service, { hasBucket: (name: string) => buckets.has(name) });
}

/**
 * S3's conditional writes, as its user guide ("conditional writes", "conditional deletes") describes them:
 * - `If-None-Match: *` on PutObject: 412 PreconditionFailed when the key exists; any other value is not implemented.
 * - `If-Match: <etag>` on PutObject: 404 NoSuchKey when the key does not exist, 412 when its ETag differs.
 * - `If-Match` on DeleteObject: `*` matches any existing object; 412 when the ETag differs, 404 NoSuchKey when the
 *   key does not exist.
 * - Either kind, when the object was written or deleted while this request's upload was in flight (between its
 *   headers arriving and the write taking effect): 409 ConditionalRequestConflict; the caller re-reads and retries.
 */
function checkWritePreconditions(request: AwsRequest, bucket: Bucket, key: string, operation: string): void {
  const ifMatch = header(request, 'if-match');
  const ifNoneMatch = header(request, 'if-none-match');
  if (ifMatch === undefined && ifNoneMatch === undefined) return;
  if (ifNoneMatch !== undefined && (operation !== 'PutObject' || ifNoneMatch.trim() !== '*')) {
    throw new AwsServiceError(
      'NotImplemented',
      'A header you provided implies functionality that is not implemented',
      501,
      { Header: 'If-None-Match' },
    );
  }
  const changedAt = bucket.changedAt.get(key);
  if (changedAt !== undefined && request.receivedAt !== undefined && changedAt > request.receivedAt) {
    throw new AwsServiceError(
      'ConditionalRequestConflict',
      'A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.',
      409,
      { Key: key },
    );
  }
  const object = bucket.objects.get(key);
  if (ifNoneMatch !== undefined && object) {
    throw new AwsServiceError(
      'PreconditionFailed',
      'At least one of the pre-conditions you specified did not hold',
      412,
      {
        Condition: 'If-None-Match',
      },
    );
  }
  if (ifMatch !== undefined) {
    if (!object) throw new AwsServiceError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
    if (ifMatch.trim() !== '*' && normalizeEtag(ifMatch) !== normalizeEtag(object.etag)) {
      throw new AwsServiceError(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
        { Condition: 'If-Match' },
      );
    }
  }
}

/** ETags compare without their quotes (clients send them either way). */
function normalizeEtag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** S3 operations whose IAM action has another name (the rest are the same). */
const IAM_ACTIONS: Record<string, string> = {
  HeadObject: 'GetObject',
  HeadBucket: 'ListBucket',
  ListObjectsV2: 'ListBucket',
  ListObjectVersions: 'ListBucketVersions',
  PutBucketEncryption: 'PutEncryptionConfiguration',
  GetBucketEncryption: 'GetEncryptionConfiguration',
};

function operationOf(request: AwsRequest): string | undefined {
  const { bucket, key } = addressOf(request.path);
  if (!bucket) return undefined;
  const has = (name: string) => request.query.has(name);
  if (key) {
    return { PUT: 'PutObject', GET: 'GetObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' }[request.method];
  }
  switch (request.method) {
    case 'PUT':
      if (has('versioning')) return 'PutBucketVersioning';
      if (has('encryption')) return 'PutBucketEncryption';
      return 'CreateBucket';
    case 'GET':
      if (has('versioning')) return 'GetBucketVersioning';
      return request.query.get('list-type') === '2' ? 'ListObjectsV2' : undefined;
    case 'HEAD':
      return 'HeadBucket';
    default:
      return undefined;
  }
}

/** Path-style addressing: `/bucket/key...`; the key keeps its slashes. */
function addressOf(path: string): { bucket: string; key: string } {
  const [, bucket = '', ...rest] = path.split('/');
  return { bucket: decodeURIComponent(bucket), key: rest.map(decodeURIComponent).join('/') };
}

function listObjects(name: string, bucket: Bucket, query: URLSearchParams): AwsResponse {
  const prefix = query.get('prefix') ?? '';
  const maxKeys = Math.min(Number(query.get('max-keys') ?? 1000), 1000);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) {
    throw new AwsServiceError('InvalidArgument', `Invalid value for max-keys (${query.get('max-keys')}).`, 400);
  }
  const continuation = query.get('continuation-token');
  const startAfter = query.get('start-after') ?? '';
  const after = continuation ? Buffer.from(continuation, 'base64url').toString('utf8') : startAfter;
  let index = Math.max(lowerBound(bucket.keys, prefix), lowerBound(bucket.keys, after));
  if (bucket.keys[index] === after) index += 1;
  const contents: string[] = [];
  let last: string | undefined;
  while (contents.length < maxKeys && index < bucket.keys.length) {
    const key = bucket.keys[index] as string;
    if (!key.startsWith(prefix)) break;
    const object = bucket.objects.get(key) as StoredObject;
    contents.push(
      `<Contents><Key>${escapeXml(key)}</Key><LastModified>${object.lastModified.toISOString()}</LastModified><ETag>${escapeXml(object.etag)}</ETag><Size>${object.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    );
    last = key;
    index += 1;
  }
  const truncated = index < bucket.keys.length && (bucket.keys[index] as string).startsWith(prefix);
  const fields = [
    `<Name>${escapeXml(name)}</Name>`,
    `<Prefix>${escapeXml(prefix)}</Prefix>`,
    `<KeyCount>${contents.length}</KeyCount>`,
    `<MaxKeys>${maxKeys}</MaxKeys>`,
    `<IsTruncated>${truncated}</IsTruncated>`,
    ...(continuation ? [`<ContinuationToken>${escapeXml(continuation)}</ContinuationToken>`] : []),
    ...(truncated
      ? [`<NextContinuationToken>${Buffer.from(last ?? after).toString('base64url')}</NextContinuationToken>`]
      : []),
    ...(startAfter ? [`<StartAfter>${escapeXml(startAfter)}</StartAfter>`] : []),
    ...contents,
  ];
  return xml(`<ListBucketResult xmlns="${S3_XMLNS}">${fields.join('')}</ListBucketResult>`);
}

function objectHeaders(object: StoredObject): Record<string, string> {
  return {
    'content-type': object.contentType,
    'content-length': String(object.body.length),
    etag: object.etag,
    'last-modified': object.lastModified.toUTCString(),
    ...object.metadata,
    ...(object.versionId ? { 'x-amz-version-id': object.versionId } : {}),
  };
}

/** The object bytes; newer SDKs stream uploads as `aws-chunked` with a trailing checksum, which is unwrapped here. */
function decodeBody(request: AwsRequest): Buffer {
  if (!/aws-chunked/.test(header(request, 'content-encoding') ?? '')) return request.body;
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < request.body.length) {
    const lineEnd = request.body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = Number.parseInt(request.body.subarray(offset, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!size) break;
    parts.push(request.body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function header(request: AwsRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** First index whose key is not below `key`. */
function lowerBound(keys: string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((keys[middle] as string) < key) low = middle + 1;
    else high = middle;
  }
  return low;
}

function xml(body: string): AwsResponse {
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: `${XML_HEADER}${body}` };
}

function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}
