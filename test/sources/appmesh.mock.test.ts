import {
  AppMeshClient,
  DescribeGatewayRouteCommand,
  DescribeVirtualGatewayCommand,
  DescribeVirtualServiceCommand,
  ForbiddenException,
  ListGatewayRoutesCommand,
  ListTagsForResourceCommand,
  ListVirtualGatewaysCommand,
  ListVirtualServicesCommand,
} from '@aws-sdk/client-app-mesh';
import { DiscoverInstancesCommand, NamespaceNotFound, ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AppMeshSource } from '../../shared/sources/appmesh/index.js';
import { readMesh } from '../../shared/sources/index.js';

const appMesh = new AppMeshClient({ region: 'us-east-1' });
const cloudMap = new ServiceDiscoveryClient({ region: 'us-east-1' });
const appMeshMock = mockClient(appMesh);
const cloudMapMock = mockClient(cloudMap);

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
  appMeshMock
    .on(ListVirtualGatewaysCommand)
    .callsFake(() =>
      answer({ virtualGateways: options.gateways.map((g) => ({ meshName: 'm', virtualGatewayName: g.name })) }),
    );
  appMeshMock.on(ListVirtualServicesCommand).callsFake(() =>
    answer({
      virtualServices: (options.services ?? []).map((s) => ({ meshName: 'm', virtualServiceName: s.name })),
    }),
  );
  appMeshMock.on(DescribeVirtualGatewayCommand).callsFake((input) => {
    const gateway = options.gateways.find((g) => g.name === input.virtualGatewayName);
    return answer({
      virtualGateway: {
        meshName: 'm',
        virtualGatewayName: gateway?.name,
        metadata: metadata(`m/virtualGateway/${gateway?.name}`),
        status: { status: gateway?.status ?? 'ACTIVE' },
        spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
      },
    });
  });
  appMeshMock.on(ListGatewayRoutesCommand).callsFake((input) => {
    const gateway = options.gateways.find((g) => g.name === input.virtualGatewayName);
    return answer({
      gatewayRoutes: (gateway?.routes ?? []).map((name) => ({
        meshName: 'm',
        virtualGatewayName: gateway?.name,
        gatewayRouteName: name,
      })),
    });
  });
  appMeshMock.on(DescribeGatewayRouteCommand).callsFake((input) =>
    answer({
      gatewayRoute: {
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
      },
    }),
  );
  appMeshMock.on(DescribeVirtualServiceCommand).callsFake((input) => {
    const service = options.services?.find((s) => s.name === input.virtualServiceName);
    return answer({
      virtualService: {
        meshName: 'm',
        virtualServiceName: service?.name,
        metadata: metadata(`m/virtualService/${service?.name}`),
        status: { status: service?.status ?? 'ACTIVE' },
        spec: {},
      },
    });
  });
  appMeshMock.on(ListTagsForResourceCommand).callsFake((input) => {
    const gateway = options.gateways.find((g) => arn(`m/virtualGateway/${g.name}`) === input.resourceArn);
    return answer({ tags: Object.entries(gateway?.tags ?? {}).map(([key, value]) => ({ key, value })) });
  });
  return stats;
}

const source = () => new AppMeshSource({ meshNames: ['m'], appMesh, cloudMap });

beforeEach(() => {
  appMeshMock.reset();
  cloudMapMock.reset();
});

describe('App Mesh source (SDK mock)', () => {
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
    expect(appMeshMock.commandCalls(ListGatewayRoutesCommand)).toHaveLength(1);
  });

  it('keeps a gateway whose Cloud Map service is missing, records why, and lists no endpoints', async () => {
    serveMesh({ gateways: [{ name: 'gw', tags: { 'meshgate:cloudmap-service': 'gone.local/gw' } }] });
    cloudMapMock
      .on(DiscoverInstancesCommand)
      .rejects(
        new NamespaceNotFound({ message: 'No namespace is named gone.local.', $metadata: { httpStatusCode: 400 } }),
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
    appMeshMock
      .on(DescribeVirtualGatewayCommand)
      .rejects(new ForbiddenException({ message: 'not authorized', $metadata: { httpStatusCode: 403 } }));

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
    expect(appMeshMock.calls()).toHaveLength(0);
  });
});
