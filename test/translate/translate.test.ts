import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConsumerSpec } from '../../shared/consumers/model.js';
import { entityKinds } from '../../shared/kong/entities.js';
import { entityId, ownershipTags } from '../../shared/kong/ownership.js';
import type { Endpoint, Gateway, GatewayRoute, MeshSnapshot } from '../../shared/sources/model.js';
import { jwtCredentialFor, type TranslateInput, translate } from '../../shared/translate/index.js';

const options = { instance: 'unit', tracingHeader: 'x-request-id' };

const endpoint = (instanceId: string, host: string, attributes: Record<string, string> = {}): Endpoint => ({
  instanceId,
  host,
  port: 8080,
  healthy: true,
  attributes,
});

const gateway = (name: string, extra: Partial<Gateway> = {}): Gateway => ({
  mesh: 'shop',
  name,
  arn: `arn:${name}`,
  version: 1,
  listeners: [{ port: 8080, protocol: 'http' }],
  tags: {},
  endpoints: [endpoint('i-1', '10.0.0.1')],
  ...extra,
});

const gatewayRoute = (name: string, extra: Partial<GatewayRoute> = {}): GatewayRoute => ({
  mesh: 'shop',
  gateway: 'edge',
  name,
  arn: `arn:${name}`,
  version: 1,
  protocol: 'http',
  match: { prefix: `/${name}` },
  target: { virtualService: 'orders' },
  tags: {},
  ...extra,
});

const snapshot = (parts: Partial<MeshSnapshot>): MeshSnapshot => ({
  gateways: [gateway('edge')],
  gatewayRoutes: [],
  virtualServices: [{ mesh: 'shop', name: 'orders', arn: 'arn:orders', tags: {} }],
  cloudMapServices: [],
  failures: [],
  ...parts,
});

const run = (mesh: MeshSnapshot, consumers: ConsumerSpec[] = []) => translate({ mesh, consumers, options });

