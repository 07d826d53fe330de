import { setMaxListeners } from 'node:events';
import type { Config } from '../config/index.js';
import type { ConsumerSpec } from '../consumers/model.js';
import { errorMessage } from '../errors.js';
import type { AuditDetailType, AuditPublisher } from '../events/audit.js';
import type { SyncTrigger } from '../events/incoming.js';
import type { KongApi } from '../kong/api.js';
import type { KongState } from '../kong/entities.js';
import {
  dump,
  type KeptObject,
  plan,
  type ReconcileOptions,
  reconcile,
  type Scope,
  type SyncOutcome,
  type SyncReport,
  syncRunSummary,
} from '../reconcile/index.js';
import type { CloudMapServiceRef, MeshSnapshot } from '../sources/model.js';
import { SYNC_LEASE_WAIT_MS, withLease } from '../state/lease.js';
import type { LeaseRecord, RunSummary, StateStore } from '../state/store.js';
import { objectOfReadFailure, type TranslateSettings, translate, translateOptions } from '../translate/index.js';
import { upstreamsFedBy } from '../translate/scope.js';

/** A source object that could not be read or translated; it was left out, the rest was synced. */
export interface ObjectFailure {
  object: string;
  reason: string;
  /**
   * The translation object whose entities in Kong this failure keeps (the object itself, or the mesh object a
   * read failure stands for); absent for a refusal, whose entities are removed.
   */
  keeps?: string;
}

/** Everything a mesh sync reads and writes through; the handler and the CLI wire the real ones. */
export interface MeshSyncDeps {
  kong: KongApi;
  store: StateStore;
  audit: AuditPublisher;
  readMesh(signal?: AbortSignal): Promise<MeshSnapshot>;
  /** Only what one Cloud Map service feeds (the gateways discovered through it, the service itself if exposed). */
  readMeshFedBy(cloudMap: CloudMapServiceRef, signal?: AbortSignal): Promise<MeshSnapshot>;
  /** Consumers and their live keys, read from Secrets Manager's stages (call it under the lease). */
  readConsumers(): Promise<{ consumers: ConsumerSpec[]; failures: ObjectFailure[] }>;
  /** The mesh CA certificate (PEM), when one is configured. */
  readMeshCa?(): Promise<string | undefined>;
  /** A Cloud Map service by id, with its namespace and name; undefined when it no longer exists. */
  resolveCloudMapService(serviceId: string): Promise<CloudMapServiceRef | undefined>;
}

export type MeshSyncSettings = Pick<Config, 'MESHGATE_INSTANCE' | 'TRACING_HEADER' | 'SYNC_PARALLELISM'> &
  TranslateSettings;

export interface MeshSyncResult {
  report: SyncReport;
  /** Read and translation failures: objects this run could not sync (kept in Kong when they had entities there). */
  failures: ObjectFailure[];
  /** Failed objects whose entities in Kong were kept as they were. */
  kept: KeptObject[];
  /** The consumers read (public keys only), for key-age metrics. */
  consumers: ConsumerSpec[];
  frozen: boolean;
  /** Set for a scoped run: the upstreams it reconciled. */
  scope?: Scope;
  /** Set when the run did not get the lease: who held it (the run marked "pending"; that holder syncs after). */
  deferredBy?: LeaseRecord;
}

const AUDIT_TYPE: Record<SyncOutcome, AuditDetailType> = {
  'no-changes': 'Sync Applied',
  applied: 'Sync Applied',
  planned: 'Sync Planned',
  'rolled-back': 'Sync Failed',
  failed: 'Sync Failed',
  deferred: 'Sync Deferred',
};

/** Lease waits and TTL; tests shorten them. */
export interface MeshSyncLeaseSettings {
  waitMs?: number;
  ttlMs?: number;
  pollMs?: number;
  requestBudgetMs?: number;
}

export interface DesiredKong {
  state: KongState;
  mesh: MeshSnapshot;
  consumers: ConsumerSpec[];
  /** Read and translation failures: objects left out. */
  failures: ObjectFailure[];
}

/** Reads the whole mesh and the consumer keys and translates them into the Kong state they should produce. */
export async function desiredKong(
  deps: Pick<MeshSyncDeps, 'readMesh' | 'readConsumers' | 'readMeshCa'>,
  settings: TranslateSettings,
  signal?: AbortSignal,
): Promise<DesiredKong> {
  const [mesh, consumers, meshCa] = await Promise.all([
    deps.readMesh(signal),
    deps.readConsumers(),
    deps.readMeshCa?.(),
  ]);
  return translated(mesh, consumers, settings, meshCa);
}

