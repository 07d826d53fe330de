import type { MiddlewareObj } from '@middy/core';
import type * as z from '../zod.js';
import { describeCommandIssues } from './commands.js';
import { RollbackError } from './operations.js';

/**
 * An operator's payload that does not parse is refused with every bad field named (and thrown, so the invoke
 * reports the error to the operator); a valid one replaces the event with the parsed command.
 */
export function refuseInvalidCommands<T>(schema: z.ZodMiniType<T>): MiddlewareObj<T, unknown> {
  return {
    before: (request) => {
      const raw: unknown = request.event;
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        throw new RollbackError(`invalid rollback payload: ${describeCommandIssues(raw, parsed.error)}`);
      }
      request.event = parsed.data;
    },
  };
}