describe('translate', () => {
  it('leaves out every entity of a failed route (service, route and plugins), and keeps the others', () => {
    const { state, failures } = run(
      snapshot({
        gatewayRoutes: [
          gatewayRoute('good'),
          gatewayRoute('bad', {
            match: { prefix: '/bad', queryParameters: [{ name: 'q' }] },
            tags: { 'meshgate:auth': 'jwt' },
          }),
        ],
      }),
    );
    expect(state.services.map((s) => s.name)).toEqual(['shop.edge.good']);
    expect(state.routes.map((r) => r.name)).toEqual(['shop.edge.good']);
    expect(state.plugins.map((p) => p.name)).toEqual(['correlation-id']);
    expect(failures).toEqual([
      {
        object: 'appmesh:shop/edge/bad',
        field: 'match.queryParameters',
        reason: "query parameter matches ('q') cannot be expressed in Kong",
      },
    ]);
  });

  it('keeps App Mesh precedence: a lower priority number gets a higher regex_priority, unset is lowest', () => {
    const { state } = run(
      snapshot({
        gatewayRoutes: [
          gatewayRoute('first', { priority: 0 }),
          gatewayRoute('second', { priority: 1 }),
          gatewayRoute('last', { priority: 1000 }),
          gatewayRoute('unset'),
        ],
      }),
    );
    const priority = Object.fromEntries(state.routes.map((r) => [r.name, r.regex_priority]));
    expect(priority['shop.edge.first']).toBeGreaterThan(priority['shop.edge.second']!);
    expect(priority['shop.edge.second']).toBeGreaterThan(priority['shop.edge.last']!);
    expect(priority['shop.edge.last']).toBeGreaterThan(priority['shop.edge.unset']!);
  });

  it('reads tags most specific first: a route overrides its virtual service, which overrides the gateway', () => {
    const { state } = run(
      snapshot({
        gateways: [gateway('edge', { tags: { 'meshgate:auth': 'jwt' } })],
        virtualServices: [{ mesh: 'shop', name: 'orders', arn: 'a', tags: { 'meshgate:auth': 'none' } }],
        gatewayRoutes: [gatewayRoute('open'), gatewayRoute('signed', { tags: { 'meshgate:auth': 'jwt' } })],
      }),
    );
    const jwtServices = state.plugins.filter((p) => p.name === 'jwt').map((p) => p.service?.id);
    expect(jwtServices).toEqual([entityId('unit', 'service', 'shop.edge.signed')]);
  });

  it('produces the same bytes whatever the order of the input arrays, even when objects collide', () => {
    const mesh = snapshot({
      gateways: [gateway('edge'), gateway('b.c', { mesh: 'a' }), gateway('c', { mesh: 'a.b' })],
      virtualServices: [
        { mesh: 'shop', name: 'orders', arn: 'a', tags: {} },
        { mesh: 'a', name: 'orders', arn: 'b', tags: {} },
        { mesh: 'a.b', name: 'orders', arn: 'c', tags: {} },
      ],
      gatewayRoutes: [
        gatewayRoute('x'),
        gatewayRoute('d', { mesh: 'a', gateway: 'b.c' }),
        gatewayRoute('d', { mesh: 'a.b', gateway: 'c' }),
      ],
    });
    const reversed = {
      ...mesh,
      gateways: [...mesh.gateways].reverse(),
      gatewayRoutes: [...mesh.gatewayRoutes].reverse(),
      virtualServices: [...mesh.virtualServices].reverse(),
    };
    expect(JSON.stringify(run(reversed))).toBe(JSON.stringify(run(mesh)));
    expect(run(mesh).failures).toEqual([
      {
        object: 'appmesh:a/b.c/d',
        field: 'name',
        reason: "Kong service 'a.b.c.d' is already produced by appmesh:a.b/c/d",
      },
    ]);
  });

  it('builds consumer credentials exactly as rotation does (jwtCredentialFor)', () => {
    const key = {
      kid: 'checkout-1',
      alg: 'ES256' as const,
      publicKeyPem: 'PEM',
      createdAt: '2025-01-01T00:00:00Z',
      versionId: 'v1',
      stages: ['AWSCURRENT'],
    };
    const { state } = run(snapshot({}), [{ username: 'checkout', secretArn: 's', keys: [key] }]);
    expect(state.jwts).toEqual([jwtCredentialFor('unit', 'checkout', key)]);
    expect(state.jwts[0]?.consumer.id).toBe(state.consumers[0]?.id);
    expect(state.jwts[0]?.secret).toMatch(/^[0-9a-f]{32}$/);
  });

  it('writes no correlation-id plugin when tracing is off', () => {
    const { state } = translate({
      mesh: snapshot({ gatewayRoutes: [gatewayRoute('orders')] }),
      consumers: [],
      options: { ...options, tracingHeader: 'off' },
    });
    expect(state.services).toHaveLength(1);
    expect(state.plugins).toEqual([]);
  });
});

