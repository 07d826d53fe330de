import { AppMeshClient } from '@aws-sdk/client-app-mesh';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { clientSettings } from './options.js';

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

export function createAwsClients(env: NodeJS.ProcessEnv = process.env): AwsClients {
  const { region, customEndpoint } = clientSettings(env);
  return {
    appMesh: new AppMeshClient({ region }),
    serviceDiscovery: new ServiceDiscoveryClient({ region, disableHostPrefix: customEndpoint }),
    tagging: new ResourceGroupsTaggingAPIClient({ region }),
    secretsManager: new SecretsManagerClient({ region }),
    eventBridge: new EventBridgeClient({ region }),
    s3: new S3Client({ region, forcePathStyle: customEndpoint }),
    lambda: new LambdaClient({ region }),
  };
}

let shared: AwsClients | undefined;

/** The process's clients, created on first use. */
export function awsClients(): AwsClients {
  shared ??= createAwsClients();
  return shared;
}
