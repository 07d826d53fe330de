import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateGatewayRouteCommand,
  CreateMeshCommand,
  CreateVirtualGatewayCommand,
  CreateVirtualServiceCommand,
  DeleteGatewayRouteCommand,
  type GatewayRouteSpec,
  UpdateGatewayRouteCommand,
} from '@aws-sdk/client-app-mesh';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  DeregisterInstanceCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
} from '@aws-sdk/client-servicediscovery';
import { afterAll, afterEach, beforeAll, beforeEach, expect, vi } from 'vitest';
import { roleEnv } from '../../local/aws/identity.js';
import { type AwsDouble, type EventBridgeEvent, startAwsDouble } from '../../local/aws/server.js';
import type { EventBridgeService } from '../../local/aws/services/eventbridge.js';
import { type LambdaContext, lambdaContext } from '../../local/bus/context.js';
import { loadServerlessFunctions } from '../../local/bus/rules.js';
import { type KongDouble, startKongDouble } from '../../local/kong/server.js';
import { type App, createApp } from '../../shared/app/context.js';
import { type AwsClients, createAwsClients } from '../../shared/aws/clients.js';
import { loadConfig } from '../../shared/config/index.js';
import { addConsumer } from '../../shared/consumers/registry.js';
import { ownershipTags } from '../../shared/kong/ownership.js';
import { logger } from '../../shared/lambda/observability.js';
import type { StateStore } from '../../shared/state/index.js';
import { TEST_ADMIN_TOKEN } from '../support/secrets.js';

/**
 * The one fixture of the meshSync tests: the Kong double and the AWS double on loopback, an app built from a real
 * configuration and the real AWS SDK clients, and the meshSync handler invoked the way Lambda invokes it.
 */

export const INSTANCE = 'sync-test';
export const OWNED_TAGS = ownershipTags(INSTANCE);
// The stage `local`'s bus: the meshSync role may put events on it only.
export const AUDIT_BUS = 'meshgate-audit-local';
export const MESH = 'shop';
export const NAMESPACE = 'shop.local';
const ADMIN_TOKEN_SECRET = 'meshgate/kong-admin-token';

type MeshSyncHandler = (event: unknown, context: LambdaContext) => Promise<unknown>;

const meshSyncSpec = loadServerlessFunctions().find((spec) => spec.name === 'meshSync')!;

/** What Lambda hands meshSync (the local bus's context, from serverless.yml's meshSync); Powertools' logger reads it. */
function meshSyncContext(): LambdaContext {
  const timeoutMs = meshSyncSpec.timeoutSeconds * 1000;
  return lambdaContext(
    meshSyncSpec,
    randomUUID(),
    { account: '123456789012', region: 'us-east-1' },
    Date.now() + timeoutMs,
  );
}

export interface AuditRecord {
  detailType: string;
  detail: Record<string, unknown>;
}

export interface SyncWorld {
  aws: AwsDouble;
  kong: KongDouble;
  clients: AwsClients;
  app: App;
  /** The configuration's environment, for building variants of the app (a closed port, a bad value). */
  env: Record<string, string>;
  /** Invokes the meshSync handler with `event`, built over `app` (default: the world's). */
  invoke(event: unknown, app?: App): Promise<unknown>;
  /** Audit events on the audit bus, oldest first. */
  audit(): AuditRecord[];
  /** Kong's writes since the request log was last cleared. */
  kongWrites(): number;
  /**
   * Empty doubles (but for the admin token secret and the unowned entities of seedUnowned), no freeze, no audit
   * events, an empty request log.
   */
  reset(): Promise<void>;
  /** An empty Kong but for the unowned entities of seedUnowned; the AWS side is kept. */
  resetKong(): Promise<void>;
  /** Fails unless the ownership guard saw no write to an unowned entity and the seeded ones are as they were. */
  expectUnownedUntouched(): Promise<void>;
  close(): Promise<void>;
}

/** The world of a sync test file, filled in by useSyncWorld's hooks. */
export interface SyncTestWorld {
  world: SyncWorld;
  /** The mesh built before each test (absent with `mesh: 'kept'` or `'empty'`). */
  mesh: Mesh;
}

