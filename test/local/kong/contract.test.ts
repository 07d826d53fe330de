import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { call, useKongDouble } from './helpers.js';

const kong = useKongDouble();
const post = (path: string, body: unknown) => call(kong(), 'POST', path, body);

describe('services', () => {
  it('returns every schema field with Kong defaults on create', async () => {
    const { status, body } = await post('/services', { host: 'service.test' });
    expect(status).toBe(201);
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      created_at: expect.any(Number),
      updated_at: expect.any(Number),
      name: null,
      retries: 5,
      protocol: 'http',
      host: 'service.test',
      port: 80,
      path: null,
      connect_timeout: 60000,
      write_timeout: 60000,
      read_timeout: 60000,
      tags: null,
      client_certificate: null,
      tls_verify: null,
      tls_verify_depth: null,
      ca_certificates: null,
      enabled: true,
    });
    expect(Number.isInteger(body.created_at)).toBe(true);
  });

  it('expands the url shorthand', async () => {
    const { body } = await post('/services', { name: 's', url: 'https://api.internal:8443/v1' });
    expect(body).toMatchObject({ protocol: 'https', host: 'api.internal', port: 8443, path: '/v1' });
    expect(body).not.toHaveProperty('url');
  });

  it('reports schema violations with Kong messages', async () => {
    expect((await post('/services', {})).body).toEqual({
      code: 2,
      name: 'schema violation',
      message: 'schema violation (host: required field missing)',
      fields: { host: 'required field missing' },
    });
    const two = await post('/services', { path: 'x' });
    expect(two.status).toBe(400);
    expect(two.body.message).toBe('2 schema violations (host: required field missing; path: should start with: /)');
    const unknown = await post('/services', { host: 'a.test', foo: 1 });
    expect(unknown.body.fields).toEqual({ foo: 'unknown field' });
    const name = await post('/services', { host: 'a.test', name: 'bad name' });
    expect(name.body.fields.name).toBe(
      "invalid value 'bad name': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
    );
    const tcpPath = await post('/services', { host: 'a.test', protocol: 'tcp', path: '/x' });
    expect(tcpPath.body.fields).toEqual({
      path: 'value must be null',
      '@entity': ["failed conditional validation given value of field 'protocol'"],
    });
  });

  it('answers 409 code 5 on a duplicate name', async () => {
    await post('/services', { name: 'svc', host: 'a.test' });
    const { status, body } = await post('/services', { name: 'svc', host: 'b.test' });
    expect(status).toBe(409);
    expect(body).toEqual({
      code: 5,
      name: 'unique constraint violation',
      message: 'UNIQUE violation detected on \'{name="svc"}\'',
      fields: { name: 'svc' },
    });
  });

  it('POST with an existing id is a primary key violation (400 code 3)', async () => {
    const { body: created } = await post('/services', { host: 'a.test' });
    const { status, body } = await post('/services', { id: created.id, host: 'b.test' });
    expect(status).toBe(400);
    expect(body.code).toBe(3);
  });

  it('refuses an invalid endpoint key with code 10', async () => {
    expect(await call(kong(), 'GET', '/services/bad%20name')).toMatchObject({
      status: 400,
      body: {
        code: 10,
        name: 'invalid unique name',
        message: "invalid value 'bad name': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
      },
    });
  });

  it('reads by id or name; a UUID is never looked up by name', async () => {
    const id = randomUUID();
    await post('/services', { name: id.replace(/-/g, ''), host: 'a.test' });
    const { body: svc } = await post('/services', { name: 'by-name', host: 'a.test' });
    expect((await call(kong(), 'GET', '/services/by-name')).body.id).toBe(svc.id);
    expect((await call(kong(), 'GET', `/services/${svc.id}`)).body.name).toBe('by-name');
    expect(await call(kong(), 'GET', `/services/${id}`)).toMatchObject({ status: 404, body: { message: 'Not found' } });
  });

  it('PUT is a full-replace upsert by id or name, answering 200', async () => {
    const id = randomUUID();
    const created = await call(kong(), 'PUT', `/services/${id}`, { host: 'a.test', retries: 1, name: 'svc' });
    expect(created).toMatchObject({ status: 200, body: { id, retries: 1 } });
    const replaced = await call(kong(), 'PUT', `/services/${id}`, { host: 'b.test', name: 'svc' });
    expect(replaced.body).toMatchObject({ id, host: 'b.test', retries: 5 });
    const byName = await call(kong(), 'PUT', '/services/svc', { host: 'c.test' });
    expect(byName.body).toMatchObject({ id, name: 'svc', host: 'c.test' });
    const fresh = await call(kong(), 'PUT', '/services/other', { host: 'd.test' });
    expect(fresh.body).toMatchObject({ name: 'other', host: 'd.test' });
    expect(fresh.body.id).not.toBe(id);
  });

  it('PATCH merges, 404 code 6 when missing', async () => {
    await post('/services', { name: 'svc', host: 'a.test', retries: 3 });
    const { body } = await call(kong(), 'PATCH', '/services/svc', { port: 8080 });
    expect(body).toMatchObject({ host: 'a.test', retries: 3, port: 8080 });
    const id = randomUUID();
    expect(await call(kong(), 'PATCH', `/services/${id}`, { port: 1 })).toMatchObject({
      status: 404,
      body: {
        code: 6,
        name: 'not found',
        message: `could not find the entity with primary key '{id="${id}"}'`,
        fields: { id },
      },
    });
    expect((await call(kong(), 'PATCH', '/services/nope', {})).body.message).toBe(
      'could not find the entity with \'{name="nope"}\'',
    );
  });

  it('DELETE answers 204 even when absent, and refuses a service with routes', async () => {
    expect((await call(kong(), 'DELETE', '/services/ghost')).status).toBe(204);
    const { body: svc } = await post('/services', { name: 'svc', host: 'a.test' });
    await post('/services/svc/routes', { paths: ['/a'] });
    expect(await call(kong(), 'DELETE', '/services/svc')).toMatchObject({
      status: 400,
      body: {
        code: 4,
        name: 'foreign key violation',
        message: "an existing 'routes' entity references this 'services' entity",
        fields: { '@referenced_by': 'routes' },
      },
    });
    expect((await call(kong(), 'GET', `/services/${svc.id}`)).status).toBe(200);
  });
});

