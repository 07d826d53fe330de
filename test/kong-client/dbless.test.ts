import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { type KongDouble, startKongDouble } from '../../local/kong/server.js';
import type { CloudMapReads } from '../../shared/aws/cloud-map-reads.js';
import { loadConfig } from '../../shared/config/index.js';
import { kongClientFromConfig } from '../../shared/kong/admin-token.js';
import { KongClient } from '../../shared/kong/client.js';
import { DeclarativeKong, type NodeReport } from '../../shared/kong/declarative.js';
import { emptyKongState, type KongState } from '../../shared/kong/entities.js';
import { dblessNodes } from '../../shared/kong/fleet.js';
import { reconcile } from '../../shared/reconcile/reconcile.js';
import { directoryStateStore, type StateStore } from '../../shared/state/index.js';
import { call } from '../local/kong/helpers.js';
import { consumer, INSTANCE, oneOfEachKind, route, service } from '../reconcile/fixtures.js';
import { fakeSecretValues } from '../support/secrets-manager-fake.js';

/**
 * meshgate against a fleet of DB-less Kong nodes: reads from GET /config, writes as one POST /config per apply stage
 * and node, meshgate's entities replaced and every other entity kept.
 */
const FOREIGN = {
  _format_version: '3.0',
  // Fixed ids and creation times: both nodes hold the very same foreign entities.
  services: [
    {
      id: 'f0000000-0000-4000-8000-000000000001',
      created_at: 1700000000,
      name: 'legacy',
      host: 'legacy.internal',
      tags: ['team:a'],
    },
  ],
  routes: [
    {
      id: 'f0000000-0000-4000-8000-000000000002',
      created_at: 1700000000,
      name: 'legacy',
      paths: ['/legacy'],
      service: 'legacy',
    },
  ],
  consumers: [
    { id: 'f0000000-0000-4000-8000-000000000003', created_at: 1700000000, username: 'partner', custom_id: 'partner-1' },
  ],
  plugins: [
    { id: 'f0000000-0000-4000-8000-000000000004', created_at: 1700000000, name: 'correlation-id', service: 'legacy' },
  ],
};

let nodes: KongDouble[];
let folder: string;
let store: StateStore;
const clients: DeclarativeKong[] = [];

beforeEach(async () => {
  nodes = [await startKongDouble({ mode: 'dbless' }), await startKongDouble({ mode: 'dbless' })];
  for (const node of nodes) expect((await call(node, 'POST', '/config', FOREIGN)).status).toBe(201);
  folder = await mkdtemp(join(tmpdir(), 'meshgate-dbless-'));
  store = directoryStateStore(folder, INSTANCE);
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const node of nodes) await node.close();
  await rm(folder, { recursive: true, force: true });
});

function fleet(extra: Partial<ConstructorParameters<typeof DeclarativeKong>[0]> = {}) {
  const client = new DeclarativeKong({
    nodes: nodes.map((node) => node.url),
    instance: INSTANCE,
    http: { retry: { maxAttempts: 1 } },
    ...extra,
  });
  clients.push(client);
  return client;
}

const desired = oneOfEachKind;

const sync = (kong: DeclarativeKong, wanted: KongState) =>
  reconcile(kong, wanted, { instance: INSTANCE, store, trigger: 'test', parallelism: 4 });

async function foreignOn(node: KongDouble) {
  const document = parse((await call(node, 'GET', '/config')).body.config);
  return {
    services: document.services.filter((s: { name: string }) => s.name === 'legacy').length,
    routes: document.routes.filter((r: { name: string }) => r.name === 'legacy').length,
    consumers: document.consumers.filter((c: { username: string }) => c.username === 'partner').length,
    plugins: document.plugins.filter((p: { tags: unknown }) => p.tags === null || p.tags === undefined).length,
  };
}
const ALL_FOREIGN = { services: 1, routes: 1, consumers: 1, plugins: 1 };
const hashes = async () =>
  Promise.all(nodes.map(async (node) => (await call(node, 'GET', '/status')).body.configuration_hash));

