import type {
  GatewayRouteData,
  GatewayRouteRef,
  TagRef,
  VirtualGatewayData,
  VirtualGatewayRef,
  VirtualServiceData,
  VirtualServiceRef,
} from '@aws-sdk/client-app-mesh';
import { AwsJsonError, jsonResult, retryOn } from './json-answers.js';
import {
  configuredEndpoint,
  dnsSuffix,
  encodeSegment,
  requestTo,
  type SignedClientOptions,
  SignedHttp,
} from './signed-http.js';

/**
 * The seven App Mesh reads meshgate makes (REST-JSON `GET`s under `/v20190125`), signed with the SDK's own SigV4
 * signer over the SDK's own HTTP handler (signed-http.ts) instead of @aws-sdk/client-app-mesh, which was ≈ 48 KB of
 * meshSync's and rollback's bundles for these calls. Only the types come from the SDK package (no code).
 *
 * Endpoints as the SDK resolves them: `AWS_ENDPOINT_URL_APP_MESH`, then `AWS_ENDPOINT_URL` (unless
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), otherwise `https://appmesh.<region>.amazonaws.com`. Credentials: those
 * given, or the SDK's default chain. Retries as the SDK's standard mode: 3 attempts, on 429 and
 * TooManyRequestsException (throttling, longer backoff), 500/502/503/504 and failed connections; not on
 * LimitExceededException, which the SDK retries as throttling although it reports a quota no retry fixes.
 */
export interface AppMeshReads {
  listVirtualGateways(input: MeshPage, signal?: AbortSignal): Promise<Page<'virtualGateways', VirtualGatewayRef>>;
  listVirtualServices(input: MeshPage, signal?: AbortSignal): Promise<Page<'virtualServices', VirtualServiceRef>>;
  listGatewayRoutes(input: GatewayPage, signal?: AbortSignal): Promise<Page<'gatewayRoutes', GatewayRouteRef>>;
  listTagsForResource(input: TagsPage, signal?: AbortSignal): Promise<Page<'tags', TagRef>>;
  // A Describe call's answer is the object itself (its output's HTTP payload).
  describeVirtualGateway(input: GatewayName, signal?: AbortSignal): Promise<VirtualGatewayData>;
  describeGatewayRoute(input: GatewayRouteName, signal?: AbortSignal): Promise<GatewayRouteData>;
  describeVirtualService(input: VirtualServiceName, signal?: AbortSignal): Promise<VirtualServiceData>;
}

interface Paging {
  nextToken?: string;
  /** Items per page (1-100; tags 1-50); App Mesh's default (100) when unset. */
  limit?: number;
}
export interface MeshPage extends Paging {
  meshName: string;
}
export interface GatewayPage extends MeshPage {
  virtualGatewayName: string;
}
export interface TagsPage extends Paging {
  resourceArn: string;
}
export interface GatewayName {
  meshName: string;
  virtualGatewayName: string;
}
export interface GatewayRouteName extends GatewayName {
  gatewayRouteName: string;
}
export interface VirtualServiceName {
  meshName: string;
  virtualServiceName: string;
}
/**
 * One page of a List call. As in every answer here, timestamps (`createdAt`, `lastUpdatedAt`) are App Mesh's epoch
 * seconds, not the SDK types' Dates: meshgate reads none of them.
 */
export type Page<K extends string, T> = { [key in K]?: T[] } & { nextToken?: string };

/** An App Mesh error answer (see AwsJsonError). */
export class AppMeshError extends AwsJsonError {}

const API = '/v20190125';
/** App Mesh's throttling code; LimitExceededException is a quota no retry fixes (see above). */
const retryKind = retryOn(new Set(['TooManyRequestsException']));

export class AppMeshReadClient implements AppMeshReads {
  private readonly http: SignedHttp;
  private readonly endpoint: URL;

  constructor(options: SignedClientOptions, env: NodeJS.ProcessEnv = process.env) {
    this.http = new SignedHttp({ ...options, service: 'appmesh' });
    this.endpoint =
      configuredEndpoint(env, 'APP_MESH') ?? new URL(`https://appmesh.${options.region}.${dnsSuffix(options.region)}`);
  }

  listVirtualGateways({ meshName, ...paging }: MeshPage, signal?: AbortSignal) {
    return this.get<Page<'virtualGateways', VirtualGatewayRef>>(
      ['meshes', meshName, 'virtualGateways'],
      paging,
      signal,
    );
  }

  listVirtualServices({ meshName, ...paging }: MeshPage, signal?: AbortSignal) {
    return this.get<Page<'virtualServices', VirtualServiceRef>>(
      ['meshes', meshName, 'virtualServices'],
      paging,
      signal,
    );
  }

  // App Mesh names a gateway's children under the singular `virtualGateway`.
  listGatewayRoutes({ meshName, virtualGatewayName, ...paging }: GatewayPage, signal?: AbortSignal) {
    return this.get<Page<'gatewayRoutes', GatewayRouteRef>>(
      ['meshes', meshName, 'virtualGateway', virtualGatewayName, 'gatewayRoutes'],
      paging,
      signal,
    );
  }

  listTagsForResource({ resourceArn, ...paging }: TagsPage, signal?: AbortSignal) {
    return this.get<Page<'tags', TagRef>>(['tags'], { resourceArn, ...paging }, signal);
  }

  describeVirtualGateway({ meshName, virtualGatewayName }: GatewayName, signal?: AbortSignal) {
    return this.get<VirtualGatewayData>(['meshes', meshName, 'virtualGateways', virtualGatewayName], {}, signal);
  }

  describeGatewayRoute({ meshName, virtualGatewayName, gatewayRouteName }: GatewayRouteName, signal?: AbortSignal) {
    return this.get<GatewayRouteData>(
      ['meshes', meshName, 'virtualGateway', virtualGatewayName, 'gatewayRoutes', gatewayRouteName],
      {},
      signal,
    );
  }

  describeVirtualService({ meshName, virtualServiceName }: VirtualServiceName, signal?: AbortSignal) {
    return this.get<VirtualServiceData>(['meshes', meshName, 'virtualServices', virtualServiceName], {}, signal);
  }

  destroy(): void {
    this.http.destroy();
  }

  private async get<T>(
    segments: string[],
    parameters: Record<string, string | number | undefined>,
    signal?: AbortSignal,
  ): Promise<T> {
    const path = `${this.endpoint.pathname.replace(/\/$/, '')}${API}/${segments.map(encodeSegment).join('/')}`;
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(parameters)) if (value !== undefined) query[name] = String(value);
    const request = requestTo(this.endpoint, { method: 'GET', path, query, headers: { accept: 'application/json' } });
    const outcome = await this.http.send(request, retryKind, signal);
    return jsonResult<T>(outcome, AppMeshError, { operation: `GET ${path}` });
  }
}
