import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type KongDouble, startKongDouble } from '../../local/kong/server.js';
import { KongClient } from '../../shared/kong/client.js';
import { normalizeEntity } from '../../shared/kong/entities.js';
import { toDeckFile } from '../../shared/reconcile/deck.js';
import { diff } from '../../shared/reconcile/diff.js';
import { dump } from '../../shared/reconcile/dump.js';
import { JWT_PLUGIN_CONFIG } from '../../shared/translate/exposure.js';
import {
  consumer,
  correlationConfig,
  INSTANCE,
  jwt,
  route,
  service,
  servicePlugin,
  state,
  TAGS,
  target,
  upstream,
} from './fixtures.js';

const run = promisify(execFile);
const DECK = '/usr/bin/deck';

const publicKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
  type: 'spki',
  format: 'pem',
}) as string;

const sample = () =>
  state({
    services: [service('orders'), service('billing', { port: 8080, path: '/api' })],
    routes: [
      route('orders', 'orders', { methods: ['GET'] }),
      route('billing', 'billing', { hosts: ['*.example.com'] }),
    ],
    plugins: [
      servicePlugin('correlation-id', 'orders', { config: correlationConfig('x-request-id') }),
      servicePlugin('jwt', 'orders', { protocols: ['http', 'https'], config: JWT_PLUGIN_CONFIG }),
      normalizeEntity('plugin', {
        id: '5d1b8f5e-0000-4000-8000-000000000001',
        name: 'correlation-id',
        route: { id: route('billing', 'billing').id },
        protocols: ['http', 'https'],
        config: correlationConfig('x-billing-id', true),
        tags: TAGS,
      }),
    ],
    upstreams: [upstream('orders.mesh', { slots: 1000 })],
    targets: [target('orders.mesh', '10.0.0.1:8080'), target('orders.mesh', '10.0.0.2:8080', { weight: 50 })],
    consumers: [consumer('alice', { custom_id: 'arn:aws:iam::123456789012:role/alice' })],
    jwts: [jwt('alice', 'alice-1', { rsa_public_key: publicKeyPem })],
  });

describe('toDeckFile', () => {
  it('nests children under their parents and keeps ids, without timestamps or foreign keys', () => {
    const file = toDeckFile(sample());
    expect(file._format_version).toBe('1.1');
    const [orders, billing] = file.services;
    expect(orders).toMatchObject({ id: service('orders').id, name: 'orders', port: 80, retries: 5, protocol: 'http' });
    expect(orders).not.toHaveProperty('enabled'); // unknown to decK 1.4's file schema
    expect(orders?.routes).toEqual([expect.objectContaining({ name: 'orders', strip_path: true, methods: ['GET'] })]);
    expect(orders?.plugins).toEqual([
      expect.objectContaining({ name: 'correlation-id', config: correlationConfig('x-request-id') }),
      expect.objectContaining({ name: 'jwt', config: JWT_PLUGIN_CONFIG }),
    ]);
    const billingRoute = (billing!.routes as Record<string, unknown>[])[0]!;
    expect(billingRoute.plugins).toHaveLength(1);
    expect(billingRoute).not.toHaveProperty('service');
    expect(file.upstreams[0]?.targets).toEqual([
      { id: target('orders.mesh', '10.0.0.1:8080').id, target: '10.0.0.1:8080', weight: 100, tags: TAGS },
      { id: target('orders.mesh', '10.0.0.2:8080').id, target: '10.0.0.2:8080', weight: 50, tags: TAGS },
    ]);
    expect(file.consumers[0]?.jwt_secrets).toEqual([
      expect.objectContaining({ key: 'alice-1', algorithm: 'ES256', rsa_public_key: publicKeyPem }),
    ]);
    expect(file.plugins).toEqual([]);
    expect(JSON.stringify(file)).not.toMatch(/created_at|updated_at|"consumer"|"upstream"/);
  });
});

describe.skipIf(!existsSync(DECK))('decK 1.4 with the file', () => {
  let double: KongDouble;
  let folder: string;
  beforeAll(async () => {
    double = await startKongDouble();
    folder = await mkdtemp(join(tmpdir(), 'meshgate-deck-'));
  });
  afterAll(async () => {
    await double.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('syncs exactly the state, after which deck diff reports nothing', async () => {
    const file = join(folder, 'kong.yaml');
    await writeFile(file, stringify(toDeckFile(sample())));
    const deck = (command: string) =>
      run(DECK, [command, '--kong-addr', double.url, '-s', file], { env: { ...process.env, DECK_ANALYTICS: 'off' } });

    await deck('sync');
    const kong = new KongClient({ url: double.url });
    try {
      expect(diff(await dump(kong, { instance: INSTANCE }), sample())).toEqual([]);
    } finally {
      kong.close();
    }
    const { stdout } = await deck('diff');
    expect(stdout).not.toMatch(/creating|updating|deleting/);
    expect(stdout).toMatch(/Created: 0\s+Updated: 0\s+Deleted: 0/);
  });
});