/**
 * The desired upstreams and targets fed by one Cloud Map service: a partial read translated as a whole one would
 * be, so the entities in scope come out exactly as a full sync makes them. No consumers: the scope has none.
 */
async function desiredKongFedBy(
  deps: Pick<MeshSyncDeps, 'readMeshFedBy'>,
  cloudMap: CloudMapServiceRef,
  settings: TranslateSettings,
  signal?: AbortSignal,
): Promise<DesiredKong> {
  const mesh = await deps.readMeshFedBy(cloudMap, signal);
  return translated(mesh, { consumers: [], failures: [] }, settings);
}

function withKeeps(failure: { object: string; reason: string }, keeps: string | undefined): ObjectFailure {
  return keeps === undefined ? { object: failure.object, reason: failure.reason } : { ...failure, keeps };
}

/** The objects whose entities a run keeps in Kong. */
export function keptObjects(failures: readonly ObjectFailure[]): string[] {
  return [...new Set(failures.flatMap((failure) => (failure.keeps === undefined ? [] : [failure.keeps])))];
}

function translated(
  mesh: MeshSnapshot,
  consumers: { consumers: ConsumerSpec[]; failures: ObjectFailure[] },
  settings: TranslateSettings,
  meshCa?: string,
): DesiredKong {
  const translation = translate({
    mesh,
    consumers: consumers.consumers,
    options: translateOptions(settings, meshCa),
    unreadConsumers: consumers.failures.flatMap((failure) =>
      failure.object.startsWith('consumer:') ? [failure.object] : [],
    ),
  });
  const failures: ObjectFailure[] = [
    ...mesh.failures.map((failure) => withKeeps(failure, objectOfReadFailure(failure))),
    // A consumer whose secret could not be read keeps its consumer and credentials (`consumer:<name>`).
    ...consumers.failures.map((failure) =>
      withKeeps(failure, failure.object.startsWith('consumer:') ? failure.object : undefined),
    ),
    ...translation.failures.map(({ object, field, reason, refused }) =>
      withKeeps({ object, reason: field ? `${field}: ${reason}` : reason }, refused ? undefined : object),
    ),
  ];
  return { state: translation.state, mesh, consumers: consumers.consumers, failures };
}

/**
 * One meshSync run: read the whole mesh and the consumer keys, translate, reconcile Kong (only the affected
 * upstreams for a Cloud Map instance change), record the run and emit the audit event. While sync is frozen the
 * run plans and reports but applies nothing.
 */
export async function runMeshSync(
  deps: MeshSyncDeps,
  trigger: SyncTrigger,
  settings: MeshSyncSettings,
  options: {
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
    lease?: MeshSyncLeaseSettings;
  } = {},
): Promise<MeshSyncResult> {
  // Every AWS and Kong request in flight listens on the run's signal and removes its listener when done; past
  // Node's default of 10 that is concurrency, not a leak.
  if (options.signal) setMaxListeners(0, options.signal);
  // A dry run writes nothing, so it needs no lease.
  if (trigger.dryRun)
    return syncOnce(deps, trigger, settings, { signal: options.signal, onProgress: options.onProgress });
  let first = true;
  // From the first read to the end of the apply (and restore) this run is the only Kong writer: a rotation, a
  // rollback or a freeze cannot slip in between what it compared and what it writes.
  const outcome = await withLease(
    deps.store,
    {
      purpose: `sync:${trigger.reason}`,
      onBusy: 'pending',
      onPending: 'rerun',
      waitMs: options.lease?.waitMs ?? SYNC_LEASE_WAIT_MS,
      ttlMs: options.lease?.ttlMs,
      pollMs: options.lease?.pollMs,
      requestBudgetMs: options.lease?.requestBudgetMs,
    },
    async ({ signal, holder, fence }) => {
      const runSignal = options.signal ? AbortSignal.any([options.signal, signal]) : signal;
      setMaxListeners(0, runSignal);
      // The first pass is the trigger's; a re-run for a "pending" mark is a full sync (the mark says only that
      // something changed, not what).
      const pass = first
        ? trigger
        : { kind: 'full' as const, reason: `pending after ${trigger.reason}`, dryRun: false };
      first = false;
      return syncOnce(deps, pass, settings, { ...options, signal: runSignal, holder, heldLease: { fence, signal } });
    },
  );
  if (outcome.held) return outcome.result;
  return deferredResult(deps, trigger, outcome.heldBy);
}

