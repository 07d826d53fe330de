import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { KongDouble } from '../../../local/kong/server.js';
import { readReference } from '../../support/reference.js';
import { call, useKongDouble } from './helpers.js';

/**
 * Responses checked against the official OpenAPI specs where they are precise: every documented property is
 * returned, non-null values have the documented type, and a minimal create returns the documented defaults.
 * Input-only (`url`) and expressions-router-only (`expression`, `priority`) properties are not returned by Kong.
 */
interface PropertySpec {
  type?: string;
  default?: unknown;
  additionalProperties?: boolean;
  properties?: Record<string, PropertySpec>;
}
interface ObjectSpec {
  properties: Record<string, PropertySpec>;
}

const load = (file: string) =>
  parse(readReference(`kong/${file}`)) as {
    components: { schemas: Record<string, ObjectSpec> };
  };
const admin = load('admin-oss-3.9-openapi.yaml').components.schemas;
const jwt = load('plugin-jwt-openapi.yaml').components.schemas;
const NOT_RETURNED = new Set(['url', 'expression', 'priority']);

const kong = useKongDouble();

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

function expectConforms(schema: ObjectSpec, entity: Record<string, unknown>) {
  for (const [name, property] of Object.entries(schema.properties)) {
    if (NOT_RETURNED.has(name)) continue;
    expect(entity, name).toHaveProperty(name);
    const value = entity[name];
    if (value !== null && property.type) {
      const actual = typeOf(value);
      const matches = property.type === 'number' ? ['number', 'integer'].includes(actual) : actual === property.type;
      expect(matches, `${name}: ${property.type} vs ${actual}`).toBe(true);
    }
    if (property.default !== undefined) expect(value, `default of ${name}`).toEqual(property.default);
  }
}

async function created(double: KongDouble, path: string, body: unknown) {
  const answer = await call(double, 'POST', path, body);
  expect(answer.status).toBe(201);
  return answer.body;
}

describe('OpenAPI 3.9 entity schemas', () => {
  it('services, routes, upstreams, targets, consumers, plugins and JWT credentials conform', async () => {
    const double = kong();
    expectConforms(admin.Service as ObjectSpec, await created(double, '/services', { name: 's', host: 'a.test' }));
    expectConforms(admin.Route as ObjectSpec, await created(double, '/services/s/routes', { paths: ['/'] }));
    expectConforms(admin.Upstream as ObjectSpec, await created(double, '/upstreams', { name: 'up' }));
    expectConforms(admin.Target as ObjectSpec, await created(double, '/upstreams/up/targets', { target: 'a.test' }));
    expectConforms(admin.Consumer as ObjectSpec, await created(double, '/consumers', { username: 'alice' }));
    expectConforms(admin.Plugin as ObjectSpec, await created(double, '/plugins', { name: 'correlation-id' }));
    expectConforms(jwt.JWT as ObjectSpec, await created(double, '/consumers/alice/jwt', {}));
  });

  it('list responses carry data and next, and offset while more pages remain', async () => {
    const double = kong();
    await created(double, '/consumers', { username: 'a' });
    await created(double, '/consumers', { username: 'b' });
    const page = await call(double, 'GET', '/consumers?size=1');
    expect(Object.keys(page.body).sort()).toEqual(['data', 'next', 'offset']);
    expectConforms(admin.Consumer as ObjectSpec, page.body.data[0]);
  });

  it('foreign keys come back as the closed {id} objects the spec documents, however the reference was given', async () => {
    const double = kong();
    const service = await created(double, '/services', { name: 's', host: 'a.test' });
    const consumer = await created(double, '/consumers', { username: 'alice', custom_id: 'arn:alice' });
    const upstream = await created(double, '/upstreams', { name: 'up' });
    const route = await created(double, '/routes', { name: 'r', paths: ['/'], service });
    const references = [
      [admin.Route, 'service', route],
      [
        admin.Plugin,
        'route',
        await created(double, '/plugins', { name: 'correlation-id', route: { name: 'r', paths: ['/x'] } }),
      ],
      [
        admin.Plugin,
        'consumer',
        await created(double, '/plugins', { name: 'correlation-id', consumer: { custom_id: 'arn:alice', tags: [] } }),
      ],
      [
        admin.Plugin,
        'service',
        await created(double, '/plugins', { name: 'correlation-id', service: { ...service, name: 'other' } }),
      ],
      [admin.Target, 'upstream', await created(double, '/upstreams/up/targets', { target: 'b.test', upstream })],
    ] as const;
    for (const [schema, field, entity] of references) {
      const property = (schema as ObjectSpec).properties[field] as PropertySpec;
      expect(property.additionalProperties, field).toBe(false);
      expect(Object.keys(entity[field]), field).toEqual(Object.keys(property.properties ?? {}));
    }
    expect(references.map(([, field, entity]) => entity[field].id)).toEqual([
      service.id,
      route.id,
      consumer.id,
      service.id,
      upstream.id,
    ]);
  });
});
