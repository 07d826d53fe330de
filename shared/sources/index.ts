import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { AppMeshReads } from '../aws/app-mesh-reads.js';
import type { CloudMapReads } from '../aws/cloud-map-reads.js';
import type { Config } from '../config/index.js';
import { errorMessage } from '../errors.js';
import { CloudMapSource } from './cloudmap/index.js';
import { SourceError } from './errors.js';
import { type CloudMapServiceRef, emptySnapshot, type MeshSnapshot, type MeshSource, mergeSnapshots } from './model.js';

export { resolveCloudMapService } from './cloudmap/index.js';

/** The App Mesh source's name (as `AppMeshSource.name`), here so that naming it does not load that source. */
const APP_MESH_SOURCE = 'appmesh';

export { SourceError } from './errors.js';

/** The clients the sources read through. */
export interface SourceClients {
  /** meshgate's Cloud Map reads (not the SDK's client: see cloud-map-reads.ts). */
  cloudMapReads: CloudMapReads;
  tagging: ResourceGroupsTaggingAPIClient;
  /** Called only when MESH_NAMES names meshes, at the first read: the App Mesh client is created then. */
  appMesh: () => AppMeshReads;
}

/** The sources the configuration asks for: App Mesh when MESH_NAMES names meshes, Cloud Map always. */
export function createSources(
  config: Pick<Config, 'MESH_NAMES' | 'CLOUDMAP_NAMESPACES'>,
  clients: SourceClients,
): MeshSource[] {
  const sources: MeshSource[] = [];
  if (config.MESH_NAMES.length > 0) sources.push(deferredAppMeshSource(config.MESH_NAMES, clients));
  sources.push(
    new CloudMapSource({
      namespaces: config.CLOUDMAP_NAMESPACES,
      client: clients.cloudMapReads,
      tagging: clients.tagging,
    }),
  );
  return sources;
}

/**
 * The App Mesh source, loaded (its module, and its client created) at its first read: a deployment that reads
 * Cloud Map only, the default, never loads them, which keeps meshSync's cold start short.
 */
function deferredAppMeshSource(meshNames: readonly string[], clients: SourceClients): MeshSource {
  let loaded: Promise<MeshSource> | undefined;
  const source = () => {
    loaded ??= import('./appmesh/index.js').then(
      ({ AppMeshSource }) =>
        new AppMeshSource({ meshNames, appMesh: clients.appMesh(), cloudMap: clients.cloudMapReads }),
    );
    return loaded;
  };
  return {
    name: APP_MESH_SOURCE,
    read: (signal) => keptWhenSilent(meshNames, async () => (await source()).read(signal), signal),
    readFedBy: (cloudMap, signal) =>
      keptWhenSilent(
        meshNames,
        async () => {
          const appMesh = await source();
          return appMesh.readFedBy ? appMesh.readFedBy(cloudMap, signal) : appMesh.read(signal);
        },
        signal,
      ),
  };
}

/**
 * App Mesh reached end of support on 2026-09-30, so its API may stop answering while MESH_NAMES still names meshes.
 * An App Mesh that answers with errors already ends as one failed read per mesh (its listing fails), which keeps
 * what the mesh produced in Kong. One that gives no answer at all ends the same way here, rather than failing the
 * whole run: each configured mesh is reported once and kept, and Cloud Map, the default source, still syncs.
 */
async function keptWhenSilent(
  meshNames: readonly string[],
  read: () => Promise<MeshSnapshot>,
  signal?: AbortSignal,
): Promise<MeshSnapshot> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof SourceError && error.unreachable) || signal?.aborted) throw error;
    const reason = `App Mesh gave no answer: ${errorMessage(error)}`;
    return {
      ...emptySnapshot(),
      failures: meshNames.map((mesh) => ({ source: APP_MESH_SOURCE, object: `mesh/${mesh}`, reason })),
    };
  }
}

/** Reads every source in parallel and merges the results into one deterministically ordered snapshot. */
export function readMesh(sources: readonly MeshSource[], signal?: AbortSignal): Promise<MeshSnapshot> {
  return readEach(sources, (source) => source.read(signal));
}

/**
 * Reads only what one Cloud Map service feeds (see `MeshSource.readFedBy`), from every source; a source that cannot
 * read so narrowly reads everything, which is correct, only slower.
 */
export function readMeshFedBy(
  sources: readonly MeshSource[],
  cloudMap: CloudMapServiceRef,
  signal?: AbortSignal,
): Promise<MeshSnapshot> {
  return readEach(sources, (source) => (source.readFedBy ? source.readFedBy(cloudMap, signal) : source.read(signal)));
}

async function readEach(
  sources: readonly MeshSource[],
  read: (source: MeshSource) => Promise<MeshSnapshot>,
): Promise<MeshSnapshot> {
  const snapshots = await Promise.all(
    sources.map((source) =>
      read(source).catch((error: unknown) => {
        if (error instanceof SourceError) throw error;
        throw new SourceError(`mesh source '${source.name}' failed: ${errorMessage(error)}`, {
          cause: error,
          context: { source: source.name, unreachable: true },
        });
      }),
    ),
  );
  return sortSnapshot(mergeSnapshots(snapshots));
}

/** Plain code-unit order: the same on every machine, unlike localeCompare. */
function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const left = key(a);
    const right = key(b);
    return left < right ? -1 : left > right ? 1 : 0;
  };
}

const byInstanceId = byKey((endpoint: { instanceId: string }) => endpoint.instanceId);

export function sortSnapshot(snapshot: MeshSnapshot): MeshSnapshot {
  return {
    gateways: snapshot.gateways
      .map((gateway) => ({ ...gateway, endpoints: [...gateway.endpoints].sort(byInstanceId) }))
      .sort(byKey((gateway) => `${gateway.mesh}\u0000${gateway.name}`)),
    gatewayRoutes: [...snapshot.gatewayRoutes].sort(
      byKey((route) => `${route.mesh}\u0000${route.gateway}\u0000${route.name}`),
    ),
    virtualServices: [...snapshot.virtualServices].sort(byKey((service) => `${service.mesh}\u0000${service.name}`)),
    cloudMapServices: snapshot.cloudMapServices
      .map((service) => ({ ...service, endpoints: [...service.endpoints].sort(byInstanceId) }))
      .sort(byKey((service) => `${service.namespace}\u0000${service.name}`)),
    failures: [...snapshot.failures].sort(
      byKey((failure) => `${failure.source}\u0000${failure.object}\u0000${failure.reason}`),
    ),
  };
}
