import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { call, useKongDouble } from './helpers.js';

/**
 * Conformance: Debian's decK 1.4 against the double. The state file spells out the defaults decK 1.4 does not know
 * (reference §12.4) so that `deck diff` after `deck sync` is clean, as it is against Kong 3.9.
 */
const run = promisify(execFile);
const kong = useKongDouble();

const OWNED = ['managed-by:meshgate'];
const STATE = {
  _format_version: '1.1',
  services: [
    {
      name: 'orders',
      host: 'orders.upstream',
      port: 80,
      protocol: 'http',
      path: '/v1',
      retries: 5,
      connect_timeout: 60000,
      read_timeout: 60000,
      write_timeout: 60000,
      tags: OWNED,
      routes: [
        {
          name: 'orders-route',
          paths: ['/orders'],
          methods: ['GET', 'POST'],
          hosts: ['api.example.com'],
          protocols: ['http', 'https'],
          strip_path: true,
          preserve_host: false,
          regex_priority: 0,
          https_redirect_status_code: 426,
          path_handling: 'v0',
          request_buffering: true,
          response_buffering: true,
          tags: OWNED,
          plugins: [
            {
              name: 'opentelemetry',
              enabled: true,
              protocols: ['grpc', 'grpcs', 'http', 'https'],
              config: {
                traces_endpoint: 'http://otel-collector:4318/v1/traces',
                logs_endpoint: null,
                headers: null,
                resource_attributes: { 'service.name': 'orders' },
                queue: {
                  max_batch_size: 200,
                  max_coalescing_delay: 1,
                  max_entries: 10000,
                  max_bytes: null,
                  max_retry_time: 60,
                  initial_retry_delay: 0.01,
                  max_retry_delay: 60,
                  concurrency_limit: 1,
                },
                batch_span_count: null,
                batch_flush_delay: null,
                connect_timeout: 1000,
                send_timeout: 5000,
                read_timeout: 5000,
                http_response_header_for_traceid: null,
                header_type: 'preserve',
                sampling_rate: null,
                propagation: { extract: null, clear: null, inject: null, default_format: 'w3c' },
              },
            },
            {
              name: 'correlation-id',
              enabled: true,
              protocols: ['grpc', 'grpcs', 'http', 'https'],
              config: { header_name: 'x-request-id', generator: 'uuid#counter', echo_downstream: false },
            },
          ],
        },
      ],
      plugins: [
        {
          name: 'jwt',
          enabled: true,
          protocols: ['grpc', 'grpcs', 'http', 'https'],
          config: {
            uri_param_names: ['jwt'],
            cookie_names: [],
            key_claim_name: 'kid',
            secret_is_base64: false,
            claims_to_verify: ['exp'],
            anonymous: null,
            run_on_preflight: true,
            maximum_expiration: 0,
            header_names: ['authorization'],
            realm: null,
          },
        },
      ],
    },
  ],
  upstreams: [
    {
      name: 'orders.upstream',
      algorithm: 'round-robin',
      slots: 10000,
      hash_on: 'none',
      hash_fallback: 'none',
      hash_on_cookie_path: '/',
      tags: OWNED,
      healthchecks: {
        threshold: 0,
        active: {
          type: 'http',
          timeout: 1,
          concurrency: 10,
          http_path: '/health',
          https_verify_certificate: true,
          healthy: { interval: 5, http_statuses: [200, 302], successes: 2 },
          unhealthy: {
            interval: 5,
            http_statuses: [429, 404, 500, 501, 502, 503, 504, 505],
            tcp_failures: 2,
            timeouts: 2,
            http_failures: 2,
          },
        },
        passive: {
          type: 'http',
          healthy: {
            http_statuses: [
              200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
            ],
            successes: 0,
          },
          unhealthy: { http_statuses: [429, 500, 503], tcp_failures: 0, timeouts: 0, http_failures: 0 },
        },
      },
      targets: [
        { target: '10.0.0.1:8080', weight: 100, tags: OWNED },
        { target: '10.0.0.2:8080', weight: 50, tags: OWNED },
      ],
    },
  ],
  consumers: [
    {
      username: 'alice',
      custom_id: 'arn:aws:iam::123456789012:role/alice',
      tags: OWNED,
      jwt_secrets: [{ key: 'alice-2025-07', algorithm: 'HS256', secret: 's3cr3t' }],
    },
  ],
};