describe('routes', () => {
  it('fills defaults and links the service from the nested path', async () => {
    const { body: svc } = await post('/services', { name: 'svc', host: 'a.test' });
    const { status, body } = await post('/services/svc/routes', { paths: ['/a'] });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      protocols: ['http', 'https'],
      methods: null,
      hosts: null,
      headers: null,
      https_redirect_status_code: 426,
      regex_priority: 0,
      strip_path: true,
      path_handling: 'v0',
      preserve_host: false,
      request_buffering: true,
      response_buffering: true,
      snis: null,
      sources: null,
      destinations: null,
      tags: null,
      service: { id: svc.id },
    });
    expect((await call(kong(), 'GET', `/routes/${body.id}/service`)).body.id).toBe(svc.id);
  });

  it('requires a matching field and valid protocols', async () => {
    const empty = await post('/routes', {});
    expect(empty.body.message).toBe(
      "schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')",
    );
    const protocols = await post('/routes', { paths: ['/'], protocols: ['ftp'] });
    expect(protocols.body).toMatchObject({
      message:
        'schema violation (protocols.1: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp)',
      fields: { protocols: ['expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp'] },
    });
  });

  it('resolves foreign keys by id (code 4) and by name (code 13)', async () => {
    const id = randomUUID();
    expect((await post('/routes', { paths: ['/'], service: { id } })).body).toEqual({
      code: 4,
      name: 'foreign key violation',
      message: `the foreign key '{id="${id}"}' does not reference an existing 'services' entity.`,
      fields: { service: { id } },
    });
    expect((await post('/routes', { paths: ['/'], service: { name: 'non-existing' } })).body).toEqual({
      code: 13,
      name: 'foreign keys unresolved',
      message:
        "foreign key unresolved (service.name: the foreign key cannot be resolved with '{name=\"non-existing\"}' for an existing 'services' entity)",
      fields: {
        service: {
          name: "the foreign key cannot be resolved with '{name=\"non-existing\"}' for an existing 'services' entity",
        },
      },
    });
    const { body: svc } = await post('/services', { name: 'svc', host: 'a.test' });
    expect((await post('/routes', { paths: ['/'], service: { name: 'svc' } })).body.service).toEqual({ id: svc.id });
  });

  it('nested reads 404 for a missing parent or a child of another parent', async () => {
    await post('/services', { name: 'a', host: 'a.test' });
    await post('/services', { name: 'b', host: 'b.test' });
    const { body: route } = await post('/services/a/routes', { paths: ['/a'] });
    expect((await call(kong(), 'GET', '/services/ghost/routes')).status).toBe(404);
    expect((await call(kong(), 'GET', `/services/b/routes/${route.id}`)).status).toBe(404);
    expect((await call(kong(), 'GET', `/services/a/routes/${route.id}`)).status).toBe(200);
  });
});

