import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type KongDouble, startKongDouble } from '../../local/kong/server.js';
import { KongClient } from '../../shared/kong/client.js';
import { type EntityByKind, type EntityKind, normalizeEntity } from '../../shared/kong/entities.js';
import { KongError } from '../../shared/kong/errors.js';
import { entityId, ownershipTags } from '../../shared/kong/ownership.js';

const TOKEN = 'double-admin-token';
const OWNED = ownershipTags('test');
const id = (kind: EntityKind, key: string) => entityId('test', kind, key);

let kong: KongDouble;
let client: KongClient;

beforeAll(async () => {
  kong = await startKongDouble({ adminToken: TOKEN });
  client = new KongClient({ url: kong.url, token: TOKEN, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
});

afterAll(async () => {
  client.close();
  await kong.close();
});

beforeEach(() => kong.reset());

/** One owned entity of every kind, wired together, in dependency order. */
function desiredState(): { [K in EntityKind]: EntityByKind[K] } {
  const consumer = normalizeEntity('consumer', { id: id('consumer', 'alice'), username: 'alice', tags: OWNED });
  const service = normalizeEntity('service', {
    id: id('service', 'orders'),
    name: 'orders',
    host: 'orders.upstream',
    tags: OWNED,
  });
  const upstream = normalizeEntity('upstream', { id: id('upstream', 'orders'), name: 'orders.upstream', tags: OWNED });
  return {
    ca_certificate: normalizeEntity('ca_certificate', {
      id: id('ca_certificate', 'mesh'),
      cert: readFileSync(join(import.meta.dirname, '..', 'fixtures', 'mesh-ca.pem'), 'utf8'),
      tags: OWNED,
    }),
    consumer,
    service,
    upstream,
    jwt: normalizeEntity('jwt', {
      id: id('jwt', 'alice/kid-1'),
      consumer: { id: consumer.id },
      key: 'kid-1',
      secret: 'test-hmac-secret',
      algorithm: 'HS256',
      tags: OWNED,
    }),
    route: normalizeEntity('route', {
      id: id('route', 'orders'),
      name: 'orders',
      paths: ['/orders'],
      service: { id: service.id },
      tags: OWNED,
    }),
    target: normalizeEntity('target', {
      id: id('target', 'orders/10.0.0.1:8080'),
      target: '10.0.0.1:8080',
      upstream: { id: upstream.id },
      tags: OWNED,
    }),
    plugin: normalizeEntity('plugin', {
      id: id('plugin', 'orders/jwt'),
      name: 'jwt',
      service: { id: service.id },
      config: { key_claim_name: 'kid' },
      protocols: ['http', 'https'],
      tags: OWNED,
    }),
  };
}

const ORDER: EntityKind[] = ['ca_certificate', 'consumer', 'service', 'upstream', 'jwt', 'route', 'target', 'plugin'];
const parentOf = (kind: EntityKind, entity: EntityByKind[EntityKind]) =>
  kind === 'target'
    ? (entity as EntityByKind['target']).upstream.id
    : kind === 'jwt'
      ? (entity as EntityByKind['jwt']).consumer.id
      : undefined;

/** Fields Kong fills that the desired state may not spell out (plugin config defaults, timestamps). */
function comparable(kind: EntityKind, entity: EntityByKind[EntityKind]): Record<string, unknown> {
  const { created_at: _c, updated_at: _u, ...rest } = entity as Record<string, unknown>;
  if (kind === 'plugin') rest.config = { key_claim_name: (rest.config as Record<string, unknown>).key_claim_name };
  return rest;
}

describe('every entity kind against the Kong double', () => {
  it('creates, reads, lists, updates, upserts and deletes', async () => {
    const state = desiredState();
    for (const kind of ORDER) {
      await client.create(kind, state[kind]);
      const read = await client.get(kind, state[kind].id, { parent: parentOf(kind, state[kind]) });
      expect(read && comparable(kind, read), kind).toEqual(comparable(kind, state[kind]));
    }

    for (const kind of ORDER) {
      const listed = await client.list(kind, { tags: OWNED, upstream: state.upstream.id });
      expect(
        listed.map((entity) => entity.id),
        kind,
      ).toEqual([state[kind].id]);
    }

    const stored = <K extends keyof typeof state>(kind: K) =>
      client.get(kind, state[kind].id, { parent: parentOf(kind, state[kind]) });
    await client.update('service', { ...state.service, port: 8080 });
    await expect(stored('service')).resolves.toMatchObject({ port: 8080 });
    await client.update('target', { ...state.target, weight: 5 });
    await expect(stored('target')).resolves.toMatchObject({ weight: 5, id: state.target.id });
    await client.upsert('target', { ...state.target, weight: 7 });
    await expect(stored('target')).resolves.toMatchObject({ weight: 7 });
    await client.upsert('route', { ...state.route, paths: ['/v2/orders'] });
    await expect(stored('route')).resolves.toMatchObject({ paths: ['/v2/orders'] });

    for (const kind of [...ORDER].reverse()) {
      await client.delete(kind, state[kind]);
      await client.delete(kind, state[kind]);
      await expect(
        client.get(kind, state[kind].id, { parent: parentOf(kind, state[kind]) }),
        kind,
      ).resolves.toBeUndefined();
    }
  });

  it('upserts every kind into an empty Kong, and again as a no-op', async () => {
    const state = desiredState();
    for (const kind of ORDER) await client.upsert(kind, state[kind]);
    for (const kind of ORDER) await client.upsert(kind, state[kind]);
    for (const kind of ORDER) {
      await expect(client.list(kind, { tags: OWNED, upstream: state.upstream.id })).resolves.toHaveLength(1);
    }
  });

  it('lists only entities carrying every requested tag', async () => {
    await client.upsert(
      'consumer',
      normalizeEntity('consumer', { id: id('consumer', 'a'), username: 'a', tags: OWNED }),
    );
    await client.upsert(
      'consumer',
      normalizeEntity('consumer', { id: id('consumer', 'b'), username: 'b', tags: [OWNED[0]!] }),
    );
    await client.upsert('consumer', normalizeEntity('consumer', { id: id('consumer', 'c'), username: 'c' }));
    expect((await client.list('consumer', { tags: OWNED })).map((c) => c.username)).toEqual(['a']);
    expect(await client.list('consumer')).toHaveLength(3);
  });

  it('surfaces Kong errors with code, name and fields', async () => {
    const state = desiredState();
    const error = await client.create('route', state.route).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(KongError);
    expect(error).toMatchObject({ status: 400, code: 4, kongName: 'foreign key violation', method: 'POST' });
    await client.create('consumer', state.consumer);
    const conflict = await client
      .create('consumer', { ...state.consumer, id: id('consumer', 'other') })
      .catch((reason: unknown) => reason);
    expect(conflict).toMatchObject({ status: 409, code: 5, fields: { username: 'alice' }, isConflict: true });
  });

  it('is refused without the admin token', async () => {
    const anonymous = new KongClient({ url: kong.url, retry: { baseDelayMs: 1 } });
    try {
      await expect(anonymous.version()).rejects.toMatchObject({ status: 401, retryable: false });
    } finally {
      anonymous.close();
    }
    await expect(client.version()).resolves.toBe('3.9.3');
  });
});

describe('pagination against the Kong double', () => {
  it('follows offset across several pages', async () => {
    const paged = new KongClient({ url: kong.url, token: TOKEN, pageSize: 10 });
    const owned = Array.from({ length: 25 }, (_, n) =>
      normalizeEntity('service', { id: id('service', `svc-${n}`), host: `svc-${n}.internal`, tags: OWNED }),
    );
    const foreign = normalizeEntity('service', { id: id('service', 'foreign'), host: 'foreign.internal' });
    try {
      await Promise.all([...owned, foreign].map((service) => paged.upsert('service', service)));
      kong.requests.clear();
      const listed = await paged.list('service', { tags: OWNED });
      expect(listed.map((service) => service.id).sort()).toEqual(owned.map((service) => service.id).sort());
      expect(kong.requests.entries.map((entry) => entry.method)).toEqual(['GET', 'GET', 'GET']);
    } finally {
      paged.close();
    }
  });

  it('pages targets of one upstream', async () => {
    const paged = new KongClient({ url: kong.url, token: TOKEN, pageSize: 4 });
    const { upstream } = desiredState();
    const targets = Array.from({ length: 9 }, (_, n) =>
      normalizeEntity('target', {
        id: id('target', `orders/10.0.0.${n}:80`),
        target: `10.0.0.${n}:80`,
        upstream: { id: upstream.id },
        tags: OWNED,
      }),
    );
    try {
      await paged.upsert('upstream', upstream);
      for (const target of targets) await paged.upsert('target', target);
      kong.requests.clear();
      const listed = await paged.list('target', { upstream: upstream.name, tags: OWNED });
      expect(listed.map((target) => target.target).sort()).toEqual(targets.map((target) => target.target).sort());
      expect(kong.requests.count()).toBe(3);
    } finally {
      paged.close();
    }
  });
});

describe('retries through fault injection', () => {
  it.each([500, 502, 503, 504])('retries a %i and the write lands once', async (status) => {
    const { service } = desiredState();
    kong.faults.inject({ method: 'PUT', path: /^\/services\//, status, times: 2 });
    await client.upsert('service', service);
    expect(kong.requests.count((entry) => entry.method === 'PUT')).toBe(3);
    await expect(client.list('service')).resolves.toHaveLength(1);
  });

  it('honours Retry-After on 429', async () => {
    kong.faults.inject({ method: 'GET', path: '/', status: 429, headers: { 'Retry-After': '0' } });
    await expect(client.version()).resolves.toBe('3.9.3');
    expect(kong.requests.count()).toBe(2);
  });

  it('retries a dropped connection and a stalled one', async () => {
    const slow = new KongClient({ url: kong.url, token: TOKEN, timeoutMs: 100, retry: { baseDelayMs: 1 } });
    try {
      kong.faults.inject({ method: 'GET', path: '/', drop: true });
      kong.faults.inject({ method: 'GET', path: '/', nth: 2, delayMs: 1000 });
      await expect(slow.version()).resolves.toBe('3.9.3');
    } finally {
      slow.close();
    }
  });

  it('does not retry a 4xx fault', async () => {
    kong.faults.inject({
      method: 'GET',
      path: '/',
      status: 409,
      body: { code: 5, name: 'unique constraint violation', message: 'x' },
    });
    await expect(client.version()).rejects.toMatchObject({ status: 409, code: 5, retryable: false });
    expect(kong.requests.count()).toBe(1);
  });

  it('gives up after maxAttempts with the last status', async () => {
    kong.faults.inject({ method: 'GET', path: /^\/services/, status: 503, times: Number.POSITIVE_INFINITY });
    await expect(client.list('service')).rejects.toMatchObject({ status: 503, retryable: true, method: 'GET' });
    expect(kong.requests.count()).toBe(5);
  });
});
