import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { lazy } from '../../shared/app/ports.js';
import { createRotateKeysApp } from '../../shared/app/rotate-keys.js';
import { RotationError } from '../../shared/consumers/errors.js';
import { type RepublishResult, republishUnderLease } from '../../shared/consumers/index.js';
import { errorMessage } from '../../shared/errors.js';
import { ScheduledEventSchema } from '../../shared/events/incoming.js';
import { RotationInvocationSchema } from '../../shared/events/rotation.js';
import { logger as sharedLogger, metrics as sharedMetrics } from '../../shared/lambda/observability.js';
import { recordRotationOutcome } from '../../shared/lambda/sync-metrics.js';
import { type RotationDeps, rotateStep } from '../../shared/rotation/index.js';
import { startDueRotations } from '../../shared/rotation-schedule/schedule.js';
import type * as z from '../../shared/zod.js';

type ScheduleResult = Awaited<ReturnType<typeof startDueRotations>> & {
  /** The public-key document republished from the secrets (meshSync and rollback read only it). */
  publishedKeys?: Pick<RepublishResult, 'published' | 'removed'>;
};

export type RotateKeysResult =
  | Awaited<ReturnType<typeof rotateStep>>
  | ScheduleResult
  | { status: 'dropped'; reason: string };

/**
 * The rotateKeys function: a Secrets Manager rotation invocation runs one step; the daily EventBridge schedule
 * starts overdue rotations (secrets without a rotation function get this one). Wiring only; the logic is in
 * shared/rotation.
 */
export function createRotateKeysHandler(
  resolveDeps: () => Promise<RotationDeps>,
  logger: Logger = sharedLogger,
  metrics: Metrics = sharedMetrics,
) {
  async function rotateKeys(event: unknown, context: Context): Promise<RotateKeysResult> {
    if (isObject(event) && 'Step' in event) {
      const parsed = RotationInvocationSchema.safeParse(event);
      // A malformed rotation invocation must fail, or Secrets Manager would take the step as done.
      if (!parsed.success) throw new RotationError(`malformed rotation invocation: ${describeIssues(parsed.error)}`);
      try {
        const result = await rotateStep(await resolveDeps(), parsed.data);
        recordRotationOutcome(metrics, 0);
        return result;
      } catch (error) {
        // Secrets Manager retries and then gives up silently: the KeyRotationFailed alarm is how anyone hears of it.
        recordRotationOutcome(metrics, 1);
        throw error;
      }
    }
    if (ScheduledEventSchema.safeParse(event).success) {
      let result: ScheduleResult;
      try {
        const deps = await resolveDeps();
        // First the public-key document (bootstraps it, repairs an entry a failed publish left stale); a failure
        // here is counted, and overdue rotations still start.
        const published = await republishUnderLease(deps).catch((error: unknown) => ({
          published: [],
          removed: [],
          failures: [{ object: 'public-key document', reason: errorMessage(error) }],
        }));
        const started = await startDueRotations(deps.secretsManager, {
          rotationLambdaArn: context.invokedFunctionArn,
          secretPrefix: deps.secretPrefix,
        });
        result = {
          ...started,
          failures: [...published.failures, ...started.failures],
          publishedKeys: { published: published.published, removed: published.removed },
        };
      } catch (error) {
        recordRotationOutcome(metrics, 1);
        throw error;
      }
      // A rotation that could not be started (RotateSecret denied, a rotation still pending) is a failure too.
      recordRotationOutcome(metrics, result.failures.length);
      logger.info('due rotations started', {
        started: result.started.map((entry) => entry.consumer),
        notDue: result.notDue,
        failures: result.failures,
      });
      return result;
    }
    const reason = 'neither a Secrets Manager rotation invocation nor a Scheduled Event';
    logger.warn('event dropped', { reason });
    return { status: 'dropped', reason };
  }
  // Rotation events carry the RotationToken: never logged, whatever POWERTOOLS_LOGGER_LOG_EVENT says.
  return middy(rotateKeys)
    .use(injectLambdaContext(logger, { logEvent: false }))
    .use(logMetrics(metrics));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function describeIssues(error: z.$ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`).join('; ');
}

// Built at the first invocation (configuration validated then, a bad value naming the variable) and kept.
const app = lazy(() => createRotateKeysApp());
export const handler = createRotateKeysHandler(() => app().rotationDeps(sharedLogger));
