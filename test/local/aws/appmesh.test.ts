import {
  type AppMeshClient,
  CreateGatewayRouteCommand,
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualGatewayCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  DeleteGatewayRouteCommand,
  DeleteMeshCommand,
  DeleteRouteCommand,
  DeleteVirtualGatewayCommand,
  DeleteVirtualNodeCommand,
  DeleteVirtualRouterCommand,
  DeleteVirtualServiceCommand,
  DescribeGatewayRouteCommand,
  DescribeMeshCommand,
  DescribeRouteCommand,
  DescribeVirtualGatewayCommand,
  DescribeVirtualNodeCommand,
  DescribeVirtualRouterCommand,
  DescribeVirtualServiceCommand,
  ListGatewayRoutesCommand,
  ListMeshesCommand,
  ListRoutesCommand,
  ListTagsForResourceCommand,
  ListVirtualGatewaysCommand,
  ListVirtualNodesCommand,
  ListVirtualRoutersCommand,
  ListVirtualServicesCommand,
  paginateListGatewayRoutes,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateGatewayRouteCommand,
  UpdateVirtualNodeCommand,
} from '@aws-sdk/client-app-mesh';
import { describe, expect, it } from 'vitest';
import { useAwsDouble } from './double.js';

const aws = useAwsDouble();
const appMesh = (): AppMeshClient => aws.clients().appMesh;
const meshName = 'apps';
const listener = { portMapping: { port: 8080, protocol: 'http' as const } };
const routeTo = (virtualServiceName: string, prefix = '/') => ({
  httpRoute: { match: { prefix }, action: { target: { virtualService: { virtualServiceName } } } },
});

/** A mesh with a gateway, a node behind a router, and a virtual service the gateway routes to. */
async function buildMesh(): Promise<void> {
  await appMesh().send(new CreateMeshCommand({ meshName }));
  await appMesh().send(
    new CreateVirtualNodeCommand({
      meshName,
      virtualNodeName: 'orders-v1',
      spec: {
        listeners: [listener],
        serviceDiscovery: { awsCloudMap: { namespaceName: 'apps.local', serviceName: 'orders' } },
      },
    }),
  );
  await appMesh().send(
    new CreateVirtualRouterCommand({ meshName, virtualRouterName: 'orders', spec: { listeners: [listener] } }),
  );
  await appMesh().send(
    new CreateRouteCommand({
      meshName,
      virtualRouterName: 'orders',
      routeName: 'default',
      spec: {
        httpRoute: { match: { prefix: '/' }, action: { weightedTargets: [{ virtualNode: 'orders-v1', weight: 100 }] } },
      },
    }),
  );
  await appMesh().send(
    new CreateVirtualServiceCommand({
      meshName,
      virtualServiceName: 'orders.apps.local',
      spec: { provider: { virtualRouter: { virtualRouterName: 'orders' } } },
    }),
  );
  await appMesh().send(
    new CreateVirtualGatewayCommand({
      meshName,
      virtualGatewayName: 'ingress',
      spec: { listeners: [listener] },
      tags: [{ key: 'meshgate:upstream', value: 'ingress' }],
    }),
  );
  await appMesh().send(
    new CreateGatewayRouteCommand({
      meshName,
      virtualGatewayName: 'ingress',
      gatewayRouteName: 'orders',
      spec: routeTo('orders.apps.local', '/orders'),
    }),
  );
}

