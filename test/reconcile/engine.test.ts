import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type KongDouble, startKongDouble } from '../../local/kong/server.js';
import { KongClient } from '../../shared/kong/client.js';
import { emptyKongState, type KongState, normalizeEntity } from '../../shared/kong/entities.js';
import { ownershipTags } from '../../shared/kong/ownership.js';
import { apply } from '../../shared/reconcile/apply.js';
import { diff } from '../../shared/reconcile/diff.js';
import { dump } from '../../shared/reconcile/dump.js';
import { ReconcileError } from '../../shared/reconcile/errors.js';
import { plan } from '../../shared/reconcile/plan.js';
import { reconcile } from '../../shared/reconcile/reconcile.js';
import { directoryStateStore, type StateStore } from '../../shared/state/index.js';
import { INSTANCE, route, service, state, target, upstream } from './fixtures.js';
import { kongStateArbitrary, largeChange } from './states.js';

const RETRY = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 };
/** Tight, so the timeout faults are quick; only the fault tests use it. */
const FAULT_TIMEOUT_MS = 100;

let double: KongDouble;
let kong: KongClient;
let impatientKong: KongClient;
let folder: string;
let store: StateStore;

beforeAll(async () => {
  double = await startKongDouble();
  kong = new KongClient({ url: double.url, retry: RETRY });
  impatientKong = new KongClient({ url: double.url, retry: RETRY, timeoutMs: FAULT_TIMEOUT_MS });
});
afterAll(async () => {
  kong.close();
  impatientKong.close();
  await double.close();
});
beforeEach(async () => {
  double.reset();
  folder = await mkdtemp(join(tmpdir(), 'meshgate-reconcile-'));
  store = directoryStateStore(folder, INSTANCE);
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

const writes = () => double.requests.writes();
const options = (extra: Partial<Parameters<typeof reconcile>[2]> = {}) => ({
  instance: INSTANCE,
  store,
  trigger: 'test',
  parallelism: 4,
  ...extra,
});

/** Puts `wanted` into the (empty) double with the engine itself, then forgets the requests it took. */
async function seed(wanted: KongState): Promise<void> {
  const result = await apply(kong, plan(diff(emptyKongState(), wanted)), { instance: INSTANCE, parallelism: 8 });
  expect(result.failed).toEqual([]);
  double.requests.clear();
}

async function expectKongToEqual(wanted: KongState): Promise<void> {
  const now = await dump(kong, { instance: INSTANCE });
  expect(diff(now, wanted).map(({ action, kind, name }) => `${action} ${kind} ${name}`)).toEqual([]);
}

describe('reconcile against the Kong double', () => {
  it('converges any current state to any desired state, after which the plan is empty', async () => {
    await fc.assert(
      fc.asyncProperty(kongStateArbitrary, kongStateArbitrary, async (current, desired) => {
        double.reset();
        await seed(current);
        const report = await reconcile(kong, desired, options());
        expect(report.failed).toEqual([]);
        expect(report.outcome).toBe(report.plan.summary.total === 0 ? 'no-changes' : 'applied');
        await expectKongToEqual(desired);
        const again = await reconcile(kong, desired, options());
        expect(again.outcome).toBe('no-changes');
      }),
      { numRuns: 25 },
    );
  });

  it('makes no writes and saves no snapshot when nothing changed, reading one page per collection', async () => {
    const { before } = largeChange();
    await seed(before);
    const report = await reconcile(kong, before, options());
    expect(report.outcome).toBe('no-changes');
    expect(writes()).toEqual([]);
    expect(double.requests.count()).toBe(7 + before.upstreams.length);
    expect(await store.list()).toEqual([]);
  });

  it('only plans when dry-running or frozen', async () => {
    const { before, after } = largeChange();
    await seed(before);
    for (const extra of [{ dryRun: true }, { frozen: true }]) {
      const report = await reconcile(kong, after, options(extra));
      expect(report.outcome).toBe('planned');
      expect(report.plan.summary.total).toBeGreaterThan(50);
    }
    expect(writes()).toEqual([]);
    await expectKongToEqual(before);
  });

  it('saves the pre-apply state as a snapshot before applying', async () => {
    const { before, after } = largeChange();
    await seed(before);
    const report = await reconcile(kong, after, options());
    expect(report.outcome).toBe('applied');
    expect(report.completed).toHaveLength(report.plan.summary.total);
    const snapshot = await store.load(report.snapshotId!);
    expect(diff(snapshot.state, before)).toEqual([]);
    expect(snapshot.meta.trigger).toBe('test');
    await expectKongToEqual(after);
  });

  it('converges a registered instance within 4 requests with a scoped sync', async () => {
    const base = state({ upstreams: [upstream('orders.mesh')], targets: [target('orders.mesh', '10.0.0.1:8080')] });
    await seed(base);
    const desired = { ...base, targets: [...base.targets, target('orders.mesh', '10.0.0.2:8080')] };
    const report = await reconcile(kong, desired, options({ scope: { upstreams: ['orders.mesh'] } }));
    expect(report.outcome).toBe('applied');
    expect(double.requests.count()).toBeLessThanOrEqual(4);
    await expectKongToEqual(desired);
  });

  it('leaves everything outside the scope alone', async () => {
    const base = state({
      services: [service('orders')],
      upstreams: [upstream('orders.mesh'), upstream('billing.mesh')],
    });
    await seed(base);
    // The desired state lacks the service and billing.mesh; a scoped run must not delete them.
    const desired = state({ upstreams: [upstream('orders.mesh', { slots: 1000 })] });
    const report = await reconcile(kong, desired, options({ scope: { upstreams: ['orders.mesh'] } }));
    expect(report.plan.summary).toEqual({ creating: 0, updating: 1, deleting: 0, total: 1 });
    await expectKongToEqual({ ...base, upstreams: [desired.upstreams[0]!, base.upstreams[1]!] });
  });
});

/**
 * Makes every attempt at the nth write fail, so the client's retries run out. The rule pins the method and path of
 * that write: with parallel writes, a plain "nth matching request" rule would hit other requests on retry.
 */
function failNthWrite(n: number, fault: { status?: number; drop?: boolean; delayMs?: number }): void {
  let seen = 0;
  let pinned: string | undefined;
  double.faults.inject({
    ...fault,
    times: RETRY.maxAttempts,
    match: (request) => {
      if (['GET', 'HEAD'].includes(request.method)) return false;
      const key = `${request.method} ${request.path}`;
      seen += 1;
      if (pinned === undefined && seen === n) pinned = key;
      return key === pinned;
    },
  });
}

describe('a fault at every write position', () => {
  const faults = ['503', 'reset', 'timeout'] as const;

  it('ends with Kong equal to the pre-apply snapshot', async () => {
    const { before, after } = largeChange();
    await seed(before);
    const clean = await reconcile(kong, after, options({ dryRun: true }));
    const total = clean.plan.summary.total;
    expect(total).toBeGreaterThanOrEqual(50);

    for (let position = 1; position <= total; position++) {
      double.reset();
      await seed(before);
      const fault = faults[position % faults.length]!;
      failNthWrite(
        position,
        fault === '503'
          ? { status: 503 }
          : fault === 'reset'
            ? { drop: true }
            : { delayMs: FAULT_TIMEOUT_MS * 2, drop: true },
      );
      // One write at a time: creates are POSTs to the collection, so the fault pinned on `POST /services` must hit
      // every attempt of one create, not one attempt each of creates running in parallel.
      const report = await reconcile(impatientKong, after, options({ parallelism: 1 }));
      expect(report.outcome, `position ${position} (${fault})`).toBe('rolled-back');
      expect(report.failed.length).toBeGreaterThan(0);
      expect(report.error).toBeInstanceOf(ReconcileError);
      await expectKongToEqual(before);
    }
  });

  it('stops launching writes at the first failure and reports completed, failed and skipped changes', async () => {
    const { before, after } = largeChange();
    await seed(before);
    const planned = plan(diff(before, after));
    failNthWrite(10, { status: 503 });
    const progress: number[] = [];
    const result = await apply(kong, planned, {
      instance: INSTANCE,
      parallelism: 1,
      onProgress: (done) => progress.push(done),
    });
    expect(result.completed).toHaveLength(9);
    expect(result.failed).toHaveLength(1);
    expect(result.skipped).toHaveLength(planned.summary.total - 10);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(writes()).toHaveLength(9 + RETRY.maxAttempts);
  });

  it('reports failed, with the snapshot id, when the restore fails too', async () => {
    const { before, after } = largeChange();
    await seed(before);
    double.faults.inject({
      method: 'PUT',
      path: /^\/services\//,
      nth: 3,
      status: 503,
      times: Number.POSITIVE_INFINITY,
    });
    double.faults.inject({ method: 'DELETE', status: 500, times: Number.POSITIVE_INFINITY });
    const report = await reconcile(kong, after, options());
    expect(report.outcome).toBe('failed');
    expect(report.snapshotId).toBeDefined();
    expect(report.rollbackFailed.length).toBeGreaterThan(0);
    expect(report.error?.message).toMatch(/restoring snapshot .* failed too/);
    expect(diff((await store.load(report.snapshotId!)).state, before)).toEqual([]);
  });
});

describe('ownership', () => {
  const unowned = () =>
    state({
      services: [
        normalizeEntity('service', {
          id: '00000000-0000-4000-8000-000000000001',
          name: 'theirs',
          host: 'x',
          tags: null,
        }),
      ],
      routes: [
        normalizeEntity('route', {
          id: '00000000-0000-4000-8000-000000000002',
          name: 'theirs',
          paths: ['/theirs'],
          service: { id: '00000000-0000-4000-8000-000000000001' },
        }),
      ],
      upstreams: [
        normalizeEntity('upstream', {
          id: '00000000-0000-4000-8000-000000000003',
          name: 'theirs.mesh',
          tags: ['managed-by:meshgate'],
        }),
      ],
      consumers: [
        normalizeEntity('consumer', {
          id: '00000000-0000-4000-8000-000000000004',
          username: 'theirs',
          tags: ownershipTags('other'),
        }),
      ],
    });

  it('never writes entities it does not own', async () => {
    const foreign = unowned();
    for (const [kind, entities] of Object.entries(foreign)) {
      for (const entity of entities) await kong.upsert(kind.slice(0, -1) as never, entity as never);
    }
    const { before, after } = largeChange();
    await seed(before);
    double.guard(ownershipTags(INSTANCE));
    const report = await reconcile(kong, after, options());
    expect(report.outcome).toBe('applied');
    await reconcile(kong, emptyKongState(), options());
    expect(double.violations).toEqual([]);
    expect(await kong.get('service', 'theirs')).toBeDefined();
    expect(await kong.get('route', 'theirs')).toBeDefined();
    expect(await kong.get('upstream', 'theirs.mesh')).toBeDefined();
    expect(await kong.get('consumer', 'theirs')).toBeDefined();
  });

  it('refuses a desired entity without the ownership tags before writing anything', async () => {
    const desired = state({ services: [service('orders')], routes: [{ ...route('orders', 'orders'), tags: null }] });
    await expect(reconcile(kong, desired, options())).rejects.toThrow(ReconcileError);
    expect(writes()).toEqual([]);
  });
});