async function syncOnce(
  deps: MeshSyncDeps,
  trigger: SyncTrigger,
  settings: MeshSyncSettings,
  options: {
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
    holder?: string;
    /** The lease this run holds (absent for a dry run): reconcile fences its apply levels with it. */
    heldLease?: ReconcileOptions['lease'];
  },
): Promise<MeshSyncResult> {
  const startedAt = new Date();
  const runId = trigger.dryRun
    ? undefined
    : await deps.store.startRun({ kind: 'sync', trigger: trigger.reason, holder: options.holder });
  const record = async (summary: RunSummary) => {
    if (runId) await deps.store.finishRun(runId, summary);
    else await deps.store.recordRun(summary);
  };
  const { freeze, failures, consumers, scope, report } = await reconcileMesh(deps, trigger, settings, options).catch(
    async (error: unknown) => {
      // A run that fails before Kong is written (mesh, Kong or snapshot unreadable) is reported all the same.
      await reportFailedRun(deps, trigger, startedAt, error, record);
      throw error;
    },
  );
  const summary = syncRunSummary(report, startedAt);
  await record({ ...summary, errors: [...(summary.errors ?? []), ...failures.map(describeFailure)] });
  await deps.audit.publish(AUDIT_TYPE[report.outcome], {
    trigger: trigger.reason,
    // The run record this event reports (status lists it); `meshgate audit` shows it.
    runId,
    outcome: report.outcome,
    frozen: freeze !== undefined,
    dryRun: trigger.dryRun,
    scope: scope?.upstreams,
    counts: summary.counts,
    snapshotId: report.snapshotId,
    durationMs: report.durationMs,
    kept: report.kept.map(({ object }) => object),
    // Ownership: creates refused because something not meshgate's holds the id or name, and owned entities kept
    // because foreign ones hang off them.
    conflicts: report.conflicts.map(({ change, error }) => `${change.kind} ${change.name}: ${errorMessage(error)}`),
    held: report.held.map(({ kind, name, foreign }) => `${kind} ${name}: ${foreign.join(', ')}`),
    leftOut: leftOut(failures, report.kept).map(({ object }) => object),
    errors: [...(report.error ? [report.error.message] : []), ...failures.map(describeFailure)],
  });
  return { report, failures, kept: report.kept, consumers, frozen: freeze !== undefined, scope };
}

/**
 * A run that found the lease held past its wait: it marked "pending" and ends; the holder syncs before letting go.
 * It is in run history and in the audit trail like any run, so a trigger that never applied is not silent.
 */
async function deferredResult(deps: MeshSyncDeps, trigger: SyncTrigger, heldBy: LeaseRecord): Promise<MeshSyncResult> {
  const startedAt = new Date().toISOString();
  const reason = `the lease was held by ${heldBy.holder} (${heldBy.purpose}); marked pending`;
  await deps.store.recordRun({
    kind: 'sync',
    trigger: trigger.reason,
    outcome: 'deferred',
    startedAt,
    durationMs: 0,
    errors: [reason],
  });
  await deps.audit.publish(AUDIT_TYPE.deferred, {
    trigger: trigger.reason,
    outcome: 'deferred',
    dryRun: false,
    serviceId: trigger.kind === 'scoped' ? trigger.serviceId : undefined,
    heldBy: { holder: heldBy.holder, purpose: heldBy.purpose, until: heldBy.expiresAt },
    durationMs: 0,
    errors: [reason],
  });
  const report: SyncReport = {
    outcome: 'deferred',
    trigger: trigger.reason,
    plan: plan([]),
    completed: [],
    failed: [],
    rolledBack: [],
    rollbackFailed: [],
    kept: [],
    held: [],
    conflicts: [],
    durationMs: 0,
  };
  return { report, failures: [], kept: [], consumers: [], frozen: false, deferredBy: heldBy };
}

