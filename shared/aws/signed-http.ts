import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/core/serde';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, HttpRequest } from '@smithy/types';

/**
 * SigV4-signed requests over the SDK's own signer and HTTP handler, with the SDK standard retry mode's attempts and
 * backoff: what meshgate's small clients (S3 objects, App Mesh reads) share instead of a full SDK client each, whose
 * middleware, protocol and endpoint rules weigh ≈ 50–150 KB in a bundle.
 */
/** What a small client's constructor takes, as an SDK client's: region, credentials when not the process's, attempts. */
export interface SignedClientOptions {
  region: string;
  credentials?: AwsCredentialIdentity;
  /** Attempts per call, the first included (default 3, the SDK's standard retry mode). */
  maxAttempts?: number;
}

export interface SignedHttpOptions extends SignedClientOptions {
  /** The SigV4 signing name (`s3`, `appmesh`). */
  service: string;
  /** S3 signs the path as sent (each segment encoded once) and wants x-amz-content-sha256. */
  s3Signing?: boolean;
}

export interface Answer {
  status: number;
  headers: Record<string, string | undefined>;
  body: string;
}

/** An answer given after `attempts` attempts, or the network failure of the last one. */
export type Outcome = { answer: Answer; attempts: number } | { failure: unknown; attempts: number };

/** The SDK's backoff: full jitter over an exponential ceiling, from a higher base when throttled. */
const BACKOFF_BASE_MS = 100;
const THROTTLED_BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 20_000;

export class SignedHttp {
  private readonly handler = new NodeHttpHandler();
  private readonly signer: SignatureV4;
  private readonly maxAttempts: number;

  constructor(options: SignedHttpOptions) {
    const credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider = options.credentials ?? defaultProvider();
    this.signer = new SignatureV4({
      service: options.service,
      region: options.region,
      credentials,
      sha256: Hash.bind(null, 'sha256'),
      ...(options.s3Signing ? { uriEscapePath: false, applyChecksum: true } : {}),
    });
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  /**
   * Sends the request, again while `retry` says an answer is worth another attempt (`'throttled'` backs off longer)
   * or the connection failed, up to the attempts allowed. An abort ends the call at once with the signal's reason.
   */
  async send(
    request: HttpRequest,
    retry: (answer: Answer) => 'throttled' | 'transient' | false,
    abortSignal?: AbortSignal,
  ): Promise<Outcome> {
    for (let attempt = 1; ; attempt += 1) {
      abortSignal?.throwIfAborted();
      let answer: Answer;
      try {
        // Signed again at every attempt (the signature carries the time); the signer signs a copy.
        const signed = await this.signer.sign(request);
        answer = await this.exchange(signed as HttpRequest, abortSignal);
      } catch (failure) {
        abortSignal?.throwIfAborted();
        if (attempt >= this.maxAttempts) return { failure, attempts: attempt };
        await backoff(attempt, BACKOFF_BASE_MS);
        continue;
      }
      const kind = answer.status < 300 ? false : retry(answer);
      if (!kind || attempt >= this.maxAttempts) return { answer, attempts: attempt };
      await backoff(attempt, kind === 'throttled' ? THROTTLED_BACKOFF_BASE_MS : BACKOFF_BASE_MS);
    }
  }

  destroy(): void {
    this.handler.destroy();
  }

  private async exchange(request: HttpRequest, abortSignal?: AbortSignal): Promise<Answer> {
    const { response } = await this.handler.handle(request as never, abortSignal ? { abortSignal } : {});
    const chunks: Buffer[] = [];
    for await (const chunk of response.body as AsyncIterable<Buffer>) chunks.push(chunk);
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(response.headers)) headers[name.toLowerCase()] = value;
    return { status: response.statusCode, headers, body: Buffer.concat(chunks).toString('utf8') };
  }
}

/** An unsigned request to `endpoint` (its scheme, host and port) for `path`. */
export function requestTo(
  endpoint: { protocol: string; hostname: string; port: string },
  request: Pick<HttpRequest, 'method' | 'path' | 'query' | 'headers' | 'body'>,
): HttpRequest {
  const { protocol, hostname, port } = endpoint;
  return {
    ...request,
    protocol,
    hostname,
    ...(port ? { port: Number(port) } : {}),
    headers: { host: port ? `${hostname}:${port}` : hostname, ...request.headers },
  };
}

/**
 * The endpoint configured for a service as the SDK reads it: `AWS_ENDPOINT_URL_<SERVICE>` (the SDK's service id,
 * upper case, spaces as underscores: `S3`, `APP_MESH`), then `AWS_ENDPOINT_URL`, unless
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
 */
export function configuredEndpoint(env: NodeJS.ProcessEnv, serviceId: string): URL | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  const url = env[`AWS_ENDPOINT_URL_${serviceId}`] || env.AWS_ENDPOINT_URL;
  return url ? new URL(url) : undefined;
}

/** The partition's DNS suffix for a region (China's differs). */
export function dnsSuffix(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/** RFC 3986 encoding of one path segment (encodeURIComponent leaves `!'()*` as they are; SigV4 signs them encoded). */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function backoff(attempt: number, base: number): Promise<void> {
  const ceiling = Math.min(BACKOFF_CAP_MS, base * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}