let workdir: string;
beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'deck-'));
});
afterAll(async () => {
  await rm(workdir, { recursive: true, force: true });
});

async function deck(...args: string[]): Promise<string> {
  const { stdout } = await run('deck', [...args, '--kong-addr', kong().url], {
    env: { ...process.env, DECK_ANALYTICS: 'off' },
    cwd: workdir,
  });
  return stdout;
}

async function writeState(state: unknown): Promise<string> {
  const file = join(workdir, 'kong.json');
  await writeFile(file, JSON.stringify(state));
  return file;
}

const summary = (created: number, updated: number, deleted: number) =>
  `Summary:\n  Created: ${created}\n  Updated: ${updated}\n  Deleted: ${deleted}`;

describe('decK 1.4 against the double', () => {
  it('is installed (the conformance suite needs it)', async () => {
    expect(await run('deck', ['version'])).toMatchObject({ stdout: expect.stringContaining('decK 1.4') });
  });

  it('pings', async () => {
    expect(await deck('ping')).toContain('Successfully connected to Kong!');
  });

  it('syncs a full state, then diff is empty, dump round-trips and reset empties', async () => {
    const file = await writeState(STATE);
    const synced = await deck('sync', '-s', file);
    expect(synced).toContain('creating service orders');
    expect(synced).toContain(summary(10, 0, 0));

    expect(await deck('diff', '-s', file)).toContain(summary(0, 0, 0));
    expect(
      kong()
        .requests.writes()
        .filter((w) => !w.fault),
    ).toHaveLength(10);

    await deck('dump', '-o', join(workdir, 'dump.yaml'));
    const dumped = parse(await readFile(join(workdir, 'dump.yaml'), 'utf8'));
    expect(dumped.services[0]).toMatchObject({ name: 'orders', host: 'orders.upstream', path: '/v1' });
    expect(dumped.services[0].routes[0].plugins[0].config.header_name).toBe('x-request-id');
    expect(dumped.services[0].plugins[0].config.key_claim_name).toBe('kid');
    expect(dumped.upstreams[0].targets.map((t: { target: string }) => t.target).sort()).toEqual([
      '10.0.0.1:8080',
      '10.0.0.2:8080',
    ]);
    expect(dumped.consumers[0].jwt_secrets[0]).toMatchObject({ key: 'alice-2025-07', secret: 's3cr3t' });
    expect(await deck('diff', '-s', join(workdir, 'dump.yaml'))).toContain(summary(0, 0, 0));

    await deck('reset', '--force');
    for (const path of ['/services', '/routes', '/plugins', '/upstreams', '/consumers', '/jwts']) {
      expect((await call(kong(), 'GET', path)).body.data).toEqual([]);
    }
  });

  it('applies a rotation-shaped change: new key and target in, old ones out, plugins removed', async () => {
    await deck('sync', '-s', await writeState(STATE));
    const consumer = STATE.consumers[0] as (typeof STATE.consumers)[number];
    const changed = {
      ...STATE,
      services: [{ ...STATE.services[0], plugins: [], routes: [{ ...STATE.services[0]?.routes[0], plugins: [] }] }],
      upstreams: [{ ...STATE.upstreams[0], targets: [{ target: '10.0.0.3:8080', weight: 100, tags: OWNED }] }],
      consumers: [{ ...consumer, jwt_secrets: [{ key: 'alice-2025-08', algorithm: 'HS256', secret: 'n3w' }] }],
    };
    const output = await deck('sync', '-s', await writeState(changed));
    expect(output).toContain(summary(2, 0, 6));
    expect((await call(kong(), 'GET', '/jwts')).body.data.map((j: { key: string }) => j.key)).toEqual([
      'alice-2025-08',
    ]);
    expect((await call(kong(), 'GET', '/plugins')).body.data).toEqual([]);
    expect(await deck('diff', '-s', join(workdir, 'kong.json'))).toContain(summary(0, 0, 0));
  });

  it('filters the dump by --select-tag', async () => {
    await deck('sync', '-s', await writeState(STATE));
    await call(kong(), 'POST', '/services', { name: 'unowned', host: 'x.test' });
    const dumped = await deck('dump', '--select-tag', OWNED[0] as string, '-o', '-');
    expect(dumped).toContain('orders');
    expect(dumped).not.toContain('unowned');
    expect(kong().requests.entries.some((e) => e.path === '/services' && e.status === 200)).toBe(true);
  });
});
