/**
 * The demo's mesh operator: every change goes through the real AWS SDK clients to the AWS double, so meshgate
 * hears of it only the way it would on AWS (CloudTrail → EventBridge rule → meshSync).
 */
import {
  CreateGatewayRouteCommand,
  CreateMeshCommand,
  CreateVirtualGatewayCommand,
  CreateVirtualServiceCommand,
  DeleteGatewayRouteCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-app-mesh';
import {
  CreateHttpNamespaceCommand,
  CreateServiceCommand,
  DeregisterInstanceCommand,
  GetOperationCommand,
  RegisterInstanceCommand,
} from '@aws-sdk/client-servicediscovery';
import type { AwsClients } from '../../shared/aws/clients.js';

export const MESH = 'shop';
export const GATEWAY = 'edge';
export const NAMESPACE = 'shop.local';
export const GATEWAY_SERVICE = 'edge-gw';
const LISTENER_PORT = 8080;

const tags = (entries: Record<string, string>) => Object.entries(entries).map(([key, value]) => ({ key, value }));

export interface DemoInstance {
  id: string;
  ipv4: string;
}

export class DemoMesh {
  private gatewayServiceId = '';
  private gatewayArn = '';
  private namespaceId = '';

  constructor(private readonly clients: Pick<AwsClients, 'appMesh' | 'serviceDiscovery'>) {}

  /** Cloud Map namespace and service for the gateway's instances; returns the AWS calls made. */
  async createGatewayDiscovery(instances: DemoInstance[]): Promise<string[]> {
    const sd = this.clients.serviceDiscovery;
    const { OperationId } = await sd.send(new CreateHttpNamespaceCommand({ Name: NAMESPACE }));
    const { Operation } = await sd.send(new GetOperationCommand({ OperationId }));
    const namespaceId = Operation?.Targets?.NAMESPACE;
    if (!namespaceId) throw new Error(`Cloud Map did not report the id of namespace ${NAMESPACE}`);
    this.namespaceId = namespaceId;
    const { Service } = await sd.send(new CreateServiceCommand({ Name: GATEWAY_SERVICE, NamespaceId: namespaceId }));
    if (!Service?.Id) throw new Error(`Cloud Map did not report the id of service ${GATEWAY_SERVICE}`);
    this.gatewayServiceId = Service.Id;
    for (const instance of instances) await this.register(instance);
    return [
      `CreateHttpNamespace ${NAMESPACE}`,
      `CreateService ${NAMESPACE}/${GATEWAY_SERVICE}`,
      ...instances.map((instance) => `RegisterInstance ${instance.id} ${instance.ipv4}:${LISTENER_PORT}`),
    ];
  }

  async register(instance: DemoInstance): Promise<void> {
    await this.clients.serviceDiscovery.send(
      new RegisterInstanceCommand({
        ServiceId: this.gatewayServiceId,
        InstanceId: instance.id,
        Attributes: { AWS_INSTANCE_IPV4: instance.ipv4, AWS_INSTANCE_PORT: String(LISTENER_PORT) },
      }),
    );
  }

  async deregister(instanceId: string): Promise<void> {
    await this.clients.serviceDiscovery.send(
      new DeregisterInstanceCommand({ ServiceId: this.gatewayServiceId, InstanceId: instanceId }),
    );
  }

  /** The mesh, a gateway fed by the Cloud Map service, virtual services and a route to each. */
  async createMesh(services: { name: string; tags?: Record<string, string> }[]): Promise<string[]> {
    const appMesh = this.clients.appMesh;
    await appMesh.send(new CreateMeshCommand({ meshName: MESH }));
    for (const service of services) {
      await appMesh.send(
        new CreateVirtualServiceCommand({
          meshName: MESH,
          virtualServiceName: virtualServiceName(service.name),
          spec: {},
          tags: tags(service.tags ?? {}),
        }),
      );
    }
    const gateway = await appMesh.send(
      new CreateVirtualGatewayCommand({
        meshName: MESH,
        virtualGatewayName: GATEWAY,
        spec: {
          listeners: [
            {
              portMapping: { port: LISTENER_PORT, protocol: 'http' },
              healthCheck: {
                protocol: 'http',
                path: '/healthz',
                intervalMillis: 5000,
                timeoutMillis: 2000,
                healthyThreshold: 2,
                unhealthyThreshold: 3,
              },
            },
          ],
        },
        tags: tags({ 'meshgate:cloudmap-service': `${NAMESPACE}/${GATEWAY_SERVICE}` }),
      }),
    );
    this.gatewayArn = gateway.virtualGateway?.metadata?.arn ?? '';
    if (!this.gatewayArn) throw new Error(`App Mesh did not report the ARN of virtual gateway ${GATEWAY}`);
    for (const service of services) await this.createRoute(service.name);
    return [
      `CreateMesh ${MESH}`,
      ...services.map(
        (service) => `CreateVirtualService ${virtualServiceName(service.name)}${describeTags(service.tags)}`,
      ),
      `CreateVirtualGateway ${GATEWAY} (http:${LISTENER_PORT}, meshgate:cloudmap-service=${NAMESPACE}/${GATEWAY_SERVICE})`,
      ...services.map((service) => `CreateGatewayRoute ${service.name} (prefix /${service.name})`),
    ];
  }

  /** A gateway route `/<name>` to the virtual service of that name (created if `tags` are given). */
  async createRoute(name: string, routeTags: Record<string, string> = {}): Promise<void> {
    await this.clients.appMesh.send(
      new CreateGatewayRouteCommand({
        meshName: MESH,
        virtualGatewayName: GATEWAY,
        gatewayRouteName: name,
        spec: {
          httpRoute: {
            match: { prefix: `/${name}` },
            action: { target: { virtualService: { virtualServiceName: virtualServiceName(name) } } },
          },
        },
        tags: tags(routeTags),
      }),
    );
  }

  async createService(name: string): Promise<void> {
    await this.clients.appMesh.send(
      new CreateVirtualServiceCommand({ meshName: MESH, virtualServiceName: virtualServiceName(name), spec: {} }),
    );
  }

  async deleteRoute(name: string): Promise<void> {
    await this.clients.appMesh.send(
      new DeleteGatewayRouteCommand({ meshName: MESH, virtualGatewayName: GATEWAY, gatewayRouteName: name }),
    );
  }

  /**
   * A second ingress gateway whose listener requires TLS (App Mesh `tls.mode` STRICT), its instances in Cloud Map
   * service `<name>-gw`, and a gateway route `/<route>` to virtual service `<route>` (tagged `routeTags`).
   * Returns the AWS calls made.
   */
  async createTlsGateway(
    name: string,
    instance: DemoInstance & { port: number },
    route: string,
    routeTags: Record<string, string>,
  ): Promise<string[]> {
    const sd = this.clients.serviceDiscovery;
    const serviceName = `${name}-gw`;
    const { Service } = await sd.send(new CreateServiceCommand({ Name: serviceName, NamespaceId: this.namespaceId }));
    if (!Service?.Id) throw new Error(`Cloud Map did not report the id of service ${serviceName}`);
    await sd.send(
      new RegisterInstanceCommand({
        ServiceId: Service.Id,
        InstanceId: instance.id,
        Attributes: { AWS_INSTANCE_IPV4: instance.ipv4, AWS_INSTANCE_PORT: String(instance.port) },
      }),
    );
    const appMesh = this.clients.appMesh;
    await appMesh.send(
      new CreateVirtualServiceCommand({
        meshName: MESH,
        virtualServiceName: virtualServiceName(route),
        spec: {},
        tags: tags(routeTags),
      }),
    );
    await appMesh.send(
      new CreateVirtualGatewayCommand({
        meshName: MESH,
        virtualGatewayName: name,
        spec: {
          listeners: [
            {
              portMapping: { port: instance.port, protocol: 'http' },
              // Envoy serves the mesh's certificate; Kong verifies it against the mesh CA.
              tls: {
                mode: 'STRICT',
                certificate: { file: { certificateChain: '/certs/gateway.pem', privateKey: '/certs/gateway.key' } },
              },
            },
          ],
        },
        tags: tags({ 'meshgate:cloudmap-service': `${NAMESPACE}/${serviceName}` }),
      }),
    );
    await appMesh.send(
      new CreateGatewayRouteCommand({
        meshName: MESH,
        virtualGatewayName: name,
        gatewayRouteName: route,
        spec: {
          httpRoute: {
            match: { prefix: `/${route}` },
            action: { target: { virtualService: { virtualServiceName: virtualServiceName(route) } } },
          },
        },
      }),
    );
    return [
      `CreateService ${NAMESPACE}/${serviceName}, RegisterInstance ${instance.id} ${instance.ipv4}:${instance.port}`,
      `CreateVirtualService ${virtualServiceName(route)}${describeTags(routeTags)}`,
      `CreateVirtualGateway ${name} (http:${instance.port}, tls STRICT, meshgate:cloudmap-service=${NAMESPACE}/${serviceName})`,
      `CreateGatewayRoute ${route} (prefix /${route})`,
    ];
  }

  async tagGateway(entries: Record<string, string>): Promise<void> {
    await this.clients.appMesh.send(new TagResourceCommand({ resourceArn: this.gatewayArn, tags: tags(entries) }));
  }

  async untagGateway(keys: string[]): Promise<void> {
    await this.clients.appMesh.send(new UntagResourceCommand({ resourceArn: this.gatewayArn, tagKeys: keys }));
  }
}

export function virtualServiceName(name: string): string {
  return `${name}.${NAMESPACE}`;
}

function describeTags(entries: Record<string, string> = {}): string {
  const list = Object.entries(entries).map(([key, value]) => `${key}=${value}`);
  return list.length ? ` (${list.join(', ')})` : '';
}
