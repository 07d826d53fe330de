import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { call, useKongDouble } from './helpers.js';

/** The double in DB-less mode answers as Kong 3.9 with `database = off` (kong/api/routes/config.lua). */
const kong = useKongDouble({ mode: 'dbless' });
const db = useKongDouble();

const SERVICE_ID = '0b3fd0b4-0c5a-4a4b-8f2e-3a1f1e0a0001';
const document = {
  _format_version: '3.0',
  services: [
    {
      id: SERVICE_ID,
      name: 'orders',
      host: 'orders.internal',
      tags: ['managed-by:meshgate'],
      routes: [{ name: 'orders', paths: ['/orders'] }],
    },
  ],
  consumers: [{ username: 'alice', jwt_secrets: [{ key: 'alice-1', algorithm: 'HS256', secret: 's' }] }],
  upstreams: [{ name: 'orders.upstream', targets: [{ target: '10.0.0.1:8080' }] }],
  plugins: [{ name: 'correlation-id', service: 'orders' }],
};

describe('Kong double, DB-less mode', () => {
  it('reports database off, and a zero configuration hash before the first configuration', async () => {
    expect((await call(kong(), 'GET', '/')).body.configuration.database).toBe('off');
    const status = (await call(kong(), 'GET', '/status')).body;
    expect(status).not.toHaveProperty('database');
    expect(status.configuration_hash).toBe('0'.repeat(32));
  });

  it('refuses entity writes with 405 code 12 in Kong wording; reads work', async () => {
    const post = await call(kong(), 'POST', '/routes', { paths: ['/'] });
    expect(post.status).toBe(405);
    expect(post.body).toEqual({
      code: 12,
      name: 'operation unsupported',
      message: "cannot create 'routes' entities when not using a database",
    });
    const put = await call(kong(), 'PUT', '/services/orders', { host: 'a.test' });
    expect(put.body.message).toBe("cannot create or update 'services' entities by 'name' when not using a database");
    expect((await call(kong(), 'PATCH', `/services/${SERVICE_ID}`, { host: 'a' })).body.message).toBe(
      "cannot update 'services' entities when not using a database",
    );
    expect((await call(kong(), 'DELETE', `/consumers/${SERVICE_ID}`)).body.message).toBe(
      "cannot remove 'consumers' entities when not using a database",
    );
    expect((await call(kong(), 'POST', '/consumers/alice/jwt', {})).body.message).toBe(
      "cannot create 'jwt_secrets' entities when not using a database",
    );
    expect((await call(kong(), 'GET', '/services')).status).toBe(200);
  });

  it('POST /config loads nested and top-level entities, answers them by id, and GET /config exports them', async () => {
    const loaded = await call(kong(), 'POST', '/config', document);
    expect(loaded.status).toBe(201);
    expect(Object.keys(loaded.body).sort()).toEqual([
      'consumers',
      'jwt_secrets',
      'plugins',
      'routes',
      'services',
      'targets',
      'upstreams',
    ]);
    expect(loaded.body.services[SERVICE_ID]).toMatchObject({ name: 'orders', port: 80, protocol: 'http' });
    const [route] = Object.values(loaded.body.routes) as { service: unknown }[];
    expect(route?.service).toEqual({ id: SERVICE_ID });
    const [plugin] = Object.values(loaded.body.plugins) as { service: unknown }[];
    expect(plugin?.service).toEqual({ id: SERVICE_ID });
    expect((await call(kong(), 'GET', '/services/orders/routes')).body.data).toHaveLength(1);
    const hash = (await call(kong(), 'GET', '/status')).body.configuration_hash;
    expect(hash).toMatch(/^[0-9a-f]{32}$/);
    expect(hash).not.toBe('0'.repeat(32));

    const exported = parse((await call(kong(), 'GET', '/config')).body.config);
    expect(exported._format_version).toBe('3.0');
    expect(exported.routes[0].service).toBe(SERVICE_ID);
    // The export loads back as is, and the same document again is a 304 with check_hash.
    expect(
      (await call(kong(), 'POST', '/config', { config: (await call(kong(), 'GET', '/config')).body.config })).status,
    ).toBe(201);
    expect((await call(kong(), 'POST', '/config?check_hash=1', document)).status).toBe(201);
    expect((await call(kong(), 'POST', '/config?check_hash=1', document)).status).toBe(304);
  });

  it('accepts YAML bodies and {"config": "..."}; refuses an empty body and a missing _format_version', async () => {
    const yaml = await fetch(`${kong().url}/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: '_format_version: "3.0"\nconsumers:\n  - username: bob\n',
    });
    expect(yaml.status).toBe(201);
    expect((await call(kong(), 'GET', '/consumers/bob')).status).toBe(200);
    expect((await call(kong(), 'POST', '/config')).body).toEqual({ message: 'expected a declarative configuration' });
    expect((await call(kong(), 'POST', '/config', {})).body.fields).toEqual({
      _format_version: 'required field missing',
    });
    const missing = await call(kong(), 'POST', '/config', { consumers: [] });
    expect(missing.body).toMatchObject({ code: 14, fields: { _format_version: 'required field missing' } });
  });

  it('a refused entity leaves the configuration as it was; flatten_errors names it', async () => {
    await call(kong(), 'POST', '/config', document);
    const before = (await call(kong(), 'GET', '/status')).body.configuration_hash;
    const bad = {
      _format_version: '3.0',
      services: [
        { name: 'good', host: 'good.internal' },
        { name: 'bad', host: 'bad.internal', port: 70000, tags: ['t1'] },
      ],
      routes: [{ name: 'orphan', paths: ['/x'], service: 'missing' }],
    };
    const plain = await call(kong(), 'POST', '/config', bad);
    expect(plain.status).toBe(400);
    expect(plain.body.code).toBe(14);
    expect(plain.body.fields.services).toEqual([null, { port: 'value should be between 0 and 65535' }]);
    expect(plain.body).not.toHaveProperty('flattened_errors');

    const flat = await call(kong(), 'POST', '/config?flatten_errors=1', bad);
    expect(flat.body.flattened_errors).toEqual([
      {
        entity_type: 'service',
        entity_name: 'bad',
        entity_tags: ['t1'],
        entity: bad.services[1],
        errors: [{ type: 'field', field: 'port', message: 'value should be between 0 and 65535' }],
      },
      {
        entity_type: 'route',
        entity_name: 'orphan',
        entity: { name: 'orphan', paths: ['/x'], service: { name: 'missing' } },
        errors: [
          {
            type: 'entity',
            message:
              "foreign key unresolved (service.name: the foreign key cannot be resolved with '{name=\"missing\"}' for an existing 'services' entity)",
          },
        ],
      },
    ]);
    expect((await call(kong(), 'GET', '/status')).body.configuration_hash).toBe(before);
    expect((await call(kong(), 'GET', '/services/orders')).status).toBe(200);
    expect((await call(kong(), 'GET', '/services/good')).status).toBe(404);
  });

  it('the write guard sees what a new configuration adds, changes or drops, not what it carries over', async () => {
    const foreign = { _format_version: '3.0', services: [{ id: SERVICE_ID, name: 'legacy', host: 'legacy.internal' }] };
    await call(kong(), 'POST', '/config', foreign);
    kong().guard(['managed-by:meshgate']);
    const owned = { name: 'orders', host: 'orders.internal', tags: ['managed-by:meshgate'] };
    await call(kong(), 'POST', '/config', { ...foreign, services: [...foreign.services, owned] });
    expect(kong().violations).toEqual([]);
    await call(kong(), 'POST', '/config', { _format_version: '3.0', services: [owned] });
    expect(kong().violations).toEqual([
      { method: 'POST', path: '/config', entity: 'services', id: SERVICE_ID, tags: null },
    ]);
  });

  it('POST /config loads ca_certificates that https services trust (an upstream TLS hop to the mesh)', async () => {
    const cert = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'mesh-ca.pem'), 'utf8');
    const CA_ID = '0b3fd0b4-0c5a-4a4b-8f2e-3a1f1e0a00ca';
    const loaded = await call(kong(), 'POST', '/config', {
      _format_version: '3.0',
      ca_certificates: [{ id: CA_ID, cert, tags: ['managed-by:meshgate'] }],
      services: [
        { name: 'ledger', host: 'secure.shop.gateway', protocol: 'https', tls_verify: true, ca_certificates: [CA_ID] },
      ],
    });
    expect(loaded.status).toBe(201);
    expect((await call(kong(), 'GET', `/ca_certificates/${CA_ID}`)).body.cert).toBe(cert);
    expect((await call(kong(), 'GET', '/services/ledger')).body.ca_certificates).toEqual([CA_ID]);
    expect(parse((await call(kong(), 'GET', '/config')).body.config).ca_certificates).toHaveLength(1);
  });

  it('a database-backed Kong refuses /config', async () => {
    for (const method of ['GET', 'POST'])
      expect((await call(db(), method, '/config', method === 'POST' ? document : undefined)).body).toEqual({
        message: 'this endpoint is only available when Kong is configured to not use a database',
      });
  });
});
