import { AppMeshClient } from '@aws-sdk/client-app-mesh';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';

/**
 * AWS SDK v3 clients, created once per process (outside the handler, so warm invocations reuse connections).
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`; with a custom endpoint
 * (the local double) Cloud Map's `data-` host prefix is disabled and S3 uses path-style addressing.
 */
export interface AwsClients {
  appMesh: AppMeshClient;
  serviceDiscovery: ServiceDiscoveryClient;
  secretsManager: SecretsManagerClient;
  eventBridge: EventBridgeClient;
  s3: S3Client;
  lambda: LambdaClient;
}

export function createAwsClients(env: NodeJS.ProcessEnv = process.env): AwsClients {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const customEndpoint = Boolean(
    env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_SERVICEDISCOVERY || env.AWS_ENDPOINT_URL_S3,
  );
  return {
    appMesh: new AppMeshClient({ region }),
    serviceDiscovery: new ServiceDiscoveryClient({ region, disableHostPrefix: customEndpoint }),
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
