import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { worstCaseRequestMs } from '../../shared/kong/http.js';
import { runMeshSync } from '../../shared/mesh-sync/pipeline.js';
import { DEFAULT_LEASE_TTL_MS, KONG_REQUEST_BUDGET_MS } from '../../shared/state/lease.js';
import { ownedView, useSyncWorld } from './world.js';

const sync = useSyncWorld({ checkUnowned: false });

const leaseFile = () =>
  join(sync.world.env.MESHGATE_STATE_DIR as string, sync.world.app.config.MESHGATE_INSTANCE, 'lease.json');

/**
 * What a takeover looks like to the holder: its lease expired (it stalled, or could not reach the store) and
 * another writer took it with If-Match on the expired version. Written as the store writes it.
 */
function takeOver() {
  const now = Date.now();
  writeFileSync(
    leaseFile(),
    JSON.stringify({
      holder: 'rollback:sync:previous#other',
      purpose: 'rollback:sync:previous',
      acquiredAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 60_000).toISOString(),
      pending: false,
    }),
  );
}

describe('fencing: a writer that lost the lease stops writing Kong', () => {
  it('a sync whose lease is taken over during one apply level writes no later level and restores nothing', async () => {
    sync.world.kong.requests.clear();
    let stolen = false;
    let writesAtSteal = 0;
    try {
      const result = await runMeshSync(
        await sync.world.app.meshSyncDeps(),
        { kind: 'full', reason: 'schedule', dryRun: false },
        sync.world.app.config,
        {
          onProgress: () => {
            if (stolen) return;
            stolen = true;
            takeOver();
            writesAtSteal = sync.world.kongWrites();
          },
        },
      );
      expect(result.report.outcome).toBe('failed');
      expect(result.report.error?.message).toMatch(
        /^apply stopped after \d+ change\(s\), \d+ not started: the state-store lease of sync:schedule#\S+ was taken over; stopping before further Kong writes$/,
      );
      expect(result.report.rolledBack).toEqual([]);
    } finally {
      await rm(leaseFile(), { force: true });
    }
    // Only the writes of the level under way when the lease was lost reached Kong (the first level: consumers and
    // CA certificates): no route, target or plugin (later levels), and no delete (a restore).
    const after = sync.world.kong.requests.writes();
    expect(after.length).toBeGreaterThanOrEqual(writesAtSteal);
    expect(after.filter((request) => request.method === 'DELETE')).toEqual([]);
    const kong = await ownedView(sync.world.kong);
    expect([kong.routes.length, kong.targets.length, kong.plugins.length]).toEqual([0, 0, 0]);
    expect(writesAtSteal).toBeGreaterThan(0);
    // The run history says so too.
    const [run] = await sync.world.app.store.listRuns(1);
    expect(run).toMatchObject({ kind: 'sync', outcome: 'failed' });
  });

  it('a sync whose apply failed does not restore once its lease was taken over', async () => {
    sync.world.kong.faults.inject({ method: 'POST', path: '/routes', status: 500, times: Number.POSITIVE_INFINITY });
    let stolen = false;
    try {
      const result = await runMeshSync(
        await sync.world.app.meshSyncDeps(),
        { kind: 'full', reason: 'schedule', dryRun: false },
        sync.world.app.config,
        {
          onProgress: () => {
            // A target lands while the routes of the same level fail: the lease is lost before the restore.
            const targetWritten = sync.world.kong.requests
              .writes()
              .some((request) => request.path.includes('/targets'));
            if (stolen || !targetWritten) return;
            stolen = true;
            takeOver();
          },
        },
      );
      expect(stolen).toBe(true);
      expect(result.report.outcome).toBe('failed');
      expect(result.report.error?.message).toMatch(
        /^apply failed at create route .*; not restored: the state-store lease of \S+ was taken over; stopping before further Kong writes$/,
      );
      expect(result.report.rolledBack).toEqual([]);
    } finally {
      sync.world.kong.faults.clear();
      await rm(leaseFile(), { force: true });
    }
    // What was written stays for the new holder to reconcile: no delete undid it.
    expect(sync.world.kong.requests.writes().filter((request) => request.method === 'DELETE')).toEqual([]);
    expect((await ownedView(sync.world.kong)).services.length).toBeGreaterThan(0);
  });
});

describe('the lease outlives a Kong request', () => {
  it("is twice the longest one Kong request can take with the client's retries", () => {
    // 5 attempts timing out at 10 s, 4 waits capped at 10 s.
    expect(worstCaseRequestMs()).toBe(90_000);
    expect(KONG_REQUEST_BUDGET_MS).toBe(worstCaseRequestMs());
    expect(DEFAULT_LEASE_TTL_MS).toBe(2 * KONG_REQUEST_BUDGET_MS);
  });
});
