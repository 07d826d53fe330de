import { describe, expect, it } from 'vitest';
import { runMeshSync } from '../../shared/mesh-sync/pipeline.js';
import { useSyncWorld } from './world.js';

const sync = useSyncWorld({ checkUnowned: false });

const kongReads = () => sync.world.kong.requests.count((entry) => entry.method === 'GET');

/** Waits (a bounded number of event-loop turns) until `condition` holds; says whether it did. */
async function eventually(condition: () => boolean, turns = 2_000): Promise<boolean> {
  for (let turn = 0; turn < turns && !condition(); turn++) await new Promise((resolve) => setTimeout(resolve, 1));
  return condition();
}

describe('a full sync reads the mesh and dumps Kong at the same time', () => {
  it('has the Kong dump under way before the mesh read is done, and syncs as before', async () => {
    const deps = await sync.world.app.meshSyncDeps();
    sync.world.kong.requests.clear();
    let dumpStartedDuringMeshRead = false;
    const result = await runMeshSync(
      {
        ...deps,
        readMesh: async (signal) => {
          // Without the overlap the dump starts only after this read returns, so Kong would see nothing here.
          dumpStartedDuringMeshRead = await eventually(() => kongReads() > 0);
          return deps.readMesh(signal);
        },
      },
      { kind: 'full', reason: 'test', dryRun: false },
      sync.world.app.config,
    );

    expect(dumpStartedDuringMeshRead).toBe(true);
    expect(result.report.outcome).toBe('applied');
  });

  it('stops the dump and fails with the mesh read error when the mesh read fails', async () => {
    const deps = await sync.world.app.meshSyncDeps();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const run = runMeshSync(
        { ...deps, readMesh: async () => Promise.reject(new Error('Cloud Map is down')) },
        { kind: 'full', reason: 'test', dryRun: false },
        sync.world.app.config,
      );
      await expect(run).rejects.toThrow('Cloud Map is down');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
      expect(sync.world.kong.requests.writes()).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
