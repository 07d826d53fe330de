import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MeshSyncResult } from '../sync/mesh-sync.js';

/** EMF metrics of a sync run; the SyncFailed alarm in serverless.yml watches the last one. */
export function recordSyncMetrics(metrics: Metrics, result: MeshSyncResult): void {
  const { report } = result;
  metrics.addMetric('SyncDuration', MetricUnit.Milliseconds, report.durationMs);
  metrics.addMetric('OperationsApplied', MetricUnit.Count, report.completed.length);
  metrics.addMetric('ObjectsLeftOut', MetricUnit.Count, result.failures.length);
  metrics.addMetric(
    'SyncFailed',
    MetricUnit.Count,
    report.outcome === 'failed' || report.outcome === 'rolled-back' ? 1 : 0,
  );
}
