import { ListServicesCommand } from '@aws-sdk/client-servicediscovery';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsDouble, startAwsDouble } from '../../local/aws/server.js';
import { AppMeshReadClient } from '../../shared/aws/app-mesh-reads.js';
import { type AwsClients, createAwsClients } from '../../shared/aws/clients.js';
import { AppMeshSource } from '../../shared/sources/appmesh/index.js';
import { CloudMapSource } from '../../shared/sources/cloudmap/index.js';
import {
  createSources,
  readMesh,
  readMeshFedBy,
  resolveCloudMapService,
  SourceError,
} from '../../shared/sources/index.js';
import { MeshSnapshotSchema } from '../../shared/sources/model.js';
import { buildEstate } from './fixtures.js';
import { expectGolden } from './golden.js';

let double: AwsDouble;
let clients: AwsClients;
const savedEnv = { ...process.env };

/** The SDK takes endpoints and credentials from the process environment. */
function clientsFor(env: Record<string, string>): AwsClients {
  Object.assign(process.env, env);
  return createAwsClients(env);
}

beforeAll(async () => {
  double = await startAwsDouble();
  clients = clientsFor(double.env());
  await buildEstate(clients.appMesh, clients.serviceDiscovery);
});

afterAll(async () => {
  process.env = savedEnv;
  await double?.close();
});

beforeEach(() => {
  double.faults.clear();
  double.requests.clear();
});

const calls = (operation: string, path?: string) =>
  double.requests.entries.filter((entry) => entry.operation === operation && (!path || entry.path.endsWith(path)));

const bothSources = (meshNames = ['apps', 'edge'], namespaces = ['apps.local', 'ops.local']) =>
  createSources({ MESH_NAMES: meshNames, CLOUDMAP_NAMESPACES: namespaces }, sourceClients(clients));

/** The CLI's clients as the sources take them (meshgate's App Mesh reads through a factory). */
const sourceClients = (all: AwsClients) => ({ ...all, appMesh: () => all.appMeshReads });

