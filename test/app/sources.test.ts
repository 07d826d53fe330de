import type { AppMeshClient } from '@aws-sdk/client-app-mesh';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { describe, expect, it, vi } from 'vitest';
import { createSources } from '../../shared/sources/index.js';

// Clients that must not be called: these tests look at what is created, not at what is read.
const unused = {} as ServiceDiscoveryClient & ResourceGroupsTaggingAPIClient;

describe('mesh sources of a composition root', () => {
  it('never asks for the App Mesh client when MESH_NAMES is empty (Cloud Map only, the default)', () => {
    const appMesh = vi.fn(() => ({}) as AppMeshClient);
    const sources = createSources(
      { MESH_NAMES: [], CLOUDMAP_NAMESPACES: [] },
      { serviceDiscovery: unused, tagging: unused, appMesh },
    );

    expect(sources.map((source) => source.name)).toEqual(['cloudmap']);
    expect(appMesh).not.toHaveBeenCalled();
  });

  it('asks for the App Mesh client once, at the first App Mesh read, when MESH_NAMES names meshes', async () => {
    const send = vi.fn(async () => ({ virtualGateways: [] }));
    const appMesh = vi.fn(() => ({ send, middlewareStack: { add: vi.fn() } }) as unknown as AppMeshClient);
    const [appMeshSource] = createSources(
      { MESH_NAMES: ['apps'], CLOUDMAP_NAMESPACES: [] },
      { serviceDiscovery: unused, tagging: unused, appMesh },
    );

    expect(appMeshSource?.name).toBe('appmesh');
    expect(appMesh).not.toHaveBeenCalled();
    await appMeshSource?.read();
    await appMeshSource?.read();
    expect(appMesh).toHaveBeenCalledTimes(1);
    expect(send).toHaveBeenCalled();
  });
});
