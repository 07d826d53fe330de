import type { Config } from '../config/index.js';
import { currentKeyAgeSeconds } from '../consumers/age.js';
import type { ConsumerSpec } from '../consumers/model.js';
import { errorMessage } from '../errors.js';
import { desiredKong, keptObjects, type MeshSyncDeps } from '../mesh-sync/pipeline.js';
import { type PlanSummary, reconcile } from '../reconcile/index.js';
import type { FreezeState, LeaseRecord, RunRecord, SnapshotMeta } from '../state/store.js';

export interface ConsumerStatus {
  username: string;
  /** kid of the AWSCURRENT key. */
  currentKid?: string;
  /** Age of the AWSCURRENT key in hours. */
  keyAgeHours?: number;
  /** Live key versions (current, pending, previous in its grace period). */
  liveKeys: number;
}

export interface StatusReport {
  instance: string;
  freeze?: FreezeState;
  /** The state-store lease, while a Kong writer holds it. */
  lease?: LeaseRecord;
  /** Syncs, rotations, rollbacks, freezes and resumes, newest first; `running` or `interrupted` when unfinished. */
  runs: RunRecord[];
  snapshots: SnapshotMeta[];
  /** What a sync would change now, or why that could not be worked out. */
  drift: { summary: PlanSummary; leftOut: number } | { error: string };
  consumers: ConsumerStatus[];
}

/** Everything `meshgate status` shows: freeze, recent runs and snapshots, drift now, consumers' key ages. */
export async function collectStatus(
  deps: MeshSyncDeps,
  settings: Pick<Config, 'MESHGATE_INSTANCE' | 'TRACING_HEADER' | 'SYNC_PARALLELISM'>,
  now = new Date(),
): Promise<StatusReport> {
  const [freeze, runs, snapshots, lease] = await Promise.all([
    deps.store.getFreeze(),
    deps.store.listRuns(10),
    deps.store.list(5),
    deps.store.readLease(),
  ]);
  let drift: StatusReport['drift'];
  let consumers: ConsumerSpec[];
  try {
    const desired = await desiredKong(deps, settings);
    consumers = desired.consumers;
    const report = await reconcile(deps.kong, desired.state, {
      instance: settings.MESHGATE_INSTANCE,
      store: deps.store,
      trigger: 'status',
      dryRun: true,
      // As a sync would: objects that fail to read or translate keep their entities, so no phantom deletes.
      keep: keptObjects(desired.failures),
      parallelism: settings.SYNC_PARALLELISM,
    });
    drift = { summary: report.plan.summary, leftOut: desired.failures.length };
  } catch (error) {
    drift = { error: errorMessage(error) };
    // The mesh or Kong could not be read; the consumers may still be.
    consumers = (await deps.readConsumers()).consumers;
  }
  return {
    instance: settings.MESHGATE_INSTANCE,
    freeze,
    lease: lease && Date.parse(lease.expiresAt) > now.getTime() ? lease : undefined,
    runs,
    snapshots,
    drift,
    consumers: consumers.map((consumer) => {
      const current = consumer.keys.find((key) => key.stages.includes('AWSCURRENT'));
      const ageSeconds = currentKeyAgeSeconds(consumer, now);
      return {
        username: consumer.username,
        currentKid: current?.kid,
        keyAgeHours: ageSeconds === undefined ? undefined : Math.round(ageSeconds / 360) / 10,
        liveKeys: consumer.keys.length,
      };
    }),
  };
}
