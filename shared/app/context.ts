import { type AwsClients, awsClients } from '../aws/clients.js';
import { type Config, config as processConfig } from '../config/index.js';
import { requestSyncByEvent } from '../events/sync-request.js';
import { type App, assembleApp } from './core.js';

export { type App, functionName, lazy } from './core.js';

/**
 * The CLI's composition root (and the tests'): every AWS client, since the CLI runs any operation, locally or
 * against the deployed functions. The functions have roots of their own that load only their clients
 * (shared/app/mesh-sync.ts, rollback.ts, rotate-keys.ts).
 */
export interface CliApp extends App {
  readonly clients: AwsClients;
}

export function createApp(config: Config = processConfig(), clients: AwsClients = awsClients()): CliApp {
  const requestSync = requestSyncByEvent(clients.eventBridge, config.MESHGATE_STAGE);
  return { ...assembleApp(config, { ...clients, appMesh: () => clients.appMeshReads }, requestSync), clients };
}
