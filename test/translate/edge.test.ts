import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, exportSPKI, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type KongDouble, startKongDouble } from '../../local/kong/server.js';
import type { ConsumerSpec } from '../../shared/consumers/model.js';
import { KongClient } from '../../shared/kong/client.js';
import { emptyKongState } from '../../shared/kong/entities.js';
import { apply } from '../../shared/reconcile/apply.js';
import { diff } from '../../shared/reconcile/diff.js';
import { dump } from '../../shared/reconcile/dump.js';
import { plan } from '../../shared/reconcile/plan.js';
import { jwkOf, jwksOf, type TranslateInput, translate } from '../../shared/translate/index.js';

/**
 * The edge additions (mesh CA, TLS services, OpenTelemetry, the JWKS route) written into the Kong double: the
 * double validates them with Kong 3.9's schemas (defaults filled), and a second diff finds nothing, so every config
 * meshgate writes is spelled exactly as Kong returns it.
 */
const input = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'golden', 'tls-otel-jwks', 'input.json'), 'utf8'),
) as TranslateInput;
const INSTANCE = input.options.instance;

let double: KongDouble;
let kong: KongClient;

beforeAll(async () => {
  double = await startKongDouble({ proxyPort: 0 });
  kong = new KongClient({ url: double.url });
});
afterAll(async () => {
  kong.close();
  await double.close();
});
beforeEach(() => double.reset());

async function write(state: ReturnType<typeof translate>['state']) {
  const current = await dump(kong, { instance: INSTANCE });
  const result = await apply(kong, plan(diff(current, state)), { instance: INSTANCE, parallelism: 4 });
  expect(result.failed).toEqual([]);
}

describe('edge entities against the Kong double', () => {
  it('CA certificate, TLS services, opentelemetry and request-termination round-trip with no diff', async () => {
    const { state, failures } = translate(input);
    expect(failures).toEqual([]);
    await write(state);
    const again = diff(await dump(kong, { instance: INSTANCE }), state);
    expect(again).toEqual([]);
    const otel = state.plugins.find((p) => p.name === 'opentelemetry');
    expect(otel?.config.propagation).toEqual({
      extract: ['w3c', 'aws'],
      clear: null,
      inject: ['w3c', 'aws'],
      default_format: 'w3c',
    });
  });

  it('the double refuses an opentelemetry config Kong refuses (no endpoint, unknown propagation format)', async () => {
    const post = (config: unknown) =>
      fetch(`${double.url}/plugins`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'opentelemetry', config }),
      });
    expect((await post({ propagation: { extract: ['w3c'] } })).status).toBe(400);
    expect((await post({ traces_endpoint: 'http://c:4318', propagation: { extract: ['xray'] } })).status).toBe(400);
  });

  it('the JWKS route answers at the edge and verifies a consumer token; its keys follow the live keys', async () => {
    const current = await generateKeyPair('ES256', { extractable: true });
    const pending = await generateKeyPair('ES256', { extractable: true });
    const key = async (kid: string, pair: typeof current, stages: string[]) => ({
      kid,
      alg: 'ES256' as const,
      publicKeyPem: await exportSPKI(pair.publicKey),
      createdAt: '2026-01-01T00:00:00Z',
      versionId: kid,
      stages,
    });
    const consumer: ConsumerSpec = {
      username: 'checkout',
      iamRole: 'arn:aws:iam::111122223333:role/checkout',
      secretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:checkout',
      keys: [await key('k-current', current, ['AWSCURRENT'])],
    };
    await write(translate({ ...input, consumers: [consumer] }).state);
    const fetchJwks = async () => {
      const response = await fetch(`${double.proxy?.url}/.well-known/jwks.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/jwk-set+json');
      return (await response.json()) as { keys: { kid: string }[] };
    };
    const token = await new SignJWT({ kid: 'k-current' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k-current' })
      .setSubject(consumer.iamRole as string)
      .setExpirationTime('5m')
      .sign(current.privateKey);
    const { payload } = await jwtVerify(token, createLocalJWKSet(await fetchJwks()));
    expect(payload.sub).toBe(consumer.iamRole);

    // Rotation adds the pending key; both verify until the old one is retired.
    consumer.keys.push(await key('k-pending', pending, ['AWSPENDING']));
    await write(translate({ ...input, consumers: [consumer] }).state);
    expect((await fetchJwks()).keys.map((k) => k.kid)).toEqual(['k-current', 'k-pending']);
    await jwtVerify(token, createLocalJWKSet(await fetchJwks()));

    // A rolled-back (or retired) key leaves the document: its tokens no longer verify.
    consumer.keys = consumer.keys.filter((k) => k.kid !== 'k-current');
    await write(translate({ ...input, consumers: [consumer] }).state);
    expect((await fetchJwks()).keys.map((k) => k.kid)).toEqual(['k-pending']);
    await expect(jwtVerify(token, createLocalJWKSet(await fetchJwks()))).rejects.toThrow();
  });

  it('jwksOf is pure and ordered by kid whatever the consumer order', async () => {
    const pem = async () => exportSPKI((await generateKeyPair('ES256', { extractable: true })).publicKey);
    const spec = (username: string, kid: string, publicKeyPem: string): ConsumerSpec => ({
      username,
      secretArn: `arn:${username}`,
      keys: [{ kid, alg: 'ES256', publicKeyPem, createdAt: '', versionId: kid, stages: ['AWSCURRENT'] }],
    });
    const a = spec('a', 'z-kid', await pem());
    const b = spec('b', 'a-kid', await pem());
    expect(jwksOf([a, b])).toEqual(jwksOf([b, a]));
    expect(jwksOf([a, b]).keys.map((k) => [k.kid, k.kty, k.alg, k.use])).toEqual([
      ['a-kid', 'EC', 'ES256', 'sig'],
      ['z-kid', 'EC', 'ES256', 'sig'],
    ]);
    expect(JSON.stringify(jwksOf([a]))).not.toContain('"d"');
    expect(emptyKongState().ca_certificates).toEqual([]);
  });

  it('jwkOf derives a key once per process, and never lends a JWK to another kid', async () => {
    const publicKeyPem = await exportSPKI((await generateKeyPair('ES256', { extractable: true })).publicKey);
    const first = jwkOf({ kid: 'k1', alg: 'ES256', publicKeyPem });
    expect(jwkOf({ kid: 'k1', alg: 'ES256', publicKeyPem })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    // The same PEM under another kid (a re-imported key) is a JWK of its own.
    expect(jwkOf({ kid: 'k2', alg: 'ES256', publicKeyPem })).toMatchObject({ kid: 'k2', x: first.x, y: first.y });
    const other = await exportSPKI((await generateKeyPair('ES256', { extractable: true })).publicKey);
    expect(jwkOf({ kid: 'k1', alg: 'ES256', publicKeyPem: other }).x).not.toBe(first.x);
  });
});
