import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { type App, lazy } from '../../shared/app/core.js';
import { createMeshSyncApp } from '../../shared/app/mesh-sync.js';
import {
  cloudMapOperationOf,
  describeRejection,
  dropReason,
  type MeshSyncEvent,
  MeshSyncEventSchema,
  triggerFor,
} from '../../shared/events/incoming.js';
import { awaitCloudMapOperation, dropIneffectiveEvents, dropMalformedEvents } from '../../shared/lambda/middlewares.js';
import { logger, metrics } from '../../shared/lambda/observability.js';
import { recordSyncMetrics, recordThrownSync } from '../../shared/lambda/sync-metrics.js';
import { describeResult, leftOut, runMeshSync } from '../../shared/mesh-sync/pipeline.js';

/** meshSync: App Mesh and Cloud Map changes (CloudTrail via EventBridge), the drift-repair schedule, manual runs. */
export function createMeshSyncHandler(getApp: () => App) {
  return middy()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(parser({ schema: MeshSyncEventSchema, errorHandler: dropMalformedEvents(logger, describeRejection) }))
    .use(dropIneffectiveEvents(logger, dropReason))
    .use(
      awaitCloudMapOperation(
        cloudMapOperationOf,
        (operationId) => getApp().waitForCloudMapOperation(operationId),
        logger,
      ),
    )
    .handler(async (event: MeshSyncEvent, _context, { signal }) => {
      let result: Awaited<ReturnType<typeof runMeshSync>>;
      try {
        const app = getApp();
        result = await runMeshSync(await app.meshSyncDeps(), triggerFor(event), app.config, { signal });
      } catch (error) {
        // A run that throws (Kong unreachable, a read denied, a bad configuration) is a failed sync too: the
        // SyncFailed alarm must see it, not only the runs that end with a report.
        recordThrownSync(metrics);
        throw error;
      }
      recordSyncMetrics(metrics, result);
      // Failure reasons quote mesh values: the log line stays bounded however many there are.
      logger.info(describeResult(result), { failures: result.failures.slice(0, 50), kept: result.kept.slice(0, 50) });
      // Kong left between states (the restore failed too): fail the invocation so Lambda retries it.
      if (result.report.outcome === 'failed') throw result.report.error;
      return {
        outcome: result.report.outcome,
        trigger: result.report.trigger,
        summary: result.report.plan.summary,
        snapshotId: result.report.snapshotId,
        leftOut: leftOut(result.failures, result.kept).length,
        kept: result.kept.length,
      };
    });
}

// Built at the first invocation (configuration validated then, a bad value naming the variable) and kept.
const app = lazy(() => createMeshSyncApp());
export const handler = createMeshSyncHandler(app);
