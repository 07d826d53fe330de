import {
  type AppMeshClient,
  CreateGatewayRouteCommand,
  CreateMeshCommand,
  CreateVirtualGatewayCommand,
  CreateVirtualServiceCommand,
  type GatewayRouteSpec,
  type VirtualGatewayListener,
} from '@aws-sdk/client-app-mesh';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
  type ServiceDiscoveryClient,
  UpdateInstanceCustomHealthStatusCommand,
} from '@aws-sdk/client-servicediscovery';

/**
 * A realistic estate built through the real SDK clients against the AWS double:
 * - mesh `apps`: gateway `ingress-gw` (http, health check; instances in Cloud Map apps.local/ingress-gw) with six
 *   routes (http, http2; prefix/exact/regex paths, hostnames, headers, methods, query, priority, rewrites), gateway
 *   `grpc-gw` (grpc; a DNS endpoint) with two grpc routes; four virtual services, `orders` requiring JWT;
 * - mesh `edge`: gateway `public-gw` (http2, no discovery tag) with one route, gateway `broken-gw` whose discovery
 *   tag is malformed;
 * - Cloud Map namespace `apps.local`: gateway instances (one unhealthy) and services exposed by tag, one opted out,
 *   one unexposed (its instance's `meshgate:expose` attribute does not opt it in), one with an instance that has no
 *   usable port; `ops.local`: one more.
 */
export async function buildEstate(appMesh: AppMeshClient, cloudMap: ServiceDiscoveryClient): Promise<void> {
  await buildCloudMap(cloudMap);
  await buildAppsMesh(appMesh);
  await buildEdgeMesh(appMesh);
}

const tagsOf = (tags: Record<string, string>) => Object.entries(tags).map(([key, value]) => ({ key, value }));

async function service(appMesh: AppMeshClient, meshName: string, name: string, tags: Record<string, string> = {}) {
  await appMesh.send(
    new CreateVirtualServiceCommand({ meshName, virtualServiceName: name, spec: {}, tags: tagsOf(tags) }),
  );
}

async function gateway(
  appMesh: AppMeshClient,
  meshName: string,
  name: string,
  listener: VirtualGatewayListener,
  tags: Record<string, string>,
) {
  await appMesh.send(
    new CreateVirtualGatewayCommand({
      meshName,
      virtualGatewayName: name,
      spec: { listeners: [listener] },
      tags: tagsOf(tags),
    }),
  );
}

async function route(
  appMesh: AppMeshClient,
  meshName: string,
  gatewayName: string,
  name: string,
  spec: GatewayRouteSpec,
  tags: Record<string, string> = {},
) {
  await appMesh.send(
    new CreateGatewayRouteCommand({
      meshName,
      virtualGatewayName: gatewayName,
      gatewayRouteName: name,
      spec,
      tags: tagsOf(tags),
    }),
  );
}

const target = (virtualServiceName: string, port?: number) => ({ virtualService: { virtualServiceName }, port });

