import { setMaxListeners } from 'node:events';
import type { Config } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { AuditDetailType, AuditPublisher } from '../events/audit.js';
import type { SyncTrigger } from '../events/incoming.js';
import type { KongApi } from '../kong/api.js';
import type { KongState } from '../kong/entities.js';
import { reconcile, type Scope, type SyncOutcome, type SyncReport, syncRunSummary } from '../reconcile/index.js';
import type { StateStore } from '../snapshots/store.js';
import type { ConsumerSpec } from '../sources/consumers.js';
import type { CloudMapServiceRef, MeshSnapshot } from '../sources/model.js';
import { type TranslateSettings, translate, translateOptions } from '../translate/index.js';
import { upstreamsFedBy } from '../translate/scope.js';

/** A source object that could not be read or translated; it was left out, the rest was synced. */
export interface ObjectFailure {
  object: string;
  reason: string;
}

/** Everything a mesh sync reads and writes through; the handler and the CLI wire the real ones. */
export interface MeshSyncDeps {
  kong: KongApi;
  store: StateStore;
  audit: AuditPublisher;
  readMesh(signal?: AbortSignal): Promise<MeshSnapshot>;
  /** Only what one Cloud Map service feeds (the gateways discovered through it, the service itself if exposed). */
  readMeshFedBy(cloudMap: CloudMapServiceRef, signal?: AbortSignal): Promise<MeshSnapshot>;
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
  /** Read and translation failures: objects left out of this run. */
  failures: ObjectFailure[];
  /** The consumers read (public keys only), for key-age metrics. */
  consumers: ConsumerSpec[];
  frozen: boolean;
  /** Set for a scoped run: the upstreams it reconciled. */
  scope?: Scope;
}

const AUDIT_TYPE: Record<SyncOutcome, AuditDetailType> = {
  'no-changes': 'Sync Applied',
  applied: 'Sync Applied',
  planned: 'Sync Planned',
  'rolled-back': 'Sync Failed',
  failed: 'Sync Failed',
};

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
  });
  const failures: ObjectFailure[] = [
    ...mesh.failures.map(({ object, reason }) => ({ object, reason })),
    ...consumers.failures,
    ...translation.failures.map(({ object, field, reason }) => ({
      object,
      reason: field ? `${field}: ${reason}` : reason,
    })),
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
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<MeshSyncResult> {
  const startedAt = new Date();
  // Every AWS and Kong request in flight listens on the run's signal and removes its listener when done; past
  // Node's default of 10 that is concurrency, not a leak.
  if (options.signal) setMaxListeners(0, options.signal);
  const { freeze, failures, consumers, scope, report } = await reconcileMesh(deps, trigger, settings, options).catch(
    async (error: unknown) => {
      // A run that fails before Kong is written (mesh, Kong or snapshot unreadable) is reported all the same.
      await reportFailedRun(deps, trigger, startedAt, error);
      throw error;
    },
  );
  const summary = syncRunSummary(report, startedAt);
  await deps.store.recordRun({ ...summary, errors: [...(summary.errors ?? []), ...failures.map(describeFailure)] });
  await deps.audit.publish(AUDIT_TYPE[report.outcome], {
    trigger: trigger.reason,
    outcome: report.outcome,
    frozen: freeze !== undefined,
    dryRun: trigger.dryRun,
    scope: scope?.upstreams,
    counts: summary.counts,
    snapshotId: report.snapshotId,
    durationMs: report.durationMs,
    errors: [...(report.error ? [report.error.message] : []), ...failures.map(describeFailure)],
  });
  return { report, failures, consumers, frozen: freeze !== undefined, scope };
}

async function reconcileMesh(
  deps: MeshSyncDeps,
  trigger: SyncTrigger,
  settings: MeshSyncSettings,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
) {
  // A Cloud Map service meshgate cannot resolve any more (deleted since the event) widens the run to a full sync
  // rather than guessing; one that feeds nothing yields an empty scope: nothing to do.
  const cloudMap = trigger.kind === 'scoped' ? await deps.resolveCloudMapService(trigger.serviceId) : undefined;
  const [freeze, { state, mesh, consumers, failures }] = await Promise.all([
    deps.store.getFreeze(),
    cloudMap ? desiredKongFedBy(deps, cloudMap, settings, options.signal) : desiredKong(deps, settings, options.signal),
  ]);
  const scope = cloudMap ? { upstreams: upstreamsFedBy(mesh, cloudMap) } : undefined;
  const report = await reconcile(deps.kong, state, {
    instance: settings.MESHGATE_INSTANCE,
    store: deps.store,
    trigger: trigger.reason,
    dryRun: trigger.dryRun,
    frozen: freeze !== undefined,
    scope,
    parallelism: settings.SYNC_PARALLELISM,
    signal: options.signal,
    onProgress: options.onProgress && ((done, total) => options.onProgress?.(done, total)),
  });
  return { freeze, failures, consumers, scope, report };
}

/** Records and audits a run that threw; a failure to report must not hide the run's own error. */
async function reportFailedRun(deps: MeshSyncDeps, trigger: SyncTrigger, startedAt: Date, error: unknown) {
  const durationMs = Date.now() - startedAt.getTime();
  const errors = [errorMessage(error)];
  const outcome = 'failed';
  await Promise.allSettled([
    deps.store.recordRun({
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

function describeFailure(failure: ObjectFailure): string {
  return `${failure.object}: ${failure.reason}`;
}

/** One line for logs and the CLI. */
export function describeResult(result: MeshSyncResult): string {
  const { report } = result;
  const { creating, updating, deleting } = report.plan.summary;
  const counts = `${creating} to create, ${updating} to update, ${deleting} to delete`;
  const failures = result.failures.length ? `; ${result.failures.length} object(s) left out` : '';
  const error = report.error ? `: ${errorMessage(report.error)}` : '';
  return `sync ${report.outcome} (${report.trigger}${result.frozen ? ', frozen' : ''}): ${counts}${failures}${error}`;
}
