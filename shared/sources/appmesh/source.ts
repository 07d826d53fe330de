import type { GatewayRouteRef, VirtualGatewayRef, VirtualServiceRef } from '@aws-sdk/client-app-mesh';
import type { AppMeshReads } from '../../aws/app-mesh-reads.js';
import type { CloudMapReads } from '../../aws/cloud-map-reads.js';
import { mapLimit, paginate } from '../../concurrency.js';
import { discoverEndpoints } from '../cloudmap/endpoints.js';
import { ReadFailures, readAws } from '../errors.js';
import type { CloudMapServiceRef, Gateway, GatewayRoute, MeshSnapshot, MeshSource, VirtualService } from '../model.js';
import { discoveryFromTags, type GatewayWithoutInstances, toGateway, toGatewayRoute, toTags } from './normalize.js';

export interface AppMeshSourceOptions {
  meshNames: readonly string[];
  appMesh: AppMeshReads;
  /** Reads the instances of gateways tagged with a Cloud Map service. */
  cloudMap: CloudMapReads;
  /** Most objects read at once (each object's calls run one after another); App Mesh publishes no rate quota. */
  concurrency?: number;
  /** Items per List call (1-100; tags at most 50); App Mesh's default (100) when unset. */
  pageSize?: number;
}

export const APP_MESH_SOURCE = 'appmesh';
const DEFAULT_CONCURRENCY = 5;
const MAX_TAGS_PAGE = 50;

/** Failure object names, in App Mesh's ARN resource form. */
const gatewayObject = (ref: { meshName?: string; virtualGatewayName?: string }) =>
  `mesh/${ref.meshName}/virtualGateway/${ref.virtualGatewayName}`;
const routeObject = (ref: GatewayRouteRef) => `${gatewayObject(ref)}/gatewayRoute/${ref.gatewayRouteName}`;
const serviceObject = (ref: VirtualServiceRef) => `mesh/${ref.meshName}/virtualService/${ref.virtualServiceName}`;

/** Whether a gateway's tags name this Cloud Map service for its instances (a malformed tag names none). */
function isFedBy(gateway: GatewayWithoutInstances, cloudMap: CloudMapServiceRef): boolean {
  try {
    const discovery = discoveryFromTags(gateway.tags);
    return (
      discovery?.kind === 'cloudmap' &&
      discovery.namespace === cloudMap.namespace &&
      discovery.service === cloudMap.service
    );
  } catch {
    return false;
  }
}

/**
 * Reads the meshes named in MESH_NAMES: their active virtual gateways (with instances from the Cloud Map service or
 * DNS endpoint their tags name), gateway routes and virtual services, each with its tags.
 */
export class AppMeshSource implements MeshSource {
  readonly name = APP_MESH_SOURCE;

  constructor(private readonly options: AppMeshSourceOptions) {}

  read(signal?: AbortSignal): Promise<MeshSnapshot> {
    return new AppMeshRead(this.options, signal).run();
  }

  /** The gateways whose instances come from this Cloud Map service, with those instances (no routes). */
  readFedBy(cloudMap: CloudMapServiceRef, signal?: AbortSignal): Promise<MeshSnapshot> {
    return new AppMeshRead(this.options, signal).runFedBy(cloudMap);
  }
}

/** One read of the meshes; collects the failures of objects it could not read. */
class AppMeshRead {
  private readonly failures: ReadFailures;
  private readonly appMesh: AppMeshReads;
  private readonly limit: number;

  constructor(
    private readonly options: AppMeshSourceOptions,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.appMesh = options.appMesh;
    this.limit = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.failures = new ReadFailures(APP_MESH_SOURCE, signal);
  }

