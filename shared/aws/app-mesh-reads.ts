import type {
  GatewayRouteData,
  GatewayRouteRef,
  TagRef,
  VirtualGatewayData,
  VirtualGatewayRef,
  VirtualServiceData,
  VirtualServiceRef,
} from '@aws-sdk/client-app-mesh';
import { MeshgateError } from '../errors.js';
import {
  type Answer,
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

/**
 * An App Mesh error answer: `name` is App Mesh's error code (`NotFoundException`, `ForbiddenException`,
 * `TooManyRequestsException`, ...) and `$metadata` the HTTP status and attempts, as on the SDK's errors, so that
 * callers read both alike. A call that got no answer throws the connection's own error instead.
 */
export class AppMeshError extends MeshgateError {
  readonly $metadata: { httpStatusCode: number; attempts: number; requestId?: string };

  constructor(code: string, answer: Answer, attempts: number, message: string, context: Record<string, unknown>) {
    const requestId = answer.headers['x-amzn-requestid'];
    super(message, {
      context: { code, status: answer.status, attempts, ...(requestId ? { requestId } : {}), ...context },
    });
    this.name = code;
    this.$metadata = { httpStatusCode: answer.status, attempts, ...(requestId ? { requestId } : {}) };
  }
}

const API = '/v20190125';
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);

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
    if ('failure' in outcome) throw outcome.failure;
    const { answer, attempts } = outcome;
    if (answer.status < 300) return (answer.body ? JSON.parse(answer.body) : {}) as T;
    throw appMeshFailure(answer, attempts, { operation: `GET ${path}` });
  }
}

function retryKind(answer: Answer): 'throttled' | 'transient' | false {
  if (answer.status === 429 || errorCode(answer) === 'TooManyRequestsException') return 'throttled';
  return TRANSIENT_STATUS.has(answer.status) && 'transient';
}

/**
 * The error's code as the SDK reads a REST-JSON error: the `x-amzn-ErrorType` header, else the body's `code` or
 * `__type`, cut at `:` or `,` and taken after any `#` (`aws.protocols#NotFoundException:http://…`).
 */
function errorCode(answer: Answer): string | undefined {
  const raw = answer.headers['x-amzn-errortype'] ?? errorBody(answer)?.code ?? errorBody(answer)?.__type;
  if (typeof raw !== 'string' || raw === '') return undefined;
  const name = raw.split(/[:,]/)[0] as string;
  return name.includes('#') ? name.slice(name.lastIndexOf('#') + 1) : name;
}

function errorBody(
  answer: Answer,
): { code?: unknown; __type?: unknown; message?: unknown; Message?: unknown } | undefined {
  try {
    const body: unknown = JSON.parse(answer.body);
    return typeof body === 'object' && body !== null ? body : undefined;
  } catch {
    return undefined;
  }
}

function appMeshFailure(answer: Answer, attempts: number, context: Record<string, unknown>): AppMeshError {
  const body = errorBody(answer);
  const message = body?.message ?? body?.Message;
  return new AppMeshError(
    errorCode(answer) ?? `Http${answer.status}`,
    answer,
    attempts,
    typeof message === 'string' ? message : 'UnknownError',
    context,
  );
}
