import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { describe, expect, it, vi } from 'vitest';
import type { AppMeshReads } from '../../shared/aws/app-mesh-reads.js';
import type { CloudMapReads } from '../../shared/aws/cloud-map-reads.js';
import { createSources } from '../../shared/sources/index.js';

// Clients that must not be called: these tests look at what is created, not at what is read.
const unused = {} as CloudMapReads & ResourceGroupsTaggingAPIClient;

describe('mesh sources of a composition root', () => {
  it('never asks for the App Mesh client when MESH_NAMES is empty (Cloud Map only, the default)', () => {
    const appMesh = vi.fn(() => ({}) as AppMeshReads);
    const sources = createSources(
      { MESH_NAMES: [], CLOUDMAP_NAMESPACES: [] },
      { cloudMapReads: unused, tagging: unused, appMesh },
    );

    expect(sources.map((source) => source.name)).toEqual(['cloudmap']);
    expect(appMesh).not.toHaveBeenCalled();
  });

  it('asks for the App Mesh client once, at the first App Mesh read, when MESH_NAMES names meshes', async () => {
    const listVirtualGateways = vi.fn(async () => ({ virtualGateways: [] }));
    const listVirtualServices = vi.fn(async () => ({ virtualServices: [] }));
    const appMesh = vi.fn(() => ({ listVirtualGateways, listVirtualServices }) as unknown as AppMeshReads);
    const [appMeshSource] = createSources(
      { MESH_NAMES: ['apps'], CLOUDMAP_NAMESPACES: [] },
      { cloudMapReads: unused, tagging: unused, appMesh },
    );

    expect(appMeshSource?.name).toBe('appmesh');
    expect(appMesh).not.toHaveBeenCalled();
    await appMeshSource?.read();
    await appMeshSource?.read();
    expect(appMesh).toHaveBeenCalledTimes(1);
    expect(listVirtualGateways).toHaveBeenCalled();
  });
});
