import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type KongDouble, startKongDouble } from '../../local/kong/server.js';
import { ConfigError, loadConfig } from '../../shared/config/index.js';
import { type ConfiguredKong, kongClientFromConfig } from '../../shared/kong/admin-token.js';
import { KongClient } from '../../shared/kong/client.js';
import type { KongState } from '../../shared/kong/entities.js';
import { KongError } from '../../shared/kong/errors.js';
import { konnectControlPlane, konnectErrorFromResponse } from '../../shared/kong/konnect.js';
import { reconcile } from '../../shared/reconcile/reconcile.js';
import { directoryStateStore, type StateStore } from '../../shared/state/index.js';
import { consumer, INSTANCE, oneOfEachKind, route, service, state, target } from '../reconcile/fixtures.js';
import { fakeSecretValues } from '../support/secrets-manager-fake.js';

/**
 * meshgate against a Konnect control plane (the Kong double's Konnect mode): the core-entities prefix, the bearer
 * access token from Secrets Manager, Konnect's paging and error bodies, and the engine's sync, no-op and restore.
 */
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:konnect-token-AbCdEf';
/** The access token secret at ARN: holds `storedToken`. */
let storedToken: string;
const secretsManager = fakeSecretValues(({ SecretId }) => {
  if (SecretId !== ARN) throw new Error(`no secret ${SecretId}`);
  return { SecretString: storedToken };
});

let kong: KongDouble;
let folder: string;
let store: StateStore;
const clients: { close(): void }[] = [];

beforeEach(async () => {
  kong = await startKongDouble({ mode: 'konnect', adminToken: 'kpat_first' });
  storedToken = 'kpat_first';
  folder = await mkdtemp(join(tmpdir(), 'meshgate-konnect-'));
  store = directoryStateStore(folder, INSTANCE);
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  secretsManager.reads.length = 0;
  await kong.close();
  await rm(folder, { recursive: true, force: true });
});

function configFor(env: Record<string, string> = {}) {
  return loadConfig({
    KONG_ADMIN_URL: kong.adminUrl,
    KONG_ADMIN_TOKEN_SECRET_ARN: ARN,
    MESHGATE_STATE_DIR: folder,
    ...env,
  });
}

/** The client meshgate builds from its configuration: KONG_MODE is left at its default, the URL says Konnect. */
async function konnect(env: Record<string, string> = {}): Promise<ConfiguredKong> {
  const client = await kongClientFromConfig(configFor(env), secretsManager);
  clients.push(client);
  return client;
}

const desired = oneOfEachKind;

const sync = (client: ConfiguredKong, wanted: KongState) =>
  reconcile(client, wanted, { instance: INSTANCE, store, trigger: 'test', parallelism: 4 });