  async run(): Promise<MeshSnapshot> {
    // Phases keep at most `limit` calls in flight: lists per mesh, then gateways, then routes and services.
    const meshes = await mapLimit(this.options.meshNames, this.limit, (mesh) =>
      this.failures.attempt(`mesh/${mesh}`, () => this.listMesh(mesh)),
    );
    const gatewayReads = await mapLimit(
      meshes.flatMap((mesh) => mesh?.gateways ?? []),
      this.limit,
      (ref) => this.failures.attempt(gatewayObject(ref), () => this.readGateway(ref)),
    );
    const gatewayRoutes = await mapLimit(
      gatewayReads.flatMap((read) => read?.routes ?? []),
      this.limit,
      (ref) => this.failures.attempt(routeObject(ref), () => this.readGatewayRoute(ref)),
    );
    const virtualServices = await mapLimit(
      meshes.flatMap((mesh) => mesh?.virtualServices ?? []),
      this.limit,
      (ref) => this.failures.attempt(serviceObject(ref), () => this.readVirtualService(ref)),
    );
    return {
      ...this.snapshot(gatewayReads.flatMap((read) => (read ? [read.gateway] : []))),
      gatewayRoutes: gatewayRoutes.filter((route): route is GatewayRoute => route !== undefined),
      virtualServices: virtualServices.filter((service): service is VirtualService => service !== undefined),
    };
  }

  async runFedBy(cloudMap: CloudMapServiceRef): Promise<MeshSnapshot> {
    const perMesh = await mapLimit(this.options.meshNames, this.limit, (mesh) =>
      this.failures.attempt(`mesh/${mesh}`, () => this.listGateways(mesh)),
    );
    const gateways = await mapLimit(
      perMesh.flatMap((refs) => refs ?? []),
      this.limit,
      (ref) =>
        this.failures.attempt(gatewayObject(ref), async () => {
          const gateway = await this.describeGateway(ref);
          if (!gateway || !isFedBy(gateway, cloudMap)) return undefined;
          return { ...gateway, ...(await this.instances(gateway, gatewayObject(ref))) };
        }),
    );
    return this.snapshot(gateways.filter((gateway): gateway is Gateway => gateway !== undefined));
  }

  private snapshot(gateways: Gateway[]): MeshSnapshot {
    return { gateways, gatewayRoutes: [], virtualServices: [], cloudMapServices: [], failures: this.failures.failures };
  }

  /** One App Mesh call, named after its operation and object in any error. */
  private call<T>(operation: string, object: string, request: (signal?: AbortSignal) => Promise<T>): Promise<T> {
    return readAws(`App Mesh ${operation} ${object}`, () => request(this.signal), this.signal);
  }

  private async listMesh(mesh: string) {
    // One after the other: the mesh's share of the in-flight limit is one call.
    const gateways = await this.listGateways(mesh);
    const virtualServices = await this.listVirtualServices(mesh);
    return { gateways, virtualServices };
  }

  private listGateways(mesh: string): Promise<VirtualGatewayRef[]> {
    return paginate<VirtualGatewayRef>(async (nextToken) => {
      const page = await this.call('ListVirtualGateways', `mesh/${mesh}`, (abortSignal) =>
        this.appMesh.listVirtualGateways({ meshName: mesh, nextToken, limit: this.options.pageSize }, abortSignal),
      );
      return { items: page.virtualGateways, nextToken: page.nextToken };
    });
  }

  private listVirtualServices(mesh: string): Promise<VirtualServiceRef[]> {
    return paginate<VirtualServiceRef>(async (nextToken) => {
      const page = await this.call('ListVirtualServices', `mesh/${mesh}`, (abortSignal) =>
        this.appMesh.listVirtualServices({ meshName: mesh, nextToken, limit: this.options.pageSize }, abortSignal),
      );
      return { items: page.virtualServices, nextToken: page.nextToken };
    });
  }

  private tags(arn: string, object: string) {
    const limit = this.options.pageSize === undefined ? undefined : Math.min(this.options.pageSize, MAX_TAGS_PAGE);
    return paginate(async (nextToken) => {
      const page = await this.call('ListTagsForResource', object, (abortSignal) =>
        this.appMesh.listTagsForResource({ resourceArn: arn, nextToken, limit }, abortSignal),
      );
      return { items: page.tags, nextToken: page.nextToken };
    }).then(toTags);
  }

  /** An active gateway with its tags (no instances yet), or undefined when it is not active. */
  private async describeGateway(ref: VirtualGatewayRef): Promise<GatewayWithoutInstances | undefined> {
    const meshName = ref.meshName ?? '';
    const virtualGatewayName = ref.virtualGatewayName ?? '';
    const object = gatewayObject(ref);
    const virtualGateway = await this.call('DescribeVirtualGateway', object, (abortSignal) =>
      this.appMesh.describeVirtualGateway({ meshName, virtualGatewayName }, abortSignal),
    );
    if (virtualGateway?.status?.status !== 'ACTIVE') return undefined;
    return toGateway(virtualGateway, await this.tags(virtualGateway.metadata?.arn ?? ref.arn ?? '', object));
  }