describe('upstreams and targets', () => {
  it('fills the healthchecks defaults and validates the name', async () => {
    const { body } = await post('/upstreams', { name: 'up.internal' });
    expect(body).toMatchObject({
      algorithm: 'round-robin',
      hash_on: 'none',
      hash_fallback: 'none',
      hash_on_cookie_path: '/',
      slots: 10000,
      use_srv_name: false,
      healthchecks: {
        threshold: 0,
        active: { type: 'http', timeout: 1, concurrency: 10, http_path: '/', https_verify_certificate: true },
        passive: { unhealthy: { http_statuses: [429, 500, 503] } },
      },
    });
    expect((await post('/upstreams', { name: '10.0.0.1' })).body.fields.name).toBe(
      "Invalid name ('10.0.0.1'); no ip addresses allowed",
    );
    expect((await post('/upstreams', { name: 'u', hash_on: 'header' })).body.fields).toMatchObject({
      hash_on_header: 'required field missing',
    });
  });

  it('normalizes targets, refuses duplicates with 409 and lists newest first', async () => {
    const { body: up } = await post('/upstreams', { name: 'up' });
    const first = await post('/upstreams/up/targets', { target: '10.0.0.1' });
    expect(first.body).toMatchObject({ target: '10.0.0.1:8000', weight: 100, upstream: { id: up.id } });
    expect(first.body.created_at).toEqual(expect.any(Number));
    const duplicate = await post('/upstreams/up/targets', { target: '10.0.0.1:8000' });
    expect(duplicate).toMatchObject({
      status: 409,
      body: { code: 5, fields: { target: '10.0.0.1:8000', upstream: { id: up.id } } },
    });
    await post('/upstreams/up/targets', { target: 'b.internal:81', weight: 0 });
    const list = await call(kong(), 'GET', '/upstreams/up/targets');
    expect(list.body.data.map((t: { target: string }) => t.target)).toEqual(['b.internal:81', '10.0.0.1:8000']);
    expect((await call(kong(), 'GET', '/upstreams/up/targets/10.0.0.1:8000')).body.id).toBe(first.body.id);
    expect((await post('/upstreams/up/targets', { target: 'not valid' })).body.fields.target).toBe(
      "Invalid target ('not valid'); not a valid hostname or ip address",
    );
  });

  it('pages targets with a numeric offset', async () => {
    await post('/upstreams', { name: 'up' });
    for (let i = 1; i <= 3; i += 1) await post('/upstreams/up/targets', { target: `10.0.0.${i}:80` });
    const page = await call(kong(), 'GET', '/upstreams/up/targets?size=2');
    expect(page.body.offset).toBe('2');
    expect(page.body.data.map((t: { target: string }) => t.target)).toEqual(['10.0.0.3:80', '10.0.0.2:80']);
    const rest = await call(kong(), 'GET', `/upstreams/up/targets?size=2&offset=${page.body.offset}`);
    expect(rest.body).toMatchObject({ next: null, data: [{ target: '10.0.0.1:80' }] });
  });

  it('PUT updates like PATCH and never creates; /targets is disabled; deleting the upstream cascades', async () => {
    const { body: up } = await post('/upstreams', { name: 'up' });
    await post('/upstreams/up/targets', { target: 'a.internal:80' });
    expect((await call(kong(), 'PUT', '/upstreams/up/targets/a.internal:80', { weight: 5 })).body.weight).toBe(5);
    expect((await call(kong(), 'PUT', '/upstreams/up/targets/b.internal:80', { weight: 5 })).status).toBe(404);
    expect((await call(kong(), 'GET', '/targets')).status).toBe(404);
    expect((await call(kong(), 'DELETE', `/upstreams/${up.id}`)).status).toBe(204);
    await post('/upstreams', { id: up.id, name: 'up' });
    expect((await call(kong(), 'GET', '/upstreams/up/targets')).body.data).toEqual([]);
  });
});

