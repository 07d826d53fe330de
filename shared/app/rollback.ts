import { InvocationType, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { clientSettings } from '../aws/options.js';
import { type Config, config as processConfig } from '../config/index.js';
import { type App, assembleApp, functionName } from './core.js';
import { meshReadingClients } from './mesh-sync.js';

/** The rollback function's app: meshSync's clients (`status` reads the mesh) and how `resume` asks for a sync. */
export interface RollbackApp extends App {
  requestSync(reason: string): Promise<void>;
}

/** rollback's composition root: meshSync's clients plus Lambda, to ask the deployed meshSync for a sync on resume. */
export function createRollbackApp(config: Config = processConfig(), env: NodeJS.ProcessEnv = process.env): RollbackApp {
  const lambda = new LambdaClient({ region: clientSettings(env).region });
  return {
    ...assembleApp(config, meshReadingClients(env)),
    requestSync: requestSyncByInvoke(lambda, config.MESHGATE_STAGE),
  };
}

/** Asks the deployed meshSync for a full sync, asynchronously (as EventBridge would). */
export function requestSyncByInvoke(lambda: LambdaClient, stage: string): (reason: string) => Promise<void> {
  return async (reason) => {
    await lambda.send(
      new InvokeCommand({
        FunctionName: functionName(stage, 'meshSync'),
        InvocationType: InvocationType.Event,
        Payload: Buffer.from(JSON.stringify({ action: 'sync', reason })),
      }),
    );
  };
}
