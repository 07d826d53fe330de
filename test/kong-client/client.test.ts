import { afterEach, describe, expect, it } from 'vitest';
import { KongClient } from '../../shared/kong/client.js';
import { type EntityByKind, type EntityKind, entityKinds, normalizeEntity } from '../../shared/kong/entities.js';
import { KongError } from '../../shared/kong/errors.js';
import { type FakeHandler, type FakeServer, script, startFake } from './fake-server.js';

const SERVICE_ID = '00000000-0000-4000-8000-000000000001';
const UPSTREAM_ID = '00000000-0000-4000-8000-000000000002';
const CONSUMER_ID = '00000000-0000-4000-8000-000000000003';
const ENTITY_ID = '00000000-0000-4000-8000-0000000000aa';
const OWNED = ['managed-by:meshgate', 'meshgate:instance=test'];

const inputs: { [K in EntityKind]: Record<string, unknown> } = {
  service: { host: 'orders.internal', name: 'orders' },
  route: { paths: ['/orders'], service: { id: SERVICE_ID } },
  upstream: { name: 'orders.upstream' },
  target: { target: '10.0.0.1:8080', upstream: { id: UPSTREAM_ID } },
  consumer: { username: 'alice' },
  jwt: { key: 'kid-1', secret: 's', algorithm: 'ES256', consumer: { id: CONSUMER_ID } },
  // Not jwt: a jwt plugin read from any Kong version comes back with 3.9's `realm` (workspaces-versions.test.ts covers it).
  plugin: { name: 'correlation-id', service: { id: SERVICE_ID }, config: { header_name: 'x-request-id' } },
  ca_certificate: { cert: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n' },
};

function fixture<K extends EntityKind>(kind: K): EntityByKind[K] {
  return normalizeEntity(kind, { id: ENTITY_ID, tags: OWNED, created_at: 1700000000, ...inputs[kind] });
}

const paths: { [K in EntityKind]: { collection: string; item: string } } = {
  service: { collection: '/services', item: `/services/${ENTITY_ID}` },
  route: { collection: '/routes', item: `/routes/${ENTITY_ID}` },
  upstream: { collection: '/upstreams', item: `/upstreams/${ENTITY_ID}` },
  consumer: { collection: '/consumers', item: `/consumers/${ENTITY_ID}` },
  plugin: { collection: '/plugins', item: `/plugins/${ENTITY_ID}` },
  jwt: { collection: `/consumers/${CONSUMER_ID}/jwt`, item: `/consumers/${CONSUMER_ID}/jwt/${ENTITY_ID}` },
  target: { collection: `/upstreams/${UPSTREAM_ID}/targets`, item: `/upstreams/${UPSTREAM_ID}/targets/${ENTITY_ID}` },
  ca_certificate: { collection: '/ca_certificates', item: `/ca_certificates/${ENTITY_ID}` },
};

let fake: FakeServer | undefined;
let client: KongClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await fake?.close();
  fake = undefined;
});

