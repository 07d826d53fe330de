import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { ConfigError, isLoopback } from '../config/index.js';
import { redactUrl } from '../text.js';
import { KongError } from './errors.js';
import { konnectErrorFromResponse } from './konnect.js';

/** One attempt of one request, reported after it ends (for logs and metrics; never carries the token or bodies). */
export interface RequestInfo {
  method: string;
  path: string;
  status?: number;
  attempt: number;
  error?: string;
  /** Set when another attempt follows after this many milliseconds. */
  retryInMs?: number;
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  maxAttempts?: number;
  /** Backoff base: attempt n waits a random time in [0, baseDelayMs * 2^(n-1)) (default 100). */
  baseDelayMs?: number;
  /** Cap of every wait, backoff and Retry-After alike (default 10 s). */
  maxDelayMs?: number;
}

/** Where a rotating admin token comes from: a bounded cache, and a forced re-read after Kong answered 401. */
export interface AdminTokenSource {
  current(): Promise<string | undefined>;
  /** After a 401 with `rejected`: the token to try next (read again unless another one is already held). */
  refresh(rejected?: string): Promise<string | undefined>;
}

export interface KongHttpOptions {
  url: string;
  token?: string;
  /** Instead of `token`: read per request (cached by the source) and re-read once when Kong answers 401. */
  tokenSource?: AdminTokenSource;
  tokenHeader?: string;
  /** PEM of a CA to trust in addition to the system's. */
  ca?: string;
  allowInsecureHttp?: boolean;
  /** Per attempt, from sending to the last byte of the response (default 10 s). */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Sockets kept per host (default 32). */
  maxSockets?: number;
  /**
   * Largest response body accepted, in bytes (default 32 MiB: a 1,000-entity page is a few MB). A server that
   * sends more is refused with a clear error instead of being buffered until the function runs out of memory.
   */
  maxResponseBytes?: number;
  onRequest?: (info: RequestInfo) => void;
  /**
   * `konnect`: a Konnect control plane's core-entities API. The token goes in `Authorization: Bearer …` and error
   * bodies are Konnect's (see `konnect.ts`), read into the same KongError facts.
   */
  dialect?: 'kong' | 'konnect';
}

export interface KongResponse {
  status: number;
  /** Parsed JSON, or undefined for an empty body. */
  body: unknown;
}

interface RawResponse {
  status: number;
  retryAfter?: string;
  text: string;
}

const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);
// Transient socket-level failures; TLS verification and DNS NXDOMAIN are deliberately absent (retrying cannot help).
const RETRYABLE_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'KONG_TIMEOUT',
]);

const DEFAULT_RETRY = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 10_000 };
const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * The longest one request can take with its retries: every attempt timing out, with the longest wait (backoff or
 * Retry-After, both capped) between attempts. The state-store lease outlives it (a writer must not lose the lease
 * while one of its requests may still land).
 */
export function worstCaseRequestMs(timeoutMs = DEFAULT_TIMEOUT_MS, retry: RetryOptions = {}): number {
  const { maxAttempts, maxDelayMs } = { ...DEFAULT_RETRY, ...definedOnly(retry) };
  return maxAttempts * timeoutMs + (maxAttempts - 1) * maxDelayMs;
}

