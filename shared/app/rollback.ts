import { LambdaClient } from '@aws-sdk/client-lambda';
import { clientSettings } from '../aws/options.js';
import { type Config, config as processConfig } from '../config/index.js';
import { type App, assembleApp } from './core.js';
import { meshReadingClients } from './mesh-sync.js';
import { requestSyncByInvoke } from './request-sync.js';

export { requestSyncByInvoke } from './request-sync.js';

/** The rollback function's app: meshSync's clients (`status` reads the mesh) and how `resume` asks for a sync. */
export interface RollbackApp extends App {
  requestSync(reason: string): Promise<void>;
}

/** rollback's composition root: meshSync's clients plus Lambda, to ask the deployed meshSync for a sync on resume. */
export function createRollbackApp(config: Config = processConfig(), env: NodeJS.ProcessEnv = process.env): RollbackApp {
  const requestSync = requestSyncByInvoke(new LambdaClient(clientSettings(env).common), config.MESHGATE_STAGE);
  return { ...assembleApp(config, meshReadingClients(env), requestSync), requestSync };
}