describe('App Mesh resources', () => {
  it('creates, describes and lists every kind, with metadata and epoch-second timestamps', async () => {
    const before = Date.now();
    await buildMesh();
    const { mesh } = await appMesh().send(new DescribeMeshCommand({ meshName }));
    expect(mesh).toMatchObject({
      meshName,
      spec: { egressFilter: { type: 'DROP_ALL' } },
      status: { status: 'ACTIVE' },
      metadata: { arn: 'arn:aws:appmesh:us-east-1:123456789012:mesh/apps', version: 1, meshOwner: '123456789012' },
    });
    expect(mesh?.metadata?.createdAt?.getTime()).toBeGreaterThanOrEqual(before - 1000);

    const described = await Promise.all([
      appMesh().send(new DescribeVirtualNodeCommand({ meshName, virtualNodeName: 'orders-v1' })),
      appMesh().send(new DescribeVirtualRouterCommand({ meshName, virtualRouterName: 'orders' })),
      appMesh().send(new DescribeRouteCommand({ meshName, virtualRouterName: 'orders', routeName: 'default' })),
      appMesh().send(new DescribeVirtualServiceCommand({ meshName, virtualServiceName: 'orders.apps.local' })),
      appMesh().send(new DescribeVirtualGatewayCommand({ meshName, virtualGatewayName: 'ingress' })),
      appMesh().send(
        new DescribeGatewayRouteCommand({ meshName, virtualGatewayName: 'ingress', gatewayRouteName: 'orders' }),
      ),
    ]);
    expect(described.map((output) => Object.values(output).find((value) => value?.metadata)?.metadata?.arn)).toEqual([
      'arn:aws:appmesh:us-east-1:123456789012:mesh/apps/virtualNode/orders-v1',
      'arn:aws:appmesh:us-east-1:123456789012:mesh/apps/virtualRouter/orders',
      'arn:aws:appmesh:us-east-1:123456789012:mesh/apps/virtualRouter/orders/route/default',
      'arn:aws:appmesh:us-east-1:123456789012:mesh/apps/virtualService/orders.apps.local',
      'arn:aws:appmesh:us-east-1:123456789012:mesh/apps/virtualGateway/ingress',
      'arn:aws:appmesh:us-east-1:123456789012:mesh/apps/virtualGateway/ingress/gatewayRoute/orders',
    ]);

    const lists = await Promise.all([
      appMesh().send(new ListMeshesCommand({})),
      appMesh().send(new ListVirtualNodesCommand({ meshName })),
      appMesh().send(new ListVirtualRoutersCommand({ meshName })),
      appMesh().send(new ListRoutesCommand({ meshName, virtualRouterName: 'orders' })),
      appMesh().send(new ListVirtualServicesCommand({ meshName })),
      appMesh().send(new ListVirtualGatewaysCommand({ meshName })),
      appMesh().send(new ListGatewayRoutesCommand({ meshName, virtualGatewayName: 'ingress' })),
    ]);
    expect(lists.map((list) => Object.values(list).find(Array.isArray)?.length)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(lists[6]?.gatewayRoutes?.[0]).toMatchObject({
      meshName,
      virtualGatewayName: 'ingress',
      gatewayRouteName: 'orders',
      version: 1,
      resourceOwner: '123456789012',
    });
  });

  it('updates with metadata version + 1 and a new spec', async () => {
    await buildMesh();
    const updated = await appMesh().send(
      new UpdateGatewayRouteCommand({
        meshName,
        virtualGatewayName: 'ingress',
        gatewayRouteName: 'orders',
        spec: routeTo('orders.apps.local', '/v2/orders'),
      }),
    );
    expect(updated.gatewayRoute?.metadata?.version).toBe(2);
    expect(updated.gatewayRoute?.spec?.httpRoute?.match?.prefix).toBe('/v2/orders');
    const again = await appMesh().send(
      new UpdateVirtualNodeCommand({ meshName, virtualNodeName: 'orders-v1', spec: { listeners: [listener] } }),
    );
    expect(again.virtualNode?.metadata?.version).toBe(2);
    await expect(
      appMesh().send(new UpdateVirtualNodeCommand({ meshName, virtualNodeName: 'missing', spec: {} })),
    ).rejects.toMatchObject({ name: 'NotFoundException', $metadata: { httpStatusCode: 404 } });
  });

  it('pages lists with limit and nextToken', async () => {
    await buildMesh();
    for (let index = 0; index < 7; index += 1) {
      await appMesh().send(
        new CreateGatewayRouteCommand({
          meshName,
          virtualGatewayName: 'ingress',
          gatewayRouteName: `route-${index}`,
          spec: routeTo('orders.apps.local', `/r${index}`),
        }),
      );
    }
    const first = await appMesh().send(
      new ListGatewayRoutesCommand({ meshName, virtualGatewayName: 'ingress', limit: 3 }),
    );
    expect(first.gatewayRoutes?.map((route) => route.gatewayRouteName)).toEqual(['orders', 'route-0', 'route-1']);
    expect(first.nextToken).toBeTruthy();
    const names: string[] = [];
    for await (const page of paginateListGatewayRoutes(
      { client: appMesh(), pageSize: 3 },
      { meshName, virtualGatewayName: 'ingress' },
    )) {
      names.push(...(page.gatewayRoutes ?? []).map((route) => route.gatewayRouteName as string));
    }
    expect(names).toHaveLength(8);
    expect(new Set(names).size).toBe(8);
    await expect(
      appMesh().send(new ListGatewayRoutesCommand({ meshName, virtualGatewayName: 'ingress', nextToken: 'bogus' })),
    ).rejects.toMatchObject({ name: 'BadRequestException' });
  });

  it('answers BadRequest naming the member for out-of-range and missing input', async () => {
    await appMesh().send(new CreateMeshCommand({ meshName }));
    await expect(appMesh().send(new ListMeshesCommand({ limit: 101 }))).rejects.toMatchObject({
      name: 'BadRequestException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringContaining("'limit' (101)"),
    });
    await expect(
      appMesh().send(
        new CreateVirtualGatewayCommand({
          meshName,
          virtualGatewayName: 'gw',
          spec: { listeners: [{ portMapping: { port: 70000, protocol: 'http' } }] },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'BadRequestException',
      message: expect.stringContaining('spec.listeners[0].portMapping.port'),
    });
    await expect(
      appMesh().send(
        new CreateVirtualServiceCommand({
          meshName,
          virtualServiceName: 'svc',
          spec: { provider: { virtualNode: { virtualNodeName: 'a' }, virtualRouter: { virtualRouterName: 'b' } } },
        } as never),
      ),
    ).rejects.toMatchObject({ name: 'BadRequestException', message: expect.stringContaining('exactly one') });
  });

  it('answers NotFound for a missing mesh or parent and Conflict for a duplicate name', async () => {
    await expect(appMesh().send(new DescribeMeshCommand({ meshName: 'nope' }))).rejects.toMatchObject({
      name: 'NotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    await buildMesh();
    await expect(
      appMesh().send(new ListGatewayRoutesCommand({ meshName, virtualGatewayName: 'missing' })),
    ).rejects.toMatchObject({
      name: 'NotFoundException',
      message: expect.stringContaining("virtualGateway 'missing'"),
    });
    await expect(
      appMesh().send(
        new CreateVirtualGatewayCommand({ meshName, virtualGatewayName: 'ingress', spec: { listeners: [listener] } }),
      ),
    ).rejects.toMatchObject({ name: 'ConflictException', $metadata: { httpStatusCode: 409 } });
    // A retried create with the same client token answers the first result.
    const token = 'retry-token';
    const first = await appMesh().send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'n2', spec: {}, clientToken: token }),
    );
    const retried = await appMesh().send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'n2', spec: {}, clientToken: token }),
    );
    expect(retried.virtualNode?.metadata?.uid).toBe(first.virtualNode?.metadata?.uid);
  });

  it('refuses deletes while something references the resource, then deletes bottom-up', async () => {
    await buildMesh();
    const inUse = { name: 'ResourceInUseException', $metadata: { httpStatusCode: 409 } };
    await expect(
      appMesh().send(new DeleteVirtualGatewayCommand({ meshName, virtualGatewayName: 'ingress' })),
    ).rejects.toMatchObject(inUse);
    await expect(
      appMesh().send(new DeleteVirtualRouterCommand({ meshName, virtualRouterName: 'orders' })),
    ).rejects.toMatchObject(inUse);
    await expect(
      appMesh().send(new DeleteVirtualServiceCommand({ meshName, virtualServiceName: 'orders.apps.local' })),
    ).rejects.toMatchObject(inUse);
    await expect(appMesh().send(new DeleteMeshCommand({ meshName }))).rejects.toMatchObject(inUse);

    const deleted = await appMesh().send(
      new DeleteGatewayRouteCommand({ meshName, virtualGatewayName: 'ingress', gatewayRouteName: 'orders' }),
    );
    expect(deleted.gatewayRoute?.status?.status).toBe('DELETED');
    await appMesh().send(new DeleteVirtualGatewayCommand({ meshName, virtualGatewayName: 'ingress' }));
    await appMesh().send(new DeleteVirtualServiceCommand({ meshName, virtualServiceName: 'orders.apps.local' }));
    await appMesh().send(new DeleteRouteCommand({ meshName, virtualRouterName: 'orders', routeName: 'default' }));
    await appMesh().send(new DeleteVirtualRouterCommand({ meshName, virtualRouterName: 'orders' }));
    await appMesh().send(new DeleteVirtualNodeCommand({ meshName, virtualNodeName: 'orders-v1' }));
    const mesh = await appMesh().send(new DeleteMeshCommand({ meshName }));
    expect(mesh.mesh?.status?.status).toBe('DELETED');
    expect((await appMesh().send(new ListMeshesCommand({}))).meshes).toEqual([]);
  });
});

