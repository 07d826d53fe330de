import type { GatewayRouteData, TagRef, VirtualGatewayData } from '@aws-sdk/client-app-mesh';
import * as z from '../../zod.js';
import { SourceError } from '../errors.js';
import { type Discovery, type Gateway, type GatewayRoute, GatewayRouteSchema, GatewaySchema } from '../model.js';

type Tags = Gateway['tags'];
/** A gateway as App Mesh describes it; its instances come from the discovery tags. */
export type GatewayWithoutInstances = Omit<Gateway, 'discovery' | 'endpoints'>;
const GatewayWithoutInstancesSchema = z.omit(GatewaySchema, { discovery: true, endpoints: true });

/** Tag naming the Cloud Map service (`<namespaceName>/<serviceName>`) that holds a gateway's instances. */
export const CLOUDMAP_SERVICE_TAG = 'meshgate:cloudmap-service';
/** Tag naming the DNS endpoint (`<hostname>[:<port>]`) in front of a gateway's instances. */
export const DNS_ENDPOINT_TAG = 'meshgate:dns-endpoint';

export function toTags(tagRefs: readonly TagRef[]): Tags {
  return Object.fromEntries(tagRefs.map((tag) => [tag.key ?? '', tag.value ?? '']));
}

/** Validates a normalized object against its schema; the schema also drops SDK-only members such as `$unknown`. */
function conform<T>(schema: z.ZodMiniType<T>, candidate: unknown, what: string): T {
  const result = schema.safeParse(candidate);
  if (!result.success) {
    throw new SourceError(
      `${what} does not fit the mesh model: ${z.prettifyError(result.error).replaceAll('\n', ' ')}`,
    );
  }
  return result.data;
}

export function toGateway(data: VirtualGatewayData, tags: Tags): GatewayWithoutInstances {
  const candidate = {
    mesh: data.meshName,
    name: data.virtualGatewayName,
    arn: data.metadata?.arn,
    version: data.metadata?.version,
    listeners: (data.spec?.listeners ?? []).map((listener) => ({
      port: listener.portMapping?.port,
      protocol: listener.portMapping?.protocol,
      healthCheck: listener.healthCheck,
      tlsMode: listener.tls?.mode,
    })),
    tags,
  };
  return conform(GatewayWithoutInstancesSchema, candidate, 'virtual gateway');
}

const ROUTE_KINDS = [
  ['httpRoute', 'http'],
  ['http2Route', 'http2'],
  ['grpcRoute', 'grpc'],
] as const;

export function toGatewayRoute(data: GatewayRouteData, tags: Tags): GatewayRoute {
  const spec = data.spec ?? {};
  const kind = ROUTE_KINDS.find(([member]) => spec[member] !== undefined);
  if (!kind) throw new SourceError('gateway route spec has none of httpRoute, http2Route, grpcRoute');
  const [member, protocol] = kind;
  const route = spec[member];
  const target = route?.action?.target;
  const candidate = {
    mesh: data.meshName,
    gateway: data.virtualGatewayName,
    name: data.gatewayRouteName,
    arn: data.metadata?.arn,
    version: data.metadata?.version,
    protocol,
    priority: spec.priority,
    match: route?.match,
    target: { virtualService: target?.virtualService?.virtualServiceName, port: target?.port },
    rewrite: route?.action?.rewrite,
    tags,
  };
  return conform(GatewayRouteSchema, candidate, 'gateway route');
}

const HOST_AND_PORT = /^(?<hostname>\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+)(?::(?<port>\d{1,5}))?$/;

/**
 * Where a gateway's instances are, from its tags: a Cloud Map service, a DNS endpoint, or nowhere (undefined).
 * Throws a SourceError naming the tag when its value cannot be used.
 */
export function discoveryFromTags(tags: Tags): Discovery | undefined {
  const cloudMap = tags[CLOUDMAP_SERVICE_TAG];
  const dns = tags[DNS_ENDPOINT_TAG];
  if (cloudMap !== undefined && dns !== undefined) {
    throw new SourceError(`tags ${CLOUDMAP_SERVICE_TAG} and ${DNS_ENDPOINT_TAG} are both set; keep one`);
  }
  if (cloudMap !== undefined) {
    const [namespace, service, ...rest] = cloudMap.split('/');
    if (!namespace || !service || rest.length > 0) {
      throw new SourceError(
        `tag ${CLOUDMAP_SERVICE_TAG}='${cloudMap}' is not <namespaceName>/<serviceName> (e.g. apps.local/ingress)`,
      );
    }
    return { kind: 'cloudmap', namespace, service };
  }
  if (dns !== undefined) {
    const match = HOST_AND_PORT.exec(dns.trim());
    const hostname = match?.groups?.hostname;
    const port = match?.groups?.port === undefined ? undefined : Number(match.groups.port);
    if (!hostname || (port !== undefined && (port < 1 || port > 65535))) {
      throw new SourceError(
        `tag ${DNS_ENDPOINT_TAG}='${dns}' is not <hostname>[:<port>] (e.g. ingress.example.com:8443)`,
      );
    }
    return port === undefined ? { kind: 'dns', hostname } : { kind: 'dns', hostname, port };
  }
  return undefined;
}