/**
 * Registers a sync test file's hooks: one world for the file; before each test the world reset with the mesh
 * built (`built`, the default), also synced once by the schedule (`synced`), with no mesh (`empty`), or left as the
 * last test left it (`kept`); after each test the AWS faults cleared and the unowned Kong entities checked untouched (`checkUnowned:
 * false` where a file checks its own way).
 */
export function useSyncWorld(
  options: { mesh?: 'kept' | 'empty' | 'built' | 'synced'; checkUnowned?: boolean } = {},
): SyncTestWorld {
  const { mesh = 'built', checkUnowned = true } = options;
  const test = {} as SyncTestWorld;
  beforeAll(async () => {
    test.world = await startWorld();
  });
  afterAll(async () => {
    await test.world?.close();
  });
  if (mesh !== 'kept') {
    beforeEach(async () => {
      await test.world.reset();
      if (mesh === 'empty') return;
      test.mesh = await buildMesh(test.world.clients, test.world.app.store);
      if (mesh === 'synced') {
        expect(await test.world.invoke(scheduledEvent())).toMatchObject({ outcome: 'applied', leftOut: 0 });
      }
    });
  }
  afterEach(async () => {
    test.world.aws.faults.clear();
    if (checkUnowned) await test.world.expectUnownedUntouched();
  });
  return test;
}

/**
 * Starts both doubles, stores the Kong admin token in Secrets Manager (as deployed), and imports the handler module
 * after the environment is set, since the module builds its own app from process.env when it is loaded.
 */
