import { AppMeshClient } from '@aws-sdk/client-app-mesh';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import type { AwsCredentialIdentity } from '@smithy/types';
import { AppMeshReadClient } from './app-mesh-reads.js';
import { CloudMapReadClient } from './cloud-map-reads.js';
import {
  type CredentialScope,
  clientSettings,
  scopedCredentials,
  serviceDiscoveryConfig,
  setCredentialScope,
} from './options.js';
import { S3ObjectClient } from './s3-objects.js';
import { SecretsManagerJsonClient } from './secrets-manager.js';

/**
 * Every AWS SDK v3 client meshgate uses (the CLI's and the tests' set; each function builds only its own, see
 * shared/app), created once per process (outside the handler, so warm invocations reuse connections).
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`; with a custom endpoint
 * (the local double) Cloud Map's `data-` host prefix is disabled and S3 uses path-style addressing.
 */
export interface AwsClients {
  /** The SDK client: what the local demo and the tests set meshes up with (meshgate itself reads App Mesh below). */
  appMesh: AppMeshClient;
  /** meshgate's App Mesh reads (not the SDK's client: see app-mesh-reads.ts). */
  appMeshReads: AppMeshReadClient;
  /** The SDK client: what the local demo and the tests set Cloud Map up with. */
  serviceDiscovery: ServiceDiscoveryClient;
  /** meshgate's Cloud Map reads (not the SDK's client: see cloud-map-reads.ts). */
  cloudMapReads: CloudMapReadClient;
  tagging: ResourceGroupsTaggingAPIClient;
  /** meshgate's Secrets Manager calls (not the SDK's client: see secrets-manager.ts). */
  secretsManager: SecretsManagerJsonClient;
  eventBridge: EventBridgeClient;
  /** The state store's object calls (not the SDK's S3 client: see s3-objects.ts). */
  s3: S3ObjectClient;
  lambda: LambdaClient;
}

export function createAwsClients(
  env: NodeJS.ProcessEnv = process.env,
  credentials?: AwsCredentialIdentity,
): AwsClients {
  const settings = clientSettings(env, credentials);
  const { common } = settings;
  return {
    appMesh: new AppMeshClient(common),
    appMeshReads: new AppMeshReadClient(common, env),
    serviceDiscovery: new ServiceDiscoveryClient(serviceDiscoveryConfig(settings)),
    cloudMapReads: new CloudMapReadClient(common, env),
    tagging: new ResourceGroupsTaggingAPIClient(common),
    secretsManager: new SecretsManagerJsonClient(common, env),
    eventBridge: new EventBridgeClient(common),
    s3: new S3ObjectClient(common, env),
    lambda: new LambdaClient(common),
  };
}

let shared: AwsClients | undefined;
const scoped = new Map<string, AwsClients>();

/** Installs (or removes) the credential scope; clients created before are forgotten. */
export function scopeAwsCredentials(scope: CredentialScope | undefined): void {
  setCredentialScope(scope);
  for (const clients of scoped.values()) destroyClients(clients);
  scoped.clear();
}

/** The process's clients (or the current credential scope's), created on first use. */
export function awsClients(): AwsClients {
  const current = scopedCredentials();
  if (current) {
    let clients = scoped.get(current.key);
    if (!clients) {
      clients = createAwsClients(process.env, current.credentials);
      scoped.set(current.key, clients);
    }
    return clients;
  }
  shared ??= createAwsClients();
  return shared;
}

function destroyClients(clients: AwsClients): void {
  for (const client of Object.values(clients)) client.destroy();
}
