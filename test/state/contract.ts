import { describe, expect, it } from 'vitest';
import { emptyKongState, normalizeEntity } from '../../shared/kong/entities.js';
import { type Retention, SnapshotError, type StateStore, withLease } from '../../shared/state/index.js';

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

    it('resolves previous to the newest full snapshot, never a scoped one', async () => {
      const store = await open('prod');
      const full = await store.save(sample(), { trigger: 'schedule' });
      await new Promise((resolve) => setTimeout(resolve, 2));
      const scoped = await store.save(sample(), { trigger: 'cloudmap', scope: { upstreams: ['orders.mesh'] } });
      expect((await store.list()).map((meta) => meta.scope)).toEqual([{ upstreams: ['orders.mesh'] }, undefined]);
      expect((await store.load('previous')).meta.id).toBe(full);
      expect(scoped).not.toBe(full);
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

  describe('lease', () => {
    it('is taken by exactly one of many concurrent writers; the others see who holds it', async () => {
      const store = await open('prod');
      const grants = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          store.tryAcquireLease({ holder: `w${index}`, purpose: 'sync', ttlMs: 60_000 }),
        ),
      );
      const winners = grants.filter((grant) => grant.acquired);
      expect(winners).toHaveLength(1);
      const holder = winners[0]?.acquired ? winners[0].lease.record.holder : '';
      expect((await store.readLease())?.holder).toBe(holder);
      for (const grant of grants) if (!grant.acquired) expect(grant.current.holder).not.toBe('');
    });

    it('an expired lease is taken over once; the old holder then finds it lost', async () => {
      const store = await open('prod');
      const first = await store.tryAcquireLease({ holder: 'old', purpose: 'sync', ttlMs: 1 });
      await new Promise((resolve) => setTimeout(resolve, 5));
      const takers = await Promise.all(
        ['a', 'b', 'c'].map((holder) => store.tryAcquireLease({ holder, purpose: 'rollback', ttlMs: 60_000 })),
      );
      expect(takers.filter((grant) => grant.acquired)).toHaveLength(1);
      if (!first.acquired) throw new Error('first acquire failed');
      expect(await store.renewLease(first.lease, 60_000)).toBeUndefined();
      expect(await store.releaseLease(first.lease, 60_000)).toEqual({ lost: true });
    });

    it('"pending" marked while held is handed back to the holder once, then the lease is free', async () => {
      const store = await open('prod');
      const grant = await store.tryAcquireLease({ holder: 'h', purpose: 'rotation', ttlMs: 60_000 });
      if (!grant.acquired) throw new Error('not acquired');
      expect(await store.markLeasePending()).toBe(true);
      const release = await store.releaseLease(grant.lease, 60_000);
      expect('pending' in release).toBe(true);
      if (!('pending' in release)) return;
      expect(await store.releaseLease(release.lease, 60_000)).toEqual({ released: true });
      expect(await store.readLease()).toBeUndefined();
      expect(await store.markLeasePending()).toBe(false);
    });

    it('withLease: a busy sync marks pending and ends; the holder re-runs its work once before release', async () => {
      const store = await open('prod');
      let runs = 0;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const holder = withLease(store, { purpose: 'sync:a', onBusy: 'pending', onPending: 'rerun' }, async () => {
        runs += 1;
        if (runs === 1) await gate;
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const waiters = await Promise.all(
        [1, 2, 3].map(() =>
          withLease(store, { purpose: 'sync:b', onBusy: 'pending', onPending: 'rerun', waitMs: 0 }, async () => {
            throw new Error('must not run while the lease is held');
          }),
        ),
      );
      expect(waiters.every((outcome) => !outcome.held)).toBe(true);
      release();
      const outcome = await holder;
      // Three marks collapse into one extra run.
      expect(outcome).toMatchObject({ held: true, reruns: 1 });
      expect(runs).toBe(2);
      expect(await store.readLease()).toBeUndefined();
    });

    it('withLease refuses an operator command after the wait bound, naming the holder', async () => {
      const store = await open('prod');
      await store.tryAcquireLease({ holder: 'sync#1', purpose: 'sync:schedule', ttlMs: 60_000 });
      await expect(
        withLease(store, { purpose: 'freeze', onBusy: 'throw', onPending: 'rerun', waitMs: 30 }, async () => 1),
      ).rejects.toThrow(/sync:schedule/);
    });
  });

  describe('run history while running', () => {
    it('a run is recorded when it starts and updated when it ends; a dead one shows as interrupted', async () => {
      const store = await open('prod');
      const grant = await store.tryAcquireLease({ holder: 'live', purpose: 'sync', ttlMs: 60_000 });
      const live = await store.startRun({ kind: 'sync', trigger: 'schedule', holder: 'live' });
      const dead = await store.startRun({ kind: 'rotation', trigger: 'setSecret', holder: 'crashed' });
      const done = await store.startRun({ kind: 'rollback', trigger: 'key:alice', holder: 'live' });
      await store.finishRun(done, {
        kind: 'rollback',
        trigger: 'key:alice',
        outcome: 'applied',
        startedAt: '2026-01-01T00:00:00Z',
        durationMs: 3,
      });
      const runs = Object.fromEntries((await store.listRuns(10)).map((run) => [run.id, run.outcome]));
      expect(runs).toEqual({ [live]: 'running', [dead]: 'interrupted', [done]: 'applied' });
      if (grant.acquired) await store.releaseLease(grant.lease, 60_000);
      expect((await store.listRuns(10)).find((run) => run.id === live)?.outcome).toBe('interrupted');
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
