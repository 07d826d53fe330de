import type { Upstream } from '../kong/entities.js';
import type { CloudMapService } from '../sources/model.js';
import { type DesiredState, reject, sortedBy } from './desired-state.js';
import { addTargets, exposedServiceEntities, type TranslateOptions, upstreamEntity } from './exposure.js';
import { checkName, checkPath, checkRouteHost, checkUpstreamName } from './kong-values.js';
import {
  authOf,
  HOSTS_TAG,
  isExposed,
  listOf,
  PATHS_TAG,
  protocolOf,
  STRIP_PATH_TAG,
  stripPathOf,
  type TagLayer,
} from './meshgate-tags.js';
import { cloudMapUpstreamName } from './scope.js';

export const cloudMapObject = (service: CloudMapService) => `cloudmap:${service.namespace}/${service.name}`;

/**
 * An exposed Cloud Map service is reached directly: its instances are the targets of upstream
 * `<service>.<namespace>` (a hostname), and the service, route and upstream share that name. Its tags say how it
 * is routed.
 */
export function translateCloudMap(
  state: DesiredState,
  services: readonly CloudMapService[],
  options: TranslateOptions,
): void {
  for (const cloudMapService of sortedBy(services, cloudMapObject)) {
    const object = cloudMapObject(cloudMapService);
    let upstream: Upstream | undefined;
    const added = state.add(object, () => {
      const layers: TagLayer[] = [{ label: `Cloud Map service '${cloudMapService.name}'`, tags: cloudMapService.tags }];
      if (!isExposed(layers)) return [];
      const name = checkName(checkUpstreamName(cloudMapUpstreamName(cloudMapService), 'name'), 'name');
      const protocol = protocolOf(layers);
      const grpc = protocol === 'grpc' || protocol === 'grpcs';
      const stripPath = stripPathOf(layers);
      if (grpc && stripPath) {
        reject(
          `tags.${STRIP_PATH_TAG}`,
          `${STRIP_PATH_TAG}='true' is not allowed for grpc; Kong never strips grpc paths`,
        );
      }
      const paths = listOf(layers, PATHS_TAG);
      const hosts = listOf(layers, HOSTS_TAG);
      const pending = upstreamEntity(options, 'cloudmap', name);
      upstream = pending.entity;
      return [
        pending,
        ...exposedServiceEntities(options, {
          name,
          source: 'cloudmap',
          // Kong takes the port from the target; the service's own port is unused with an upstream.
          service: { host: name, protocol },
          route: {
            protocols: grpc ? ['grpc', 'grpcs'] : ['http', 'https'],
            paths: paths
              ? paths.items.map((path) => checkPath(path, paths.field))
              : [checkPath(`/${cloudMapService.name}`, 'name')],
            hosts: hosts ? hosts.items.map((host) => checkRouteHost(host, hosts.field)) : null,
            strip_path: stripPath ?? !grpc,
          },
          auth: authOf(layers),
        }),
      ];
    });
    if (added && upstream !== undefined) {
      addTargets(state, options, 'cloudmap', upstream, object, cloudMapService.endpoints);
    }
  }
}