async function reconcileMesh(
  deps: MeshSyncDeps,
  trigger: SyncTrigger,
  settings: MeshSyncSettings,
  options: {
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
    heldLease?: ReconcileOptions['lease'];
  },
) {
  // A Cloud Map service meshgate cannot resolve any more (deleted since the event) widens the run to a full sync
  // rather than guessing; one that feeds nothing yields an empty scope: nothing to do.
  const cloudMap = trigger.kind === 'scoped' ? await deps.resolveCloudMapService(trigger.serviceId) : undefined;
  // A full run dumps Kong while it reads the mesh: on AWS both are network-bound, and neither needs the other. (A
  // scoped run's dump depends on the scope, which comes from the mesh read.)
  const dumping = cloudMap ? undefined : new AbortController();
  const signal = dumping && options.signal ? AbortSignal.any([options.signal, dumping.signal]) : options.signal;
  const current = dumping
    ? dump(deps.kong, { instance: settings.MESHGATE_INSTANCE, parallelism: settings.SYNC_PARALLELISM, signal })
    : undefined;
  // Observed here so that a dump failing while the mesh read is still going is not an unhandled rejection; reconcile
  // awaits the same promise and reports its error.
  current?.catch(() => undefined);
  const [freeze, { state, consumers, failures, scope }] = await Promise.all([
    deps.store.getFreeze(),
    (cloudMap
      ? desiredKongFedBy(deps, cloudMap, settings, options.signal)
      : desiredKong(deps, settings, options.signal)
    )
      // The mesh snapshot is not kept through the reconcile (at 10,000 services it is several MB): only the scope
      // it gives a scoped run.
      .then(({ mesh, ...desired }) => ({
        ...desired,
        scope: cloudMap ? { upstreams: upstreamsFedBy(mesh, cloudMap) } : undefined,
      })),
  ]).catch((error: unknown) => {
    dumping?.abort(error); // the run ends here; its dump is not needed
    throw error;
  });
  const report = await reconcile(deps.kong, state, {
    instance: settings.MESHGATE_INSTANCE,
    store: deps.store,
    trigger: trigger.reason,
    dryRun: trigger.dryRun,
    frozen: freeze !== undefined,
    scope,
    keep: keptObjects(failures),
    parallelism: settings.SYNC_PARALLELISM,
    signal: options.signal,
    onProgress: options.onProgress && ((done, total) => options.onProgress?.(done, total)),
    current,
    lease: options.heldLease,
  });
  return { freeze, failures, consumers, scope, report };
}

/** Records and audits a run that threw; a failure to report must not hide the run's own error. */
async function reportFailedRun(
  deps: MeshSyncDeps,
  trigger: SyncTrigger,
  startedAt: Date,
  error: unknown,
  record: (summary: RunSummary) => Promise<void>,
) {
  const durationMs = Date.now() - startedAt.getTime();
  const errors = [errorMessage(error)];
  const outcome = 'failed';
  await Promise.allSettled([
    record({
      kind: 'sync',
      trigger: trigger.reason,
      outcome,
      startedAt: startedAt.toISOString(),
      durationMs,
      errors,
    }),
    deps.audit.publish('Sync Failed', { trigger: trigger.reason, outcome, dryRun: trigger.dryRun, durationMs, errors }),
  ]);
}

/** Failures that had nothing in Kong to keep: left out of Kong altogether. */
export function leftOut(failures: readonly ObjectFailure[], kept: readonly KeptObject[]): ObjectFailure[] {
  const keptNames = new Set(kept.map(({ object }) => object));
  return failures.filter((failure) => failure.keeps === undefined || !keptNames.has(failure.keeps));
}

function describeFailure(failure: ObjectFailure): string {
  return `${failure.object}: ${failure.reason}`;
}

/** One line for logs and the CLI. */
export function describeResult(result: MeshSyncResult): string {
  const { report } = result;
  const { creating, updating, deleting } = report.plan.summary;
  const counts = `${creating} to create, ${updating} to update, ${deleting} to delete`;
  const dropped = leftOut(result.failures, result.kept).length;
  const kept = result.kept.length ? `; ${result.kept.length} failed object(s) kept as they were` : '';
  const failures = `${kept}${dropped ? `; ${dropped} object(s) left out` : ''}`;
  const error = report.error ? `: ${errorMessage(report.error)}` : '';
  return `sync ${report.outcome} (${report.trigger}${result.frozen ? ', frozen' : ''}): ${counts}${failures}${error}`;
}
