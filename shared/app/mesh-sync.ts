import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { clientSettings, serviceDiscoveryConfig } from '../aws/options.js';
import { type Config, config as processConfig } from '../config/index.js';
import { type App, type AppClients, assembleApp } from './core.js';

/**
 * meshSync's composition root: Cloud Map, the Tagging API, Secrets Manager, S3 and EventBridge. The App Mesh client
 * is loaded only when MESH_NAMES names meshes, at the first read (Cloud Map is the default source).
 */
export function createMeshSyncApp(config: Config = processConfig(), env: NodeJS.ProcessEnv = process.env): App {
  return assembleApp(config, meshReadingClients(env));
}

/** The clients of a function that reads the mesh and writes Kong (meshSync; rollback, whose `status` reads it). */
export function meshReadingClients(env: NodeJS.ProcessEnv): AppClients {
  const settings = clientSettings(env);
  const { customEndpoint, common } = settings;
  return {
    serviceDiscovery: new ServiceDiscoveryClient(serviceDiscoveryConfig(settings)),
    tagging: new ResourceGroupsTaggingAPIClient(common),
    appMesh: async () => new (await import('../aws/app-mesh-client.js')).AppMeshClient(common),
    secretsManager: new SecretsManagerClient(common),
    eventBridge: new EventBridgeClient(common),
    s3: new S3Client({ ...common, forcePathStyle: customEndpoint }),
  };
}
