import { describe, expect, it } from 'vitest';
import { runMeshSync } from '../../shared/mesh-sync/pipeline.js';
import { findLeaks } from '../support/secrets.js';
import {
  deregisterInstance,
  names,
  ownedView as ownedViewOf,
  registerInstance,
  scheduledEvent,
  useSyncWorld,
} from './world.js';

const sync = useSyncWorld();

const ownedView = () => ownedViewOf(sync.world.kong);

/** The last CloudTrail event the AWS double published, as EventBridge would deliver it to meshSync. */
function lastCloudTrailEvent() {
  const event = sync.world.aws.cloudTrail.at(-1);
  if (!event) throw new Error('the AWS double published no CloudTrail event');
  return event;
}

async function fullSync() {
  const result = await sync.world.invoke(scheduledEvent());
  expect(result).toMatchObject({ outcome: 'applied' });
}

describe('meshSync end to end on the doubles', () => {
  it('a full sync builds the expected Kong state; a second sync plans nothing and writes nothing', async () => {
    const result = await sync.world.invoke(scheduledEvent());

    expect(result).toMatchObject({ outcome: 'applied', trigger: 'schedule', leftOut: 0 });
    const kong = await ownedView();
    const byName = (entities: Record<string, unknown>[], name: string) =>
      entities.find((entity) => entity.name === name) ?? {};
    const serviceId = (name: string) => byName(kong.services, name).id;
    const upstreamId = (name: string) => byName(kong.upstreams, name).id;

    expect(names(kong.upstreams)).toEqual(['edge.shop.gateway', 'rpc.shop.gateway', 'search.shop.local']);
    expect(byName(kong.upstreams, 'edge.shop.gateway').healthchecks).toMatchObject({
      active: { type: 'http', http_path: '/ping', timeout: 2, healthy: { interval: 10, successes: 2 } },
    });
    const targetsOf = (upstream: string) =>
      names(
        kong.targets.filter((target) => (target.upstream as { id: string }).id === upstreamId(upstream)),
        'target',
      );
    expect(targetsOf('edge.shop.gateway')).toEqual(['10.0.1.1:8080', '10.0.1.2:8080']);
    expect(targetsOf('rpc.shop.gateway')).toEqual(['rpc.shop.internal:9090']);
    expect(targetsOf('search.shop.local')).toEqual(['10.0.2.1:8080']);

    expect(kong.services.map(({ name, host, port, protocol }) => ({ name, host, port, protocol }))).toEqual(
      expect.arrayContaining([
        { name: 'shop.edge.orders', host: 'edge.shop.gateway', port: 8080, protocol: 'http' },
        { name: 'shop.edge.catalog', host: 'edge.shop.gateway', port: 8080, protocol: 'http' },
        { name: 'shop.rpc.payments', host: 'rpc.shop.gateway', port: 9090, protocol: 'grpc' },
        { name: 'search.shop.local', host: 'search.shop.local', port: 80, protocol: 'http' },
        // The edge JWKS (JWKS_PATH's default), answered by request-termination.
        { name: 'meshgate-jwks', host: 'jwks.meshgate.invalid', port: 80, protocol: 'http' },
      ]),
    );
    expect(kong.services).toHaveLength(5);
    const route = (name: string) => {
      const { paths, hosts, protocols, strip_path, preserve_host, service } = byName(kong.routes, name);
      return { paths, hosts, protocols, strip_path, preserve_host, service };
    };
    expect(route('shop.edge.orders')).toEqual({
      paths: ['/orders'],
      hosts: null,
      protocols: ['http', 'https'],
      strip_path: false,
      preserve_host: false,
      service: { id: serviceId('shop.edge.orders') },
    });
    expect(route('shop.edge.catalog')).toMatchObject({ paths: ['/catalog'], hosts: ['*.example.com'] });
    expect(route('shop.rpc.payments')).toMatchObject({
      paths: ['/shop.payments.v1.Payments/'],
      protocols: ['grpc', 'grpcs'],
      service: { id: serviceId('shop.rpc.payments') },
    });
    expect(route('search.shop.local')).toMatchObject({ paths: ['/search'], strip_path: true });
    expect(route('meshgate-jwks')).toMatchObject({ paths: ['~/\\.well-known/jwks\\.json$'] });
    expect(kong.routes).toHaveLength(5);

    const plugins = kong.plugins
      .filter((plugin) => plugin.service)
      .map((plugin) => ({
        name: plugin.name,
        service: kong.services.find((service) => service.id === (plugin.service as { id: string }).id)?.name,
      }));
    expect(plugins).toHaveLength(5);
    expect(plugins).toEqual(
      expect.arrayContaining([
        { name: 'jwt', service: 'shop.edge.orders' },
        ...['shop.edge.orders', 'shop.edge.catalog', 'shop.rpc.payments', 'search.shop.local'].map((service) => ({
          name: 'correlation-id',
          service,
        })),
      ]),
    );
    expect(byName(kong.plugins, 'jwt').config).toMatchObject({ key_claim_name: 'kid' });

    expect(kong.consumers.map(({ username, custom_id }) => ({ username, custom_id }))).toEqual([
      { username: 'checkout', custom_id: 'arn:aws:iam::123456789012:role/checkout' },
    ]);
    expect(kong.jwts.map(({ key, algorithm, consumer }) => ({ key, algorithm, consumer }))).toEqual([
      { key: sync.mesh.checkoutKid, algorithm: 'ES256', consumer: { id: kong.consumers[0]?.id } },
    ]);
    expect(String(kong.jwts[0]?.rsa_public_key)).toContain('BEGIN PUBLIC KEY');

    sync.world.kong.requests.clear();
    const again = await sync.world.invoke(scheduledEvent());
    expect(again).toMatchObject({ outcome: 'no-changes', summary: { total: 0 } });
    expect(sync.world.kongWrites()).toBe(0);
    expect(await ownedView()).toEqual(kong);
  });

  it("a Cloud Map RegisterInstance event runs a scoped sync: only that upstream's targets change, in 3 requests", async () => {
    await fullSync();
    const before = await ownedView();

    await registerInstance(sync.world.clients, sync.mesh.ingressServiceId, 'ingress-3', '10.0.1.3');
    sync.world.kong.requests.clear();
    sync.world.aws.requests.clear();
    const result = await sync.world.invoke(lastCloudTrailEvent());

    expect(result).toMatchObject({ outcome: 'applied', trigger: 'cloudmap:RegisterInstance' });
    // Only what the service feeds is read: the gateways (to find those discovered through it), not their routes,
    // the virtual services, the other Cloud Map services or the consumer keys.
    const awsReads = new Set(sync.world.aws.requests.entries.map((entry) => entry.operation));
    for (const unneeded of [
      'ListGatewayRoutes',
      'DescribeGatewayRoute',
      'ListVirtualServices',
      'ListServices',
      'ListSecrets',
    ]) {
      expect(awsReads.has(unneeded), unneeded).toBe(false);
    }
    expect(awsReads).toContain('DiscoverInstances');
    // GET the upstream, GET its targets, POST the new target: the bar is ≤ 4.
    expect(sync.world.kong.requests.entries.map(({ method, path }) => `${method} ${path}`)).toEqual([
      'GET /upstreams/edge.shop.gateway',
      expect.stringMatching(/^GET \/upstreams\/[0-9a-f-]{36}\/targets$/),
      expect.stringMatching(/^POST \/upstreams\/[0-9a-f-]{36}\/targets$/),
    ]);
    const after = await ownedView();
    expect({ ...after, targets: [] }).toEqual({ ...before, targets: [] });
    const added = after.targets.filter((target) => !before.targets.some((old) => old.id === target.id));
    expect(added.map((target) => target.target)).toEqual(['10.0.1.3:8080']);
    expect(after.targets).toEqual(expect.arrayContaining(before.targets));
  });

  it('a DeregisterInstance event removes just that target; an instance of a service feeding nothing changes nothing', async () => {
    await fullSync();
    const before = await ownedView();

    await deregisterInstance(sync.world.clients, sync.mesh.ingressServiceId, 'ingress-2');
    sync.world.kong.requests.clear();
    await sync.world.invoke(lastCloudTrailEvent());
    expect(sync.world.kong.requests.writes().map(({ method }) => method)).toEqual(['DELETE']);
    const after = await ownedView();
    expect({ ...after, targets: [] }).toEqual({ ...before, targets: [] });
    expect(names(after.targets, 'target')).toEqual(
      names(before.targets, 'target').filter((address) => address !== '10.0.1.2:8080'),
    );

    await registerInstance(sync.world.clients, sync.mesh.unrelatedServiceId, 'billing-1', '10.0.3.1');
    sync.world.kong.requests.clear();
    expect(await sync.world.invoke(lastCloudTrailEvent())).toMatchObject({ outcome: 'no-changes' });
    expect(sync.world.kongWrites()).toBe(0);
  });

  it('while frozen, a mesh event plans and reports (Sync Planned) but writes nothing to Kong', async () => {
    await fullSync();
    const before = await ownedView();
    await sync.world.app.store.setFreeze({ reason: 'incident 42', by: 'test' });

    await registerInstance(sync.world.clients, sync.mesh.ingressServiceId, 'ingress-3', '10.0.1.3');
    const auditBefore = sync.world.audit().length;
    sync.world.kong.requests.clear();
    const scoped = await sync.world.invoke(lastCloudTrailEvent());
    const full = await sync.world.invoke(scheduledEvent());

    expect(scoped).toMatchObject({ outcome: 'planned', summary: { creating: 1, total: 1 } });
    expect(full).toMatchObject({ outcome: 'planned', summary: { creating: 1, total: 1 } });
    expect(sync.world.kongWrites()).toBe(0);
    expect(await ownedView()).toEqual(before);
    const planned = sync.world.audit().slice(auditBefore);
    expect(planned.map(({ detailType }) => detailType)).toEqual(['Sync Planned', 'Sync Planned']);
    expect(planned[0]?.detail).toMatchObject({ frozen: true, counts: { creating: 1, completed: 0 } });

    await sync.world.app.store.clearFreeze();
    await sync.world.invoke(scheduledEvent());
    expect(names((await ownedView()).targets, 'target')).toContain('10.0.1.3:8080');
  });
});

