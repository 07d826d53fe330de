import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type HeldLease, type LeaseRecord, SnapshotError, type StateStore } from './store.js';

/**
 * How long a lease lives without renewal. The holder renews it every third of this while it works, so only a
 * holder that died (or is frozen) loses it; another writer then takes it over by ETag.
 */
export const DEFAULT_LEASE_TTL_MS = 60_000;
/** How long a drift-repair or event sync waits for the lease before it marks "pending" and ends. */
export const SYNC_LEASE_WAIT_MS = 10_000;
/** How long an operator command or a rotation step waits before it gives up with an error (and is retried). */
export const OPERATION_LEASE_WAIT_MS = 60_000;
/** Re-runs a holder does for "pending" marks before it lets go; later marks are left for the next holder. */
const MAX_PENDING_RERUNS = 3;

export interface LeaseOptions {
  /** What the holder is doing, shown to whoever waits: `sync:schedule`, `rotation:setSecret alice`, `freeze`. */
  purpose: string;
  /** Unique per run; defaults to the purpose plus a random id. */
  holder?: string;
  ttlMs?: number;
  waitMs?: number;
  /** `pending`: mark the lease and return busy; `throw`: fail with a SnapshotError naming the holder. */
  onBusy: 'pending' | 'throw';
  /**
   * What to do when a writer marked "pending" while this one held the lease: `rerun` the work (a sync), or call the
   * function after release (e.g. ask for a sync).
   */
  onPending: 'rerun' | (() => Promise<void>);
  /** Waiting between attempts (tests shorten it). */
  pollMs?: number;
}

export type LeaseOutcome<T> =
  | { held: true; result: T; reruns: number; holder: string }
  | { held: false; heldBy: LeaseRecord; holder: string };

/**
 * Runs `work` while holding the state store's lease: one Kong writer at a time across functions, processes and
 * machines. The lease is renewed while the work runs; if it is lost anyway (this process stalled past its expiry
 * and another writer took over), the signal given to `work` aborts so it stops writing.
 */
export async function withLease<T>(
  store: StateStore,
  options: LeaseOptions,
  work: (context: { signal: AbortSignal; holder: string }) => Promise<T>,
): Promise<LeaseOutcome<T>> {
  const holder = options.holder ?? `${options.purpose}#${randomUUID()}`;
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const deadline = Date.now() + (options.waitMs ?? OPERATION_LEASE_WAIT_MS);
  let pollMs = options.pollMs ?? 50;
  let lease: HeldLease | undefined;
  for (;;) {
    const grant = await store.tryAcquireLease({ holder, purpose: options.purpose, ttlMs });
    if (grant.acquired) {
      lease = grant.lease;
      break;
    }
    if (Date.now() >= deadline) {
      if (options.onBusy === 'pending') {
        // The mark may find the lease gone (released meanwhile): then take it after all.
        if (await store.markLeasePending()) return { held: false, heldBy: grant.current, holder };
        continue;
      }
      const { holder: by, purpose, expiresAt } = grant.current;
      throw new SnapshotError(
        `another writer holds the state-store lease (${purpose}, ${by}) until ${expiresAt}; try again`,
        { context: { holder: by, purpose, expiresAt, wanted: options.purpose } },
      );
    }
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())) * (0.5 + Math.random() / 2));
    pollMs = Math.min(pollMs * 2, 1_000);
  }

  const controller = new AbortController();
  let held: HeldLease = lease;
  let renewing: Promise<void> = Promise.resolve();
  const heartbeat = setInterval(
    () => {
      renewing = renewing.then(async () => {
        const renewed = await store.renewLease(held, ttlMs).catch(() => held);
        if (renewed) held = renewed;
        else controller.abort(new SnapshotError(`the state-store lease of ${holder} was lost; stopping`));
      });
    },
    Math.max(10, Math.floor(ttlMs / 3)),
  );
  heartbeat.unref();
  try {
    let result = await work({ signal: controller.signal, holder });
    let reruns = 0;
    for (;;) {
      await renewing;
      const release = await store.releaseLease(held, ttlMs);
      if (!('pending' in release)) break;
      held = release.lease;
      if (options.onPending === 'rerun' && reruns < MAX_PENDING_RERUNS) {
        reruns += 1;
        result = await work({ signal: controller.signal, holder });
        continue;
      }
      // Release first, then ask: the sync asked for must be able to take the lease. A rerun budget spent leaves
      // the rest to the drift-repair schedule.
      await releaseFully(store, held, ttlMs);
      // The mark is a request, not this holder's work: failing to pass it on must not fail a run that succeeded
      // (the drift-repair schedule catches up).
      if (options.onPending !== 'rerun') await options.onPending().catch(() => undefined);
      break;
    }
    return { held: true, result, reruns, holder };
  } catch (error) {
    await renewing;
    await releaseFully(store, held, ttlMs).catch(() => undefined);
    throw error;
  } finally {
    clearInterval(heartbeat);
  }
}

/** Lets go of the lease whatever marks arrive meanwhile. */
async function releaseFully(store: StateStore, lease: HeldLease, ttlMs: number): Promise<void> {
  let held = lease;
  for (;;) {
    const release = await store.releaseLease(held, ttlMs);
    if (!('pending' in release)) return;
    held = release.lease;
  }
}
