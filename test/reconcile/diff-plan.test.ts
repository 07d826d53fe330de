import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diff } from '../../shared/reconcile/diff.js';
import { formatPlan, plan, planChanges, planJson } from '../../shared/reconcile/plan.js';
import { consumer, jwt, route, service, servicePlugin, state, TAGS, target, upstream } from './fixtures.js';

const ordersState = () =>
  state({
    consumers: [consumer('alice')],
    jwts: [jwt('alice', 'alice-1')],
    services: [service('orders')],
    routes: [route('orders', 'orders')],
    upstreams: [upstream('orders.mesh')],
    targets: [target('orders.mesh', '10.0.0.1:8080')],
    plugins: [servicePlugin('correlation-id', 'orders', { config: { header_name: 'x-request-id' } })],
  });

describe('diff', () => {
  it('finds nothing between a state and itself', () => {
    expect(diff(ordersState(), ordersState())).toEqual([]);
  });

  it('fills Kong defaults before comparing', () => {
    const sparse = { id: service('orders').id, name: 'orders', host: 'orders.internal', tags: TAGS };
    expect(diff(state({ services: [service('orders')] }), state({ services: [sparse as never] }))).toEqual([]);
  });

  it('ignores timestamps', () => {
    const dumped = { ...service('orders'), created_at: 1712345678, updated_at: 1712345999 };
    expect(diff(state({ services: [dumped] }), state({ services: [service('orders')] }))).toEqual([]);
  });

  it('compares sets regardless of order, duplicates and empty-versus-null', () => {
    const current = route('orders', 'orders', { protocols: ['https', 'http'], methods: [], tags: [...TAGS].reverse() });
    const desired = route('orders', 'orders', { protocols: ['http', 'https', 'http'], methods: null });
    expect(diff(state({ routes: [current] }), state({ routes: [desired] }))).toEqual([]);
  });

  it('keeps order significant for arrays that are not sets', () => {
    const current = route('orders', 'orders', { paths: ['/a', '/b'] });
    const desired = route('orders', 'orders', { paths: ['/b', '/a'] });
    const [change] = diff(state({ routes: [current] }), state({ routes: [desired] }));
    expect(change?.fields).toEqual([{ field: 'paths', before: ['/a', '/b'], after: ['/b', '/a'] }]);
  });

  it('compares plugin config deeply and reports the nested field that changed', () => {
    const current = servicePlugin('jwt', 'orders', { config: { key_claim_name: 'kid', claims_to_verify: ['exp'] } });
    const desired = servicePlugin('jwt', 'orders', { config: { claims_to_verify: ['exp'], key_claim_name: 'iss' } });
    const services = [service('orders')];
    const changes = diff(state({ services, plugins: [current] }), state({ services, plugins: [desired] }));
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      action: 'update',
      kind: 'plugin',
      name: 'jwt for service orders',
      fields: [{ field: 'config.key_claim_name', before: 'kid', after: 'iss' }],
    });
  });

  it('updates exactly when a field differs once sets are canonical (property)', () => {
    const canonical = (set: readonly string[] | null | undefined) =>
      set && set.length > 0 ? [...new Set(set)].sort() : null;
    const routeFields = fc.record({
      protocols: fc.constantFrom<string[]>(['http'], ['https', 'http'], ['http', 'https', 'http'], ['http', 'https']),
      methods: fc.constantFrom<string[] | null>(null, [], ['GET'], ['GET', 'POST'], ['POST', 'GET']),
      paths: fc.constantFrom<string[]>(['/a'], ['/a', '/b'], ['/b', '/a']),
      tags: fc.constantFrom(TAGS, [...TAGS].reverse(), [...TAGS, TAGS[0] ?? ''], [...TAGS, 'team:x']),
      strip_path: fc.boolean(),
    });
    fc.assert(
      fc.property(routeFields, routeFields, (before, after) => {
        const changes = diff(
          state({ routes: [route('orders', 'orders', before)] }),
          state({ routes: [route('orders', 'orders', after)] }),
        );
        const differs = (field: 'protocols' | 'methods' | 'tags') =>
          JSON.stringify(canonical(before[field])) !== JSON.stringify(canonical(after[field]));
        const expected =
          differs('protocols') ||
          differs('methods') ||
          differs('tags') ||
          JSON.stringify(before.paths) !== JSON.stringify(after.paths) ||
          before.strip_path !== after.strip_path;
        expect(changes.map(({ action }) => action)).toEqual(expected ? ['update'] : []);
      }),
    );
  });

  it('creates what is missing, updates what differs and deletes what is no longer desired', () => {
    const current = state({ services: [service('orders'), service('legacy')] });
    const desired = state({ services: [service('orders', { port: 8080 }), service('billing')] });
    const changes = diff(current, desired).map(({ action, name, fields }) => ({ action, name, fields }));
    expect(changes).toEqual([
      { action: 'update', name: 'orders', fields: [{ field: 'port', before: 80, after: 8080 }] },
      { action: 'create', name: 'billing', fields: undefined },
      { action: 'delete', name: 'legacy', fields: undefined },
    ]);
  });

  it('matches by id, so a renamed entity with a new id is a delete and a create', () => {
    const renamed = { ...service('orders'), name: 'orders-v2' };
    const changes = diff(state({ services: [service('orders')] }), state({ services: [renamed] }));
    expect(changes.map((change) => change.action)).toEqual(['update']);
    const newId = service('orders-v2');
    expect(diff(state({ services: [service('orders')] }), state({ services: [newId] })).map((c) => c.action)).toEqual([
      'create',
      'delete',
    ]);
  });
});

