import { createServer as createHttpServer, get as httpGet, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { type KongDouble, startKongDouble } from '../../../local/kong/server.js';
import { issueTestPki } from '../../../local/tls/certificates.js';
import { call } from './helpers.js';

/** What a stub upstream saw of one request. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

const servers: Server[] = [];
let kong: KongDouble | undefined;

afterEach(async () => {
  await kong?.close();
  kong = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(server: Server, seen: Seen[], name: string): Promise<number> {
  server.on('request', (req: IncomingMessage, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(JSON.stringify({ upstream: name }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function stubUpstream(name: string, seen: Seen[]): Promise<number> {
  return listen(createHttpServer(), seen, name);
}

async function world() {
  kong = await startKongDouble({ proxyPort: 0 });
  return kong;
}

const proxyUrl = () => kong?.proxy?.url as string;

async function exposed(
  k: KongDouble,
  port: number,
  route: Record<string, unknown>,
  service: Record<string, unknown> = {},
) {
  await call(k, 'POST', '/upstreams', { name: 'edge.shop.gateway' });
  await call(k, 'POST', '/upstreams/edge.shop.gateway/targets', { target: `127.0.0.1:${port}` });
  expect(
    (await call(k, 'POST', '/services', { name: 'svc', host: 'edge.shop.gateway', port, ...service })).status,
  ).toBe(201);
  expect((await call(k, 'POST', '/services/svc/routes', { name: 'r', ...route })).status).toBe(201);
}

describe('Kong proxy double', () => {
  it('answers 404 with Kong’s message when no route matches', async () => {
    await world();
    const response = await fetch(`${proxyUrl()}/nothing`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { message: string }).message).toBe('no Route matched with those values');
  });

  it('forwards to the upstream target with strip_path, the service Host and X-Forwarded-*', async () => {
    const k = await world();
    const seen: Seen[] = [];
    const port = await stubUpstream('gw', seen);
    await exposed(k, port, { paths: ['/orders'], strip_path: true });
    const response = await fetch(`${proxyUrl()}/orders/42?x=1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('via')).toBe('1.1 kong/3.9.3');
    expect(seen[0]?.url).toBe('/42?x=1');
    expect(seen[0]?.headers.host).toBe(`edge.shop.gateway:${port}`);
    expect(seen[0]?.headers['x-forwarded-prefix']).toBe('/orders');
  });

  it('preserve_host sends the client Host; strip_path false keeps the path', async () => {
    const k = await world();
    const seen: Seen[] = [];
    const port = await stubUpstream('gw', seen);
    await exposed(k, port, { hosts: ['*.example.org'], paths: ['/'], strip_path: false, preserve_host: true });
    // fetch() may not set Host; node:http may.
    const status = await new Promise<number>((resolve, reject) => {
      const proxyPort = k.proxy?.port;
      httpGet(
        { host: '127.0.0.1', port: proxyPort, path: '/catalog/1', headers: { host: 'shop.example.org' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      ).on('error', reject);
    });
    expect(status).toBe(200);
    expect(seen[0]?.url).toBe('/catalog/1');
    expect(seen[0]?.headers.host).toBe('shop.example.org');
  });

  it('balances over targets by weight; a weight-0 target gets nothing', async () => {
    const k = await world();
    const seenA: Seen[] = [];
    const seenB: Seen[] = [];
    const seenC: Seen[] = [];
    const a = await stubUpstream('a', seenA);
    const b = await stubUpstream('b', seenB);
    const c = await stubUpstream('c', seenC);
    await exposed(k, a, { paths: ['/'] });
    await call(k, 'PATCH', `/upstreams/edge.shop.gateway/targets/127.0.0.1:${a}`, { weight: 30 });
    await call(k, 'POST', '/upstreams/edge.shop.gateway/targets', { target: `127.0.0.1:${b}`, weight: 10 });
    await call(k, 'POST', '/upstreams/edge.shop.gateway/targets', { target: `127.0.0.1:${c}`, weight: 0 });
    for (let i = 0; i < 40; i += 1) await (await fetch(`${proxyUrl()}/x`)).text();
    expect(seenA.length).toBe(30);
    expect(seenB.length).toBe(10);
    expect(seenC.length).toBe(0);
  });

  it('jwt: 401 without a token; with a valid token the consumer identity goes upstream and spoofed headers do not', async () => {
    const k = await world();
    const seen: Seen[] = [];
    const port = await stubUpstream('gw', seen);
    await exposed(k, port, { paths: ['/orders'] });
    await call(k, 'POST', '/services/svc/plugins', {
      name: 'jwt',
      config: { key_claim_name: 'kid', claims_to_verify: ['exp'] },
    });
    await call(k, 'POST', '/services/svc/plugins', {
      name: 'correlation-id',
      config: { header_name: 'x-request-id', echo_downstream: true },
    });
    const role = 'arn:aws:iam::111122223333:role/orders-client';
    const consumer = (await call(k, 'POST', '/consumers', { username: 'orders-client', custom_id: role })).body;
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    await call(k, 'POST', '/consumers/orders-client/jwt', {
      key: 'kid-1',
      algorithm: 'ES256',
      rsa_public_key: await exportSPKI(publicKey),
    });

    const anonymous = await fetch(`${proxyUrl()}/orders`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { message: string }).message).toBe('Unauthorized');
    expect(seen).toHaveLength(0);

    const token = await new SignJWT({ kid: 'kid-1' })
      .setProtectedHeader({ alg: 'ES256', kid: 'kid-1' })
      .setSubject(role)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const response = await fetch(`${proxyUrl()}/orders`, {
      headers: { authorization: `Bearer ${token}`, 'x-consumer-username': 'admin' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[0]?.headers['x-consumer-id']).toBe(consumer.id);
    expect(seen[0]?.headers['x-consumer-custom-id']).toBe(role);
    expect(seen[0]?.headers['x-consumer-username']).toBe('orders-client');
    expect(seen[0]?.headers['x-credential-identifier']).toBe('kid-1');
    expect(seen[0]?.headers['x-request-id']).toBe(response.headers.get('x-request-id'));

    const expired = await new SignJWT({ kid: 'kid-1' })
      .setProtectedHeader({ alg: 'ES256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(privateKey);
    const rejected = await fetch(`${proxyUrl()}/orders?jwt=${expired}`);
    expect(rejected.status).toBe(401);
    expect(((await rejected.json()) as { message: string }).message).toBe('token expired');
  });

  it('request-termination answers with its body and content type; the service is never called', async () => {
    const k = await world();
    const seen: Seen[] = [];
    const port = await stubUpstream('gw', seen);
    await exposed(k, port, { paths: ['/.well-known/jwks.json'] });
    await call(k, 'POST', '/routes/r/plugins', {
      name: 'request-termination',
      config: { status_code: 200, body: '{"keys":[]}', content_type: 'application/jwk-set+json' },
    });
    const response = await fetch(`${proxyUrl()}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(await response.json()).toEqual({ keys: [] });
    expect(seen).toHaveLength(0);
  });

  it('opentelemetry continues an incoming W3C trace and injects it as w3c and aws', async () => {
    const k = await world();
    const seen: Seen[] = [];
    const port = await stubUpstream('gw', seen);
    await exposed(k, port, { paths: ['/'] });
    const created = await call(k, 'POST', '/services/svc/plugins', {
      name: 'opentelemetry',
      config: {
        traces_endpoint: 'http://collector:4318/v1/traces',
        propagation: { extract: ['w3c', 'aws'], inject: ['w3c', 'aws'], default_format: 'w3c' },
      },
    });
    expect(created.status).toBe(201);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await (await fetch(`${proxyUrl()}/`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } })).text();
    expect(seen[0]?.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(seen[0]?.headers['x-amzn-trace-id']).toMatch(
      new RegExp(`^Root=1-${traceId.slice(0, 8)}-${traceId.slice(8)};Parent=[0-9a-f]{16};Sampled=1$`),
    );
  });

  it('https to the upstream verifies the chain against the service’s ca_certificates', async () => {
    const k = await world();
    const pki = issueTestPki(['edge.shop.gateway']);
    const seen: Seen[] = [];
    const port = await listen(createHttpsServer({ cert: pki.serverCert, key: pki.serverKey }), seen, 'tls-gw');
    const ca = await call(k, 'POST', '/ca_certificates', { cert: pki.caCert, tags: ['managed-by:meshgate'] });
    expect(ca.status).toBe(201);
    expect(ca.body.cert_digest).toMatch(/^[0-9a-f]{64}$/);
    await exposed(k, port, { paths: ['/'] }, { protocol: 'https', tls_verify: true, ca_certificates: [ca.body.id] });
    const ok = await fetch(`${proxyUrl()}/secure`);
    expect(ok.status).toBe(200);
    expect(seen).toHaveLength(1);

    await call(k, 'PATCH', '/services/svc', { ca_certificates: null });
    const untrusted = await fetch(`${proxyUrl()}/secure`);
    expect(untrusted.status).toBe(502);
    expect(seen).toHaveLength(1);
  });
});
