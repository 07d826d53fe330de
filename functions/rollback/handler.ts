import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type App, lazy } from '../../shared/app/core.js';
import { createRollbackApp, type RollbackApp } from '../../shared/app/rollback.js';
import { logger } from '../../shared/lambda/observability.js';
import { type RollbackCommand, RollbackCommandSchema } from '../../shared/rollback/commands.js';
import { executeCommand } from '../../shared/rollback/execute.js';
import { refuseInvalidCommands } from '../../shared/rollback/middleware.js';

/** rollback: invoked by an operator (`serverless invoke -f rollback --data …`, the console, `meshgate … --remote`). */
export function createRollbackHandler(getApp: () => App, requestSync: (app: App) => (reason: string) => Promise<void>) {
  return middy<RollbackCommand>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(refuseInvalidCommands(RollbackCommandSchema))
    .handler(async (command: RollbackCommand) => {
      const app = getApp();
      return executeCommand(app, command, requestSync(app));
    });
}

// Built at the first invocation (configuration validated then, a bad value naming the variable) and kept.
const app = lazy(() => createRollbackApp());
export const handler = createRollbackHandler(app, (current) => (current as RollbackApp).requestSync);
