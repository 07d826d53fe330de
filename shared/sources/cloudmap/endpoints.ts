import type { HttpInstanceSummary } from '@aws-sdk/client-servicediscovery';
import type { CloudMapReads } from '../../aws/cloud-map-reads.js';
import { readAws } from '../errors.js';
import type { Endpoint } from '../model.js';

/** DiscoverInstances does not paginate; this is its maximum page. */
const DISCOVER_MAX_RESULTS = 1000;

/** Instances found for one Cloud Map service, and why any instance was left out. */
export interface DiscoveredEndpoints {
  endpoints: Endpoint[];
  /** One reason per instance that could not become an endpoint. */
  skipped: string[];
}

function parsePort(value: string): number | undefined {
  if (!/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * Maps a Cloud Map instance to an endpoint: host from the IPv4, IPv6 or CNAME attribute, port from AWS_INSTANCE_PORT
 * or `defaultPort`, healthy unless Cloud Map says UNHEALTHY (UNKNOWN means no health check, so it counts). Returns
 * the reason instead when the instance is unusable.
 */
export function toEndpoint(instance: HttpInstanceSummary, defaultPort: number | undefined): Endpoint | string {
  const id = instance.InstanceId ?? '(no id)';
  const attributes = instance.Attributes ?? {};
  const host = attributes.AWS_INSTANCE_IPV4 ?? attributes.AWS_INSTANCE_IPV6 ?? attributes.AWS_INSTANCE_CNAME;
  if (!host) return `instance '${id}' has none of AWS_INSTANCE_IPV4, AWS_INSTANCE_IPV6, AWS_INSTANCE_CNAME`;
  const portAttribute = attributes.AWS_INSTANCE_PORT;
  const port = portAttribute === undefined ? defaultPort : parsePort(portAttribute);
  if (port === undefined) {
    return portAttribute === undefined
      ? `instance '${id}' has no AWS_INSTANCE_PORT and there is no listener port to fall back on`
      : `instance '${id}' has AWS_INSTANCE_PORT '${portAttribute}', which is not a port (1-65535)`;
  }
  return { instanceId: id, host, port, healthy: instance.HealthStatus !== 'UNHEALTHY', attributes: { ...attributes } };
}

/** Every instance (healthy or not) of `namespace/service`, as endpoints. */
export async function discoverEndpoints(
  client: CloudMapReads,
  namespace: string,
  service: string,
  defaultPort: number | undefined,
  signal?: AbortSignal,
): Promise<DiscoveredEndpoints> {
  const { Instances = [] } = await readAws(
    `Cloud Map DiscoverInstances ${namespace}/${service}`,
    () =>
      client.discoverInstances(
        { NamespaceName: namespace, ServiceName: service, HealthStatus: 'ALL', MaxResults: DISCOVER_MAX_RESULTS },
        signal,
      ),
    signal,
  );
  const endpoints: Endpoint[] = [];
  const skipped: string[] = [];
  for (const instance of Instances) {
    const result = toEndpoint(instance, defaultPort);
    if (typeof result === 'string') skipped.push(result);
    else endpoints.push(result);
  }
  return { endpoints, skipped };
}