describe('App Mesh tags', () => {
  it('keeps tags given on create, tags, untags and pages them', async () => {
    await buildMesh();
    const { virtualGateway } = await appMesh().send(
      new DescribeVirtualGatewayCommand({ meshName, virtualGatewayName: 'ingress' }),
    );
    const resourceArn = virtualGateway?.metadata?.arn as string;
    await appMesh().send(
      new TagResourceCommand({
        resourceArn,
        tags: [
          { key: 'meshgate:auth', value: 'jwt' },
          { key: 'meshgate:upstream', value: 'edge' },
        ],
      }),
    );
    await appMesh().send(new UntagResourceCommand({ resourceArn, tagKeys: ['meshgate:auth'] }));
    expect((await appMesh().send(new ListTagsForResourceCommand({ resourceArn }))).tags).toEqual([
      { key: 'meshgate:upstream', value: 'edge' },
    ]);
    await expect(
      appMesh().send(
        new TagResourceCommand({
          resourceArn,
          tags: Array.from({ length: 50 }, (_, index) => ({ key: `k${index}`, value: 'v' })),
        }),
      ),
    ).rejects.toMatchObject({ name: 'TooManyTagsException', $metadata: { httpStatusCode: 400 } });
    await expect(
      appMesh().send(new ListTagsForResourceCommand({ resourceArn: `${resourceArn}-gone` })),
    ).rejects.toMatchObject({ name: 'NotFoundException' });
  });
});

describe('App Mesh faults', () => {
  it('fails the Nth matching call with the injected throttling error, by model operation name', async () => {
    await buildMesh();
    aws.double().faults.inject({
      match: (request) => request.operation === 'DescribeVirtualGateway',
      nth: 2,
      status: 429,
      body: { code: 'TooManyRequestsException', message: 'Rate exceeded' },
    });
    const describeGateway = () =>
      appMesh().send(new DescribeVirtualGatewayCommand({ meshName, virtualGatewayName: 'ingress' }));
    await describeGateway();
    await expect(describeGateway()).rejects.toMatchObject({
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429 },
    });
    await describeGateway();
    expect(aws.double().requests.count((entry) => entry.operation === 'DescribeVirtualGateway')).toBe(3);
  });
});