describe('plan', () => {
  it('writes top-down by dependency level', () => {
    const planned = plan(diff(state({}), ordersState()));
    expect(planned.stages.map(({ phase, level, changes }) => [phase, level, changes.map((c) => c.kind)])).toEqual([
      ['write', 0, ['consumer']],
      ['write', 1, ['service', 'upstream', 'jwt']],
      ['write', 2, ['route', 'target']],
      ['write', 3, ['plugin']],
    ]);
    expect(planned.summary).toEqual({ creating: 7, updating: 0, deleting: 0, total: 7 });
  });

  it('deletes bottom-up, after every write', () => {
    const current = ordersState();
    const desired = state({ services: [service('billing')] });
    const planned = plan(diff(current, desired));
    expect(planned.stages.map(({ phase, level }) => `${phase}:${level}`)).toEqual([
      'write:1',
      'delete:3',
      'delete:2',
      'delete:1',
      'delete:0',
    ]);
    expect(planChanges(planned).map((c) => `${c.action} ${c.kind}`)).toEqual([
      'create service',
      'delete plugin',
      'delete route',
      'delete target',
      'delete service',
      'delete upstream',
      'delete jwt',
      'delete consumer',
    ]);
  });

  it('is empty when nothing differs', () => {
    expect(plan(diff(ordersState(), ordersState()))).toEqual({
      stages: [],
      summary: { creating: 0, updating: 0, deleting: 0, total: 0 },
    });
  });
});

describe('formatPlan and planJson', () => {
  const current = state({
    services: [service('orders')],
    routes: [route('orders', 'orders')],
    upstreams: [upstream('orders.mesh')],
    targets: [target('orders.mesh', '10.0.0.1:8080')],
  });
  const desired = state({
    consumers: [consumer('alice')],
    jwts: [jwt('alice', 'alice-1')],
    services: [service('orders')],
    routes: [route('orders', 'orders', { paths: ['/orders', '/v2/orders'] })],
    upstreams: [upstream('orders.mesh')],
    targets: [target('orders.mesh', '10.0.0.2:8080', { weight: 50 })],
    plugins: [servicePlugin('jwt', 'orders', { config: { key_claim_name: 'kid' } })],
  });

  it('prints like decK', () => {
    expect(formatPlan(plan(diff(current, desired)))).toMatchInlineSnapshot(`
      "creating consumer alice
      creating jwt-auth alice-1 for consumer alice
      updating route orders  {
      -  "paths": ["/orders"]
      +  "paths": ["/orders","/v2/orders"]
      }
      creating target 10.0.0.2:8080 on upstream orders.mesh
      creating plugin jwt for service orders
      deleting target 10.0.0.1:8080 on upstream orders.mesh
      Summary:
        Created: 4
        Updated: 1
        Deleted: 1
      "
    `);
  });

  it('shapes JSON like decK --json-output', () => {
    const json = planJson(plan(diff(current, desired)));
    expect(json.summary).toEqual({ creating: 4, updating: 1, deleting: 1, total: 6 });
    expect(json.changes.creating.map(({ kind, name }) => `${kind} ${name}`)).toEqual([
      'consumer alice',
      'jwt-auth alice-1 for consumer alice',
      'target 10.0.0.2:8080 on upstream orders.mesh',
      'plugin jwt for service orders',
    ]);
    expect(json.changes.updating[0]).toMatchObject({
      kind: 'route',
      name: 'orders',
      body: { new: { paths: ['/orders', '/v2/orders'] }, old: { paths: ['/orders'] } },
    });
    expect(json.changes.deleting[0]).toMatchObject({ kind: 'target', body: { target: '10.0.0.1:8080' } });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
