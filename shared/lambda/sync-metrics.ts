import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { currentKeyAgeSeconds } from '../consumers/age.js';
import { leftOut, type MeshSyncResult } from '../mesh-sync/pipeline.js';

/** EMF metrics of a sync run; the SyncFailed alarm in serverless.yml watches SyncFailed. */
export function recordSyncMetrics(metrics: Metrics, result: MeshSyncResult, now = new Date()): void {
  const { report } = result;
  metrics.addMetric('SyncDuration', MetricUnit.Milliseconds, report.durationMs);
  metrics.addMetric('OperationsApplied', MetricUnit.Count, report.completed.length);
  metrics.addMetric('ObjectsLeftOut', MetricUnit.Count, leftOut(result.failures, result.kept).length);
  // Failed objects whose Kong entities stayed as they were: not synced, but not deleted either.
  metrics.addMetric('ObjectsKept', MetricUnit.Count, result.kept.length);
  metrics.addMetric(
    'SyncFailed',
    MetricUnit.Count,
    report.outcome === 'failed' || report.outcome === 'rolled-back' ? 1 : 0,
  );
  // Every run reads the consumers, so the oldest current key's age is charted every few minutes.
  const ages = result.consumers.map((consumer) => currentKeyAgeSeconds(consumer, now) ?? 0);
  if (ages.length > 0) metrics.addMetric('OldestKeyAge', MetricUnit.Seconds, Math.max(...ages));
}

/** A run that threw before it could report: counted as a failed sync. */
export function recordThrownSync(metrics: Metrics): void {
  metrics.addMetric('SyncFailed', MetricUnit.Count, 1);
}

/** EMF metric of a rotation step or of the daily start of rotations; the KeyRotationFailed alarm watches it. */
export function recordRotationOutcome(metrics: Metrics, failures: number): void {
  metrics.addMetric('KeyRotationFailed', MetricUnit.Count, failures);
}
