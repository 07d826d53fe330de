import { randomUUID } from 'node:crypto';
import { worstCaseRequestMs } from '../kong/http.js';
import { type HeldLease, type LeaseRecord, SnapshotError, type StateStore } from './store.js';

/** The holder no longer holds the state-store lease (taken over, or not renewable in time): it must stop writing. */
export class LeaseLostError extends SnapshotError {}

/**
 * How long one Kong request may take with its retries (the Kong client's defaults: 90 s). A writer starts a Kong
 * request only while its lease is known to last at least this long, so a request it started ends before another
 * writer can take the lease over.
 */
export const KONG_REQUEST_BUDGET_MS = worstCaseRequestMs();

/**
 * How long a lease lives without renewal: twice the request budget (180 s), so a holder survives one failed renewal
 * (renewals every third of this) without stopping, and only a holder that died, stalled or cannot reach the store
 * loses it; another writer then takes it over by ETag.
 */
export const DEFAULT_LEASE_TTL_MS = 2 * KONG_REQUEST_BUDGET_MS;
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
  /** See KONG_REQUEST_BUDGET_MS; at most half the TTL (tests with short TTLs get half of theirs). */
  requestBudgetMs?: number;
}

/** What the work is given to stay a fenced writer. */
export interface LeaseContext {
  /**
   * Aborts when this writer can no longer vouch for the lease for one more Kong request: it was taken over, or it
   * could not be renewed for TTL − request budget. Check it before each write.
   */
  signal: AbortSignal;
  holder: string;
  /**
   * Confirms, with a conditional write to the store (If-Match on the lease's ETag), that this writer still holds
   * the lease, extending it; throws LeaseLostError (and aborts `signal`) when it does not. Call it before each apply
   * level and before a restore.
   */
  fence(): Promise<void>;
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
  work: (context: LeaseContext) => Promise<T>,
): Promise<LeaseOutcome<T>> {
  const holder = options.holder ?? `${options.purpose}#${randomUUID()}`;
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const budgetMs = Math.min(options.requestBudgetMs ?? KONG_REQUEST_BUDGET_MS, ttlMs / 2);
  const deadline = Date.now() + (options.waitMs ?? OPERATION_LEASE_WAIT_MS);
  let pollMs = options.pollMs ?? 50;
  let lease: HeldLease | undefined;
  // When the lease was last known ours: taken before the request that confirmed it was sent, so it errs early.
  let confirmedAt = Date.now();
  for (;;) {
    confirmedAt = Date.now();
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
    await untilReleasedHere(store, Math.min(pollMs, Math.max(1, deadline - Date.now())) * (0.5 + Math.random() / 2));
    // Capped low: a lease is held for one short write phase (a rotation step, an apply), so waiters that sleep long
    // leave it idle; a conditional PUT every ≤ 200 ms per waiter is far inside S3's request rates.
    pollMs = Math.min(pollMs * 2, 200);
  }

  const controller = new AbortController();
  let held: HeldLease = lease;
  let renewing: Promise<void> = Promise.resolve();
  const lost = (why: string) => {
    const error = new LeaseLostError(`the state-store lease of ${holder} ${why}; stopping before further Kong writes`, {
      context: { holder, purpose: options.purpose },
    });
    if (!controller.signal.aborted) controller.abort(error);
    return controller.signal.reason as LeaseLostError;
  };
  // Past this moment a request started now could outlast the lease: the signal aborts, no new write starts.
  let expiryTimer: NodeJS.Timeout | undefined;
  const armDeadline = () => {
    clearTimeout(expiryTimer);
    expiryTimer = setTimeout(
      () => lost('could not be renewed in time'),
      Math.max(0, confirmedAt + ttlMs - budgetMs - Date.now()),
    );
    expiryTimer.unref();
  };
  armDeadline();
  /** Renews by ETag. `true`: ours for another TTL; `false`: taken over; an error: the store could not be reached. */
  const renew = async (): Promise<boolean> => {
    if (controller.signal.aborted) return false;
    const sentAt = Date.now();
    const renewed = await store.renewLease(held, ttlMs);
    if (!renewed) return false;
    held = renewed;
    confirmedAt = sentAt;
    armDeadline();
    return true;
  };
  const heartbeat = setInterval(
    () => {
      // A renewal that fails to reach the store is tried again at the next beat; the deadline stops the writer if
      // none succeeds in time.
      renewing = renewing.then(async () => {
        if (!(await renew().catch(() => true))) lost('was taken over');
      });
    },
    Math.max(10, Math.floor(ttlMs / 3)),
  );
  heartbeat.unref();
  const fence = async (): Promise<void> => {
    const confirmed = renewing.then(async () => {
      let ours: boolean;
      try {
        ours = await renew();
      } catch (error) {
        // The store is unreachable: the lease is still ours while a request started now ends before it can expire.
        if (!controller.signal.aborted && Date.now() < confirmedAt + ttlMs - budgetMs) return;
        throw lost(`could not be confirmed (${error instanceof Error ? error.message : String(error)})`);
      }
      if (!ours) throw lost(controller.signal.aborted ? 'was lost' : 'was taken over');
    });
    // The chain keeps going for the heartbeat whatever this confirmation found.
    renewing = confirmed.catch(() => undefined);
    await confirmed;
  };
  try {
    let result = await work({ signal: controller.signal, holder, fence });
    let reruns = 0;
    for (;;) {
      await renewing;
      const sentAt = Date.now();
      const release = await store.releaseLease(held, ttlMs);
      if (!('pending' in release)) {
        wakeOneWaiter(store);
        break;
      }
      // Handed back for the pending run, renewed for another TTL.
      held = release.lease;
      confirmedAt = sentAt;
      armDeadline();
      if (options.onPending === 'rerun' && reruns < MAX_PENDING_RERUNS) {
        reruns += 1;
        result = await work({ signal: controller.signal, holder, fence });
        continue;
      }
      // Release first, then ask: the sync asked for must be able to take the lease. A rerun budget spent leaves
      // the rest to the drift-repair schedule.
      await releaseFully(store, held, ttlMs);
      wakeOneWaiter(store);
      // The mark is a request, not this holder's work: failing to pass it on must not fail a run that succeeded
      // (the drift-repair schedule catches up).
      if (options.onPending !== 'rerun') await options.onPending().catch(() => undefined);
      break;
    }
    return { held: true, result, reruns, holder };
  } catch (error) {
    await renewing;
    await releaseFully(store, held, ttlMs).catch(() => undefined);
    wakeOneWaiter(store);
    throw error;
  } finally {
    clearInterval(heartbeat);
    clearTimeout(expiryTimer);
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

/**
 * Writers of this process waiting for a store's lease, oldest first. A release here wakes the oldest at once instead
 * of leaving the lease idle until its poll timer fires (up to 200 ms, while nothing else may run); one at a time, as
 * only one can take it. Writers in other processes see the release at their next poll.
 */
const waitersHere = new WeakMap<StateStore, Set<() => void>>();

/** Sleeps `ms`, or less if a writer of this process releases the store's lease meanwhile. */
function untilReleasedHere(store: StateStore, ms: number): Promise<void> {
  let waiters = waitersHere.get(store);
  if (!waiters) {
    waiters = new Set();
    waitersHere.set(store, waiters);
  }
  const queue = waiters;
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      queue.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    queue.add(wake);
  });
}

function wakeOneWaiter(store: StateStore): void {
  const oldest = waitersHere.get(store)?.values().next().value;
  oldest?.();
}
