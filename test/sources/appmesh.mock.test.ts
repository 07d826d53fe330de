import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AppMeshError, type AppMeshReads } from '../../shared/aws/app-mesh-reads.js';
import { CloudMapError, type CloudMapReads } from '../../shared/aws/cloud-map-reads.js';
import { AppMeshSource } from '../../shared/sources/appmesh/index.js';
import { readMesh } from '../../shared/sources/index.js';

const discoverInstances = vi.fn();
/** Cloud Map, for the instances of gateways tagged with a Cloud Map service (DiscoverInstances alone). */
const cloudMap = { discoverInstances } as unknown as CloudMapReads;
/** meshgate's App Mesh reads, each call answered by the mesh `serveMesh` serves. */
const appMesh = {
  listVirtualGateways: vi.fn(),
  listVirtualServices: vi.fn(),
  listGatewayRoutes: vi.fn(),
  listTagsForResource: vi.fn(),
  describeVirtualGateway: vi.fn(),
  describeGatewayRoute: vi.fn(),
  describeVirtualService: vi.fn(),
} satisfies AppMeshReads;
const appMeshCalls = () => Object.values(appMesh).flatMap((read) => read.mock.calls);

const arn = (path: string) => `arn:aws:appmesh:us-east-1:123456789012:mesh/${path}`;
const metadata = (path: string) => ({ arn: arn(path), version: 1 });
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

type Status = 'ACTIVE' | 'INACTIVE' | 'DELETED';

/** A mesh `m` served from memory: gateways with their route names, statuses and tags. */
function serveMesh(options: {
  gateways: { name: string; status?: Status; tags?: Record<string, string>; routes?: string[] }[];
  inactiveRoutes?: string[];
  services?: { name: string; status?: Status }[];
}) {
  let inFlight = 0;
  const stats = { peakInFlight: 0 };
  /** Counts concurrent App Mesh calls; each answers after a turn of the event loop. */
  const answer = async <T>(value: T): Promise<T> => {
    inFlight += 1;
    stats.peakInFlight = Math.max(stats.peakInFlight, inFlight);
    await tick();
    inFlight -= 1;
    return value;
  };
  appMesh.listVirtualGateways.mockImplementation(() =>
    answer({ virtualGateways: options.gateways.map((g) => ({ meshName: 'm', virtualGatewayName: g.name })) }),
  );
  appMesh.listVirtualServices.mockImplementation(() =>
    answer({
      virtualServices: (options.services ?? []).map((s) => ({ meshName: 'm', virtualServiceName: s.name })),
    }),
  );
  appMesh.describeVirtualGateway.mockImplementation((input: { virtualGatewayName: string }) => {
    const gateway = options.gateways.find((g) => g.name === input.virtualGatewayName);
    return answer({
      meshName: 'm',
      virtualGatewayName: gateway?.name,
      metadata: metadata(`m/virtualGateway/${gateway?.name}`),
      status: { status: gateway?.status ?? 'ACTIVE' },
      spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
    });
  });
  appMesh.listGatewayRoutes.mockImplementation((input: { virtualGatewayName: string }) => {
    const gateway = options.gateways.find((g) => g.name === input.virtualGatewayName);
    return answer({
      gatewayRoutes: (gateway?.routes ?? []).map((name) => ({
        meshName: 'm',
        virtualGatewayName: gateway?.name,
        gatewayRouteName: name,
      })),
    });
  });
  appMesh.describeGatewayRoute.mockImplementation((input: { virtualGatewayName: string; gatewayRouteName: string }) =>
    answer({
      meshName: 'm',
      virtualGatewayName: input.virtualGatewayName,
      gatewayRouteName: input.gatewayRouteName,
      metadata: metadata(`m/virtualGateway/${input.virtualGatewayName}/gatewayRoute/${input.gatewayRouteName}`),
      status: { status: options.inactiveRoutes?.includes(input.gatewayRouteName) ? 'INACTIVE' : 'ACTIVE' },
      spec: {
        httpRoute: {
          match: { prefix: `/${input.gatewayRouteName}` },
          action: { target: { virtualService: { virtualServiceName: 'svc.m.local' } } },
        },
      },
    }),
  );
  appMesh.describeVirtualService.mockImplementation((input: { virtualServiceName: string }) => {
    const service = options.services?.find((s) => s.name === input.virtualServiceName);
    return answer({
      meshName: 'm',
      virtualServiceName: service?.name,
      metadata: metadata(`m/virtualService/${service?.name}`),
      status: { status: service?.status ?? 'ACTIVE' },
      spec: {},
    });
  });
  appMesh.listTagsForResource.mockImplementation((input: { resourceArn: string }) => {
    const gateway = options.gateways.find((g) => arn(`m/virtualGateway/${g.name}`) === input.resourceArn);
    return answer({ tags: Object.entries(gateway?.tags ?? {}).map(([key, value]) => ({ key, value })) });
  });
  return stats;
}

