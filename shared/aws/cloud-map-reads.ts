import type {
  DiscoverInstancesRequest,
  DiscoverInstancesResponse,
  GetNamespaceRequest,
  GetNamespaceResponse,
  GetOperationRequest,
  GetOperationResponse,
  GetServiceRequest,
  GetServiceResponse,
  ListNamespacesRequest,
  ListNamespacesResponse,
  ListServicesRequest,
  ListServicesResponse,
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
} from '@aws-sdk/client-servicediscovery';
import { AwsJsonError, json11Request, jsonResult, retryOn } from './json-answers.js';
import { configuredEndpoint, dnsSuffix, type SignedClientOptions, SignedHttp } from './signed-http.js';

/**
 * The seven Cloud Map reads meshgate makes (JSON 1.1: `POST /` with `X-Amz-Target: Route53AutoNaming_v20170314.<Op>`),
 * signed with the SDK's own SigV4 signer over the SDK's own HTTP handler (signed-http.ts) instead of
 * @aws-sdk/client-servicediscovery. A sync sends one DiscoverInstances per exposed service, and the SDK client's
 * per-call middleware (serialization, endpoint rules, retry, user agent, schema deserialization, credentials) was
 * ≈ 0.35 ms of CPU each; see docs/performance.md. Only the types come from the SDK package (no code).
 *
 * Endpoints as the SDK resolves them: `AWS_ENDPOINT_URL_SERVICEDISCOVERY` (the SDK's service id `ServiceDiscovery`),
 * then `AWS_ENDPOINT_URL` (unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), used as is for every operation (as
 * meshgate configured the SDK client: host prefix disabled); otherwise `https://servicediscovery.<region>.<suffix>`,
 * and DiscoverInstances on the data plane's `https://data-servicediscovery.<region>.<suffix>` (the operation's host
 * prefix `data-`). Credentials: those given, or the SDK's default chain. Retries as the SDK's standard mode: 3
 * attempts, on 429, ThrottlingException and RequestLimitExceeded (throttling, longer backoff), 500/502/503/504 and
 * failed connections. Timestamps in the answers (`CreateDate`, `UpdateDate`) are Cloud Map's epoch seconds, not the
 * SDK types' Dates: meshgate reads none of them.
 */
export interface CloudMapReads {
  discoverInstances(input: DiscoverInstancesRequest, signal?: AbortSignal): Promise<DiscoverInstancesResponse>;
  listNamespaces(input: ListNamespacesRequest, signal?: AbortSignal): Promise<ListNamespacesResponse>;
  listServices(input: ListServicesRequest, signal?: AbortSignal): Promise<ListServicesResponse>;
  listTagsForResource(input: ListTagsForResourceRequest, signal?: AbortSignal): Promise<ListTagsForResourceResponse>;
  getService(input: GetServiceRequest, signal?: AbortSignal): Promise<GetServiceResponse>;
  getNamespace(input: GetNamespaceRequest, signal?: AbortSignal): Promise<GetNamespaceResponse>;
  getOperation(input: GetOperationRequest, signal?: AbortSignal): Promise<GetOperationResponse>;
}

/** A Cloud Map error answer (see AwsJsonError): `ServiceNotFound`, `NamespaceNotFound`, `AccessDeniedException`, ... */
export class CloudMapError extends AwsJsonError {}

const TARGET_PREFIX = 'Route53AutoNaming_v20170314';
/** Cloud Map's request quota answers RequestLimitExceeded; AWS's front end answers ThrottlingException. */
const retryKind = retryOn(new Set(['ThrottlingException', 'RequestLimitExceeded']));

/** A read's operation name, as X-Amz-Target names it. */
type Operation = Capitalize<keyof CloudMapReads>;

/**
 * Where each Cloud Map call goes: the configured endpoint for all of them, as is (meshgate's SDK client disabled the
 * host prefix for one); otherwise the regional endpoint, and for DiscoverInstances the same host with the operation's
 * `data-` prefix (Cloud Map's data plane).
 */
export function cloudMapEndpoints(env: NodeJS.ProcessEnv, region: string): (operation: Operation) => URL {
  const configured = configuredEndpoint(env, 'SERVICEDISCOVERY');
  if (configured) return () => configured;
  const regional = `servicediscovery.${region}.${dnsSuffix(region)}`;
  const control = new URL(`https://${regional}`);
  const data = new URL(`https://data-${regional}`);
  return (operation) => (operation === 'DiscoverInstances' ? data : control);
}

export class CloudMapReadClient implements CloudMapReads {
  private readonly http: SignedHttp;
  private readonly endpointOf: (operation: Operation) => URL;

  constructor(options: SignedClientOptions, env: NodeJS.ProcessEnv = process.env) {
    this.http = new SignedHttp({ ...options, service: 'servicediscovery' });
    this.endpointOf = cloudMapEndpoints(env, options.region);
  }

  discoverInstances(input: DiscoverInstancesRequest, signal?: AbortSignal) {
    return this.call<DiscoverInstancesResponse>('DiscoverInstances', input, signal);
  }

  listNamespaces(input: ListNamespacesRequest, signal?: AbortSignal) {
    return this.call<ListNamespacesResponse>('ListNamespaces', input, signal);
  }

  listServices(input: ListServicesRequest, signal?: AbortSignal) {
    return this.call<ListServicesResponse>('ListServices', input, signal);
  }

  listTagsForResource(input: ListTagsForResourceRequest, signal?: AbortSignal) {
    return this.call<ListTagsForResourceResponse>('ListTagsForResource', input, signal);
  }

  getService(input: GetServiceRequest, signal?: AbortSignal) {
    return this.call<GetServiceResponse>('GetService', input, signal);
  }

  getNamespace(input: GetNamespaceRequest, signal?: AbortSignal) {
    return this.call<GetNamespaceResponse>('GetNamespace', input, signal);
  }

  getOperation(input: GetOperationRequest, signal?: AbortSignal) {
    return this.call<GetOperationResponse>('GetOperation', input, signal);
  }

  destroy(): void {
    this.http.destroy();
  }

  private async call<T>(operation: Operation, input: object, signal?: AbortSignal): Promise<T> {
    const request = json11Request(this.endpointOf(operation), `${TARGET_PREFIX}.${operation}`, input);
    const outcome = await this.http.send(request, retryKind, signal);
    return jsonResult<T>(outcome, CloudMapError, { operation });
  }
}
