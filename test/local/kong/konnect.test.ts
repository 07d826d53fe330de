import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTROL_PLANE_ID } from '../../../local/kong/konnect.js';
import { useKongDouble } from './helpers.js';

/**
 * The Kong double's Konnect mode against what Konnect documents (docs/kong-modes.md#konnect): the core-entities
 * prefix only, bearer access tokens, Konnect's paging and its three error shapes.
 */
const TOKEN = 'kpat_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM';
const kong = useKongDouble({ mode: 'konnect', adminToken: TOKEN });
const PREFIX = `/v2/control-planes/${DEFAULT_CONTROL_PLANE_ID}/core-entities`;

async function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${kong().url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are inspected field by field
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as any };
}
const entities = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  request(method, PREFIX + path, body, headers);

describe('Konnect mode of the Kong double', () => {
  it('adminUrl is the control plane’s core-entities URL', () => {
    expect(kong().adminUrl).toBe(`${kong().url}${PREFIX}`);
  });

  it('serves the core-entities prefix only: elsewhere, and without a node root, /config or /status, a problem+json 404', async () => {
    for (const path of [
      '/services',
      '/v2/control-planes/00000000-0000-4000-8000-000000000000/core-entities/services',
      PREFIX,
      `${PREFIX}/`,
      `${PREFIX}/config`,
      `${PREFIX}/status`,
    ]) {
      const answer = await request('GET', path);
      expect(answer.status, path).toBe(404);
      expect(answer.headers.get('content-type'), path).toContain('application/problem+json');
      expect(answer.body, path).toMatchObject({ status: 404, title: 'Not Found', detail: 'Not found' });
      expect(answer.body.instance, path).toMatch(/^kong:trace:/);
    }
  });

  it('requires the access token as a bearer token, before anything else', async () => {
    const unauthorized = { message: 'Unauthorized', status: 401 };
    expect(await entities('GET', '/services', undefined, { authorization: '' })).toMatchObject({
      status: 401,
      body: unauthorized,
    });
    expect((await entities('GET', '/services', undefined, { authorization: 'Bearer kpat_wrong' })).status).toBe(401);
    expect((await entities('GET', '/services', undefined, { authorization: TOKEN })).status).toBe(401);
    // Kong's admin-token header is not how Konnect is authenticated.
    expect(
      (await entities('GET', '/services', undefined, { authorization: '', 'kong-admin-token': TOKEN })).status,
    ).toBe(401);
    expect((await request('GET', '/elsewhere', undefined, { authorization: '' })).status).toBe(401);
  });

  it('a rotated token: the old one is refused from then on', async () => {
    kong().setAdminToken('spat_rotated');
    expect((await entities('GET', '/services')).status).toBe(401);
    expect((await entities('GET', '/services', undefined, { authorization: 'Bearer spat_rotated' })).status).toBe(200);
  });

  it('pages with size and offset; next is a path under the control plane; size is 1 to 1000', async () => {
    for (const name of ['a', 'b', 'c'])
      expect((await entities('POST', '/services', { name, host: 'h' })).status).toBe(201);
    const first = await entities('GET', '/services?size=2');
    expect(first.body.data).toHaveLength(2);
    expect(typeof first.body.offset).toBe('string');
    expect(first.body.next).toMatch(new RegExp(`^${PREFIX}/services\\?offset=`));
    const second = await request('GET', first.body.next);
    expect(second.body.data).toHaveLength(1);
    expect(second.body.next).toBeNull();
    expect(second.body.offset).toBeUndefined();
    const tooBig = await entities('GET', '/services?size=1001');
    expect(tooBig.status).toBe(400);
    expect(tooBig.body).toMatchObject({ code: 3, details: [] });
  });

  it('filters by tags: "," means AND, "/" means OR', async () => {
    await entities('POST', '/services', { name: 'a', host: 'h', tags: ['x', 'y'] });
    await entities('POST', '/services', { name: 'b', host: 'h', tags: ['x'] });
    const names = async (tags: string) =>
      (await entities('GET', `/services?tags=${encodeURIComponent(tags)}`)).body.data
        .map((s: { name: string }) => s.name)
        .sort();
    expect(await names('x,y')).toEqual(['a']);
    expect(await names('y/x')).toEqual(['a', 'b']);
  });

  it('answers errors as the core-entities service does: gRPC-style codes and details, a unique violation 400', async () => {
    const detailType = 'type.googleapis.com/kong.admin.model.v1.ErrorDetail';
    const invalid = await entities('POST', '/services', { name: 'a', host: 'h', port: 70000 });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toEqual({
      code: 3,
      message: 'validation error',
      details: [{ '@type': detailType, type: 'ERROR_TYPE_FIELD', field: 'port', messages: [expect.any(String)] }],
    });

    expect((await entities('POST', '/services', { name: 'a', host: 'h' })).status).toBe(201);
    const taken = await entities('POST', '/services', { name: 'a', host: 'h' });
    expect(taken.status).toBe(400);
    expect(taken.body).toMatchObject({
      code: 3,
      message: 'data constraint error',
      details: [
        { type: 'ERROR_TYPE_REFERENCE', field: 'name', messages: [expect.stringContaining('name (type: unique)')] },
      ],
    });

    const dangling = await entities('POST', '/routes', {
      paths: ['/x'],
      service: { id: '00000000-0000-4000-8000-000000000001' },
    });
    expect(dangling.status).toBe(400);
    expect(dangling.body.details[0].messages[0]).toContain('service (type: foreign)');

    expect(await entities('GET', '/services/absent')).toMatchObject({
      status: 404,
      body: { code: 5, message: '', details: [] },
    });
  });

  it('has no PATCH: entities are upserted with PUT (targets included)', async () => {
    const upstream = await entities('POST', '/upstreams', { name: 'u' });
    const created = await entities('POST', `/upstreams/${upstream.body.id}/targets`, { target: '10.0.0.1:80' });
    expect(created.status).toBe(201);
    const patched = await entities('PATCH', `/upstreams/u/targets/${created.body.id}`, { weight: 5 });
    expect(patched).toMatchObject({ status: 405, body: { code: 12 } });
    const put = await entities('PUT', `/upstreams/u/targets/${created.body.id}`, { target: '10.0.0.1:80', weight: 5 });
    expect(put.status).toBe(200);
    expect(put.body.weight).toBe(5);
  });

  it('logs and matches faults by the Admin API path under the prefix; a 429 is problem+json with Retry-After', async () => {
    kong().faults.inject({ method: 'GET', path: '/services', status: 429, headers: { 'Retry-After': '7' } });
    const limited = await entities('GET', '/services');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.body).toMatchObject({ status: 429, title: 'Too Many Requests' });
    expect((await entities('GET', '/services')).status).toBe(200);
    expect(kong().requests.entries.map((entry) => entry.path)).toEqual(['/services', '/services']);
  });
});
