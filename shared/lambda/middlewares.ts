import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import { z } from 'zod';

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
  describe: (raw: unknown, error: z.ZodError) => string,
): (error: Error, event: unknown) => DroppedEvent {
  return (error, event) => {
    const reason = error.cause instanceof z.ZodError ? describe(event, error.cause) : error.message;
    logger.warn('event dropped', { reason });
    return { status: 'dropped', reason };
  };
}

/**
 * After the parser: drops an event whose shape is valid but that asks for nothing (e.g. a failed API call that
 * CloudTrail recorded), with the reason logged.
 */
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
