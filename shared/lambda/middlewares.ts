import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import type { OperationOutcome } from '../sources/cloudmap/operations.js';
import * as z from '../zod.js';

export interface DroppedEvent {
  status: 'dropped';
  reason: string;
}

/**
 * The parser's `errorHandler`: an event that fails the schema is logged with its reason and answered (not thrown),
 * so Lambda does not retry it into the dead-letter queue.
 */
export function dropMalformedEvents(
  logger: Logger,
  describe: (raw: unknown, error: z.$ZodError) => string,
): (error: Error, event: unknown) => DroppedEvent {
  return (error, event) => {
    const issues = zodIssuesOf(error.cause);
    const reason = issues ? describe(event, new z.$ZodError(issues)) : error.message;
    logger.warn('event dropped', { reason });
    return { status: 'dropped', reason };
  };
}

/**
 * The parser's ParseError carries the Standard Schema issues (zod's own issue objects) as its cause, not a ZodError.
 */
function zodIssuesOf(cause: unknown): z.core.$ZodIssue[] | undefined {
  if (cause instanceof z.$ZodError) return cause.issues;
  return Array.isArray(cause) ? (cause as z.core.$ZodIssue[]) : undefined;
}

/**
 * After the parser: drops an event whose shape is valid but that asks for nothing (e.g. a failed API call that
 * CloudTrail recorded), with the reason logged.
 */
/**
 * Before a run triggered by an asynchronous Cloud Map call (RegisterInstance returns an OperationId and applies
 * later): waits, bounded, until the operation is done, so the run reads the instance as registered. A timeout or
 * failure is logged and the run goes on (drift repair converges later).
 */
export function awaitCloudMapOperation<T>(
  operationOf: (event: T) => string | undefined,
  wait: (operationId: string) => Promise<OperationOutcome>,
  logger: Logger,
): MiddlewareObj<T, unknown> {
  return {
    before: async (request) => {
      const operationId = operationOf(request.event);
      if (!operationId) return;
      const outcome = await wait(operationId);
      if (outcome.status === 'SUCCESS') logger.debug('Cloud Map operation done', { operationId, ...outcome });
      else logger.warn('Cloud Map operation not confirmed; syncing anyway', { operationId, ...outcome });
    },
  };
}

export function dropIneffectiveEvents<T>(
  logger: Logger,
  reasonToDrop: (event: T) => string | undefined,
): MiddlewareObj<T, unknown> {
  return {
    before: (request) => {
      const reason = reasonToDrop(request.event);
      if (!reason) return;
      logger.warn('event dropped', { reason });
      return { status: 'dropped', reason } satisfies DroppedEvent;
    },
  };
}
