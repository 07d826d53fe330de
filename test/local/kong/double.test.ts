import { generateKeyPairSync } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { startKongDouble } from '../../../local/kong/server.js';
import { call, useKongDouble } from './helpers.js';

const kong = useKongDouble();
const OWNED = ['managed-by:meshgate', 'meshgate:instance=test'];

describe('transport', () => {
  it('serves GET / with a string version 3.9.x and GET /status', async () => {
    const root = await call(kong(), 'GET', '/');
    expect(root.body.version).toMatch(/^3\.9\.\d+$/);
    expect(root.body).toMatchObject({ tagline: 'Welcome to kong', edition: 'community' });
    expect(root.body.configuration.database).toBe('postgres');
    expect(root.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(root.headers.get('server')).toBe('kong/3.9.3');
    expect((await call(kong(), 'GET', '/status')).body.database).toEqual({ reachable: true });
  });

  it('answers unknown paths 404, wrong verbs 405, bad JSON 400, bad content type 415', async () => {
    expect(await call(kong(), 'GET', '/nope')).toMatchObject({ status: 404, body: { message: 'Not found' } });
    expect(await call(kong(), 'DELETE', '/services')).toMatchObject({
      status: 405,
      body: { message: 'Method not allowed' },
    });
    expect(await call(kong(), 'POST', '/services', '{nope')).toMatchObject({
      status: 400,
      body: { message: 'Cannot parse JSON body' },
    });
    expect((await call(kong(), 'POST', '/services', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await call(kong(), 'GET', '/services/')).body).toEqual({ data: [], next: null });
  });

  it('accepts form bodies with Kong type coercion', async () => {
    const answer = await call(kong(), 'POST', '/services', 'host=a.test&port=8080&tags[]=x&tags[]=y', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(answer).toMatchObject({ status: 201, body: { host: 'a.test', port: 8080, tags: ['x', 'y'] } });
  });

  it('requires the admin token when one is configured', async () => {
    const secured = await startKongDouble({ adminToken: 'letmein' });
    try {
      expect(await call(secured, 'GET', '/')).toMatchObject({
        status: 401,
        body: { message: 'Invalid credentials. Token or User credentials required' },
      });
      expect((await call(secured, 'GET', '/', undefined, { 'Kong-Admin-Token': 'letmein' })).status).toBe(200);
    } finally {
      await secured.close();
    }
  });
});

describe('fault injection and request log', () => {
  it('fails the nth matching request with Kong body and headers, then serves normally', async () => {
    kong().faults.inject({
      method: 'PUT',
      path: /^\/services\//,
      nth: 2,
      status: 503,
      headers: { 'Retry-After': '1' },
    });
    const put = (name: string) => call(kong(), 'PUT', `/services/${name}`, { host: 'a.test' });
    expect((await put('a')).status).toBe(200);
    const failed = await put('b');
    expect(failed).toMatchObject({ status: 503, body: { message: expect.any(String) } });
    expect(failed.headers.get('retry-after')).toBe('1');
    expect((await put('c')).status).toBe(200);
    expect((await call(kong(), 'GET', '/services/b')).status).toBe(404);
    kong().faults.inject({ path: '/services', status: 500 });
    expect((await call(kong(), 'GET', '/services')).body).toEqual({ message: 'An unexpected error occurred' });
    expect(
      kong()
        .requests.entries.slice(0, 3)
        .map((entry) => [entry.method, entry.path, entry.status]),
    ).toEqual([
      ['PUT', '/services/a', 200],
      ['PUT', '/services/b', 503],
      ['PUT', '/services/c', 200],
    ]);
    expect(kong().requests.writes()).toHaveLength(3);
  });

  it('drops the connection', async () => {
    kong().faults.inject({ path: '/', drop: true });
    await expect(call(kong(), 'GET', '/')).rejects.toThrow();
    expect((await call(kong(), 'GET', '/')).status).toBe(200);
  });

  it('delays then serves when only a delay is given', async () => {
    kong().faults.inject({ path: '/status', delayMs: 20 });
    expect((await call(kong(), 'GET', '/status')).status).toBe(200);
  });
});

describe('guard', () => {
  it('records writes touching entities that lack the owned tags', async () => {
    await call(kong(), 'PUT', '/services/theirs', { host: 'a.test', tags: ['team:x'] });
    kong().guard(OWNED);
    await call(kong(), 'PUT', '/services/ours', { host: 'a.test', tags: OWNED });
    await call(kong(), 'PATCH', '/services/ours', { retries: 1 });
    await call(kong(), 'DELETE', '/services/ours');
    await call(kong(), 'DELETE', '/services/absent');
    expect(kong().violations).toEqual([]);
    await call(kong(), 'PATCH', '/services/theirs', { retries: 1 });
    await call(kong(), 'POST', '/consumers', { username: 'untagged' });
    await call(kong(), 'DELETE', '/services/theirs');
    expect(kong().violations.map(({ method, entity, tags }) => [method, entity, tags])).toEqual([
      ['PATCH', 'services', ['team:x']],
      ['POST', 'consumers', null],
      ['DELETE', 'services', ['team:x']],
    ]);
    expect(kong().violations[0]?.path).toBe('/services/theirs');
  });
});

describe('verifyJwt', () => {
  async function consumerWithKey(alg: 'ES256' | 'RS256' | 'EdDSA') {
    const pair =
      alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : alg === 'RS256'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ed25519');
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const consumer = (await call(kong(), 'PUT', '/consumers/alice', {})).body;
    await call(kong(), 'PUT', `/consumers/alice/jwt/alice-${alg}`, { algorithm: alg, rsa_public_key: pem });
    return { consumer, privateKey: pair.privateKey };
  }

  it.each(['ES256', 'RS256', 'EdDSA'] as const)(
    'accepts a %s token selected by kid, rejects tampering',
    async (alg) => {
      const { consumer, privateKey } = await consumerWithKey(alg);
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ kid: `alice-${alg}` })
        .setProtectedHeader({ alg })
        .setExpirationTime(now + 60)
        .sign(privateKey);
      expect(kong().verifyJwt(token, { keyClaimName: 'kid' })).toEqual({
        ok: true,
        consumer: { id: consumer.id, username: 'alice' },
        key: `alice-${alg}`,
      });
      const [head, , signature] = token.split('.');
      const forged = `${head}.${Buffer.from(JSON.stringify({ kid: `alice-${alg}`, admin: true })).toString('base64url')}.${signature}`;
      expect(kong().verifyJwt(forged, { keyClaimName: 'kid' })).toEqual({
        ok: false,
        status: 401,
        message: 'Invalid signature',
      });
    },
  );

  it('reads kid from the header, checks alg, expiry and unknown keys', async () => {
    const { privateKey } = await consumerWithKey('ES256');
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, kid = 'alice-ES256') =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
    expect(kong().verifyJwt(await sign({ exp: now + 60 }), { keyClaimName: 'kid' }).ok).toBe(true);
    expect(kong().verifyJwt(await sign({ exp: now - 1 }), { keyClaimName: 'kid' })).toMatchObject({
      message: 'token expired',
    });
    expect(kong().verifyJwt(await sign({ nbf: now + 600 }), { keyClaimName: 'kid' })).toMatchObject({
      message: 'token not valid yet',
    });
    expect(kong().verifyJwt(await sign({}, 'other'), { keyClaimName: 'kid' })).toMatchObject({
      message: "No credentials found for given 'kid'",
    });
    expect(kong().verifyJwt(await sign({}))).toMatchObject({ message: "No mandatory 'iss' in claims" });
    const hs = await new SignJWT({ kid: 'alice-ES256' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('secret'));
    expect(kong().verifyJwt(hs, { keyClaimName: 'kid' })).toMatchObject({ status: 401, message: 'Invalid algorithm' });
    await call(kong(), 'DELETE', '/consumers/alice/jwt/alice-ES256');
    expect(kong().verifyJwt(await sign({}), { keyClaimName: 'kid' }).ok).toBe(false);
  });
});

describe('reset', () => {
  it('empties the store, faults, log and violations', async () => {
    await call(kong(), 'PUT', '/services/a', { host: 'a.test' });
    kong().guard(OWNED);
    await call(kong(), 'PUT', '/services/b', { host: 'a.test' });
    kong().faults.inject({ path: '/services', status: 500, times: Number.POSITIVE_INFINITY });
    kong().reset();
    expect(kong().violations).toEqual([]);
    expect(kong().requests.entries).toEqual([]);
    expect((await call(kong(), 'GET', '/services')).body).toEqual({ data: [], next: null });
  });
});

describe('HEAD and OPTIONS', () => {
  it('serves HEAD like GET without a body and OPTIONS with Allow', async () => {
    const head = await new Promise<{ status?: number; length: number }>((resolve, reject) => {
      const req = httpRequest(`${kong().url}/services`, { method: 'HEAD' }, (res) => {
        let length = 0;
        res.on('data', (chunk: Buffer) => {
          length += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode, length }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(head).toEqual({ status: 200, length: 0 });
    const options = await call(kong(), 'OPTIONS', '/services');
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('GET, POST, OPTIONS');
  });
});