/** Full-jitter exponential backoff: a uniform wait in [0, min(cap, base * 2^(attempt-1))). */
export function backoffDelayMs(
  attempt: number,
  retry: { baseDelayMs: number; maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

function isRetryableError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_ERROR_CODES.has(code);
}

function describeError(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
}

function abortError(method: string, path: string, signal: AbortSignal): KongError {
  return new KongError(`Kong ${method} ${path}: aborted`, { method, path, cause: signal.reason });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The URL the client may talk to: http(s) only, and plain http only to loopback unless explicitly allowed. */
export function checkAdminUrl(rawUrl: string, allowInsecureHttp = false): URL {
  // Echoed in errors: any credentials in it are redacted first.
  const url = redactUrl(rawUrl);
  let parsed: URL;
  try {
    parsed = new URL(rawUrl);
  } catch (cause) {
    throw new ConfigError(`Kong Admin API url '${url}' is not a valid URL`, { cause, context: { url } });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`Kong Admin API url '${url}' must use http or https, got '${parsed.protocol}'`, {
      context: { url },
    });
  }
  if (parsed.username || parsed.password) {
    throw new ConfigError('Kong Admin API url must not carry credentials; use the admin token', {
      context: { host: parsed.host },
    });
  }
  if (parsed.protocol === 'http:' && !allowInsecureHttp && !isLoopback(parsed.hostname)) {
    throw new ConfigError(
      `plain http to non-loopback Kong Admin API host '${parsed.hostname}' is refused; use https or allow it ` +
        'explicitly (allowInsecureHttp / KONG_ALLOW_INSECURE_HTTP=true)',
      { context: { url } },
    );
  }
  return parsed;
}

/**
 * JSON over HTTP(S) to one Kong Admin API with keep-alive sockets, a per-attempt timeout, retries by class and
 * abort. Throws KongError for every failure; returns 2xx responses (and 404 when the caller accepts it).
 */
export class KongHttp {
  private readonly base: URL;
  private readonly pathPrefix: string;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly baseHeaders: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly retry: Required<RetryOptions>;
  private readonly onRequest?: (info: RequestInfo) => void;
  private readonly tokenSource?: AdminTokenSource;
  private readonly tokenHeader: string;
  private readonly dialect: 'kong' | 'konnect';

  constructor(options: KongHttpOptions) {
    this.base = checkAdminUrl(options.url, options.allowInsecureHttp);
    // An Admin API behind a path (Kong's "API loopback") keeps its prefix.
    this.pathPrefix = this.base.pathname.replace(/\/+$/, '');
    const agentOptions = { keepAlive: true, noDelay: true, maxSockets: options.maxSockets ?? 32 };
    if (this.base.protocol === 'https:') {
      this.transport = https;
      this.agent = new https.Agent({
        ...agentOptions,
        rejectUnauthorized: true,
        ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}),
      });
    } else {
      this.transport = http;
      this.agent = new http.Agent(agentOptions);
    }
    this.baseHeaders = { accept: 'application/json' };
    this.dialect = options.dialect ?? 'kong';
    // Konnect takes its access tokens as bearer tokens only; Kong's header name is configurable.
    this.tokenHeader =
      this.dialect === 'konnect' ? 'authorization' : (options.tokenHeader ?? 'Kong-Admin-Token').toLowerCase();
    if (options.token) this.baseHeaders[this.tokenHeader] = this.credential(options.token);
    this.tokenSource = options.tokenSource;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.retry = { ...DEFAULT_RETRY, ...definedOnly(options.retry ?? {}) };
    this.onRequest = options.onRequest;
  }

  /** Sends `body` as JSON (never on GET/DELETE) and returns the parsed response. */
  async request(
    method: string,
    path: string,
    options: { body?: unknown; signal?: AbortSignal; allowNotFound?: boolean } = {},
  ): Promise<KongResponse> {
    const { signal } = options;
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    let token = await this.tokenSource?.current();
    let tokenRefreshed = false;
    for (let attempt = 1; ; attempt += 1) {
      if (signal?.aborted) throw abortError(method, path, signal);
      const lastAttempt = attempt >= this.retry.maxAttempts;
      let raw: RawResponse;
      try {
        raw = await this.exchange(method, path, payload, signal, token);
      } catch (error) {
        if (signal?.aborted) throw abortError(method, path, signal);
        const retryable = isRetryableError(error);
        const retryInMs = retryable && !lastAttempt ? backoffDelayMs(attempt, this.retry) : undefined;
        this.onRequest?.({ method, path, attempt, error: describeError(error), retryInMs });
        if (retryInMs === undefined) {
          throw new KongError(`Kong ${method} ${path}: ${describeError(error)} (after ${attempt} attempt(s))`, {
            method,
            path,
            retryable,
            cause: error,
          });
        }
        await this.pause(retryInMs, method, path, signal);
        continue;
      }

      // A rotated admin token: re-read it once and repeat the request, so a rotation costs one failed request.
      if (raw.status === 401 && this.tokenSource && !tokenRefreshed) {
        tokenRefreshed = true;
        this.onRequest?.({ method, path, status: raw.status, attempt, retryInMs: 0 });
        token = await this.tokenSource.refresh(token);
        attempt -= 1;
        continue;
      }
      const retryable = isRetryableStatus(raw.status);
      const retryInMs = retryable && !lastAttempt ? this.statusDelayMs(raw, attempt) : undefined;
      this.onRequest?.({ method, path, status: raw.status, attempt, retryInMs });
      if (retryInMs !== undefined) {
        await this.pause(retryInMs, method, path, signal);
        continue;
      }
      if (raw.status === 404 && options.allowNotFound) return { status: 404, body: undefined };
      const body = parseJsonBody(raw, method, path);
      if (raw.status < 200 || raw.status >= 300)
        throw this.dialect === 'konnect'
          ? konnectErrorFromResponse(raw.status, body, method, path, retryable)
          : errorFromResponse(raw.status, body, method, path, retryable);
      return { status: raw.status, body };
    }
  }

  private credential(token: string): string {
    return this.dialect === 'konnect' ? `Bearer ${token}` : token;
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }

  private statusDelayMs(raw: RawResponse, attempt: number): number {
    const retryAfter = raw.status === 429 ? parseRetryAfter(raw.retryAfter) : undefined;
    return retryAfter === undefined ? backoffDelayMs(attempt, this.retry) : Math.min(retryAfter, this.retry.maxDelayMs);
  }

  private async pause(ms: number, method: string, path: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      await sleep(ms, signal);
    } catch {
      throw abortError(method, path, signal!);
    }
  }

  private exchange(
    method: string,
    path: string,
    payload: string | undefined,
    signal: AbortSignal | undefined,
    token?: string,
  ): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...this.baseHeaders };
      if (token) headers[this.tokenHeader] = this.credential(token);
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      const request = this.transport.request(
        {
          agent: this.agent,
          protocol: this.base.protocol,
          hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
          port: this.base.port,
          path: this.pathPrefix + path,
          method,
          headers,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let received = 0;
          const tooLarge = () =>
            request.destroy(
              Object.assign(
                new Error(`response body larger than ${this.maxResponseBytes} bytes (KONG_MAX_RESPONSE_BYTES)`),
                { code: 'KONG_RESPONSE_TOO_LARGE' },
              ),
            );
          if (Number(response.headers['content-length'] ?? 0) > this.maxResponseBytes) {
            tooLarge();
            return;
          }
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > this.maxResponseBytes) tooLarge();
            else chunks.push(chunk);
          });
          response.on('error', fail);
          response.on('end', () => {
            if (!settle()) return;
            const retryAfter = response.headers['retry-after'];
            resolve({
              status: response.statusCode ?? 0,
              retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
              text: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      const timer = setTimeout(() => {
        request.destroy(
          Object.assign(new Error(`no complete response within ${this.timeoutMs} ms`), { code: 'KONG_TIMEOUT' }),
        );
      }, this.timeoutMs);
      const onAbort = () => request.destroy(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      let settled = false;
      function settle(): boolean {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      }
      function fail(error: unknown): void {
        if (settle()) reject(error);
      }
      request.on('error', fail);
      // A socket closed without an error event must not leave the promise pending.
      request.on('close', () => fail(Object.assign(new Error('connection closed early'), { code: 'ECONNRESET' })));
      request.end(payload);
    });
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

function parseJsonBody(raw: RawResponse, method: string, path: string): unknown {
  if (raw.text.trim() === '') return undefined;
  try {
    return JSON.parse(raw.text);
  } catch (cause) {
    throw new KongError(
      `Kong ${method} ${path} answered ${raw.status} with a body that is not JSON: ${JSON.stringify(raw.text.slice(0, 120))}`,
      { method, path, status: raw.status, retryable: isRetryableStatus(raw.status), cause },
    );
  }
}

function errorFromResponse(status: number, body: unknown, method: string, path: string, retryable: boolean): KongError {
  const error = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const message = typeof error.message === 'string' ? error.message : `HTTP ${status}`;
  const exhausted = retryable ? ' (retries exhausted)' : '';
  return new KongError(`Kong ${method} ${path} answered ${status}: ${message}${exhausted}`, {
    method,
    path,
    status,
    code: typeof error.code === 'number' ? error.code : undefined,
    kongName: typeof error.name === 'string' ? error.name : undefined,
    // A declarative config posted with flatten_errors names each refused entity there.
    fields:
      error.code === 14 && Array.isArray(error.flattened_errors)
        ? error.flattened_errors
        : (error.fields ?? error.options),
    retryable,
  });
}