async function setUp(handler: FakeHandler): Promise<{ server: FakeServer; kong: KongClient }> {
  fake = await startFake(handler);
  client = new KongClient({ url: fake.url, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  return { server: fake, kong: client };
}

/** Answers every write with the stored form of `entity` (timestamps added), like Kong. */
function echo(entity: unknown): FakeHandler {
  return (request) =>
    request.method === 'DELETE'
      ? { status: 204 }
      : { status: request.method === 'POST' ? 201 : 200, body: { ...(entity as object), updated_at: 1700000001 } };
}

function sentBody(server: FakeServer, index = 0): Record<string, unknown> {
  return JSON.parse(server.requests[index]!.body) as Record<string, unknown>;
}

describe.each(entityKinds)('%s writes', (kind) => {
  const entity = fixture(kind);
  const { collection, item } = paths[kind];

  it('creates with POST to the collection, id in the body, no timestamps', async () => {
    const { server, kong } = await setUp(echo(entity));
    await kong.create(kind, entity);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST ${collection}`]);
    const body = sentBody(server);
    expect(body.id).toBe(ENTITY_ID);
    expect(body).not.toHaveProperty('created_at');
    expect(body).not.toHaveProperty('updated_at');
    expect(body.tags).toEqual(OWNED);
  });

  it('updates by id (PUT; PATCH without id for targets)', async () => {
    const { server, kong } = await setUp(echo(entity));
    await kong.update(kind, entity);
    const method = kind === 'target' ? 'PATCH' : 'PUT';
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`${method} ${item}`]);
    const { created_at: _created, ...fields } = entity as Record<string, unknown>;
    const expected = kind === 'target' ? { ...fields, id: undefined } : fields;
    expect(sentBody(server)).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('upserts by id (PUT; POST for targets)', async () => {
    const { server, kong } = await setUp(echo(entity));
    await kong.upsert(kind, entity);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      kind === 'target' ? `POST ${collection}` : `PUT ${item}`,
    ]);
  });

  it('deletes by id, absent or not', async () => {
    const { server, kong } = await setUp(script({ status: 204 }, { status: 404, body: { message: 'Not found' } }));
    await kong.delete(kind, entity);
    await kong.delete(kind, entity);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`DELETE ${item}`, `DELETE ${item}`]);
  });
});

describe('target upsert', () => {
  const target = fixture('target');
  const conflict = {
    status: 409,
    body: { code: 5, name: 'unique constraint violation', message: 'UNIQUE violation', fields: { target: 'x' } },
  };

  it('falls back to PATCH when the target already exists', async () => {
    const { server, kong } = await setUp(script(conflict, { status: 200, body: { ...target, weight: 100 } }));
    await kong.upsert('target', target);
    expect(server.requests.map((r) => r.method)).toEqual(['POST', 'PATCH']);
  });

  it('does not mask other errors', async () => {
    const invalid = { status: 400, body: { code: 2, name: 'schema violation', message: 'bad', fields: {} } };
    const { server, kong } = await setUp(script(invalid));
    await expect(kong.upsert('target', target)).rejects.toMatchObject({ status: 400, code: 2 });
    expect(server.requests).toHaveLength(1);
  });
});

describe('get', () => {
  it('reads by id or endpoint key, encoding the key', async () => {
    const { server, kong } = await setUp((request) => ({
      status: 200,
      body: fixture(request.path.includes('/targets/') ? 'target' : 'jwt'),
    }));
    await kong.get('target', '10.0.0.1:8080', { parent: 'orders.upstream' });
    await kong.get('jwt', 'kid 1', { parent: 'alice' });
    await kong.get('jwt', 'kid-1');
    expect(server.requests.map((r) => r.path)).toEqual([
      '/upstreams/orders.upstream/targets/10.0.0.1%3A8080',
      '/consumers/alice/jwt/kid%201',
      '/jwts/kid-1',
    ]);
  });

  it('returns undefined on 404', async () => {
    const { kong } = await setUp(script({ status: 404, body: { message: 'Not found' } }));
    await expect(kong.get('service', 'missing')).resolves.toBeUndefined();
  });

  it('parses with the entity schema, filling defaults and dropping unknown fields', async () => {
    const { kong } = await setUp(script({ status: 200, body: { id: ENTITY_ID, host: 'h', extra: 1 } }));
    const service = await kong.get('service', ENTITY_ID);
    expect(service).toMatchObject({ port: 80, protocol: 'http', retries: 5, enabled: true });
    expect(service).not.toHaveProperty('extra');
  });

  it('requires the upstream of a target', async () => {
    const { kong } = await setUp(script({ status: 200, body: {} }));
    await expect(kong.get('target', ENTITY_ID)).rejects.toThrow(/under their upstream/);
  });

  it('reports an unexpected entity shape naming the field', async () => {
    const { kong } = await setUp(script({ status: 200, body: { id: ENTITY_ID, port: 'eighty' } }));
    const error = await kong.get('service', ENTITY_ID).catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(KongError);
    expect(error).toMatchObject({ status: undefined, method: 'GET', path: `/services/${ENTITY_ID}` });
    expect((error as KongError).message).toMatch(/unexpected shape for a service: host: .*; port: /);
  });
});

describe('list', () => {
  const services = [1, 2, 3].map((n) => normalizeEntity('service', { id: `id-${n}`, host: `h${n}`, tags: OWNED }));

  it('follows offset across pages, keeping size and tags, passing the token back verbatim', async () => {
    const { server, kong } = await setUp(
      script(
        { status: 200, body: { data: [services[0]], offset: 'a/b+c=', next: '/services?offset=a%2Fb%2Bc%3D' } },
        { status: 200, body: { data: [services[1]], offset: 'second' } },
        { status: 200, body: { data: [services[2]], next: null } },
      ),
    );
    const listed = await kong.list('service', { tags: OWNED });
    expect(listed.map((s) => s.id)).toEqual(['id-1', 'id-2', 'id-3']);
    const tags = 'tags=managed-by%3Ameshgate%2Cmeshgate%3Ainstance%3Dtest';
    expect(server.requests.map((r) => r.path)).toEqual([
      `/services?size=1000&${tags}`,
      `/services?size=1000&${tags}&offset=a%2Fb%2Bc%3D`,
      `/services?size=1000&${tags}&offset=second`,
    ]);
  });

  it('lists jwt credentials through /jwts with server-side tags', async () => {
    const { server, kong } = await setUp(script({ status: 200, body: { data: [fixture('jwt')], next: null } }));
    await expect(kong.list('jwt', { tags: ['managed-by:meshgate'] })).resolves.toHaveLength(1);
    expect(server.requests[0]!.path).toBe('/jwts?size=1000&tags=managed-by%3Ameshgate');
  });

  it('lists targets per upstream and filters their tags client-side', async () => {
    const owned = fixture('target');
    const foreign = normalizeEntity('target', { ...inputs.target, id: 'other', tags: ['someone-else'] });
    const { server, kong } = await setUp(
      script({ status: 200, body: { data: [owned, foreign], offset: '100' } }, { status: 200, body: { data: [] } }),
    );
    const listed = await kong.list('target', { upstream: UPSTREAM_ID, tags: OWNED });
    expect(listed.map((t) => t.id)).toEqual([ENTITY_ID]);
    expect(server.requests[1]!.path).toMatch(
      new RegExp(`^/upstreams/${UPSTREAM_ID}/targets\\?size=1000&.*offset=100$`),
    );
  });

  it('requires the upstream for targets', async () => {
    const { kong } = await setUp(script({ status: 200, body: { data: [] } }));
    await expect(kong.list('target')).rejects.toThrow(KongError);
  });

  it('rejects tag filters Kong cannot express', async () => {
    const { server, kong } = await setUp(script({ status: 200, body: { data: [] } }));
    await expect(kong.list('service', { tags: ['a,b'] })).rejects.toThrow(/tag filter 'a,b' is invalid/);
    await expect(kong.list('service', { tags: ['a/b'] })).rejects.toThrow(/invalid/);
    await expect(kong.list('service', { tags: ['1', '2', '3', '4', '5', '6'] })).rejects.toThrow(/at most 5/);
    expect(server.requests).toHaveLength(0);
  });

  it('reports a page that is not a page', async () => {
    const { kong } = await setUp(script({ status: 200, body: { services: [] } }));
    await expect(kong.list('service')).rejects.toThrow(/unexpected shape for a page: data: /);
  });
});

describe('version', () => {
  it('reads the version string from GET /', async () => {
    const { server, kong } = await setUp(
      script({ status: 200, body: { version: '3.9.3', tagline: 'Welcome to kong' } }),
    );
    await expect(kong.version()).resolves.toBe('3.9.3');
    expect(server.requests[0]!.path).toBe('/');
  });

  it('reports a root without a string version', async () => {
    const { kong } = await setUp(script({ status: 200, body: { version: 3.9 } }));
    await expect(kong.version()).rejects.toThrow(/unexpected shape for the node root: version/);
  });
});

describe('options', () => {
  it.each([0, 1001, 2.5])('rejects pageSize %d', (pageSize) => {
    expect(() => new KongClient({ url: 'http://127.0.0.1:1', pageSize })).toThrow(/pageSize must be an integer/);
  });
});
