import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config/index.js';
import { KongError } from '../../shared/kong/errors.js';
import {
  backoffDelayMs,
  KongHttp,
  type KongHttpOptions,
  parseRetryAfter,
  type RequestInfo,
} from '../../shared/kong/http.js';
import { type FakeServer, script, startFake } from './fake-server.js';

const OK = { status: 200, body: { ok: true } } as const;

let fake: FakeServer | undefined;
let client: KongHttp | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await fake?.close();
  fake = undefined;
});

async function setUp(
  replies: Parameters<typeof script>,
  options: Partial<KongHttpOptions> = {},
): Promise<{ server: FakeServer; http: KongHttp; attempts: RequestInfo[] }> {
  fake = await startFake(script(...replies));
  const attempts: RequestInfo[] = [];
  client = new KongHttp({
    url: fake.url,
    retry: { baseDelayMs: 1, maxDelayMs: 20 },
    onRequest: (info) => attempts.push(info),
    ...options,
  });
  return { server: fake, http: client, attempts };
}

async function rejection(promise: Promise<unknown>): Promise<KongError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(KongError);
  return error as KongError;
}

describe('retries by class', () => {
  it.each([500, 502, 503, 504])('retries %i and succeeds', async (status) => {
    const { server, http, attempts } = await setUp([{ status }, { status, body: { message: 'busy' } }, OK]);
    await expect(http.request('GET', '/services')).resolves.toEqual({ status: 200, body: { ok: true } });
    expect(server.requests).toHaveLength(3);
    expect(attempts.map((info) => [info.attempt, info.status])).toEqual([
      [1, status],
      [2, status],
      [3, 200],
    ]);
    expect(attempts[2]!.retryInMs).toBeUndefined();
  });

  it('stops after maxAttempts with a retryable KongError carrying the last status', async () => {
    const { server, http } = await setUp([{ status: 503, body: { message: 'upstream down' } }], {
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    });
    const error = await rejection(http.request('PUT', '/services/abc', { body: { host: 'x' } }));
    expect(server.requests).toHaveLength(3);
    expect(error).toMatchObject({ status: 503, method: 'PUT', path: '/services/abc', retryable: true });
    expect(error.message).toContain('upstream down');
  });

  it.each([400, 401, 403, 404, 405, 409, 415])('never retries %i', async (status) => {
    const { server, http } = await setUp([{ status, body: { message: 'no' } }, OK]);
    const error = await rejection(http.request('POST', '/services', { body: {} }));
    expect(server.requests).toHaveLength(1);
    expect(error).toMatchObject({ status, retryable: false });
  });

  it('honours Retry-After on 429, capped by maxDelayMs', async () => {
    const { server, http, attempts } = await setUp([
      { status: 429, headers: { 'Retry-After': '0' } },
      { status: 429, headers: { 'Retry-After': '3600' } },
      OK,
    ]);
    await http.request('GET', '/');
    expect(server.requests).toHaveLength(3);
    expect(attempts.map((info) => info.retryInMs)).toEqual([0, 20, undefined]);
  });

  it('falls back to backoff on 429 without Retry-After', async () => {
    const { server, http, attempts } = await setUp([{ status: 429 }, OK]);
    await http.request('GET', '/');
    expect(server.requests).toHaveLength(2);
    expect(attempts[0]!.retryInMs).toBeGreaterThanOrEqual(0);
    expect(attempts[0]!.retryInMs).toBeLessThan(1);
  });

  it('retries a dropped connection', async () => {
    const { server, http, attempts } = await setUp([{ drop: true }, OK]);
    await expect(http.request('DELETE', '/routes/r1')).resolves.toMatchObject({ status: 200 });
    expect(server.requests).toHaveLength(2);
    expect(attempts[0]!.error).toMatch(/ECONNRESET|socket hang up/);
  });

  it('retries a response cut short mid-body', async () => {
    const { server, http, attempts } = await setUp([{ truncate: '{"data":[' }, OK]);
    await expect(http.request('GET', '/services')).resolves.toEqual({ status: 200, body: { ok: true } });
    expect(server.requests).toHaveLength(2);
    expect(attempts[0]!.error).toMatch(/ECONNRESET|aborted/);
  });

  it('treats a timeout as a retryable connection error', async () => {
    const { server, http, attempts } = await setUp([{ stall: true }, OK], { timeoutMs: 50 });
    await expect(http.request('GET', '/services')).resolves.toMatchObject({ status: 200 });
    expect(server.requests).toHaveLength(2);
    expect(attempts[0]!.error).toContain('no complete response within 50 ms');
  });

  it('gives up on refused connections with a retryable KongError', async () => {
    const closed = await startFake(script(OK));
    const url = closed.url;
    await closed.close();
    const attempts: RequestInfo[] = [];
    client = new KongHttp({ url, retry: { maxAttempts: 3, baseDelayMs: 1 }, onRequest: (i) => attempts.push(i) });
    const error = await rejection(client.request('GET', '/'));
    expect(attempts).toHaveLength(3);
    expect(error).toMatchObject({ status: undefined, method: 'GET', path: '/', retryable: true });
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(error.message).toContain('ECONNREFUSED');
  });
});