describe('translate (properties)', () => {
  const name = fc.constantFrom('edge', 'rpc', 'a', 'b.c', 'bad name');
  const meshName = fc.constantFrom('shop', 'a', 'a.b');
  const tags = fc.dictionary(
    fc.constantFrom('meshgate:auth', 'meshgate:expose', 'meshgate:paths', 'meshgate:protocol'),
    fc.constantFrom('jwt', 'none', 'false', 'true', 'grpc', '/x,/y', 'oops'),
    { maxKeys: 2 },
  );
  const arbEndpoint = fc.record({
    instanceId: fc.constantFrom('i-1', 'i-2', 'i-3'),
    host: fc.constantFrom('10.0.0.1', '::1', 'edge.internal', 'bad host'),
    port: fc.constantFrom(8080, 0, 9090),
    healthy: fc.boolean(),
    attributes: fc.constantFrom<Record<string, string>[]>({}, { 'meshgate:weight': '5' }, { 'meshgate:weight': '-1' }),
  });
  const arbGateway = fc.record({
    mesh: meshName,
    name,
    arn: fc.constant('arn'),
    version: fc.constant(1),
    listeners: fc.constantFrom<Gateway['listeners']>(
      [{ port: 8080, protocol: 'http' }],
      [{ port: 9090, protocol: 'grpc' }],
      [],
    ),
    tags,
    endpoints: fc.array(arbEndpoint, { maxLength: 3 }),
  });
  const arbRoute = fc.record({
    mesh: meshName,
    gateway: name,
    name: fc.constantFrom('r1', 'r2', 'c.r1'),
    arn: fc.constant('arn'),
    version: fc.constant(1),
    protocol: fc.constantFrom<GatewayRoute['protocol'][]>('http', 'http2', 'grpc'),
    priority: fc.option(fc.integer({ min: -1, max: 1001 }), { nil: undefined }),
    match: fc.constantFrom<GatewayRoute['match'][]>(
      { prefix: '/orders' },
      { prefix: 'nope' },
      { path: { regex: '/o/[0-9]+' } },
      { hostname: { suffix: 'example.com' } },
      { serviceName: 'pkg.Svc' },
      { prefix: '/', headers: [{ name: 'x', match: { exact: 'y' } }] },
    ),
    target: fc.record({ virtualService: fc.constantFrom('orders', 'missing') }),
    tags,
  });
  const arbInput: fc.Arbitrary<TranslateInput> = fc.record({
    mesh: fc.record({
      gateways: fc.array(arbGateway, { maxLength: 4 }),
      gatewayRoutes: fc.array(arbRoute, { maxLength: 6 }),
      virtualServices: fc.array(
        fc.record({ mesh: meshName, name: fc.constant('orders'), arn: fc.constant('arn'), tags }),
        { maxLength: 3 },
      ),
      cloudMapServices: fc.array(
        fc.record({
          id: fc.constant('srv'),
          arn: fc.constant('arn'),
          namespace: fc.constantFrom('shop.local', 'shop', 'bad ns'),
          name: fc.constantFrom('orders', 'edge.shop', 'inventory'),
          tags,
          endpoints: fc.array(arbEndpoint, { maxLength: 3 }),
        }),
        { maxLength: 3 },
      ),
      failures: fc.constant([]),
    }),
    consumers: fc.array(
      fc.record({
        username: fc.constantFrom('alice', 'bob', ''),
        iamRole: fc.option(fc.constantFrom('role-a', 'role-b'), { nil: undefined }),
        secretArn: fc.constant('s'),
        keys: fc.array(
          fc.record({
            kid: fc.constantFrom('k1', 'k2', 'k3'),
            alg: fc.constantFrom<('ES256' | 'RS256' | 'EdDSA')[]>('ES256', 'RS256', 'EdDSA'),
            publicKeyPem: fc.constant('PEM'),
            createdAt: fc.constant('2025-01-01T00:00:00Z'),
            versionId: fc.constant('v'),
            stages: fc.constant(['AWSCURRENT']),
          }),
          { maxLength: 2 },
        ),
      }),
      { maxLength: 3 },
    ),
    options: fc.record({ instance: fc.constantFrom('p', 'q'), tracingHeader: fc.constantFrom('x-request-id', 'off') }),
  });

  it('is deterministic; every entity is owned with a unique id; references resolve', () => {
    fc.assert(
      fc.property(arbInput, (input) => {
        const first = translate(structuredClone(input));
        expect(JSON.stringify(translate(structuredClone(input)))).toBe(JSON.stringify(first));

        const { state } = first;
        const ids = entityKinds.flatMap((kind) => state[`${kind}s`].map((entity) => entity.id));
        expect(new Set(ids).size).toBe(ids.length);
        for (const kind of entityKinds) {
          for (const entity of state[`${kind}s`]) {
            expect(entity.tags).toEqual(expect.arrayContaining(ownershipTags(input.options.instance)));
            expect(entity.tags).toEqual([...(entity.tags ?? [])].sort());
          }
        }
        const serviceIds = new Set(state.services.map((s) => s.id));
        const upstreamIds = new Set(state.upstreams.map((u) => u.id));
        const upstreamNames = new Set(state.upstreams.map((u) => u.name));
        const consumerIds = new Set(state.consumers.map((c) => c.id));
        for (const route of state.routes) expect(serviceIds).toContain(route.service?.id);
        for (const plugin of state.plugins) expect(serviceIds).toContain(plugin.service?.id);
        for (const target of state.targets) expect(upstreamIds).toContain(target.upstream.id);
        for (const service of state.services) expect(upstreamNames).toContain(service.host);
        for (const jwt of state.jwts) expect(consumerIds).toContain(jwt.consumer.id);
      }),
      { numRuns: 300 },
    );
  });
});
