import { afterEach, describe, expect, it } from 'vitest';
import { type KongDouble, startKongDouble } from '../../local/kong/server.js';
import { loadConfig } from '../../shared/config/index.js';
import { KongClient } from '../../shared/kong/client.js';
import { KongError } from '../../shared/kong/errors.js';
import { checkSupported, parseKongVersion } from '../../shared/kong/versions.js';
import { apply } from '../../shared/reconcile/apply.js';
import { diff } from '../../shared/reconcile/diff.js';
import { dump } from '../../shared/reconcile/dump.js';
import { plan } from '../../shared/reconcile/plan.js';
import { JWT_PLUGIN_CONFIG } from '../../shared/translate/exposure.js';
import { call } from '../local/kong/helpers.js';
import { consumer, INSTANCE, jwt, route, service, servicePlugin, state } from '../reconcile/fixtures.js';

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0)) await item.close();
});

async function double(options: Parameters<typeof startKongDouble>[0]): Promise<KongDouble> {
  const kong = await startKongDouble(options);
  opened.push(kong);
  return kong;
}

function client(kong: KongDouble, workspace?: string): KongClient {
  const created = new KongClient({ url: kong.url, workspace, retry: { maxAttempts: 1 } });
  opened.push(created);
  return created;
}

const jwtPlugin = () => servicePlugin('jwt', 'orders', { config: { ...JWT_PLUGIN_CONFIG } });
const desired = () =>
  state({
    services: [service('orders')],
    routes: [route('orders', 'orders')],
    plugins: [jwtPlugin()],
    consumers: [consumer('alice')],
    jwts: [jwt('alice', 'alice-1')],
  });

async function sync(kong: KongClient) {
  const changes = diff(await dump(kong, { instance: INSTANCE }), desired());
  const result = await apply(kong, plan(changes), { instance: INSTANCE, parallelism: 4 });
  expect(result.failed).toEqual([]);
  return changes.length;
}

describe('workspaces (KONG_WORKSPACE)', () => {
  it('every entity path carries the /{workspace} prefix, as decK --workspace; GET / stays at the root', async () => {
    const kong = await double({ workspaces: ['team-a'] });
    const teamA = client(kong, 'team-a');
    expect(await sync(teamA)).toBe(5);
    expect(await sync(teamA)).toBe(0);
    const paths = kong.requests.entries.map((entry) => entry.path);
    expect(paths.filter((path) => path !== '/' && !path.startsWith('/team-a/'))).toEqual([]);
    expect((await call(kong, 'GET', '/team-a/services')).body.data).toHaveLength(1);
    // The default workspace is untouched.
    expect((await call(kong, 'GET', '/services')).body.data).toEqual([]);
    expect(await client(kong).list('service')).toEqual([]);
  });

  it('a workspace that does not exist is named in the error', async () => {
    const kong = await double({ workspaces: ['team-a'] });
    const error = await dump(client(kong, 'team-b'), { instance: INSTANCE }).catch((caught: unknown) => caught);
    expect(String((error as Error).message)).toContain("Kong workspace 'team-b' does not exist");
  });

  it('KONG_WORKSPACE is validated with the other settings', () => {
    const base = { KONG_ADMIN_URL: 'http://127.0.0.1:8001', MESHGATE_STATE_DIR: '/tmp/x' };
    expect(loadConfig({ ...base, KONG_WORKSPACE: 'team-a' }).KONG_WORKSPACE).toBe('team-a');
    expect(loadConfig(base).KONG_WORKSPACE).toBeUndefined();
    expect(() => loadConfig({ ...base, KONG_WORKSPACE: 'a/b' })).toThrow(/KONG_WORKSPACE/);
  });
});

describe('Kong versions 3.4 LTS to 3.9', () => {
  it('parses OSS and Enterprise version strings and refuses versions outside 3.4–3.9', () => {
    for (const ok of ['3.4.0', '3.4.3.12-enterprise-edition', '3.7.1', '3.9.3']) checkSupported(parseKongVersion(ok));
    for (const bad of ['3.3.1', '2.8.4', '3.10.0', '4.0.0'])
      expect(() => checkSupported(parseKongVersion(bad))).toThrow(/not supported: meshgate supports Kong 3.4 to 3.9/);
    expect(() => parseKongVersion('next')).toThrow(KongError);
  });

  it('a Kong 3.4 double refuses what 3.4 lacks: the jwt plugin realm and EdDSA credentials', async () => {
    const kong = await double({ version: '3.4.2' });
    expect((await call(kong, 'GET', '/')).body.version).toBe('3.4.2');
    await call(kong, 'POST', '/services', { name: 's', host: 'a.test' });
    const realm = await call(kong, 'POST', '/services/s/plugins', { name: 'jwt', config: { realm: null } });
    expect(realm.body).toMatchObject({ code: 2, fields: { config: { realm: 'unknown field' } } });
    const plugin = await call(kong, 'POST', '/services/s/plugins', { name: 'jwt' });
    expect(plugin.status).toBe(201);
    expect(plugin.body.config).not.toHaveProperty('realm');
    await call(kong, 'POST', '/consumers', { username: 'alice' });
    const eddsa = await call(kong, 'POST', '/consumers/alice/jwt', { algorithm: 'EdDSA', rsa_public_key: 'x' });
    expect(eddsa.body.fields).toEqual({
      algorithm: 'expected one of: HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384',
    });
  });

  for (const version of ['3.4.2', '3.7.1', '3.8.1', '3.9.3'])
    it(`syncs the same state into Kong ${version}, then finds nothing to change`, async () => {
      const kong = await double({ version });
      const kongClient = client(kong);
      expect(await sync(kongClient)).toBe(5);
      expect(await sync(kongClient)).toBe(0);
      // The version is read once per client, only because a plugin was written.
      expect(kong.requests.entries.filter((entry) => entry.path === '/')).toHaveLength(1);
    });

  it('a node without EdDSA gets a clear refusal before the write; a node outside the range none at all', async () => {
    const old = client(await double({ version: '3.6.1' }));
    await old.create('consumer', consumer('alice'));
    await expect(old.create('jwt', jwt('alice', 'k', { algorithm: 'EdDSA' }))).rejects.toThrow(
      /Kong 3.6.1 does not accept EdDSA JWT credentials/,
    );
    const future = client(await double({ version: '3.10.0' }));
    await expect(future.create('plugin', jwtPlugin())).rejects.toThrow(/not supported/);
  });

  it('a jwt plugin read from a node before 3.8 comes back with realm null, as 3.9 returns it', async () => {
    const kong = await double({ version: '3.4.2' });
    await call(kong, 'POST', '/services', { name: 's', host: 'a.test' });
    await call(kong, 'POST', '/services/s/plugins', { name: 'jwt' });
    const [plugin] = await client(kong).list('plugin');
    expect(plugin?.config).toMatchObject({ realm: null, key_claim_name: 'iss' });
  });

  it('a read without a version probe: no-op syncs cost no GET /', async () => {
    const kong = await double({});
    await sync(client(kong));
    kong.requests.clear();
    expect(await sync(client(kong))).toBe(0);
    expect(kong.requests.entries.filter((entry) => entry.path === '/')).toEqual([]);
  });
});
