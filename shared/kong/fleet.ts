import type { CloudMapReads } from '../aws/cloud-map-reads.js';
import type { Config } from '../config/index.js';
import { KongError } from './errors.js';

/**
 * The DB-less Kong nodes to configure: listed in `KONG_DBLESS_NODES` (default: `KONG_ADMIN_URL` alone), or the
 * healthy instances of the Cloud Map service `KONG_DBLESS_CLOUDMAP_SERVICE` (`namespace/service`, as ECS service
 * discovery registers Kong tasks), asked again before every flush so replaced tasks are followed. A discovered node's
 * Admin API is `<scheme of KONG_ADMIN_URL>://<ip>:<AWS_INSTANCE_PORT or KONG_ADMIN_URL's port>`.
 */
export function dblessNodes(
  config: Pick<Config, 'KONG_ADMIN_URL' | 'KONG_DBLESS_NODES' | 'KONG_DBLESS_CLOUDMAP_SERVICE'>,
  cloudMap?: CloudMapReads,
): string[] | (() => Promise<string[]>) {
  const service = config.KONG_DBLESS_CLOUDMAP_SERVICE;
  if (!service) return config.KONG_DBLESS_NODES.length ? config.KONG_DBLESS_NODES : [config.KONG_ADMIN_URL];
  if (!cloudMap)
    throw new KongError('KONG_DBLESS_CLOUDMAP_SERVICE needs a Cloud Map client', { method: 'GET', path: '/config' });
  const [namespace = '', name = ''] = service.split('/');
  const base = new URL(config.KONG_ADMIN_URL);
  const defaultPort = Number(base.port || (base.protocol === 'https:' ? 443 : 80));
  return async () => {
    // Imported at the first discovery: a function that never discovers nodes (rotateKeys) loads no Cloud Map client.
    const { discoverEndpoints } = await import('../sources/cloudmap/endpoints.js');
    const { endpoints } = await discoverEndpoints(cloudMap, namespace, name, defaultPort);
    return endpoints
      .filter((endpoint) => endpoint.healthy)
      .map(
        (endpoint) =>
          `${base.protocol}//${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`,
      )
      .sort();
  };
}