describe('DB-less fleet', () => {
  it('syncs every node, keeps every foreign entity, then a re-sync posts nothing; the hashes match', async () => {
    const kong = fleet();
    const first = await sync(kong, desired());
    expect(first.outcome).toBe('applied');
    for (const node of nodes) {
      expect(await foreignOn(node)).toEqual(ALL_FOREIGN);
      expect((await call(node, 'GET', `/services/${service('orders').id}`)).status).toBe(200);
      expect((await call(node, 'GET', `/upstreams/orders.upstream/targets`)).body.data).toHaveLength(1);
    }
    const [a, b] = await hashes();
    expect(a).toBe(b);
    for (const node of nodes) node.requests.clear();
    const second = await sync(fleet(), desired());
    expect(second.plan.summary.total).toBe(0);
    for (const node of nodes) expect(node.requests.writes()).toEqual([]);
  });

  it('one POST /config per node and apply stage, not one per entity', async () => {
    for (const node of nodes) node.requests.clear();
    const report = await sync(fleet(), desired());
    for (const node of nodes) {
      const posts = node.requests.writes().filter((entry) => entry.path === '/config');
      expect(posts.length).toBeGreaterThan(0);
      // batchesWrites: the apply starts a whole stage at once, so each stage is one configuration.
      expect(posts.length).toBeLessThanOrEqual(report.plan.stages.length);
      expect(posts.length).toBeLessThan(report.completed.length);
    }
  });

  it('removing everything meshgate owns leaves the foreign entities', async () => {
    await sync(fleet(), desired());
    await sync(fleet(), emptyKongState());
    for (const node of nodes) {
      expect(await foreignOn(node)).toEqual(ALL_FOREIGN);
      expect((await call(node, 'GET', '/services')).body.data).toHaveLength(1);
    }
  });

  it('a failed apply restores the snapshot on every node, foreign entities included', async () => {
    await sync(fleet(), desired());
    const changed = desired();
    changed.services = [service('orders', { port: 8080 })];
    changed.routes = [...changed.routes, route('extra', 'orders')];
    changed.plugins = [];
    // The second POST /config on node 2 fails for good: that stage fails, and the restore must undo the first one.
    nodes[1]?.faults.inject({ method: 'POST', path: '/config', nth: 2, times: 3, status: 500 });
    const report = await sync(fleet(), changed);
    expect(report.outcome).not.toBe('applied');
    expect(report.failed.length).toBeGreaterThan(0);
    for (const node of nodes) {
      expect(await foreignOn(node)).toEqual(ALL_FOREIGN);
      expect((await call(node, 'GET', `/services/${service('orders').id}`)).body.port).toBe(80);
      expect((await call(node, 'GET', '/routes/extra')).status).toBe(404);
    }
    const [a, b] = await hashes();
    expect(a).toBe(b);
  });

  it('a refused entity is reported by name and nothing is retried', async () => {
    const wanted = desired();
    wanted.services = [service('orders', { host: 'not a host!' })];
    const report = await sync(fleet(), wanted);
    expect(report.outcome).not.toBe('applied');
    const message = report.failed.map((failure) => String(failure.error)).join('\n');
    expect(message).toContain(`service 'orders': host:`);
    const posts = nodes[0]?.requests.writes().filter((entry) => entry.path === '/config' && entry.status === 400);
    expect(posts).toHaveLength(1);
  });

  it('a node that fails is retried; one that keeps failing is reported by URL', async () => {
    const flushes: NodeReport[][] = [];
    nodes[1]?.faults.inject({ method: 'POST', path: '/config', status: 503 });
    await sync(fleet({ onFlush: (reports) => flushes.push(reports) }), desired());
    expect(flushes[0]?.map((report) => [report.ok, report.attempts])).toEqual([
      [true, 1],
      [true, 2],
    ]);
    expect(await foreignOn(nodes[1] as KongDouble)).toEqual(ALL_FOREIGN);

    const wanted = desired();
    wanted.consumers = [...wanted.consumers, consumer('bob')];
    nodes[1]?.faults.inject({ method: 'POST', path: '/config', times: Number.POSITIVE_INFINITY, status: 503 });
    const report = await sync(fleet(), wanted);
    expect(report.outcome).not.toBe('applied');
    expect(String(report.failed[0]?.error)).toContain(`${nodes[1]?.url} (`);
    // Node 1 took bob, then the restore took him away again: both nodes run what they ran before.
    expect((await call(nodes[0] as KongDouble, 'GET', '/consumers/bob')).status).toBe(404);
  });
});