  private async readGateway(
    ref: VirtualGatewayRef,
  ): Promise<{ gateway: Gateway; routes: GatewayRouteRef[] } | undefined> {
    const gateway = await this.describeGateway(ref);
    if (!gateway) return undefined;
    const { mesh: meshName, name: virtualGatewayName } = gateway;
    const object = gatewayObject(ref);
    const routes = await paginate<GatewayRouteRef>(async (nextToken) => {
      const page = await this.call('ListGatewayRoutes', object, (abortSignal) =>
        this.appMesh.listGatewayRoutes(
          { meshName, virtualGatewayName, nextToken, limit: this.options.pageSize },
          abortSignal,
        ),
      );
      return { items: page.gatewayRoutes, nextToken: page.nextToken };
    });
    return { gateway: { ...gateway, ...(await this.instances(gateway, object)) }, routes };
  }

  /**
   * The gateway's instances, from the Cloud Map service or DNS endpoint its tags name. A problem here is recorded
   * against the gateway, which stays in the snapshot (without the instances that could not be read).
   */
  private async instances(
    gateway: GatewayWithoutInstances,
    object: string,
  ): Promise<Pick<Gateway, 'discovery' | 'endpoints'>> {
    let discovery: Gateway['discovery'];
    try {
      discovery = discoveryFromTags(gateway.tags);
    } catch (error) {
      this.failures.record(object, error);
      return { endpoints: [] };
    }
    const listenerPort = gateway.listeners[0]?.port;
    if (discovery === undefined) return { endpoints: [] };
    if (discovery.kind === 'dns') {
      const port = discovery.port ?? listenerPort;
      if (port === undefined) {
        this.failures.record(
          object,
          `DNS endpoint '${discovery.hostname}' has no port and the gateway has no listener`,
        );
        return { discovery, endpoints: [] };
      }
      const endpoint = {
        instanceId: discovery.hostname,
        host: discovery.hostname,
        port,
        healthy: true,
        attributes: {},
      };
      return { discovery, endpoints: [endpoint] };
    }
    try {
      const found = await discoverEndpoints(
        this.options.cloudMap,
        discovery.namespace,
        discovery.service,
        listenerPort,
        this.signal,
      );
      for (const reason of found.skipped) {
        this.failures.record(object, `Cloud Map ${discovery.namespace}/${discovery.service}: ${reason}`);
      }
      return { discovery, endpoints: found.endpoints };
    } catch (error) {
      this.failures.record(object, error);
      return { discovery, endpoints: [] };
    }
  }

  private async readGatewayRoute(ref: GatewayRouteRef): Promise<GatewayRoute | undefined> {
    const meshName = ref.meshName ?? '';
    const virtualGatewayName = ref.virtualGatewayName ?? '';
    const gatewayRouteName = ref.gatewayRouteName ?? '';
    const object = routeObject(ref);
    const gatewayRoute = await this.call('DescribeGatewayRoute', object, (abortSignal) =>
      this.appMesh.describeGatewayRoute({ meshName, virtualGatewayName, gatewayRouteName }, abortSignal),
    );
    if (gatewayRoute?.status?.status !== 'ACTIVE') return undefined;
    return toGatewayRoute(gatewayRoute, await this.tags(gatewayRoute.metadata?.arn ?? ref.arn ?? '', object));
  }

  private async readVirtualService(ref: VirtualServiceRef): Promise<VirtualService | undefined> {
    const meshName = ref.meshName ?? '';
    const virtualServiceName = ref.virtualServiceName ?? '';
    const object = serviceObject(ref);
    const virtualService = await this.call('DescribeVirtualService', object, (abortSignal) =>
      this.appMesh.describeVirtualService({ meshName, virtualServiceName }, abortSignal),
    );
    if (virtualService?.status?.status !== 'ACTIVE') return undefined;
    const arn = virtualService.metadata?.arn ?? ref.arn ?? '';
    return { mesh: meshName, name: virtualServiceName, arn, tags: await this.tags(arn, object) };
  }
}