describe('consumers and JWT credentials', () => {
  it('needs a username or custom_id and filters by custom_id', async () => {
    expect((await post('/consumers', {})).body.fields).toEqual({
      '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"],
    });
    const { body: alice } = await post('/consumers', { username: 'alice', custom_id: 'arn:role/alice' });
    expect((await call(kong(), 'GET', '/consumers?custom_id=arn:role/alice')).body).toEqual({
      data: [alice],
      next: null,
    });
    expect((await call(kong(), 'GET', '/consumers?custom_id=')).body).toEqual({
      message: 'custom_id must be an unempty string',
    });
  });

  it('creates credentials with generated key and secret, unique keys', async () => {
    const { body: alice } = await post('/consumers', { username: 'alice' });
    const { status, body } = await post('/consumers/alice/jwt', {});
    expect(status).toBe(201);
    expect(body).toEqual({
      id: expect.any(String),
      created_at: expect.any(Number),
      consumer: { id: alice.id },
      key: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      secret: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
      rsa_public_key: null,
      algorithm: 'HS256',
      tags: null,
    });
    expect((await post('/consumers/alice/jwt', { key: body.key })).body.message).toBe(
      `UNIQUE violation detected on '{key="${body.key}"}'`,
    );
    const put = await call(kong(), 'PUT', '/consumers/alice/jwt/abcd', {});
    expect(put).toMatchObject({ status: 200, body: { key: 'abcd', consumer: { id: alice.id } } });
    expect((await post('/jwts', { key: 'x' })).body.message).toBe(
      'schema violation (consumer: required field missing)',
    );
    expect((await call(kong(), 'GET', '/jwts')).body.data).toHaveLength(2);
  });

  it('requires a parsable public key for RS/PS/EdDSA', async () => {
    await post('/consumers', { username: 'alice' });
    const missing = await post('/consumers/alice/jwt', { algorithm: 'RS256' });
    expect(missing.body.fields).toEqual({
      rsa_public_key: 'required field missing',
      '@entity': ["failed conditional validation given value of field 'algorithm'"],
    });
    expect(
      (await post('/consumers/alice/jwt', { algorithm: 'EdDSA', rsa_public_key: 'nope' })).body.fields,
    ).toMatchObject({ rsa_public_key: 'invalid key' });
    const pem = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect((await post('/consumers/alice/jwt', { algorithm: 'EdDSA', rsa_public_key: pem })).status).toBe(201);
  });

  it('deleting a consumer cascades its credentials and plugins', async () => {
    await post('/consumers', { username: 'alice' });
    const { body: credential } = await post('/consumers/alice/jwt', { key: 'k1' });
    await post('/consumers/alice/plugins', { name: 'correlation-id' });
    expect((await call(kong(), 'DELETE', '/consumers/alice')).status).toBe(204);
    expect((await call(kong(), 'GET', `/jwts/${credential.id}`)).status).toBe(404);
    expect((await call(kong(), 'GET', '/plugins')).body.data).toEqual([]);
  });
});