const source = () => new AppMeshSource({ meshNames: ['m'], appMesh, cloudMap });

beforeEach(() => {
  for (const read of Object.values(appMesh)) read.mockReset();
  discoverInstances.mockReset();
});

describe('App Mesh source (its reads faked)', () => {
  it('keeps at most 5 App Mesh calls in flight however many objects there are', async () => {
    const stats = serveMesh({
      gateways: Array.from({ length: 12 }, (_, i) => ({ name: `gw-${i}`, routes: ['a', 'b', 'c'] })),
      services: Array.from({ length: 9 }, (_, i) => ({ name: `svc-${i}.m.local` })),
    });
    const snapshot = await readMesh([source()]);

    expect(snapshot.gateways).toHaveLength(12);
    expect(snapshot.gatewayRoutes).toHaveLength(36);
    expect(snapshot.virtualServices).toHaveLength(9);
    expect(stats.peakInFlight).toBe(5);
  });

  it('skips gateways, routes and services that are not ACTIVE, without recording failures', async () => {
    serveMesh({
      gateways: [
        { name: 'live', routes: ['kept', 'retired'] },
        { name: 'going', status: 'INACTIVE', routes: ['never-read'] },
      ],
      inactiveRoutes: ['retired'],
      services: [{ name: 'a.m.local' }, { name: 'b.m.local', status: 'DELETED' }],
    });
    const snapshot = await readMesh([source()]);

    expect(snapshot.gateways.map((gateway) => gateway.name)).toEqual(['live']);
    expect(snapshot.gatewayRoutes.map((route) => route.name)).toEqual(['kept']);
    expect(snapshot.virtualServices.map((service) => service.name)).toEqual(['a.m.local']);
    expect(snapshot.failures).toEqual([]);
    expect(appMesh.listGatewayRoutes).toHaveBeenCalledTimes(1);
  });

  it('keeps a gateway whose Cloud Map service is missing, records why, and lists no endpoints', async () => {
    serveMesh({ gateways: [{ name: 'gw', tags: { 'meshgate:cloudmap-service': 'gone.local/gw' } }] });
    discoverInstances.mockRejectedValue(
      new CloudMapError(
        'NamespaceNotFound',
        { status: 400, headers: {}, body: '' },
        1,
        'No namespace is named gone.local.',
        {},
      ),
    );
    const snapshot = await readMesh([source()]);

    expect(snapshot.gateways).toEqual([
      expect.objectContaining({
        name: 'gw',
        discovery: { kind: 'cloudmap', namespace: 'gone.local', service: 'gw' },
        endpoints: [],
      }),
    ]);
    expect(snapshot.failures).toEqual([
      {
        source: 'appmesh',
        object: 'mesh/m/virtualGateway/gw',
        reason:
          'Cloud Map DiscoverInstances gone.local/gw failed: NamespaceNotFound (HTTP 400): No namespace is named gone.local.',
      },
    ]);
  });

  it('records a gateway App Mesh refuses to describe (403) as a failure of that gateway, and goes on', async () => {
    serveMesh({ gateways: [{ name: 'gw' }] });
    appMesh.describeVirtualGateway.mockRejectedValue(
      new AppMeshError('ForbiddenException', { status: 403, headers: {}, body: '' }, 1, 'not authorized', {}),
    );

    const snapshot = await readMesh([source()]);
    expect(snapshot.gateways).toEqual([]);
    expect(snapshot.failures).toEqual([
      {
        source: 'appmesh',
        object: 'mesh/m/virtualGateway/gw',
        reason:
          'App Mesh DescribeVirtualGateway mesh/m/virtualGateway/gw failed: ForbiddenException (HTTP 403): not authorized',
      },
    ]);
  });

  it('stops when the read is aborted', async () => {
    serveMesh({ gateways: [{ name: 'gw' }] });
    const controller = new AbortController();
    controller.abort(new Error('Lambda timeout near'));

    await expect(readMesh([source()], controller.signal)).rejects.toThrow('Lambda timeout near');
    expect(appMeshCalls()).toHaveLength(0);
  });
});
