import { type Config, config as processConfig } from '../config/index.js';
import { requestSyncByEvent } from '../events/sync-request.js';
import { type App, assembleApp } from './core.js';
import { meshReadingClients } from './mesh-sync.js';

/** The rollback function's app: meshSync's clients (`status` reads the mesh) and how `resume` asks for a sync. */
export interface RollbackApp extends App {
  requestSync(reason: string): Promise<void>;
}

/** rollback's composition root: meshSync's clients; `resume` asks meshSync for a sync with an EventBridge event. */
export function createRollbackApp(config: Config = processConfig(), env: NodeJS.ProcessEnv = process.env): RollbackApp {
  const clients = meshReadingClients(env);
  const requestSync = requestSyncByEvent(clients.eventBridge, config.MESHGATE_STAGE);
  return { ...assembleApp(config, clients, requestSync), requestSync };
}