/** A request to the double as Konnect's clients make it. */
async function call(method: string, path: string, body?: unknown, token = 'kpat_first') {
  const response = await fetch(`${kong.adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

describe('Konnect: a control plane as the Kong meshgate keeps in step', () => {
  it('a full sync, then a no-op sync that writes nothing; every request stays under the control plane', async () => {
    const client = await konnect();
    const first = await sync(client, desired());
    expect(first.outcome).toBe('applied');
    expect((await call('GET', `/services/${service('orders').id}`)).status).toBe(200);
    expect((await call('GET', '/upstreams/orders.upstream/targets')).body.data).toHaveLength(1);
    // No node root (decK does not ask either), nothing outside the prefix, no PATCH (Konnect has none).
    const paths = kong.requests.entries.map((entry) => entry.path);
    expect(paths.filter((path) => path === '/' || path.startsWith('/v2/'))).toEqual([]);
    expect(kong.requests.entries.filter((entry) => entry.method === 'PATCH')).toEqual([]);

    kong.requests.clear();
    const second = await sync(await konnect(), desired());
    expect(second.plan.summary.total).toBe(0);
    expect(kong.requests.writes()).toEqual([]);
  });

  it('a target update is a PUT under its upstream, as Konnect upserts targets', async () => {
    const client = await konnect();
    await sync(client, desired());
    const heavier = desired();
    heavier.targets = [target('orders.upstream', '10.0.0.1:8080', { weight: 50 })];
    kong.requests.clear();
    expect((await sync(client, heavier)).outcome).toBe('applied');
    const writes = kong.requests.writes().map((entry) => `${entry.method} ${entry.path}`);
    expect(writes).toEqual([expect.stringMatching(/^PUT \/upstreams\/[^/]+\/targets\/[^/]+$/)]);
    expect((await call('GET', '/upstreams/orders.upstream/targets')).body.data[0].weight).toBe(50);
  });

  it('a failed apply restores the snapshot; an entity that is not meshgate’s is untouched', async () => {
    expect((await call('POST', '/services', { name: 'legacy', host: 'legacy.internal' })).status).toBe(201);
    const client = await konnect();
    await sync(client, desired());
    const changed = desired();
    changed.services = [service('orders', { port: 8080 })];
    changed.routes = [...changed.routes, route('extra', 'orders')];
    kong.faults.inject({ method: 'POST', path: '/routes', status: 503, times: Number.POSITIVE_INFINITY });
    const report = await reconcile(client, changed, { instance: INSTANCE, store, trigger: 'test', parallelism: 1 });
    expect(report.outcome).toBe('rolled-back');
    kong.faults.clear();
    expect((await call('GET', `/services/${service('orders').id}`)).body.port).toBe(80);
    expect((await call('GET', '/routes/extra')).status).toBe(404);
    expect((await call('GET', '/services/legacy')).body.host).toBe('legacy.internal');
  });

  it('pages with size and offset across the whole collection', async () => {
    for (let index = 0; index < 25; index += 1)
      expect((await call('POST', '/services', { name: `s${index}`, host: 'h.internal' })).status).toBe(201);
    const client = new KongClient({ url: kong.adminUrl, token: 'kpat_first', dialect: 'konnect', pageSize: 10 });
    clients.push(client);
    kong.requests.clear();
    expect(await client.list('service')).toHaveLength(25);
    const pages = kong.requests.entries.filter((entry) => entry.path === '/services');
    expect(pages).toHaveLength(3);
  });

  it('a unique violation is reported as an ownership conflict of that change alone', async () => {
    await call('POST', '/services', { name: service('orders').name, host: 'theirs.internal' });
    const report = await sync(await konnect(), state({ services: [service('orders')], consumers: [consumer('bob')] }));
    expect(report.conflicts.map((conflict) => String(conflict.error))).toEqual([
      expect.stringContaining('a service not meshgate'),
    ]);
    expect((await call('GET', '/consumers/bob')).status).toBe(200);
  });

  it('a refused entity is named with the field Konnect refused', async () => {
    const wanted = desired();
    wanted.services = [service('orders', { host: 'not a host!' })];
    const report = await sync(await konnect(), wanted);
    expect(report.outcome).not.toBe('applied');
    const message = report.failed.map((failure) => String(failure.error)).join('\n');
    expect(message).toContain('Konnect POST /services answered 400: validation error: host: invalid value');
  });

  it('429 with Retry-After is waited out and retried', async () => {
    kong.faults.inject({ method: 'GET', path: '/services', status: 429, headers: { 'Retry-After': '0' } });
    const client = await konnect();
    expect(await client.list('service')).toEqual([]);
    const answers = kong.requests.entries.filter((entry) => entry.path === '/services').map((entry) => entry.status);
    expect(answers).toEqual([429, 200]);
  });
});

describe('Konnect access tokens', () => {
  it('sends the token from Secrets Manager as a bearer token', async () => {
    const client = await konnect();
    expect(await client.list('consumer')).toEqual([]);
    expect((await call('GET', '/consumers', undefined, 'kpat_other')).body).toEqual({
      message: 'Unauthorized',
      status: 401,
    });
  });

  it('a rotated token is read again after one 401, then used', async () => {
    const client = await konnect();
    await sync(client, desired());
    kong.setAdminToken('spat_second');
    storedToken = '{"token":"spat_second"}';
    const before = secretsManager.reads.length;
    const wanted = desired();
    wanted.consumers = [...wanted.consumers, consumer('bob')];
    expect((await sync(client, wanted)).outcome).toBe('applied');
    expect(secretsManager.reads.length).toBe(before + 1);
    // The reads in flight at the rotation all got 401; one read of the secret served them all.
    expect(kong.requests.entries.filter((entry) => entry.status === 401).length).toBeGreaterThan(0);
  });

  it('a token Konnect refuses fails naming what is expected, without echoing the token', async () => {
    storedToken = 'kpat_revoked';
    const client = await konnect();
    const error = await client.list('service').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KongError);
    expect((error as KongError).status).toBe(401);
    expect(String((error as Error).message)).toContain('personal (kpat_…) or system account (spat_…) token');
    expect(String((error as Error).message)).not.toContain('kpat_revoked');
  });

  it('Konnect without a token, with a workspace, or DB-less is a configuration error', () => {
    const base = { KONG_ADMIN_URL: kong.adminUrl, MESHGATE_STATE_DIR: '/tmp/x' };
    expect(() => loadConfig(base)).toThrow(/KONG_ADMIN_TOKEN_SECRET_ARN.*access token/);
    expect(() => loadConfig({ ...base, KONG_ADMIN_TOKEN: 'kpat_x', KONG_WORKSPACE: 'team-a' })).toThrow(
      /KONG_WORKSPACE.*no workspaces/,
    );
    expect(() => loadConfig({ ...base, KONG_ADMIN_TOKEN: 'kpat_x', KONG_MODE: 'dbless' })).toThrow(
      /KONG_MODE.*Konnect control plane/,
    );
    expect(() =>
      loadConfig({
        KONG_ADMIN_URL: kong.url,
        KONG_MODE: 'konnect',
        KONG_ADMIN_TOKEN: 'kpat_x',
        MESHGATE_STATE_DIR: '/x',
      }),
    ).toThrow(ConfigError);
  });
});

describe('Konnect addresses and error bodies (pure)', () => {
  it('recognizes a control plane’s core-entities URL', () => {
    const id = '9524ec7d-36d9-465d-a8c5-83a3c9390458';
    expect(konnectControlPlane(`https://eu.api.konghq.com/v2/control-planes/${id}/core-entities`)).toBe(id);
    expect(konnectControlPlane(`https://eu.api.konghq.com/v2/control-planes/${id}/core-entities/`)).toBe(id);
    expect(konnectControlPlane(`https://eu.api.konghq.com/v2/control-planes/${id}`)).toBeUndefined();
    expect(konnectControlPlane('http://127.0.0.1:8001')).toBeUndefined();
  });

  it('reads the three error shapes into Kong’s terms', () => {
    const unique = konnectErrorFromResponse(
      400,
      {
        code: 3,
        message: 'data constraint error',
        details: [
          {
            type: 'ERROR_TYPE_REFERENCE',
            field: 'name',
            messages: ["name (type: unique) constraint failed for value 'a'"],
          },
        ],
      },
      'POST',
      '/services',
      false,
    );
    expect([unique.code, unique.isConflict]).toEqual([5, true]);
    const foreign = konnectErrorFromResponse(
      400,
      {
        code: 3,
        message: 'data constraint error',
        details: [{ field: 'service', messages: ['service (type: foreign) constraint failed'] }],
      },
      'POST',
      '/routes',
      false,
    );
    expect(foreign.code).toBe(4);
    // gRPC's code 3 (invalid argument) is not Kong's code 3 (primary key violation).
    const validation = konnectErrorFromResponse(
      400,
      { code: 3, message: 'validation error', details: [] },
      'PUT',
      '/x',
      false,
    );
    expect(validation.code).toBeUndefined();
    const problem = konnectErrorFromResponse(
      404,
      { status: 404, title: 'Not Found', detail: 'Not found' },
      'GET',
      '/y',
      false,
    );
    expect(problem.message).toContain('answered 404: Not found');
  });
});