describe('abort', () => {
  it('aborts an in-flight request immediately, without retrying', async () => {
    const { server, http } = await setUp([{ stall: true }, OK], { timeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = http.request('GET', '/services', { signal: controller.signal });
    await waitFor(() => server.requests.length === 1);
    controller.abort(new Error('run cancelled'));
    const error = await rejection(pending);
    expect(error.message).toContain('aborted');
    expect(error.retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('aborts during the wait between retries', async () => {
    const { server, http } = await setUp([{ status: 503 }, OK], { retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    const controller = new AbortController();
    const pending = http.request('GET', '/', { signal: controller.signal });
    await waitFor(() => server.requests.length === 1);
    controller.abort();
    await rejection(pending);
    expect(server.requests).toHaveLength(1);
  });

  it('sends nothing when already aborted', async () => {
    const { server, http } = await setUp([OK]);
    await rejection(http.request('GET', '/', { signal: AbortSignal.abort() }));
    expect(server.requests).toHaveLength(0);
  });
});

describe('responses', () => {
  it('turns a Kong error body into a KongError with code, name, fields, method and path', async () => {
    const body = {
      code: 2,
      name: 'schema violation',
      message: 'schema violation (host: required field missing)',
      fields: { host: 'required field missing' },
    };
    const { http } = await setUp([{ status: 400, body }]);
    const error = await rejection(http.request('POST', '/services', { body: {} }));
    expect(error).toMatchObject({
      status: 400,
      code: 2,
      kongName: 'schema violation',
      fields: { host: 'required field missing' },
      method: 'POST',
      path: '/services',
      retryable: false,
    });
    expect(error.message).toBe('Kong POST /services answered 400: schema violation (host: required field missing)');
    expect(error.toJSON()).toMatchObject({ name: 'KongError', status: 400, code: 2, method: 'POST' });
  });

  it("reads code 11's `options` as fields", async () => {
    const body = { code: 11, name: 'invalid options', message: 'invalid option', options: { tags: 'invalid' } };
    const { http } = await setUp([{ status: 400, body }]);
    expect(await rejection(http.request('GET', '/services?tags=a'))).toMatchObject({ fields: { tags: 'invalid' } });
  });

  it('reports a non-JSON success body as a KongError, not a crash', async () => {
    const { http } = await setUp([{ status: 200, raw: '<html>proxy</html>' }]);
    const error = await rejection(http.request('GET', '/services'));
    expect(error).toMatchObject({ status: 200, method: 'GET', path: '/services' });
    expect(error.message).toContain('not JSON');
  });

  it('reports a non-JSON error body with its status', async () => {
    const { http } = await setUp([{ status: 403, raw: 'Forbidden' }]);
    const error = await rejection(http.request('DELETE', '/plugins/p'));
    expect(error).toMatchObject({ status: 403, method: 'DELETE', path: '/plugins/p' });
    expect(error.message).toContain('not JSON');
  });

  it('returns 404 as undefined only when the caller accepts it', async () => {
    const { http } = await setUp([{ status: 404, body: { message: 'Not found' } }]);
    await expect(http.request('GET', '/services/x', { allowNotFound: true })).resolves.toEqual({
      status: 404,
      body: undefined,
    });
    expect(await rejection(http.request('GET', '/services/x'))).toMatchObject({ status: 404, isNotFound: true });
  });

  it('sends JSON bodies only when given one, and an empty 204 is fine', async () => {
    const { server, http } = await setUp([{ status: 204 }]);
    await expect(http.request('DELETE', '/services/s')).resolves.toEqual({ status: 204, body: undefined });
    await http.request('PUT', '/services/s', { body: { host: 'h' } });
    expect(server.requests[0]!.headers['content-type']).toBeUndefined();
    expect(server.requests[0]!.body).toBe('');
    expect(server.requests[1]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(server.requests[1]!.body)).toEqual({ host: 'h' });
  });
});

describe('auth and transport', () => {
  it('sends the admin token in the configured header and never puts it in errors', async () => {
    const { server, http } = await setUp([{ status: 401, body: { message: 'Invalid credentials' } }], {
      token: 'super-secret-token',
      tokenHeader: 'X-Admin-Auth',
    });
    const error = await rejection(http.request('GET', '/'));
    expect(server.requests[0]!.headers['x-admin-auth']).toBe('super-secret-token');
    expect(`${error.message} ${JSON.stringify(error)} ${String(error.stack)}`).not.toContain('super-secret-token');
  });

  it('defaults the token header to Kong-Admin-Token', async () => {
    const { server, http } = await setUp([OK], { token: 't0ken' });
    await http.request('GET', '/');
    expect(server.requests[0]!.headers['kong-admin-token']).toBe('t0ken');
  });

  it('reuses kept-alive sockets', async () => {
    const { server, http } = await setUp([OK]);
    for (let i = 0; i < 5; i += 1) await http.request('GET', '/');
    expect(server.connections).toBe(1);
  });

  it('keeps the path prefix of the Admin API url', async () => {
    fake = await startFake(script(OK));
    client = new KongHttp({ url: `${fake.url}/kong-admin/` });
    await client.request('GET', '/services?size=1000');
    expect(fake.requests[0]!.path).toBe('/kong-admin/services?size=1000');
  });

  it.each(['http://kong.internal:8001', 'http://10.0.0.5:8001'])(
    'refuses plain http to non-loopback %s unless allowed',
    (url) => {
      expect(() => new KongHttp({ url })).toThrow(ConfigError);
      expect(() => new KongHttp({ url })).toThrow(/plain http to non-loopback/);
      new KongHttp({ url, allowInsecureHttp: true }).close();
    },
  );

  it.each(['http://127.0.0.1:8001', 'http://localhost:8001', 'http://[::1]:8001', 'https://kong.internal:8444'])(
    'accepts %s',
    (url) => {
      new KongHttp({ url }).close();
    },
  );

  it('refuses other schemes and credentials in the url', () => {
    expect(() => new KongHttp({ url: 'ftp://127.0.0.1' })).toThrow(/must use http or https/);
    expect(() => new KongHttp({ url: 'not a url' })).toThrow(/not a valid URL/);
    expect(() => new KongHttp({ url: 'https://admin:pw@kong.internal' })).toThrow(/must not carry credentials/);
  });
});

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasOpenssl)('TLS with a custom CA', () => {
  let dir: string;
  let pki: { ca: string; key: string; cert: string };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kong-tls-'));
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const newKey = (file: string) =>
      run('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file);
    newKey('ca.key');
    run('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=meshgate test CA', '-days', '1', '-out', 'ca.pem');
    newKey('server.key');
    run('req', '-new', '-key', 'server.key', '-subj', '/CN=localhost', '-out', 'server.csr');
    writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    run(
      ...['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-days', '1', '-extfile', 'san.cnf', '-out', 'server.pem'],
    );
    pki = {
      ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      key: readFileSync(join(dir, 'server.key'), 'utf8'),
      cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
    };
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trusts a server certificate signed by the configured CA', async () => {
    fake = await startFake(script(OK), { key: pki.key, cert: pki.cert });
    client = new KongHttp({ url: fake.url, ca: pki.ca });
    await expect(client.request('GET', '/')).resolves.toEqual({ status: 200, body: { ok: true } });
  });

  it('refuses an unknown CA without retrying', async () => {
    fake = await startFake(script(OK), { key: pki.key, cert: pki.cert });
    const attempts: RequestInfo[] = [];
    client = new KongHttp({ url: fake.url, retry: { baseDelayMs: 1 }, onRequest: (info) => attempts.push(info) });
    const error = await rejection(client.request('GET', '/'));
    expect(error.retryable).toBe(false);
    expect(attempts).toHaveLength(1);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('delays', () => {
  it('backs off exponentially with full jitter under the cap', () => {
    const retry = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelayMs(1, retry, () => 0.999)).toBe(99);
    expect(backoffDelayMs(3, retry, () => 0.999)).toBe(399);
    expect(backoffDelayMs(10, retry, () => 0.999)).toBe(999);
    expect(backoffDelayMs(10, retry, () => 0)).toBe(0);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}
