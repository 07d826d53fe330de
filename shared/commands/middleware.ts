import type { MiddlewareObj } from '@middy/core';
import { type OperatorCommand, parseCommand } from './schema.js';

/**
 * An invoke whose payload is not an operator command is refused with every bad field and its value named (thrown,
 * so the invoke reports the error to the operator); a valid one replaces the event with the parsed command.
 */
export function parseOperatorCommand(): MiddlewareObj<OperatorCommand, unknown> {
  return {
    before: (request) => {
      request.event = parseCommand(request.event);
    },
  };
}