export async function startWorld(): Promise<SyncWorld> {
  const aws = await startAwsDouble();
  const kong = await startKongDouble({ adminToken: TEST_ADMIN_TOKEN });
  const stateDir = await mkdtemp(join(tmpdir(), 'meshgate-sync-'));
  Object.assign(process.env, aws.env());
  const clients = createAwsClients(aws.env());
  const storeAdminToken = () =>
    clients.secretsManager.createSecret({ Name: ADMIN_TOKEN_SECRET, SecretString: TEST_ADMIN_TOKEN });
  await storeAdminToken();
  const env: Record<string, string> = {
    ...aws.env(),
    KONG_ADMIN_URL: kong.url,
    // The secret's name: the ARN's random suffix changes each time the double is reset.
    KONG_ADMIN_TOKEN_SECRET_ARN: ADMIN_TOKEN_SECRET,
    MESH_NAMES: MESH,
    MESHGATE_INSTANCE: INSTANCE,
    MESHGATE_STATE_DIR: stateDir,
    AUDIT_BUS_NAME: AUDIT_BUS,
    SYNC_PARALLELISM: '8',
  };
  Object.assign(process.env, env);
  // meshSync calls AWS as its role, which the double enforces; `clients` (the operator) sets the mesh up.
  const app = createApp(
    loadConfig(env),
    createAwsClients({ ...aws.env(), ...roleEnv(aws.functionRoles.meshSync!, 'meshgate-local-meshSync') }),
  );
  const { createMeshSyncHandler } = await import('../../functions/mesh-sync/handler.js');
  const handlers = new Map<App, MeshSyncHandler>();
  const handlerFor = (target: App) => {
    let handler = handlers.get(target);
    if (!handler) {
      handler = createMeshSyncHandler(() => target) as unknown as MeshSyncHandler;
      handlers.set(target, handler);
    }
    return handler;
  };
  const events = aws.service<EventBridgeService>('events');
  let unownedBefore: AdminView | undefined;
  const seed = async () => {
    await seedUnowned(kong);
    kong.guard(OWNED_TAGS);
    unownedBefore = unownedPart(await adminView(kong));
  };
  await seed();
  const resetKong = async () => {
    kong.reset();
    await seed();
  };
  return {
    aws,
    kong,
    clients,
    app,
    env,
    invoke: (event, target = app) => handlerFor(target)(event, meshSyncContext()),
    audit: () =>
      events.events
        .filter(({ bus, event }) => bus === AUDIT_BUS && event.source === 'meshgate')
        .map(({ event }) => ({ detailType: event['detail-type'], detail: event.detail })),
    kongWrites: () => kong.requests.writes().length,
    async reset() {
      aws.reset();
      await storeAdminToken();
      await app.store.clearFreeze();
      await resetKong();
      aws.requests.clear();
    },
    resetKong,
    async expectUnownedUntouched() {
      expect(kong.violations).toEqual([]);
      expect(unownedPart(await adminView(kong))).toEqual(unownedBefore);
    },
    async close() {
      await Promise.all([aws.close(), kong.close()]);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** Every warning the handler logged while `run` ran (e.g. why an event was dropped); the lines are not printed. */
export async function capturingWarnings<T>(run: () => Promise<T>): Promise<{ result: T; warnings: unknown[][] }> {
  const spy = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
  try {
    const result = await run();
    return { result, warnings: spy.mock.calls.map((call) => [...call]) };
  } finally {
    spy.mockRestore();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading Kong through the Admin API, independently of meshgate's own client.

export interface AdminView {
  services: Record<string, unknown>[];
  routes: Record<string, unknown>[];
  upstreams: Record<string, unknown>[];
  targets: Record<string, unknown>[];
  plugins: Record<string, unknown>[];
  consumers: Record<string, unknown>[];
  jwts: Record<string, unknown>[];
}

async function adminGet(kong: KongDouble, path: string): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${kong.url}${path}`, { headers: { 'Kong-Admin-Token': TEST_ADMIN_TOKEN } });
  if (!response.ok) throw new Error(`Admin API GET ${path} answered ${response.status}`);
  const page = (await response.json()) as { data: Record<string, unknown>[]; next: string | null };
  if (page.next) throw new Error(`Admin API GET ${path} has more than one page; the tests keep states small`);
  return page.data;
}

/**
 * Every entity in Kong (owned or not), timestamps dropped and sorted by id, so two views compare equal exactly when
 * Kong holds the same entities. Reads go through the Admin API and are left out of the request log.
 */
export async function adminView(kong: KongDouble): Promise<AdminView> {
  const logged = kong.requests.entries.length;
  const read = async (path: string) => (await adminGet(kong, `${path}?size=1000`)).map(withoutTimestamps);
  const [services, routes, upstreams, plugins, consumers, jwts] = await Promise.all(
    ['/services', '/routes', '/upstreams', '/plugins', '/consumers', '/jwts'].map(read),
  );
  const targets = (
    await Promise.all((upstreams ?? []).map((upstream) => read(`/upstreams/${String(upstream.id)}/targets`)))
  ).flat();
  kong.requests.entries.length = logged;
  const sorted = (entities: Record<string, unknown>[] = []) =>
    [...entities].sort((a, b) => String(a.id).localeCompare(String(b.id)));
  return {
    services: sorted(services),
    routes: sorted(routes),
    upstreams: sorted(upstreams),
    targets: sorted(targets),
    plugins: sorted(plugins),
    consumers: sorted(consumers),
    jwts: sorted(jwts),
  };
}

function withoutTimestamps({ created_at, updated_at, ...entity }: Record<string, unknown>): Record<string, unknown> {
  return entity;
}

/** `name` of each entity (targets: `target`, consumers: `username`, plugins: `name@service id`, jwts: `key`). */
export const names = (entities: Record<string, unknown>[], field = 'name') =>
  entities.map((entity) => String(entity[field])).sort();

/** Unowned entities another team created by hand: meshgate must never touch them. */
export async function seedUnowned(kong: KongDouble): Promise<void> {
  const put = async (path: string, body: Record<string, unknown>) => {
    const response = await fetch(`${kong.url}${path}`, {
      method: 'POST',
      headers: { 'Kong-Admin-Token': TEST_ADMIN_TOKEN, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`seeding ${path} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as { id: string };
  };
  const legacy = await put('/services', { name: 'legacy-billing', host: 'billing.legacy', tags: ['team:billing'] });
  await put('/routes', { name: 'legacy-billing', paths: ['/billing'], service: { id: legacy.id } });
  // Carries meshgate's managed-by tag but another instance's tag: still not this instance's to touch.
  await put('/services', {
    name: 'other-instance',
    host: 'other.internal',
    tags: ['managed-by:meshgate', 'meshgate:instance=someone-else'],
  });
  await put('/plugins', { name: 'correlation-id', service: { id: legacy.id }, config: { header_name: 'x-legacy' } });
  await put('/consumers', { username: 'partner-portal', tags: ['team:partners'] });
  await put('/upstreams', { name: 'legacy.upstream' });
  kong.requests.clear();
}

const isOwned = (entity: Record<string, unknown>) =>
  OWNED_TAGS.every((tag) => (entity.tags as string[] | null)?.includes(tag));

function partOf(view: AdminView, keep: (entity: Record<string, unknown>) => boolean): AdminView {
  return Object.fromEntries(
    Object.entries(view).map(([kind, entities]) => [kind, (entities as Record<string, unknown>[]).filter(keep)]),
  ) as unknown as AdminView;
}

/** What this instance owns: all a sync may change. */
export async function ownedView(kong: KongDouble): Promise<AdminView> {
  return partOf(await adminView(kong), isOwned);
}

/** The entities seedUnowned created, as the Admin API shows them (unowned = lacking this instance's tags). */
export function unownedPart(view: AdminView): AdminView {
  return partOf(view, (entity) => !isOwned(entity));
}

// ---------------------------------------------------------------------------------------------------------------
// The mesh, built through the real SDK clients against the AWS double.

export interface Mesh {
  /** Cloud Map service id of the edge gateway's instances (`shop.local/ingress`). */
  ingressServiceId: string;
  /** Cloud Map service id of the exposed service `shop.local/search`. */
  searchServiceId: string;
  /** Cloud Map service id of `shop.local/billing`: neither exposed nor feeding a gateway. */
  unrelatedServiceId: string;
  /** The kid of the consumer `checkout`'s first key. */
  checkoutKid: string;
}

const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([key, value]) => ({ key, value }));
const target = (virtualServiceName: string) => ({ target: { virtualService: { virtualServiceName } } });

/** The gateway routes of the mesh: http prefix, hostname suffix on http, grpc. */
export const ROUTES: Record<string, { gateway: string; spec: GatewayRouteSpec }> = {
  orders: {
    gateway: 'edge',
    spec: { httpRoute: { match: { prefix: '/orders' }, action: target('orders.shop.local') } },
  },
  catalog: {
    gateway: 'edge',
    spec: {
      httpRoute: {
        match: { prefix: '/catalog', hostname: { suffix: '.example.com' } },
        action: target('catalog.shop.local'),
      },
    },
  },
  payments: {
    gateway: 'rpc',
    spec: {
      grpcRoute: { match: { serviceName: 'shop.payments.v1.Payments' }, action: target('payments.shop.local') },
    },
  },
};

/**
 * Mesh `shop`: gateway `edge` (http 8080, health check; instances in Cloud Map shop.local/ingress) with the http
 * routes `orders` (JWT required on its virtual service) and `catalog`; gateway `rpc` (grpc 9090, a DNS endpoint)
 * with route `payments`. Cloud Map shop.local: `ingress` (two instances), `search` (exposed by tag) and `billing`
 * (neither). One consumer key secret, `checkout`.
 */
/** `store`: the state store whose public-key document the consumer's key is published to (as `consumer add` does). */
export async function buildMesh(clients: AwsClients, store: StateStore): Promise<Mesh> {
  const { appMesh, serviceDiscovery } = clients;
  const { OperationId } = await serviceDiscovery.send(new CreateHttpNamespaceCommand({ Name: NAMESPACE }));
  const { Operation } = await serviceDiscovery.send(new GetOperationCommand({ OperationId }));
  const namespaceId = Operation?.Targets?.NAMESPACE;
  const cloudMapService = async (name: string, tags: Record<string, string>) => {
    const { Service } = await serviceDiscovery.send(
      new CreateServiceCommand({
        Name: name,
        NamespaceId: namespaceId,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return Service?.Id ?? '';
  };
  const ingressServiceId = await cloudMapService('ingress', {});
  const searchServiceId = await cloudMapService('search', { 'meshgate:expose': 'true', 'meshgate:paths': '/search' });
  const unrelatedServiceId = await cloudMapService('billing', {});
  await registerInstance(clients, ingressServiceId, 'ingress-1', '10.0.1.1');
  await registerInstance(clients, ingressServiceId, 'ingress-2', '10.0.1.2');
  await registerInstance(clients, searchServiceId, 'search-1', '10.0.2.1');

  await appMesh.send(new CreateMeshCommand({ meshName: MESH }));
  for (const [name, tags] of [
    ['orders.shop.local', { 'meshgate:auth': 'jwt' }],
    ['catalog.shop.local', {}],
    ['payments.shop.local', {}],
  ] as const) {
    await appMesh.send(
      new CreateVirtualServiceCommand({ meshName: MESH, virtualServiceName: name, spec: {}, tags: tagList(tags) }),
    );
  }
  await appMesh.send(
    new CreateVirtualGatewayCommand({
      meshName: MESH,
      virtualGatewayName: 'edge',
      spec: {
        listeners: [
          {
            portMapping: { port: 8080, protocol: 'http' },
            healthCheck: {
              protocol: 'http',
              path: '/ping',
              intervalMillis: 10_000,
              timeoutMillis: 2_000,
              healthyThreshold: 2,
              unhealthyThreshold: 3,
            },
          },
        ],
      },
      tags: tagList({ 'meshgate:cloudmap-service': `${NAMESPACE}/ingress` }),
    }),
  );
  await appMesh.send(
    new CreateVirtualGatewayCommand({
      meshName: MESH,
      virtualGatewayName: 'rpc',
      spec: { listeners: [{ portMapping: { port: 9090, protocol: 'grpc' } }] },
      tags: tagList({ 'meshgate:dns-endpoint': 'rpc.shop.internal:9090' }),
    }),
  );
  for (const [name, { gateway, spec }] of Object.entries(ROUTES)) {
    await appMesh.send(
      new CreateGatewayRouteCommand({ meshName: MESH, virtualGatewayName: gateway, gatewayRouteName: name, spec }),
    );
  }
  const consumer = await addConsumer(clients.secretsManager, {
    username: 'checkout',
    alg: 'ES256',
    iamRole: 'arn:aws:iam::123456789012:role/checkout',
    publish: { store, graceMs: 3_600_000 },
  });
  return { ingressServiceId, searchServiceId, unrelatedServiceId, checkoutKid: consumer.kid };
}

export async function registerInstance(clients: AwsClients, serviceId: string, instanceId: string, ip: string) {
  await clients.serviceDiscovery.send(
    new RegisterInstanceCommand({
      ServiceId: serviceId,
      InstanceId: instanceId,
      Attributes: { AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: '8080' },
    }),
  );
}

export async function deregisterInstance(clients: AwsClients, serviceId: string, instanceId: string) {
  await clients.serviceDiscovery.send(new DeregisterInstanceCommand({ ServiceId: serviceId, InstanceId: instanceId }));
}

/** Points route `orders` at a new prefix. */
export async function moveOrdersRoute(clients: AwsClients, prefix: string) {
  const spec = { httpRoute: { match: { prefix }, action: target('orders.shop.local') } };
  await clients.appMesh.send(
    new UpdateGatewayRouteCommand({ meshName: MESH, virtualGatewayName: 'edge', gatewayRouteName: 'orders', spec }),
  );
}

export async function deleteRoute(clients: AwsClients, name: keyof typeof ROUTES) {
  const route = ROUTES[name];
  await clients.appMesh.send(
    new DeleteGatewayRouteCommand({
      meshName: MESH,
      virtualGatewayName: route?.gateway ?? '',
      gatewayRouteName: name,
    }),
  );
}

/** The drift-repair schedule's event. */
export function scheduledEvent(): EventBridgeEvent {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/meshgate-test-drift-repair'],
    detail: {},
  };
}
