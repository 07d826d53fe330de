import { MeshgateError } from '../errors.js';
import {
  type Answer,
  configuredEndpoint,
  dnsSuffix,
  encodeSegment,
  requestTo,
  type SignedClientOptions,
  SignedHttp,
} from './signed-http.js';

/**
 * The few S3 object calls the state store makes (GetObject, PutObject and DeleteObject, conditional or not, and
 * ListObjectsV2), signed with the SDK's own SigV4 signer over the SDK's own HTTP handler. The S3 client with its
 * middleware (checksums, XML protocol, endpoint rules) was ≈ 150 KB of every function bundle, and compiling it was
 * part of every cold start; these five calls need none of it (see signed-http.ts).
 *
 * Endpoints as the SDK resolves them: `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL` (unless
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), addressed path-style (`<endpoint>/<bucket>/<key>`), as meshgate's
 * SDK clients did for a custom endpoint; otherwise the regional virtual-hosted endpoint
 * (`<bucket>.s3.<region>.amazonaws.com`), or path-style for a bucket name that cannot be a host label.
 * Credentials: those given, or the SDK's default chain (in a function bundle, the environment Lambda fills).
 */
export class S3Error extends MeshgateError {
  /** S3's error code (`NoSuchKey`, `PreconditionFailed`, ...), or `Http<status>` when the answer had no body. */
  readonly code: string;
  readonly status: number;

  constructor(code: string, status: number, message: string, context: Record<string, unknown>, cause?: unknown) {
    super(`S3 ${code} (${status}): ${message}`, { cause, context: { code, status, ...context } });
    this.code = code;
    this.status = status;
  }
}

export interface PutCondition {
  ifNoneMatch?: '*';
  ifMatch?: string;
}

/** Answers worth another attempt: throttling (503 SlowDown) and S3's transient server errors. */
const RETRIED_STATUS = new Set([500, 502, 503, 504]);

export class S3ObjectClient {
  private readonly http: SignedHttp;
  private readonly endpoint: URL | undefined;

  constructor(
    private readonly options: SignedClientOptions,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.http = new SignedHttp({ ...options, service: 's3', s3Signing: true });
    this.endpoint = configuredEndpoint(env, 'S3');
  }

  /** The object and its ETag; an S3Error `NoSuchKey` when it does not exist. */
  async getObject(bucket: string, key: string): Promise<{ body: string; etag: string }> {
    const answer = await this.send('GET', bucket, key);
    return { body: answer.body, etag: answer.headers.etag ?? '' };
  }

  /** Writes the object (conditionally when asked) and answers its new ETag. */
  async putObject(bucket: string, key: string, body: string | Buffer, condition: PutCondition = {}): Promise<string> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    };
    if (condition.ifNoneMatch) headers['if-none-match'] = condition.ifNoneMatch;
    if (condition.ifMatch) headers['if-match'] = condition.ifMatch;
    const answer = await this.send('PUT', bucket, key, { headers, body });
    return answer.headers.etag ?? '';
  }

  async deleteObject(bucket: string, key: string, ifMatch?: string): Promise<void> {
    await this.send('DELETE', bucket, key, { headers: ifMatch ? { 'if-match': ifMatch } : {} });
  }

  /** Every key under `prefix`, page by page (ListObjectsV2, 1,000 a page). */
  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix };
      if (token) query['continuation-token'] = token;
      const { body } = await this.send('GET', bucket, '', { query });
      for (const contents of elements(body, 'Contents')) {
        const key = elements(contents, 'Key')[0];
        if (key !== undefined) keys.push(xmlText(key));
      }
      const truncated = elements(body, 'IsTruncated')[0] === 'true';
      const next = elements(body, 'NextContinuationToken')[0];
      token = truncated && next ? xmlText(next) : undefined;
    } while (token);
    return keys;
  }

  destroy(): void {
    this.http.destroy();
  }

  private async send(
    method: string,
    bucket: string,
    key: string,
    request: { query?: Record<string, string>; headers?: Record<string, string>; body?: string | Buffer } = {},
  ): Promise<Answer> {
    const { path, ...endpoint } = this.address(bucket, key);
    const unsigned = requestTo(endpoint, {
      method,
      path,
      query: request.query ?? {},
      headers: request.headers ?? {},
      body: typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body,
    });
    const context = { operation: `${method} ${path}`, bucket, ...(key ? { key } : {}) };
    const outcome = await this.http.send(unsigned, (answer) => RETRIED_STATUS.has(answer.status) && 'transient');
    if ('failure' in outcome) throw new S3Error('NetworkError', 0, String(outcome.failure), context, outcome.failure);
    if (outcome.answer.status < 300) return outcome.answer;
    throw s3Failure(outcome.answer, context);
  }

  private address(bucket: string, key: string): { hostname: string; port: string; protocol: string; path: string } {
    const objectPath = key ? `/${key.split('/').map(encodeSegment).join('/')}` : '/';
    if (this.endpoint) {
      const base = this.endpoint.pathname.replace(/\/$/, '');
      const path = `${base}/${encodeSegment(bucket)}${key ? objectPath : ''}`;
      return { hostname: this.endpoint.hostname, port: this.endpoint.port, protocol: this.endpoint.protocol, path };
    }
    const { region } = this.options;
    const regional = `s3.${region}.${dnsSuffix(region)}`;
    // A bucket name with dots cannot be a host label under S3's wildcard certificate: path-style, as the SDK does.
    if (/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket))
      return { hostname: `${bucket}.${regional}`, port: '', protocol: 'https:', path: objectPath };
    return {
      hostname: regional,
      port: '',
      protocol: 'https:',
      path: `/${encodeSegment(bucket)}${key ? objectPath : ''}`,
    };
  }
}

/** S3's error document (`<Error><Code>…</Code><Message>…</Message></Error>`); HEAD-like answers have none. */
function s3Failure(answer: Answer, context: Record<string, unknown>): S3Error {
  const code = elements(answer.body, 'Code')[0];
  const message = elements(answer.body, 'Message')[0];
  return new S3Error(
    code ? xmlText(code) : `Http${answer.status}`,
    answer.status,
    message ? xmlText(message) : 'no error document',
    { ...context, ...(answer.headers['x-amz-request-id'] ? { requestId: answer.headers['x-amz-request-id'] } : {}) },
  );
}

/** The contents of every `<name>` element (S3's answers are flat enough: no nesting of the same name). */
function elements(xml: string, name: string): string[] {
  const found: string[] = [];
  const pattern = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g');
  for (let match = pattern.exec(xml); match; match = pattern.exec(xml)) found.push(match[1] as string);
  return found;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function xmlText(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, name: string) => {
    if (name[0] !== '#') return NAMED_ENTITIES[name] ?? entity;
    const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
    return String.fromCodePoint(code);
  });
}
