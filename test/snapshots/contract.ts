import { describe, expect, it } from 'vitest';
import { emptyKongState, normalizeEntity } from '../../shared/kong/entities.js';
import { type Retention, SnapshotError, type StateStore } from '../../shared/snapshots/index.js';

/** The behaviour every StateStore implementation must have; `open` gives a fresh, empty store per test. */
export function stateStoreContract(open: (instance: string, retention?: Retention) => Promise<StateStore>): void {
  const sample = () => {
    const state = emptyKongState();
    state.services.push(normalizeEntity('service', { id: 's1', name: 'orders', host: 'orders.internal' }));
    state.consumers.push(normalizeEntity('consumer', { id: 'c1', username: 'alice' }));
    return state;
  };

  describe('snapshots', () => {
    it('saves and loads a state by id, with meta and counts', async () => {
      const store = await open('prod');
      const id = await store.save(sample(), { trigger: 'schedule', reason: 'drift' });
      expect(id).toMatch(/^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}$/);
      const snapshot = await store.load(id);
      expect(snapshot.state).toEqual(sample());
      expect(snapshot.meta).toMatchObject({ id, instance: 'prod', trigger: 'schedule', reason: 'drift' });
      expect(snapshot.meta.counts).toMatchObject({ services: 1, consumers: 1, routes: 0 });
    });

    it('lists newest first and resolves previous to the newest', async () => {
      const store = await open('prod');
      const ids: string[] = [];
      for (const trigger of ['a', 'b', 'c']) {
        ids.push(await store.save(sample(), { trigger }));
        await new Promise((resolve) => setTimeout(resolve, 2)); // distinct millisecond ids
      }
      expect((await store.list()).map((meta) => meta.id)).toEqual([...ids].reverse());
      expect((await store.list(2)).map((meta) => meta.trigger)).toEqual(['c', 'b']);
      expect((await store.load('previous')).meta.id).toBe(ids[2]);
    });

    it('keeps instances apart', async () => {
      const prod = await open('prod');
      const staging = await open('staging');
      await prod.save(sample(), { trigger: 'schedule' });
      expect(await staging.list()).toEqual([]);
      await expect(staging.load('previous')).rejects.toBeInstanceOf(SnapshotError);
    });

    it('records the scope of a partial snapshot', async () => {
      const store = await open('prod');
      const id = await store.save(emptyKongState(), { trigger: 'cloudmap', scope: { upstreams: ['orders.mesh'] } });
      expect((await store.load(id)).meta.scope).toEqual({ upstreams: ['orders.mesh'] });
    });

    it('rejects unknown and malformed ids with a SnapshotError', async () => {
      const store = await open('prod');
      await expect(store.load('20260101T000000.000Z-000000')).rejects.toThrow(/not found/);
      await expect(store.load('../../etc/passwd')).rejects.toBeInstanceOf(SnapshotError);
    });
  });

  describe('freeze flag', () => {
    it('is absent until set, then cleared', async () => {
      const store = await open('prod');
      expect(await store.getFreeze()).toBeUndefined();
      const set = await store.setFreeze({ reason: 'incident 42', by: 'alice' });
      expect(await store.getFreeze()).toEqual(set);
      expect(set).toMatchObject({ frozen: true, reason: 'incident 42', by: 'alice' });
      await store.clearFreeze();
      expect(await store.getFreeze()).toBeUndefined();
      await store.clearFreeze();
    });
  });

  describe('run history', () => {
    it('lists runs newest first, up to a limit', async () => {
      const store = await open('prod');
      for (const outcome of ['applied', 'no-changes', 'rolled-back']) {
        await store.recordRun({
          kind: 'sync',
          trigger: 'schedule',
          outcome,
          startedAt: '2026-01-01T00:00:00Z',
          durationMs: 5,
        });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const runs = await store.listRuns(2);
      expect(runs.map((run) => run.outcome)).toEqual(['rolled-back', 'no-changes']);
      expect(runs[0]?.id).toMatch(/Z-[0-9a-f]{6}$/);
    });
  });

  describe('retention', () => {
    it('keeps only the newest snapshots and runs', async () => {
      const store = await open('prod', { snapshots: 2, runs: 3 });
      const snapshots: string[] = [];
      for (const trigger of ['a', 'b', 'c', 'd']) {
        snapshots.push(await store.save(sample(), { trigger }));
        await new Promise((resolve) => setTimeout(resolve, 2)); // distinct millisecond ids
      }
      expect((await store.list()).map((meta) => meta.id)).toEqual([snapshots[3], snapshots[2]]);
      await expect(store.load(snapshots[0]!)).rejects.toThrow(SnapshotError);

      for (const trigger of ['r1', 'r2', 'r3', 'r4', 'r5']) {
        await store.recordRun({
          kind: 'sync',
          trigger,
          outcome: 'no-changes',
          startedAt: '2026-11-28T00:00:00Z',
          durationMs: 1,
        });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      expect((await store.listRuns(10)).map((run) => run.trigger)).toEqual(['r5', 'r4', 'r3']);
    });
  });
}