describe('plugins', () => {
  it('fills jwt defaults and forbids a consumer', async () => {
    const { body } = await post('/plugins', { name: 'jwt', config: { key_claim_name: 'kid' } });
    expect(body.config).toEqual({
      uri_param_names: ['jwt'],
      cookie_names: [],
      key_claim_name: 'kid',
      secret_is_base64: false,
      claims_to_verify: null,
      anonymous: null,
      run_on_preflight: true,
      maximum_expiration: 0,
      header_names: ['authorization'],
      realm: null,
    });
    expect(body).toMatchObject({ protocols: ['grpc', 'grpcs', 'http', 'https'], enabled: true, instance_name: null });
    await post('/consumers', { username: 'alice' });
    expect((await post('/consumers/alice/plugins', { name: 'jwt' })).body.fields).toEqual({
      consumer: 'value must be null',
    });
    expect((await post('/plugins', { name: 'jwt', config: { maximum_expiration: 10 } })).body.fields.config).toEqual({
      claims_to_verify: 'expected to contain: exp',
      '@entity': ["failed conditional validation given value of field 'maximum_expiration'"],
    });
  });

  it('refuses a second global plugin of the same name with the cache-key message', async () => {
    await post('/plugins', { name: 'jwt' });
    expect((await post('/plugins', { name: 'jwt' })).body).toEqual({
      code: 5,
      name: 'unique constraint violation',
      message: 'UNIQUE violation detected on \'{consumer=null,name="jwt",route=null,service=null}\'',
      fields: { consumer: null, name: 'jwt', route: null, service: null },
    });
  });

  it('validates correlation-id and opentelemetry configs with their defaults', async () => {
    expect((await post('/plugins', { name: 'correlation-id' })).body.config).toEqual({
      header_name: 'Kong-Request-ID',
      generator: 'uuid#counter',
      echo_downstream: false,
    });
    expect(
      (await post('/plugins', { name: 'correlation-id', config: { generator: 'x', foo: 1 } })).body.fields,
    ).toEqual({
      config: { generator: 'expected one of: uuid, uuid#counter, tracker', foo: 'unknown field' },
    });
    const otel = await post('/plugins', { name: 'opentelemetry', config: { endpoint: 'http://otel:4318/v1/traces' } });
    expect(otel.body.config).toMatchObject({
      traces_endpoint: 'http://otel:4318/v1/traces',
      logs_endpoint: null,
      queue: { max_batch_size: 200, max_coalescing_delay: 1, max_entries: 10000, concurrency_limit: 1 },
      propagation: { default_format: 'w3c', extract: null },
      header_type: 'preserve',
      connect_timeout: 1000,
    });
    expect(otel.body.config).not.toHaveProperty('endpoint');
    const neither = await post('/plugins', { name: 'opentelemetry', config: {} });
    expect(neither.body.message).toBe(
      "schema violation (config.@entity: {\n  \"at least one of these fields must be non-empty: 'traces_endpoint', 'logs_endpoint'\"\n})",
    );
    const enabled = (await call(kong(), 'GET', '/')).body.plugins.enabled_in_cluster;
    expect(enabled).toEqual(['correlation-id', 'opentelemetry']);
  });

  it('accepts other bundled plugins as given and refuses unknown names', async () => {
    const cors = await post('/plugins', { name: 'cors', config: { origins: ['*'] } });
    expect(cors).toMatchObject({ status: 201, body: { config: { origins: ['*'] } } });
    expect((await post('/plugins', { name: 'nope' })).body).toEqual({
      code: 2,
      name: 'schema violation',
      message: "schema violation (name: plugin 'nope' not enabled; add it to the 'plugins' configuration property)",
      fields: { name: "plugin 'nope' not enabled; add it to the 'plugins' configuration property" },
    });
  });

  it("must share a protocol with the route or the service's routes", async () => {
    await post('/services', { name: 'svc', host: 'a.test' });
    const { body: route } = await post('/services/svc/routes', {
      protocols: ['grpc'],
      paths: ['/'],
      strip_path: false,
    });
    expect((await post(`/routes/${route.id}/plugins`, { name: 'jwt', protocols: ['http'] })).body).toMatchObject({
      code: 2,
      message: "schema violation (protocols: must match the associated route's protocols)",
    });
    expect((await post('/services/svc/plugins', { name: 'jwt', protocols: ['https'] })).body.fields).toEqual({
      protocols: "must match the protocols of at least one route pointing to this Plugin's service",
    });
    expect((await post('/services/svc/plugins', { name: 'jwt', protocols: ['grpc'] })).status).toBe(201);
  });

  it('PATCH deep-merges config; deleting the route cascades its plugins', async () => {
    await post('/services', { name: 'svc', host: 'a.test' });
    const { body: route } = await post('/services/svc/routes', { paths: ['/'] });
    const { body: plugin } = await post(`/routes/${route.id}/plugins`, { name: 'correlation-id' });
    const patched = await call(kong(), 'PATCH', `/plugins/${plugin.id}`, { config: { echo_downstream: true } });
    expect(patched.body.config).toEqual({
      header_name: 'Kong-Request-ID',
      generator: 'uuid#counter',
      echo_downstream: true,
    });
    await call(kong(), 'DELETE', `/routes/${route.id}`);
    expect((await call(kong(), 'GET', `/plugins/${plugin.id}`)).status).toBe(404);
  });
});
