import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type App, lazy } from '../../shared/app/core.js';
import { createRollbackApp, type RollbackApp } from '../../shared/app/rollback.js';
import { dispatch, type OperatorCommand, parseOperatorCommand } from '../../shared/commands/index.js';
import { logger } from '../../shared/lambda/observability.js';

/**
 * rollback: the operator's function (`serverless invoke -f rollback --data …`, the console, `meshgate … --remote`).
 * It parses and dispatches the same command union as the CLI does locally, so a command gives the same result here.
 */
export function createRollbackHandler(getApp: () => App, requestSync: (app: App) => (reason: string) => Promise<void>) {
  return middy<OperatorCommand>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(parseOperatorCommand())
    .handler(async (command: OperatorCommand) => {
      const app = getApp();
      return dispatch(command, { app, requestSync: requestSync(app) });
    });
}

// Built at the first invocation (configuration validated then, a bad value naming the variable) and kept.
const app = lazy(() => createRollbackApp());
export const handler = createRollbackHandler(app, (current) => (current as RollbackApp).requestSync);
