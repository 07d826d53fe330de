import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { call, useKongDouble } from './helpers.js';

/**
 * Foreign keys as Kong 3.9 treats them (kong/db/schema/init.lua validate_primary_key(value, true) and
 * kong/db/dao/init.lua resolve_foreign): clients such as go-kong send the whole parent entity as the reference.
 */
const kong = useKongDouble();
const post = (path: string, body: unknown) => call(kong(), 'POST', path, body);

describe('foreign keys', () => {
  it('accept a reference that carries more than the primary key, and keep only the id', async () => {
    const { body: service } = await post('/services', { name: 'svc', host: 'a.test' });
    // go-kong posts the service it got back: every field, timestamps included.
    const created = await post('/routes', { paths: ['/'], service });
    expect(created.status).toBe(201);
    expect(created.body.service).toEqual({ id: service.id });
    const patched = await call(kong(), 'PATCH', `/routes/${created.body.id}`, {
      service: { id: service.id, name: 'ignored', host: 'ignored.test' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.service).toEqual({ id: service.id });
  });

  it('ignore extra fields even when they name another entity: the id decides', async () => {
    const { body: a } = await post('/services', { name: 'a', host: 'a.test' });
    await post('/services', { name: 'b', host: 'b.test' });
    const { body } = await post('/routes', { paths: ['/'], service: { id: a.id, name: 'b' } });
    expect(body.service).toEqual({ id: a.id });
  });

  it('resolve a reference by a unique field among other fields, by endpoint key and by custom_id', async () => {
    const { body: service } = await post('/services', { name: 'svc', host: 'a.test' });
    const route = await post('/routes', { paths: ['/'], service: { name: 'svc', host: 'whatever.test', port: 1 } });
    expect(route.body.service).toEqual({ id: service.id });
    const { body: consumer } = await post('/consumers', { username: 'alice', custom_id: 'arn:alice' });
    const byCustomId = await post('/plugins', { name: 'correlation-id', consumer: { custom_id: 'arn:alice' } });
    expect(byCustomId.status).toBe(201);
    expect(byCustomId.body.consumer).toEqual({ id: consumer.id });
    const { body: upstream } = await post('/upstreams', { name: 'up.internal' });
    const target = await call(kong(), 'POST', `/upstreams/${upstream.id}/targets`, { target: '10.0.0.1:80' });
    expect(target.body.upstream).toEqual({ id: upstream.id });
  });

  it('resolve a reference whose id is not a UUID by its unique fields', async () => {
    const { body: service } = await post('/services', { name: 'svc', host: 'a.test' });
    const { body } = await post('/routes', { paths: ['/'], service: { id: 'not-a-uuid', name: 'svc' } });
    expect(body.service).toEqual({ id: service.id });
  });

  it('report every unique value that matched nothing, even when another one matched', async () => {
    await post('/consumers', { username: 'alice' });
    const { status, body } = await post('/plugins', {
      name: 'correlation-id',
      consumer: { username: 'alice', custom_id: 'nobody' },
    });
    // username matches first in schema order: resolved, custom_id never tried.
    expect(status).toBe(201);
    const both = await post('/plugins', { name: 'correlation-id', consumer: { username: 'bob', custom_id: 'nobody' } });
    expect(both.body).toEqual({
      code: 13,
      name: 'foreign keys unresolved',
      message:
        "2 foreign keys unresolved (consumer.custom_id: the foreign key cannot be resolved with '{custom_id=\"nobody\"}' for an existing 'consumers' entity; consumer.username: the foreign key cannot be resolved with '{username=\"bob\"}' for an existing 'consumers' entity)",
      fields: {
        consumer: {
          custom_id:
            "the foreign key cannot be resolved with '{custom_id=\"nobody\"}' for an existing 'consumers' entity",
          username: "the foreign key cannot be resolved with '{username=\"bob\"}' for an existing 'consumers' entity",
        },
      },
    });
    expect(body.consumer).toBeTypeOf('object');
  });

  it('answer an unknown id with code 4, whatever else the reference carries', async () => {
    const id = randomUUID();
    const { status, body } = await post('/routes', { paths: ['/'], service: { id, name: 'nope', host: 'x.test' } });
    expect(status).toBe(400);
    expect(body).toEqual({
      code: 4,
      name: 'foreign key violation',
      message: `the foreign key '{id="${id}"}' does not reference an existing 'services' entity.`,
      fields: { service: { id } },
    });
  });

  it('without a valid id or a resolvable unique field: the referenced schema first, then the primary key', async () => {
    const empty = await post('/routes', { paths: ['/'], service: {} });
    expect(empty.body).toMatchObject({
      code: 2,
      message: 'schema violation (service.id: missing primary key)',
      fields: { service: { id: 'missing primary key' } },
    });
    const unknown = await post('/routes', { paths: ['/'], service: { foo: 1 } });
    expect(unknown.body.fields).toEqual({ service: { foo: 'unknown field' } });
    const badType = await post('/routes', { paths: ['/'], service: { name: 42, port: 'x' } });
    expect(badType.body.fields).toEqual({ service: { name: 'expected a string', port: 'expected an integer' } });
    const badId = await post('/routes', { paths: ['/'], service: { id: 'nope' } });
    expect(badId.body.fields).toEqual({ service: { id: 'expected a valid UUID' } });
    const nullId = await post('/routes', { paths: ['/'], service: { id: null } });
    expect(nullId.body.fields).toEqual({ service: { id: 'required field missing' } });
  });
});

describe('target health', () => {
  it('PUT /upstreams/{u}/targets/{t}/healthy|unhealthy answers 204; POST (Kong 2.x) is 405', async () => {
    const { body: upstream } = await post('/upstreams', { name: 'up.internal' });
    const { body: target } = await call(kong(), 'POST', `/upstreams/${upstream.id}/targets`, { target: '10.0.0.1:80' });
    for (const key of [target.id, '10.0.0.1:80'])
      for (const state of ['healthy', 'unhealthy'])
        expect((await call(kong(), 'PUT', `/upstreams/up.internal/targets/${key}/${state}`)).status).toBe(204);
    expect((await call(kong(), 'PUT', `/upstreams/up.internal/targets/10.0.0.1:80/10.0.0.1:80/healthy`)).status).toBe(
      204,
    );
    expect((await call(kong(), 'PUT', `/upstreams/up.internal/targets/10.0.0.9:80/healthy`)).status).toBe(404);
    expect((await call(kong(), 'POST', `/upstreams/up.internal/targets/10.0.0.1:80/healthy`)).status).toBe(405);
  });
});