describe('audit events', () => {
  it('a sync that finds the lease held defers: in run history and audited as Sync Deferred, nothing written', async () => {
    await fullSync();
    const grant = await sync.world.app.store.tryAcquireLease({
      holder: 'freeze#op',
      purpose: 'freeze:op',
      ttlMs: 60_000,
    });
    if (!grant.acquired) throw new Error('the lease should be free');
    const auditBefore = sync.world.audit().length;
    sync.world.kong.requests.clear();
    try {
      const result = await runMeshSync(
        await sync.world.app.meshSyncDeps(),
        { kind: 'scoped', reason: 'cloudmap:RegisterInstance', serviceId: sync.mesh.ingressServiceId, dryRun: false },
        sync.world.app.config,
        { lease: { waitMs: 0, pollMs: 1 } },
      );
      expect(result.report.outcome).toBe('deferred');
    } finally {
      // The holder finds the "pending" mark at release (it would sync now) and lets go.
      const release = await sync.world.app.store.releaseLease(grant.lease, 60_000);
      expect('pending' in release).toBe(true);
      if ('pending' in release) await sync.world.app.store.releaseLease(release.lease, 60_000);
    }
    expect(sync.world.kongWrites()).toBe(0);
    expect(sync.world.audit().slice(auditBefore)).toEqual([
      {
        detailType: 'Sync Deferred',
        detail: expect.objectContaining({
          trigger: 'cloudmap:RegisterInstance',
          outcome: 'deferred',
          serviceId: sync.mesh.ingressServiceId,
          heldBy: expect.objectContaining({ holder: 'freeze#op', purpose: 'freeze:op' }),
        }),
      },
    ]);
    const [run] = await sync.world.app.store.listRuns(1);
    expect(run).toMatchObject({ kind: 'sync', outcome: 'deferred', trigger: 'cloudmap:RegisterInstance' });
  });

  it('each run emits exactly one audit event with trigger, counts, snapshot id and duration, and no secrets', async () => {
    const runs: { event: unknown; detailType: string; trigger: string; outcome: string }[] = [
      { event: scheduledEvent(), detailType: 'Sync Applied', trigger: 'schedule', outcome: 'applied' },
      { event: scheduledEvent(), detailType: 'Sync Applied', trigger: 'schedule', outcome: 'no-changes' },
      {
        event: { action: 'sync', reason: 'operator check', dryRun: true },
        detailType: 'Sync Applied',
        trigger: 'operator check',
        outcome: 'no-changes',
      },
    ];
    for (const [index, run] of runs.entries()) {
      await sync.world.invoke(run.event);
      const audit = sync.world.audit();
      expect(audit).toHaveLength(index + 1);
      expect(audit[index]).toMatchObject({
        detailType: run.detailType,
        detail: {
          instance: 'sync-test',
          trigger: run.trigger,
          outcome: run.outcome,
          counts: { total: expect.any(Number), completed: expect.any(Number) },
          durationMs: expect.any(Number),
        },
      });
    }
    const [applied] = sync.world.audit();
    expect(applied?.detail).toMatchObject({
      snapshotId: expect.stringMatching(/^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}$/),
      counts: { creating: 25, completed: 25, failed: 0 },
    });
    expect(await sync.world.app.store.load(String(applied?.detail.snapshotId))).toBeDefined();

    // A failed apply: every route write fails (500 after retries); Kong is put back and the run says so.
    await registerInstance(sync.world.clients, sync.mesh.ingressServiceId, 'ingress-3', '10.0.1.3');
    sync.world.kong.faults.inject({
      method: 'POST',
      path: '/upstreams/*',
      status: 500,
      times: Number.POSITIVE_INFINITY,
    });
    const before = await ownedView();
    const failed = await sync.world.invoke(lastCloudTrailEvent());
    sync.world.kong.faults.clear();
    expect(failed).toMatchObject({ outcome: 'rolled-back' });
    expect(await ownedView()).toEqual(before);
    const failure = sync.world.audit().at(-1);
    expect(sync.world.audit()).toHaveLength(runs.length + 1);
    expect(failure).toMatchObject({
      detailType: 'Sync Failed',
      detail: {
        trigger: 'cloudmap:RegisterInstance',
        outcome: 'rolled-back',
        scope: ['edge.shop.gateway'],
        snapshotId: expect.any(String),
        errors: [expect.stringMatching(/^apply failed at create target 10\.0\.1\.3:8080 .*500/)],
      },
    });

    const secret = await sync.world.clients.secretsManager.getSecretValue({ SecretId: 'meshgate/consumers/checkout' });
    const { privateKeyPem } = JSON.parse(secret.SecretString ?? '{}') as { privateKeyPem: string };
    const privateKeyBody = privateKeyPem.split('\n')[1] ?? 'unreadable';
    const published = JSON.stringify(sync.world.audit());
    expect(findLeaks(published)).toEqual([]);
    expect(published).not.toContain(privateKeyBody);
  });
});
