import * as z from '../zod.js';

/**
 * The normalized mesh snapshot every source yields. Shapes follow App Mesh's model (2019-01-25) where App Mesh has
 * one, so translation reads familiar names; Cloud Map services exposed on their own sit beside them.
 */

export const TagsSchema = z.record(z.string(), z.string());

/** One reachable instance of a gateway or of a Cloud Map service. */
export const EndpointSchema = z.object({
  instanceId: z.string(),
  host: z.string(),
  port: z.int(),
  healthy: z.boolean(),
  attributes: z.record(z.string(), z.string()),
});

export const HealthCheckSchema = z.object({
  protocol: z.enum(['http', 'http2', 'grpc', 'tcp']),
  path: z.optional(z.string()),
  port: z.optional(z.int()),
  intervalMillis: z.int(),
  timeoutMillis: z.int(),
  healthyThreshold: z.int(),
  unhealthyThreshold: z.int(),
});

export const ListenerSchema = z.object({
  port: z.int(),
  protocol: z.enum(['http', 'http2', 'grpc']),
  healthCheck: z.optional(HealthCheckSchema),
  /** The listener's TLS mode (App Mesh `listener.tls.mode`); absent means plain text. */
  tlsMode: z.optional(z.enum(['STRICT', 'PERMISSIVE', 'DISABLED'])),
});

/** Where a gateway's instances are found: a Cloud Map service or a DNS name, as the gateway's tags say. */
export const DiscoverySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('cloudmap'), namespace: z.string(), service: z.string() }),
  z.object({ kind: z.literal('dns'), hostname: z.string(), port: z.optional(z.int()) }),
]);

export const GatewaySchema = z.object({
  mesh: z.string(),
  name: z.string(),
  arn: z.string(),
  version: z.int(),
  listeners: z.array(ListenerSchema),
  tags: TagsSchema,
  discovery: z.optional(DiscoverySchema),
  /** Healthy and unhealthy instances found through `discovery`; empty when there is none. */
  endpoints: z.array(EndpointSchema),
});

const StringMatchSchema = z.object({
  exact: z.optional(z.string()),
  prefix: z.optional(z.string()),
  suffix: z.optional(z.string()),
  regex: z.optional(z.string()),
  range: z.optional(z.object({ start: z.number(), end: z.number() })),
});

export const HeaderMatchSchema = z.object({
  name: z.string(),
  invert: z.optional(z.boolean()),
  match: z.optional(StringMatchSchema),
});

/** App Mesh HttpGatewayRouteMatch / GrpcGatewayRouteMatch, merged (grpc uses serviceName and metadata). */
export const RouteMatchSchema = z.object({
  prefix: z.optional(z.string()),
  path: z.optional(z.object({ exact: z.optional(z.string()), regex: z.optional(z.string()) })),
  hostname: z.optional(z.object({ exact: z.optional(z.string()), suffix: z.optional(z.string()) })),
  method: z.optional(z.string()),
  headers: z.optional(z.array(HeaderMatchSchema)),
  queryParameters: z.optional(
    z.array(z.object({ name: z.string(), match: z.optional(z.object({ exact: z.string() })) })),
  ),
  serviceName: z.optional(z.string()),
  metadata: z.optional(z.array(HeaderMatchSchema)),
  port: z.optional(z.int()),
});

export const GatewayRouteSchema = z.object({
  mesh: z.string(),
  gateway: z.string(),
  name: z.string(),
  arn: z.string(),
  version: z.int(),
  protocol: z.enum(['http', 'http2', 'grpc']),
  priority: z.optional(z.int()),
  match: RouteMatchSchema,
  target: z.object({ virtualService: z.string(), port: z.optional(z.int()) }),
  rewrite: z.optional(z.record(z.string(), z.unknown())),
  tags: TagsSchema,
});

export const VirtualServiceSchema = z.object({
  mesh: z.string(),
  name: z.string(),
  arn: z.string(),
  tags: TagsSchema,
});

/** A Cloud Map service opted in to exposure (tag or attribute `meshgate:expose`). */
export const CloudMapServiceSchema = z.object({
  id: z.string(),
  arn: z.string(),
  namespace: z.string(),
  name: z.string(),
  tags: TagsSchema,
  endpoints: z.array(EndpointSchema),
});

/** An object a source could not read or normalize; it is left out of the snapshot and reported. */
export const ReadFailureSchema = z.object({
  source: z.string(),
  object: z.string(),
  reason: z.string(),
  /** Confirmed absent by a successful read: what it had in Kong is removed, not kept. */
  absent: z.optional(z.literal(true)),
});

export const MeshSnapshotSchema = z.object({
  gateways: z.array(GatewaySchema),
  gatewayRoutes: z.array(GatewayRouteSchema),
  virtualServices: z.array(VirtualServiceSchema),
  cloudMapServices: z.array(CloudMapServiceSchema),
  failures: z.array(ReadFailureSchema),
});

export type Endpoint = z.infer<typeof EndpointSchema>;
export type HealthCheck = z.infer<typeof HealthCheckSchema>;
export type Listener = z.infer<typeof ListenerSchema>;
export type Discovery = z.infer<typeof DiscoverySchema>;
export type Gateway = z.infer<typeof GatewaySchema>;
export type HeaderMatch = z.infer<typeof HeaderMatchSchema>;
export type RouteMatch = z.infer<typeof RouteMatchSchema>;
export type GatewayRoute = z.infer<typeof GatewayRouteSchema>;
export type VirtualService = z.infer<typeof VirtualServiceSchema>;
export type CloudMapService = z.infer<typeof CloudMapServiceSchema>;
export type ReadFailure = z.infer<typeof ReadFailureSchema>;
export type MeshSnapshot = z.infer<typeof MeshSnapshotSchema>;

export function emptySnapshot(): MeshSnapshot {
  return { gateways: [], gatewayRoutes: [], virtualServices: [], cloudMapServices: [], failures: [] };
}

/** Combines the snapshots of several sources into one. */
export function mergeSnapshots(snapshots: MeshSnapshot[]): MeshSnapshot {
  const merged = emptySnapshot();
  for (const snapshot of snapshots) {
    merged.gateways.push(...snapshot.gateways);
    merged.gatewayRoutes.push(...snapshot.gatewayRoutes);
    merged.virtualServices.push(...snapshot.virtualServices);
    merged.cloudMapServices.push(...snapshot.cloudMapServices);
    merged.failures.push(...snapshot.failures);
  }
  return merged;
}

/** A Cloud Map service, as a registration event names it (by id) and meshgate resolves it. */
export interface CloudMapServiceRef {
  id: string;
  arn: string;
  namespace: string;
  service: string;
}

/** A place the mesh is read from. A new source is a new folder implementing this. */
export interface MeshSource {
  readonly name: string;
  /** Reads the whole current mesh. Unreadable objects become `failures`; an unreachable service throws SourceError. */
  read(signal?: AbortSignal): Promise<MeshSnapshot>;
  /**
   * Reads only what one Cloud Map service feeds: the objects whose Kong upstream takes its targets from it, with
   * those targets (gateways without their routes; the service itself when exposed). A registration there changes
   * nothing else. Optional: without it the whole mesh is read.
   */
  readFedBy?(cloudMap: CloudMapServiceRef, signal?: AbortSignal): Promise<MeshSnapshot>;
}
