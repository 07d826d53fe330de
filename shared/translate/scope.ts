import type { MeshSnapshot } from '../sources/model.js';
import { gatewayUpstreamName } from './appmesh.js';

/** Kong upstream of an exposed Cloud Map service; a hostname, so `<service>.<namespace>`. */
export const cloudMapUpstreamName = (service: { namespace: string; name: string }) =>
  `${service.name}.${service.namespace}`;

/**
 * The Kong upstreams whose targets come from a Cloud Map service: those of the gateways discovered through it and
 * its own when it is exposed. A registration there changes only these upstreams' targets.
 */
export function upstreamsFedBy(mesh: MeshSnapshot, cloudMap: { namespace: string; service: string }): string[] {
  const gateways = mesh.gateways.filter(
    ({ discovery }) =>
      discovery?.kind === 'cloudmap' &&
      discovery.namespace === cloudMap.namespace &&
      discovery.service === cloudMap.service,
  );
  const exposed = mesh.cloudMapServices.filter(
    (service) => service.namespace === cloudMap.namespace && service.name === cloudMap.service,
  );
  return [...gateways.map(gatewayUpstreamName), ...exposed.map(cloudMapUpstreamName)].sort();
}
