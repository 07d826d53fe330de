import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { AppMeshReadClient } from '../aws/app-mesh-reads.js';
import { CloudMapReadClient } from '../aws/cloud-map-reads.js';
import { clientSettings } from '../aws/options.js';
import { S3ObjectClient } from '../aws/s3-objects.js';
import { SecretsManagerJsonClient } from '../aws/secrets-manager.js';
import { type Config, config as processConfig } from '../config/index.js';
import { type App, type AppClients, assembleApp } from './core.js';

/**
 * meshSync's composition root: Cloud Map, the Tagging API, Secrets Manager, S3 and EventBridge. The App Mesh client
 * (App Mesh reads without the SDK client) is created only when MESH_NAMES names meshes, at the first read (Cloud Map
 * is the default source).
 */
export function createMeshSyncApp(config: Config = processConfig(), env: NodeJS.ProcessEnv = process.env): App {
  return assembleApp(config, meshReadingClients(env));
}

/** The clients of a function that reads the mesh and writes Kong (meshSync; rollback, whose `status` reads it). */
export function meshReadingClients(env: NodeJS.ProcessEnv): AppClients {
  const { common } = clientSettings(env);
  return {
    cloudMapReads: new CloudMapReadClient(common, env),
    tagging: new ResourceGroupsTaggingAPIClient(common),
    appMesh: () => new AppMeshReadClient(common, env),
    secretsManager: new SecretsManagerJsonClient(common, env),
    eventBridge: new EventBridgeClient(common),
    s3: new S3ObjectClient(common, env),
  };
}