async function buildAppsMesh(appMesh: AppMeshClient): Promise<void> {
  await appMesh.send(new CreateMeshCommand({ meshName: 'apps' }));
  await service(appMesh, 'apps', 'orders.apps.local', { 'meshgate:auth': 'jwt', team: 'checkout' });
  await service(appMesh, 'apps', 'catalog.apps.local', { team: 'catalog' });
  await service(appMesh, 'apps', 'users.apps.local');
  await service(appMesh, 'apps', 'search.apps.local', { 'meshgate:expose': 'false' });
  await gateway(
    appMesh,
    'apps',
    'ingress-gw',
    {
      portMapping: { port: 8080, protocol: 'http' },
      healthCheck: {
        protocol: 'http',
        path: '/ping',
        port: 8080,
        intervalMillis: 10_000,
        timeoutMillis: 2_000,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
    },
    { 'meshgate:cloudmap-service': 'apps.local/ingress-gw', env: 'prod' },
  );
  await route(appMesh, 'apps', 'ingress-gw', 'orders', {
    priority: 10,
    httpRoute: {
      match: { prefix: '/orders', method: 'GET', hostname: { suffix: '.example.com' } },
      action: { target: target('orders.apps.local'), rewrite: { prefix: { defaultPrefix: 'DISABLED' } } },
    },
  });
  await route(
    appMesh,
    'apps',
    'ingress-gw',
    'orders-admin',
    {
      priority: 5,
      httpRoute: {
        match: {
          path: { exact: '/orders/admin' },
          headers: [
            { name: 'x-role', match: { exact: 'admin' } },
            { name: 'x-debug', invert: true, match: { prefix: 'on' } },
          ],
          queryParameters: [{ name: 'tenant', match: { exact: 'acme' } }],
        },
        action: { target: target('orders.apps.local', 8080) },
      },
    },
    { 'meshgate:auth': 'jwt' },
  );
  await route(appMesh, 'apps', 'ingress-gw', 'catalog', {
    httpRoute: {
      match: { prefix: '/catalog', hostname: { exact: 'shop.example.com' } },
      action: { target: target('catalog.apps.local'), rewrite: { prefix: { value: '/' } } },
    },
  });
  await route(appMesh, 'apps', 'ingress-gw', 'catalog-items', {
    httpRoute: {
      match: {
        path: { regex: '^/catalog/items/[0-9]+$' },
        headers: [{ name: 'x-version', match: { range: { start: 1, end: 3 } } }],
      },
      action: { target: target('catalog.apps.local') },
    },
  });
  await route(appMesh, 'apps', 'ingress-gw', 'users', {
    http2Route: { match: { prefix: '/users' }, action: { target: target('users.apps.local') } },
  });
  await route(appMesh, 'apps', 'ingress-gw', 'search', {
    httpRoute: { match: { prefix: '/search', port: 8080 }, action: { target: target('search.apps.local') } },
  });
  await gateway(
    appMesh,
    'apps',
    'grpc-gw',
    { portMapping: { port: 9090, protocol: 'grpc' } },
    { 'meshgate:dns-endpoint': 'grpc-gw.apps.internal:9443' },
  );
  await route(appMesh, 'apps', 'grpc-gw', 'orders-grpc', {
    grpcRoute: {
      match: {
        serviceName: 'orders.v1.Orders',
        metadata: [{ name: 'x-tenant', match: { suffix: '-prod' } }],
      },
      action: { target: target('orders.apps.local') },
    },
  });
  await route(appMesh, 'apps', 'grpc-gw', 'users-grpc', {
    grpcRoute: { match: { serviceName: 'users.v1.Users' }, action: { target: target('users.apps.local') } },
  });
}

async function buildEdgeMesh(appMesh: AppMeshClient): Promise<void> {
  await appMesh.send(new CreateMeshCommand({ meshName: 'edge' }));
  await service(appMesh, 'edge', 'status.edge.local');
  await gateway(appMesh, 'edge', 'public-gw', { portMapping: { port: 8443, protocol: 'http2' } }, {});
  await route(appMesh, 'edge', 'public-gw', 'status', {
    http2Route: { match: { prefix: '/status' }, action: { target: target('status.edge.local') } },
  });
  await gateway(
    appMesh,
    'edge',
    'broken-gw',
    { portMapping: { port: 8081, protocol: 'http' } },
    { 'meshgate:cloudmap-service': 'apps.local' },
  );
}

async function namespace(cloudMap: ServiceDiscoveryClient, name: string): Promise<string> {
  const { OperationId } = await cloudMap.send(new CreateHttpNamespaceCommand({ Name: name }));
  const { Operation } = await cloudMap.send(new GetOperationCommand({ OperationId }));
  return Operation?.Targets?.NAMESPACE ?? '';
}

interface InstanceSpec {
  id: string;
  attributes: Record<string, string>;
  unhealthy?: boolean;
}

async function cloudMapService(
  cloudMap: ServiceDiscoveryClient,
  namespaceId: string,
  name: string,
  tags: Record<string, string>,
  instances: InstanceSpec[],
): Promise<void> {
  const { Service } = await cloudMap.send(
    new CreateServiceCommand({
      Name: name,
      NamespaceId: namespaceId,
      HealthCheckCustomConfig: {},
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  const ServiceId = Service?.Id ?? '';
  for (const instance of instances) {
    await cloudMap.send(
      new RegisterInstanceCommand({ ServiceId, InstanceId: instance.id, Attributes: instance.attributes }),
    );
    if (instance.unhealthy) {
      await cloudMap.send(
        new UpdateInstanceCustomHealthStatusCommand({ ServiceId, InstanceId: instance.id, Status: 'UNHEALTHY' }),
      );
    }
  }
}

async function buildCloudMap(cloudMap: ServiceDiscoveryClient): Promise<void> {
  const apps = await namespace(cloudMap, 'apps.local');
  await cloudMapService(cloudMap, apps, 'ingress-gw', {}, [
    { id: 'gw-1', attributes: { AWS_INSTANCE_IPV4: '10.0.1.10', AWS_INSTANCE_PORT: '8080', AZ: 'us-east-1a' } },
    { id: 'gw-2', attributes: { AWS_INSTANCE_IPV4: '10.0.2.10' } },
    { id: 'gw-3', attributes: { AWS_INSTANCE_IPV6: 'fd00::3' }, unhealthy: true },
  ]);
  await cloudMapService(cloudMap, apps, 'catalog', { 'meshgate:expose': 'true', 'meshgate:paths': '/catalog' }, [
    { id: 'catalog-1', attributes: { AWS_INSTANCE_IPV4: '10.0.3.1', AWS_INSTANCE_PORT: '8000' } },
    { id: 'catalog-2', attributes: { AWS_INSTANCE_IPV4: '10.0.3.2', AWS_INSTANCE_PORT: '8000', weight: '50' } },
  ]);
  await cloudMapService(cloudMap, apps, 'billing', { team: 'finance', 'meshgate:expose': 'true' }, [
    { id: 'billing-1', attributes: { AWS_INSTANCE_CNAME: 'billing-1.apps.internal', 'meshgate:expose': 'true' } },
  ]);
  await cloudMapService(cloudMap, apps, 'legacy', { 'meshgate:expose': 'false' }, [
    { id: 'legacy-1', attributes: { AWS_INSTANCE_IPV4: '10.0.4.1', 'meshgate:expose': 'true' } },
  ]);
  await cloudMapService(cloudMap, apps, 'internal-cache', {}, [
    {
      id: 'cache-1',
      attributes: { AWS_INSTANCE_IPV4: '10.0.5.1', AWS_INSTANCE_PORT: '6379', 'meshgate:expose': 'true' },
    },
  ]);
  await cloudMapService(cloudMap, apps, 'reports', { 'meshgate:expose': '', 'meshgate:hosts': 'reports.example.com' }, [
    { id: 'reports-1', attributes: { AWS_INSTANCE_IPV4: '10.0.6.1', AWS_INSTANCE_PORT: 'http' } },
    { id: 'reports-2', attributes: { AWS_INSTANCE_IPV4: '10.0.6.2', AWS_INSTANCE_PORT: '9000' }, unhealthy: true },
  ]);
  const ops = await namespace(cloudMap, 'ops.local');
  await cloudMapService(cloudMap, ops, 'metrics', { 'meshgate:expose': 'true', 'meshgate:protocol': 'http' }, [
    { id: 'metrics-1', attributes: { AWS_INSTANCE_IPV4: '10.1.0.1', AWS_INSTANCE_PORT: '9100' } },
  ]);
}
