import { AppMeshClient } from '@aws-sdk/client-app-mesh';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import type { AwsCredentialIdentity } from '@smithy/types';
import {
  type CredentialScope,
  clientSettings,
  scopedCredentials,
  serviceDiscoveryConfig,
  setCredentialScope,
} from './options.js';

/**
 * Every AWS SDK v3 client meshgate uses (the CLI's and the tests' set; each function builds only its own, see
 * shared/app), created once per process (outside the handler, so warm invocations reuse connections).
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`; with a custom endpoint
 * (the local double) Cloud Map's `data-` host prefix is disabled and S3 uses path-style addressing.
 */
export interface AwsClients {
  appMesh: AppMeshClient;
  serviceDiscovery: ServiceDiscoveryClient;
  tagging: ResourceGroupsTaggingAPIClient;
  secretsManager: SecretsManagerClient;
  eventBridge: EventBridgeClient;
  s3: S3Client;
  lambda: LambdaClient;
}

export function createAwsClients(
  env: NodeJS.ProcessEnv = process.env,
  credentials?: AwsCredentialIdentity,
): AwsClients {
  const settings = clientSettings(env, credentials);
  const { customEndpoint, common } = settings;
  return {
    appMesh: new AppMeshClient(common),
    serviceDiscovery: new ServiceDiscoveryClient(serviceDiscoveryConfig(settings)),
    tagging: new ResourceGroupsTaggingAPIClient(common),
    secretsManager: new SecretsManagerClient(common),
    eventBridge: new EventBridgeClient(common),
    s3: new S3Client({ ...common, forcePathStyle: customEndpoint }),
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