describe('DB-less configuration', () => {
  it('KONG_MODE=dbless with KONG_DBLESS_NODES builds a fleet client that syncs every listed node', async () => {
    const config = loadConfig({
      KONG_ADMIN_URL: nodes[0]?.url,
      KONG_MODE: 'dbless',
      KONG_DBLESS_NODES: nodes.map((node) => node.url).join(','),
      MESHGATE_INSTANCE: INSTANCE,
      MESHGATE_STATE_DIR: folder,
    });
    const kong = await kongClientFromConfig(config, fakeSecretValues());
    expect(kong).toBeInstanceOf(DeclarativeKong);
    try {
      expect((await sync(kong as DeclarativeKong, desired())).outcome).toBe('applied');
    } finally {
      kong.close();
    }
    for (const node of nodes) expect((await call(node, 'GET', '/consumers/alice')).status).toBe(200);
  });

  it('KONG_MODE=auto reads GET / once: a DB-less node gets the fleet client, a database-backed one the Admin API client', async () => {
    const env = { MESHGATE_INSTANCE: INSTANCE, MESHGATE_STATE_DIR: folder, KONG_MODE: 'auto' };
    const dbless = await kongClientFromConfig(
      loadConfig({ ...env, KONG_ADMIN_URL: nodes[0]?.url }),
      fakeSecretValues(),
    );
    expect(dbless).toBeInstanceOf(DeclarativeKong);
    dbless.close();
    const withDatabase = await startKongDouble();
    try {
      const kong = await kongClientFromConfig(
        loadConfig({ ...env, KONG_ADMIN_URL: withDatabase.url }),
        fakeSecretValues(),
      );
      expect(kong).toBeInstanceOf(KongClient);
      kong.close();
    } finally {
      await withDatabase.close();
    }
  });

  it('KONG_MODE=db against a DB-less node: the refused write says how to configure meshgate', async () => {
    const kong = new KongClient({ url: nodes[0]?.url as string, retry: { maxAttempts: 1 } });
    try {
      await expect(kong.create('consumer', consumer('carol'))).rejects.toThrow(
        /cannot create 'consumers' entities when not using a database: this Kong runs DB-less; set KONG_MODE=dbless/,
      );
    } finally {
      kong.close();
    }
  });

  it('KONG_DBLESS_CLOUDMAP_SERVICE: the healthy instances of that service, asked again before every flush', async () => {
    const discoverInstances = vi.fn(async (input: { NamespaceName?: string; ServiceName?: string }) =>
      input.NamespaceName === 'edge' && input.ServiceName === 'kong-admin'
        ? {
            Instances: [
              { InstanceId: 'b', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.2', AWS_INSTANCE_PORT: '8444' } },
              { InstanceId: 'a', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.1' } },
              { InstanceId: 'c', Attributes: { AWS_INSTANCE_IPV4: '10.0.0.3' }, HealthStatus: 'UNHEALTHY' as const },
            ],
          }
        : { Instances: [] },
    );
    const nodesOf = dblessNodes(
      loadConfig({
        KONG_ADMIN_URL: 'https://kong-admin.internal:8445',
        KONG_DBLESS_CLOUDMAP_SERVICE: 'edge/kong-admin',
        MESHGATE_STATE_DIR: folder,
      }),
      { discoverInstances } as unknown as CloudMapReads,
    );
    expect(typeof nodesOf).toBe('function');
    expect(await (nodesOf as () => Promise<string[]>)()).toEqual(['https://10.0.0.1:8445', 'https://10.0.0.2:8444']);
    expect(await (nodesOf as () => Promise<string[]>)()).toEqual(['https://10.0.0.1:8445', 'https://10.0.0.2:8444']);
    expect(discoverInstances).toHaveBeenCalledTimes(2);
    expect(() =>
      loadConfig({
        KONG_ADMIN_URL: 'http://127.0.0.1:1',
        KONG_DBLESS_CLOUDMAP_SERVICE: 'x',
        MESHGATE_STATE_DIR: folder,
      }),
    ).toThrow(/KONG_DBLESS_CLOUDMAP_SERVICE/);
  });
});
