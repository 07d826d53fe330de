import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { type App, lazy } from '../../shared/app/core.js';
import { createMeshSyncApp } from '../../shared/app/mesh-sync.js';
import {
  describeRejection,
  dropReason,
  type MeshSyncEvent,
  MeshSyncEventSchema,
  triggerFor,
} from '../../shared/events/incoming.js';
import { dropIneffectiveEvents, dropMalformedEvents } from '../../shared/lambda/middlewares.js';
import { logger, metrics } from '../../shared/lambda/observability.js';
import { recordSyncMetrics } from '../../shared/lambda/sync-metrics.js';
import { describeResult, runMeshSync } from '../../shared/sync/mesh-sync.js';

/** meshSync: App Mesh and Cloud Map changes (CloudTrail via EventBridge), the drift-repair schedule, manual runs. */
export function createMeshSyncHandler(getApp: () => App) {
  return middy()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(parser({ schema: MeshSyncEventSchema, errorHandler: dropMalformedEvents(logger, describeRejection) }))
    .use(dropIneffectiveEvents(logger, dropReason))
    .handler(async (event: MeshSyncEvent, _context, { signal }) => {
      const app = getApp();
      const result = await runMeshSync(await app.meshSyncDeps(), triggerFor(event), app.config, { signal });
      recordSyncMetrics(metrics, result);
      logger.info(describeResult(result), { leftOut: result.failures });
      // Kong left between states (the restore failed too): fail the invocation so Lambda retries it.
      if (result.report.outcome === 'failed') throw result.report.error;
      return {
        outcome: result.report.outcome,
        trigger: result.report.trigger,
        summary: result.report.plan.summary,
        snapshotId: result.report.snapshotId,
        leftOut: result.failures.length,
      };
    });
}

// Built at the first invocation (configuration validated then, a bad value naming the variable) and kept.
const app = lazy(() => createMeshSyncApp());
export const handler = createMeshSyncHandler(app);