describe('mesh sources against the AWS double', () => {
  it('reads two meshes page by page: gateways, routes, services, instances, tags', async () => {
    const source = new AppMeshSource({
      meshNames: ['apps', 'edge'],
      appMesh: clients.appMeshReads,
      cloudMap: clients.cloudMapReads,
      pageSize: 2,
    });
    const snapshot = await readMesh([source]);

    expect(MeshSnapshotSchema.parse(snapshot)).toEqual(snapshot);
    expect(snapshot.gateways.map((gateway) => `${gateway.mesh}/${gateway.name}`)).toEqual([
      'apps/grpc-gw',
      'apps/ingress-gw',
      'edge/broken-gw',
      'edge/public-gw',
    ]);
    expect(snapshot.gatewayRoutes).toHaveLength(9);
    expect(snapshot.virtualServices).toHaveLength(5);
    // ingress-gw's six routes came in pages of two.
    expect(calls('ListGatewayRoutes', '/virtualGateway/ingress-gw/gatewayRoutes')).toHaveLength(3);
    expect(snapshot.failures).toEqual([
      {
        source: 'appmesh',
        object: 'mesh/edge/virtualGateway/broken-gw',
        reason: expect.stringContaining(
          "tag meshgate:cloudmap-service='apps.local' is not <namespaceName>/<serviceName>",
        ),
      },
    ]);
    await expectGolden('appmesh-meshes', snapshot);
  });

  it('reads Cloud Map services opted in by tag, across namespaces and pages, one DiscoverInstances each', async () => {
    const snapshot = await readMesh([
      new CloudMapSource({ namespaces: [], client: clients.cloudMapReads, tagging: clients.tagging, pageSize: 2 }),
    ]);

    expect(snapshot.cloudMapServices.map((service) => `${service.namespace}/${service.name}`)).toEqual([
      'apps.local/billing',
      'apps.local/catalog',
      'apps.local/reports',
      'ops.local/metrics',
    ]);
    expect(calls('ListServices').length).toBeGreaterThan(2);
    // Exposure comes from the tags of all services in one GetResources page: no per-service tag read, and
    // DiscoverInstances for the four exposed services only (not the opted-out, untagged or gateway ones).
    expect(calls('GetResources')).toHaveLength(1);
    expect(calls('ListTagsForResource')).toHaveLength(0);
    expect(calls('DiscoverInstances')).toHaveLength(4);
    expect(snapshot.failures).toEqual([
      {
        source: 'cloudmap',
        object: 'namespace/apps.local/service/reports',
        reason: "instance 'reports-1' has AWS_INSTANCE_PORT 'http', which is not a port (1-65535)",
      },
    ]);
    await expectGolden('cloudmap-services', snapshot);
  });

  it('merges both sources from the configuration into one sorted snapshot', async () => {
    const snapshot = await readMesh(bothSources());
    expect(snapshot.gateways).toHaveLength(4);
    expect(snapshot.cloudMapServices).toHaveLength(4);
    await expectGolden('combined', snapshot);
  });

  it("rides out throttling and 5xx through the clients' retries with the same result", async () => {
    double.faults.inject({
      match: (request) => request.operation === 'DescribeVirtualGateway',
      nth: 2,
      status: 429,
      body: { code: 'TooManyRequestsException', message: 'slow down' },
    });
    double.faults.inject({
      match: (request) => request.operation === 'ListTagsForResource',
      status: 503,
      body: { code: 'ServiceUnavailableException', message: 'try again' },
    });
    double.faults.inject({
      match: (request) => request.operation === 'DiscoverInstances',
      nth: 3,
      status: 400,
      body: { code: 'ThrottlingException', message: 'Rate exceeded' },
    });
    const snapshot = await readMesh(bothSources());

    expect(double.requests.entries.filter((entry) => entry.fault)).toHaveLength(3);
    await expectGolden('throttled', snapshot);
    await expectGolden('combined', snapshot);
  });

  it('records objects it cannot read and goes on; LimitExceededException is not retried', async () => {
    double.faults.inject({
      match: (request) => request.operation === 'DescribeGatewayRoute',
      path: /\/gatewayRoutes\/orders-admin$/,
      status: 404,
      body: { code: 'NotFoundException', message: "The specified resource doesn't exist." },
    });
    double.faults.inject({
      match: (request) => request.operation === 'DescribeVirtualService',
      path: /\/virtualServices\/users\.apps\.local$/,
      times: Number.POSITIVE_INFINITY,
      status: 400,
      body: { code: 'LimitExceededException', message: 'quota of virtual services per mesh exceeded' },
    });
    const snapshot = await readMesh(bothSources(['apps', 'ghost'], ['apps.local', 'missing.local']));

    expect(calls('DescribeVirtualService', '/users.apps.local')).toHaveLength(1);
    expect(snapshot.failures.map((failure) => failure.object)).toEqual([
      'mesh/apps/virtualGateway/ingress-gw/gatewayRoute/orders-admin',
      'mesh/apps/virtualService/users.apps.local',
      'mesh/ghost',
      'namespace/apps.local/service/reports',
      'namespace/missing.local',
    ]);
    expect(snapshot.failures[1]?.reason).toContain('LimitExceededException');
    expect(snapshot.gatewayRoutes.map((route) => route.name)).not.toContain('orders-admin');
    await expectGolden('object-failures', snapshot);
  });

  it('gives up at once on LimitExceededException, which the SDK would retry as throttling; retries 429', async () => {
    const describeGateway = { meshName: 'apps', virtualGatewayName: 'grpc-gw' };
    const reads = new AppMeshReadClient({ region: double.region }, double.env());
    double.faults.inject({
      match: (request: { operation?: string }) => request.operation === 'DescribeVirtualGateway',
      times: 2,
      status: 400,
      body: { code: 'LimitExceededException', message: 'quota exceeded' },
    });
    const quota = await reads.describeVirtualGateway(describeGateway).catch((error: unknown) => error);
    expect(quota).toMatchObject({
      name: 'LimitExceededException',
      message: 'quota exceeded',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
    expect(calls('DescribeVirtualGateway')).toHaveLength(1);

    double.faults.clear();
    double.requests.clear();
    double.faults.inject({
      match: (request: { operation?: string }) => request.operation === 'DescribeVirtualGateway',
      times: 2,
      status: 429,
      body: { code: 'TooManyRequestsException', message: 'slow down' },
    });
    const virtualGateway = await reads.describeVirtualGateway(describeGateway);
    expect(virtualGateway.virtualGatewayName).toBe('grpc-gw');
    expect(calls('DescribeVirtualGateway')).toHaveLength(3);
    reads.destroy();
  });

  it('records each mesh App Mesh keeps answering 503 for as a failure of that mesh; Cloud Map still syncs', async () => {
    double.faults.inject({
      match: (request) => request.operation === 'ListVirtualGateways',
      times: Number.POSITIVE_INFINITY,
      status: 503,
      body: { code: 'ServiceUnavailableException', message: 'down for maintenance' },
    });
    const snapshot = await readMesh(bothSources());

    expect(snapshot.gateways).toEqual([]);
    expect(snapshot.cloudMapServices.length).toBeGreaterThan(0);
    const meshFailures = snapshot.failures.filter((failure) => failure.source === 'appmesh');
    expect(meshFailures.map((failure) => failure.object).sort()).toEqual(['mesh/apps', 'mesh/edge']);
    expect(meshFailures[0]?.reason).toMatch(
      /^App Mesh ListVirtualGateways mesh\/(apps|edge) failed: ServiceUnavailableException \(HTTP 503\): down for maintenance$/,
    );
    // The client retried before giving up (3 attempts per call, as the SDK's standard mode).
    expect(calls('ListVirtualGateways').length).toBeGreaterThanOrEqual(3);
  });

  it('fails the run when Cloud Map cannot be reached at all', async () => {
    const closed = await startAwsDouble();
    const unreachableClients = clientsFor(closed.env());
    await closed.close();
    const error = await readMesh(
      createSources({ MESH_NAMES: [], CLOUDMAP_NAMESPACES: [] }, sourceClients(unreachableClients)),
    )
      .catch((caught: unknown) => caught)
      .finally(() => clientsFor(double.env()));

    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).unreachable).toBe(true);
    expect((error as SourceError).message).toContain('Cloud Map ListNamespaces namespaces failed');
  });

  it('resolves a Cloud Map service id to its namespace and name', async () => {
    const snapshot = await readMesh([
      new CloudMapSource({ namespaces: ['ops.local'], client: clients.cloudMapReads, tagging: clients.tagging }),
    ]);
    const metrics = snapshot.cloudMapServices[0];

    expect(await resolveCloudMapService(clients.cloudMapReads, metrics?.id ?? '')).toEqual({
      id: metrics?.id,
      arn: metrics?.arn,
      namespace: 'ops.local',
      service: 'metrics',
    });
    expect(await resolveCloudMapService(clients.cloudMapReads, 'srv-doesnotexist1')).toBeUndefined();
  });

  it('reads only what one Cloud Map service feeds, exactly as the full read has it', async () => {
    const full = await readMesh(bothSources());
    const { Services = [] } = await clients.serviceDiscovery.send(new ListServicesCommand({}));
    const resolve = async (name: string) => {
      const ref = await resolveCloudMapService(clients.cloudMapReads, Services.find((s) => s.Name === name)?.Id ?? '');
      if (!ref) throw new Error(`no Cloud Map service ${name}`);
      return ref;
    };

    double.requests.clear();
    const fedByGatewayService = await readMeshFedBy(bothSources(), await resolve('ingress-gw'));
    expect(fedByGatewayService.gateways).toEqual(full.gateways.filter((gateway) => gateway.name === 'ingress-gw'));
    expect(fedByGatewayService).toMatchObject({ gatewayRoutes: [], virtualServices: [], cloudMapServices: [] });
    for (const unneeded of ['ListGatewayRoutes', 'ListVirtualServices', 'ListServices']) {
      expect(calls(unneeded), unneeded).toEqual([]);
    }

    const fedByExposed = await readMeshFedBy(bothSources(), await resolve('catalog'));
    expect(fedByExposed.gateways).toEqual([]);
    expect(fedByExposed.cloudMapServices).toEqual(
      full.cloudMapServices.filter((service) => service.name === 'catalog'),
    );

    // Opted out by tag, or outside CLOUDMAP_NAMESPACES: nothing is fed.
    expect((await readMeshFedBy(bothSources(), await resolve('legacy'))).cloudMapServices).toEqual([]);
    const otherNamespaces = bothSources(['apps'], ['ops.local']);
    expect((await readMeshFedBy(otherNamespaces, await resolve('catalog'))).cloudMapServices).toEqual([]);
  });
});
